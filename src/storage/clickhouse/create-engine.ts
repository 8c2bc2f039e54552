// Picks the backend from config: a non-empty URL means a ClickHouse server,
// otherwise embedded chdb in dataDir.

import type { ClickHouseEngine } from './clickhouse-engine.js';
import { ChdbEngine } from './chdb-engine.js';
import { ServerEngine } from './server-engine.js';

export interface CreateClickHouseEngineOptions {
  url?: string;
  dataDir: string;
  database: string;
  username?: string;
  password?: string;
  requestTimeoutMs?: number;
}

const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

export function createClickHouseEngine(opts: CreateClickHouseEngineOptions): ClickHouseEngine {
  const url = opts.url?.trim();
  if (url) {
    return new ServerEngine({
      url,
      database: opts.database,
      requestTimeoutMs: opts.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
      ...(opts.username !== undefined ? { username: opts.username } : {}),
      ...(opts.password !== undefined ? { password: opts.password } : {}),
    });
  }
  return new ChdbEngine({ dataDir: opts.dataDir, database: opts.database });
}
