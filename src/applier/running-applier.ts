// The applier as the process runs it: recovered from the WAL tail at start
// (uncommitted and orphan Parquet parts removed), woken by every acknowledged
// request, applying once the engine is open, with compaction beside it.
// close() stops compaction and drains what is in the WAL (bounded by the
// caller).
import path from 'node:path';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { CatalogStore } from '../catalog/catalog-store.js';
import type { IngestPath } from '../ingest/ingest-path.js';
import type { TableSchemas } from '../ingest/table-schemas.js';
import type { AppConfig } from '../platform/config/load-config.js';
import type { EngineConnection } from '../storage/clickhouse/engine-connection.js';
import type { TenantSinks } from '../storage/tenant-sinks.js';
import type { WriteAheadLog } from '../storage/wal/index.js';
import { Applier } from './applier.js';
import { CompactionScheduler } from './compaction-scheduler.js';
import { removeOrphanParts } from './compaction.js';
import { EngineBatchWriter } from './engine-batch-writer.js';
import { ApplierMetrics } from './metrics.js';

export interface RunningApplier {
  readonly applier: Applier;
  /** 'open' once applying; 'pending' while the engine is not open yet. */
  health(): { state: 'open' | 'pending'; detail?: string };
  close(): Promise<void>;
}

export async function startApplier(deps: {
  settings: Pick<AppConfig, 'applier' | 'compaction' | 'paths'>;
  wal: WriteAheadLog;
  catalog: CatalogStore;
  schemas: TableSchemas;
  sinks: TenantSinks;
  ingest: IngestPath;
  connection: EngineConnection;
  registry: Registry;
  logger: Logger;
}): Promise<RunningApplier> {
  const { settings, sinks } = deps;
  const log = deps.logger.child({ component: 'applier' });
  // An embedded engine reads the WAL entries itself (engine-batch-writer.ts); a server gets rows rendered here.
  const engine = deps.connection.engine;
  const engineWriter =
    engine.kind === 'embedded'
      ? new EngineBatchWriter({ engine, tables: sinks.tables, parquet: sinks.parquet, stagingDir: path.join(settings.paths.dataDir, 'applier-staging') })
      : undefined;
  await engineWriter?.recover();
  const metrics = new ApplierMetrics(deps.registry);
  const applier = new Applier({
    wal: deps.wal,
    catalog: deps.catalog,
    schemas: deps.schemas,
    tables: sinks.tables,
    parquet: sinks.parquet,
    ...(engineWriter ? { engineWriter } : {}),
    pending: deps.ingest.pending,
    committedIds: deps.ingest.committedIds,
    metrics,
    logger: log,
    batchRecords: settings.applier.batchRecords,
    intervalMs: settings.applier.intervalMs,
  });
  await applier.recover();
  await removeOrphanParts({ catalog: deps.catalog, parquet: sinks.parquet, logger: log }, applier.checkpoint);
  deps.ingest.onAccepted(() => applier.notify());

  let closed = false;
  let applying = false;
  const compaction = new CompactionScheduler(
    { applier, catalog: deps.catalog, schemas: deps.schemas, parquet: sinks.parquet, logger: log, metrics },
    settings.compaction,
    log,
  );
  void deps.connection.whenOpen().then(() => {
    if (closed) return;
    applier.start();
    applying = true;
  });
  compaction.start();

  return {
    applier,
    health: () => (applying ? { state: 'open' } : { state: 'pending', detail: 'waiting for clickhouse' }),
    async close() {
      closed = true;
      await compaction.stop();
      await applier.stop(true);
    },
  };
}
