// Picks the backend from config: a non-empty URL means a ClickHouse server,
// otherwise embedded chdb in dataDir. Cluster mode (CLICKHOUSE_CLUSTER) uses
// every node of CLICKHOUSE_URL through the multi-node engine instead.

import type { ClickHouseEngine } from './clickhouse-engine.js';
import { ChdbEngine } from './chdb-engine.js';
import { MultiNodeEngine } from './multi-node-engine.js';
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
      ...credentials(opts),
    });
  }
  return new ChdbEngine({ dataDir: opts.dataDir, database: opts.database });
}

/**
 * Cluster mode: every node of CLICKHOUSE_URL, used in turn. Each node is held
 * out of rotation until the cluster runtime has checked it has every table
 * and column (cluster-runtime.ts), and again after it stops answering.
 */
export function createClusterEngine(opts: Omit<CreateClickHouseEngineOptions, 'url' | 'dataDir'> & { urls: readonly string[] }): MultiNodeEngine {
  if (opts.urls.length === 0) throw new Error('cluster mode needs CLICKHOUSE_URL: the HTTP URL of every node of the cluster');
  return new MultiNodeEngine({
    urls: opts.urls,
    database: opts.database,
    requestTimeoutMs: opts.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
    holdUntilChecked: true,
    ...credentials(opts),
  });
}

function credentials(opts: { username?: string; password?: string }): { username?: string; password?: string } {
  return {
    ...(opts.username !== undefined ? { username: opts.username } : {}),
    ...(opts.password !== undefined ? { password: opts.password } : {}),
  };
}
