// The applier as the process runs it: recovered from the WAL tail at start
// (uncommitted and orphan Parquet parts removed), woken by every acknowledged
// request, applying once the engine is open, with compaction beside it.
// close() stops compaction, drains what is in the WAL (bounded by the
// caller) and releases the rendering worker.
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
import { ApplierMetrics } from './metrics.js';
import { RowRenderer } from './row-renderer.js';

export interface RunningApplier {
  readonly applier: Applier;
  /** 'open' once applying; 'pending' while the engine is not open yet. */
  health(): { state: 'open' | 'pending'; detail?: string };
  close(): Promise<void>;
}

export async function startApplier(deps: {
  settings: Pick<AppConfig, 'applier' | 'compaction'>;
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
  // When both sinks read rows as text, the applier renders them on a worker thread.
  const renderer = sinks.parquet.takesRenderedRows ? new RowRenderer() : undefined;
  const applier = new Applier({
    wal: deps.wal,
    catalog: deps.catalog,
    schemas: deps.schemas,
    tables: sinks.tables,
    parquet: sinks.parquet,
    ...(renderer ? { renderer } : {}),
    pending: deps.ingest.pending,
    metrics: new ApplierMetrics(deps.registry),
    logger: log,
    batchRecords: settings.applier.batchRecords,
    renderAheadPendingRows: settings.applier.renderAheadPendingRows,
    intervalMs: settings.applier.intervalMs,
  });
  await applier.recover();
  await removeOrphanParts({ catalog: deps.catalog, parquet: sinks.parquet, logger: log }, applier.checkpoint);
  deps.ingest.onAccepted(() => applier.notify());

  let closed = false;
  let applying = false;
  const compaction = new CompactionScheduler(
    { applier, catalog: deps.catalog, schemas: deps.schemas, parquet: sinks.parquet, logger: log },
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
      await renderer?.close();
    },
  };
}
