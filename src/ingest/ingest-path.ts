// The acknowledge side of the data path, assembled once per process: the
// read-your-writes buffer, per-tenant limits, the pipeline that makes a request
// durable in the WAL, and the per-tenant ingest rate. Whoever drains the buffer
// (the applier) subscribes with onAccepted instead of being known here.
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { AppConfig } from '../platform/config/load-config.js';
import type { StateAccess } from '../platform/state-store.js';
import type { WriteAheadLog } from '../storage/wal/index.js';
import { CommittedIds } from './committed-ids.js';
import { IngestLimiter, type TenantLimits } from './ingest-limiter.js';
import { IngestPipeline } from './ingest-pipeline.js';
import { IngestRate } from './ingest-rate.js';
import { IngestMetrics } from './metrics.js';
import { PendingRecords } from './pending-records.js';
import type { TableSchemas } from './table-schemas.js';

export interface IngestPath {
  pipeline: IngestPipeline;
  /** Acknowledged rows not yet applied: read-your-writes and the applier's input. */
  pending: PendingRecords;
  /** Which ids the applier's index may hold; the applier adds what it commits. */
  committedIds: CommittedIds;
  rate: IngestRate;
  /** Called after every acknowledged request. */
  onAccepted(listener: (tenant: string, rows: number) => void): void;
}

export function createIngestPath(deps: {
  settings: AppConfig['ingest'];
  wal: WriteAheadLog;
  /** The ingest path's own sublevel: `idempotency`. */
  state: StateAccess;
  /** The catalog's data_id index, read to count duplicates (the applier writes it). */
  idIndex: { committedLsns(keys: readonly string[]): Promise<Array<number | undefined>>; keys(): AsyncIterable<string> };
  schemas: TableSchemas;
  registry: Registry;
  /** A tenant's ingest limit overrides (from its tenant record). */
  tenantLimits: (tenant: string) => Promise<TenantLimits | undefined>;
  logger?: Logger;
}): IngestPath {
  const { settings } = deps;
  const pending = new PendingRecords();
  const committedIds = new CommittedIds();
  // In the background: until it is read, ingest looks every new id up in LevelDB.
  const started = Date.now();
  committedIds.load(deps.idIndex.keys()).then(
    () => deps.logger?.info({ ms: Date.now() - started, ready: committedIds.ready }, 'id index read into the duplicate filter'),
    (err: unknown) => deps.logger?.warn({ err }, 'duplicate filter not built; ids are looked up in the index'),
  );
  const rate = new IngestRate();
  const listeners: Array<(tenant: string, rows: number) => void> = [];
  const pipeline = new IngestPipeline({
    wal: () => deps.wal,
    state: () => deps.state,
    committedLsns: (keys) => deps.idIndex.committedLsns(keys),
    schemas: deps.schemas,
    limiter: new IngestLimiter({ rowsPerSecond: settings.rowsPerSecond, burstRows: settings.burstRows }, deps.tenantLimits),
    pending,
    committedIds,
    metrics: new IngestMetrics(deps.registry),
    limits: { maxRecords: settings.maxRecordsPerRequest, maxDataIdBytes: 512 },
    maxPendingRows: settings.maxPendingRows,
    maxPendingBytes: settings.maxPendingBytes,
    onAccepted: (tenant, rows) => {
      rate.record(tenant, rows);
      for (const l of listeners) l(tenant, rows);
    },
  });
  return { pipeline, pending, committedIds, rate, onAccepted: (l) => void listeners.push(l) };
}
