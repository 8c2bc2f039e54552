// Builds the durable data path once per process: WAL (replayed), ClickHouse
// engine and tenant tables, Parquet sink, catalog, schemas, read-your-writes
// buffer, limiter, ingest pipeline and applier. Each piece flips its readiness
// flag when open; a ClickHouse that is down is retried in the background while
// ingest keeps acknowledging into the WAL.
import type { Logger } from 'pino';
import { Applier } from './applier/applier.js';
import { compactAll, removeOrphanParts } from './applier/compaction.js';
import { ApplierMetrics } from './applier/metrics.js';
import { RowRenderer } from './applier/row-renderer.js';
import { CatalogStore } from './catalog/catalog-store.js';
import { IngestLimiter, type TenantLimits } from './ingest/ingest-limiter.js';
import { IngestPipeline } from './ingest/ingest-pipeline.js';
import { IngestRate } from './ingest/ingest-rate.js';
import { IngestMetrics } from './ingest/metrics.js';
import { PendingRecords } from './ingest/pending-records.js';
import { TableSchemas } from './ingest/table-schemas.js';
import type { AppConfig } from './platform/config/load-config.js';
import type { MetricsSetup } from './platform/metrics/registry.js';
import type { Readiness } from './platform/readiness.js';
import type { StateStore } from './platform/state-store.js';
import type { ClickHouseEngine } from './storage/clickhouse/clickhouse-engine.js';
import { createClickHouseEngine } from './storage/clickhouse/create-engine.js';
import { TenantTableStore } from './storage/clickhouse/tenant-table-store.js';
import { EnginePartWriter, ParquetSink } from './storage/parquet/index.js';
import { WriteAheadLog } from './storage/wal/index.js';

export interface DataPath {
  wal: WriteAheadLog;
  engine: ClickHouseEngine;
  tables: TenantTableStore;
  parquet: ParquetSink;
  catalog: CatalogStore;
  schemas: TableSchemas;
  pending: PendingRecords;
  limiter: IngestLimiter;
  ingest: IngestPipeline;
  ingestRate: IngestRate;
  applier: Applier;
  close(): Promise<void>;
}

export async function openDataPath(opts: {
  config: AppConfig;
  logger: Logger;
  metrics: MetricsSetup;
  readiness: Readiness;
  state: StateStore;
  /** A tenant's ingest limit overrides (from its tenant record). */
  tenantLimits: (tenant: string) => Promise<TenantLimits | undefined>;
}): Promise<DataPath> {
  const { config, logger, metrics, readiness, state } = opts;
  const log = logger.child({ component: 'data-path' });
  const ingestMetrics = new IngestMetrics(metrics.registry);

  readiness.set('wal', 'pending', 'replaying');
  const wal = await WriteAheadLog.open({
    dir: config.paths.walDir,
    segmentBytes: config.wal.segmentBytes,
    skipCorrupt: config.wal.skipCorrupt,
    logger: logger.child({ component: 'wal' }),
    hooks: {
      onFsync: (e) => {
        ingestMetrics.fsyncSeconds.observe(e.durationSeconds);
        ingestMetrics.groupSize.observe(e.appends);
      },
    },
  });

  const catalog = new CatalogStore(state);
  const schemas = new TableSchemas(catalog);
  await schemas.load();
  const pending = new PendingRecords();
  const engine = createClickHouseEngine({
    url: config.clickhouse.url,
    dataDir: config.paths.chdbPath,
    database: config.clickhouse.database,
    username: config.clickhouse.username,
    password: config.clickhouse.password,
    requestTimeoutMs: config.clickhouse.timeoutMs,
    cluster: config.clickhouse.cluster?.name,
  });
  // The embedded engine writes Parquet natively, several times faster than parquetjs; a server cannot write our files.
  const parquet = new ParquetSink({ rootDir: config.paths.parquetDir, ...(engine.kind === 'embedded' ? { writer: new EnginePartWriter(engine) } : {}) });
  // When both sinks read rows as text, the applier renders them on a worker thread.
  const renderer = parquet.takesRenderedRows ? new RowRenderer() : undefined;
  const tables = new TenantTableStore(engine);
  const applier = new Applier({
    wal,
    state,
    catalog,
    schemas,
    tables,
    parquet,
    ...(renderer ? { renderer } : {}),
    pending,
    metrics: new ApplierMetrics(metrics.registry),
    logger: logger.child({ component: 'applier' }),
    batchRecords: config.applier.batchRecords,
    renderAheadPendingRows: config.applier.renderAheadPendingRows,
    intervalMs: config.applier.intervalMs,
  });
  await applier.recover();
  await removeOrphanParts({ catalog, parquet, logger: log }, applier.checkpoint);
  readiness.set('wal', 'open');

  const ingestRate = new IngestRate();
  const limiter = new IngestLimiter({ rowsPerSecond: config.ingest.rowsPerSecond, burstRows: config.ingest.burstRows }, opts.tenantLimits);
  const ingest = new IngestPipeline({
    wal: () => wal,
    state: () => state,
    schemas,
    limiter,
    pending,
    metrics: ingestMetrics,
    limits: { maxRecords: config.ingest.maxRecordsPerRequest, maxDataIdBytes: 512 },
    maxPendingRows: config.ingest.maxPendingRows,
    onAccepted: (tenant, rows) => {
      ingestRate.record(tenant, rows);
      applier.notify();
    },
  });

  let closed = false;
  const connect = async () => {
    readiness.set('clickhouse', 'pending', 'connecting');
    for (let attempt = 1; !closed; attempt++) {
      try {
        await engine.open();
        if (closed) return; // shutdown began while connecting: do not start the applier now
        readiness.set('clickhouse', 'open');
        log.info({ engine: engine.kind }, 'clickhouse open');
        applier.start();
        readiness.set('applier', 'open');
        return;
      } catch (err) {
        readiness.set('clickhouse', 'failed', err instanceof Error ? err.message : String(err));
        log.error({ err, attempt }, 'clickhouse unavailable; retrying');
        await new Promise((r) => setTimeout(r, Math.min(10_000, 250 * 2 ** Math.min(attempt, 6))));
      }
    }
  };
  const connecting = connect();

  // Small-file compaction in the background, between applier batches.
  let compacting: Promise<unknown> = Promise.resolve();
  const compactionTimer = setInterval(() => {
    compacting = compacting.then(async () => {
      try {
        const r = await compactAll({ applier, catalog, schemas, parquet, logger: log }, config.compaction);
        if (r.partsMerged > 0) log.info(r, 'compaction pass');
      } catch (err) {
        log.error({ err }, 'compaction pass failed; will retry');
      }
    });
  }, config.compaction.intervalMs);
  compactionTimer.unref();

  return {
    wal,
    engine,
    tables,
    parquet,
    catalog,
    schemas,
    pending,
    limiter,
    ingest,
    ingestRate,
    applier,
    async close() {
      closed = true;
      clearInterval(compactionTimer);
      await compacting;
      await applier.stop(true);
      await parquet.close();
      await renderer?.close();
      readiness.set('applier', 'closed');
      await connecting;
      await wal.close();
      readiness.set('wal', 'closed');
      await engine.close();
      readiness.set('clickhouse', 'closed');
    },
  };
}
