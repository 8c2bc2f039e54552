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
  /** CLICKHOUSE_CLUSTER: refused until the data path writes replicated tables (see docs/scale-out.md). */
  cluster?: string;
}

const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

export function createClickHouseEngine(opts: CreateClickHouseEngineOptions): ClickHouseEngine {
  if (opts.cluster !== undefined) {
    // Writing plain tables through one node of a cluster would look like it
    // works and lose the data with that node; refusing is the honest answer.
    throw new Error(
      `CLICKHOUSE_CLUSTER=${opts.cluster}: the data path cannot write to a ClickHouse cluster yet (replicated tables land with issue 15's second phase); unset CLICKHOUSE_CLUSTER and give one CLICKHOUSE_URL`,
    );
  }
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
