// The module graph of the control plane: every module with the modules it
// needs, how it starts and how it stops. SERVICES picks targets among the seven
// services; boot starts exactly what they need, in dependency order, and stops
// it in reverse. Start functions only assemble: the work is in the domain folders.
import { RetentionScheduler } from '../applier/retention-scheduler.js';
import { startApplier } from '../applier/running-applier.js';
import { CatalogStore } from '../catalog/catalog-store.js';
import { migrateStateLayout, STATE_LAYOUT } from '../catalog/state-layout.js';
import { createIngestPath } from '../ingest/ingest-path.js';
import { TableSchemas } from '../ingest/table-schemas.js';
import { AlertingRuntime } from '../monitoring/alerting.js';
import { AuthRuntime } from '../auth/auth-runtime.js';
import type { Observability } from '../platform/observability.js';
import { StateStore } from '../platform/state-store.js';
import { QueryLog } from '../query/query-log/query-log.js';
import { createExecutorRuntime, createPlannerRuntime } from '../query/query-runtime.js';
import { createAuthGatewayService } from '../services/auth-gateway/index.js';
import { createCboEngineService } from '../services/cbo-engine/index.js';
import { createMetadataCatalogService } from '../services/metadata-catalog/index.js';
import { createMonitoringService } from '../services/monitoring/index.js';
import { createOperationNodeService } from '../services/operation-node/index.js';
import { createQueryInterpreterService } from '../services/query-interpreter/index.js';
import { createTenantNodeService } from '../services/tenant-node/index.js';
import { ClusterMembershipError } from '../storage/clickhouse/cluster-membership.js';
import { ClickHouseCluster } from '../storage/clickhouse/cluster-runtime.js';
import { clusterTableLayout } from '../storage/clickhouse/cluster-schema.js';
import { createClickHouseEngine, createClusterEngine } from '../storage/clickhouse/create-engine.js';
import { EngineConnection } from '../storage/clickhouse/engine-connection.js';
import { LegacyLayoutError, migrateLegacyLayout } from '../storage/clickhouse/legacy-layout-migration.js';
import { QueryLogTable } from '../storage/clickhouse/query-log-table.js';
import { createTenantSinks } from '../storage/tenant-sinks.js';
import { WalMetrics, WriteAheadLog } from '../storage/wal/index.js';
import { withWorkers } from '../workers/with-workers.js';
import { WorkersRuntime } from '../workers/worker-runtime.js';
import type { ModuleSpec } from './module-graph.js';
import { defineModule, type BootContext, type ModuleName } from './module-values.js';
import { serviceModule } from './service-module.js';

export function declareModules(boot: BootContext, observability: Observability): ModuleSpec<ModuleName>[] {
  const { config } = boot;
  const { logger } = observability;
  const registry = observability.metrics.registry;

  const infrastructure = [
    defineModule({
      name: 'observability',
      needs: [],
      start: () => observability,
      stop: (o) => o.tracing.shutdown(),
      stopTimeoutMs: 2000,
    }),
    defineModule({
      name: 'stateStore',
      needs: [],
      // Opened with the declared layout: each owner below gets only its own sublevels (scoped).
      start: async () => {
        const store = await StateStore.open(config.paths.statePath, STATE_LAYOUT);
        await migrateStateLayout(store, logger.child({ component: 'state-store' }));
        return store;
      },
      stop: (state) => state.close(),
      stopTimeoutMs: 5000,
    }),
    defineModule({
      name: 'auth',
      needs: ['stateStore'],
      start: ({ stateStore }) => {
        const state = stateStore.scoped('auth');
        return new AuthRuntime(config.auth, () => state, logger, registry);
      },
    }),
    defineModule({
      name: 'catalog',
      needs: ['stateStore'],
      start: async ({ stateStore }) => {
        const store = new CatalogStore(stateStore.scoped('catalog'));
        const schemas = new TableSchemas(store);
        await schemas.load();
        return { store, schemas };
      },
    }),
    defineModule({
      name: 'wal',
      needs: [],
      start: () =>
        WriteAheadLog.open({
          dir: config.paths.walDir,
          segmentBytes: config.wal.segmentBytes,
          skipCorrupt: config.wal.skipCorrupt,
          logger: logger.child({ component: 'wal' }),
          hooks: { onFsync: new WalMetrics(registry).onFsync },
        }),
      stop: (wal) => wal.close(),
    }),
    defineModule({
      name: 'clickhouse',
      needs: ['catalog'],
      start: async ({ catalog }) => {
        const ch = config.clickhouse;
        const log = logger.child({ component: 'data-path' });
        if (ch.cluster) {
          // Cluster mode: every node of CLICKHOUSE_URL; the cluster is checked (and its tables learnt) before first use.
          const engine = createClusterEngine({ urls: ch.urls, database: ch.database, username: ch.username, password: ch.password, requestTimeoutMs: ch.timeoutMs });
          const cluster = new ClickHouseCluster({
            engine,
            config: ch.cluster,
            database: ch.database,
            username: ch.username,
            password: ch.password,
            logger: logger.child({ component: 'clickhouse-cluster' }),
            registry,
            statusIntervalMs: ch.cluster.statusIntervalMs,
          });
          const connection = new EngineConnection(
            engine,
            log,
            {
              run: () => cluster.prepare(async () => (await catalog.store.listTables()).map((t) => ({ tenant: t.tenant, table: t.table }))),
              isFatal: (err) => err instanceof ClusterMembershipError,
            },
            cluster,
          );
          await connection.start();
          return connection;
        }
        const engine = createClickHouseEngine({
          url: ch.url,
          dataDir: config.paths.chdbPath,
          database: ch.database,
          username: ch.username,
          password: ch.password,
          requestTimeoutMs: ch.timeoutMs,
        });
        // Tables of the old naming move to their tenant's database before anything uses the engine, or boot is refused.
        const connection = new EngineConnection(engine, log, {
          run: (e) => migrateLegacyLayout({ engine: e, catalogTables: () => catalog.store.listTables(), logger: log }),
          isFatal: (err) => err instanceof LegacyLayoutError,
        });
        await connection.start();
        return connection;
      },
      health: (c) => c.health(),
      stop: (c) => c.close(),
    }),
    defineModule({
      name: 'sinks',
      needs: ['clickhouse', 'stateStore'],
      start: ({ clickhouse, stateStore }) =>
        createTenantSinks(
          clickhouse.engine,
          config.paths.parquetDir,
          clickhouse.cluster
            ? { cluster: clickhouse.cluster, state: stateStore.scoped('sinks'), requestTimeoutMs: config.clickhouse.timeoutMs, logger: logger.child({ component: 'data-path' }) }
            : undefined,
        ),
      stop: (sinks) => sinks.close(),
    }),
  ];

  const dataPath = [
    defineModule({
      name: 'ingest',
      needs: ['wal', 'stateStore', 'catalog', 'auth'],
      start: ({ wal, stateStore, catalog, auth }) =>
        createIngestPath({
          settings: config.ingest,
          wal,
          state: stateStore.scoped('ingest'),
          idIndex: { committedLsns: (keys) => catalog.store.committedLsns(keys), keys: () => catalog.store.dataIdKeys() },
          schemas: catalog.schemas,
          registry,
          tenantLimits: async (tenant) => (await auth.tenants.get(tenant))?.limits,
          logger: logger.child({ component: 'ingest' }),
        }),
    }),
    defineModule({
      name: 'applier',
      needs: ['wal', 'catalog', 'sinks', 'ingest', 'clickhouse'],
      start: ({ wal, catalog, sinks, ingest, clickhouse }) =>
        startApplier({ settings: config, wal, catalog: catalog.store, schemas: catalog.schemas, sinks, ingest, connection: clickhouse, registry, logger }),
      health: (a) => a.health(),
      stop: (a) => a.close(),
    }),
    defineModule({
      name: 'retention',
      needs: ['applier', 'catalog', 'sinks', 'clickhouse', 'auth', 'workers'],
      start: ({ applier, catalog, sinks, auth, workers }) => {
        const scheduler = new RetentionScheduler({
          sinks: { applier: applier.applier, catalog: catalog.store, tables: sinks.tables, parquet: sinks.parquet },
          tenants: () => auth.tenants.list(),
          // In distributed mode a worker that takes retention jobs does the sweep (it calls back POST /data/retention/sweep).
          delegate: async (tenant, before) => {
            if (!config.workers.distributedMode || !workers.hasWorkerFor('retention-sweep')) return false;
            await workers.enqueue('retention-sweep', { tenant, before });
            return true;
          },
          logger: logger.child({ component: 'retention' }),
          intervalMs: config.retention.intervalMs,
          onSwept: async (tenant, r) => {
            await auth.audit.record({
              principal: 'system:retention',
              tenant: tenant.id,
              action: 'retention.sweep',
              target: `tenant:${tenant.id}`,
              outcome: 'success',
              details: { cutoffDate: r.cutoffDate, retentionDays: tenant.retentionDays, rowsDeleted: r.rowsDeleted, partitionsDropped: r.partitionsDropped, bytesFreed: r.bytesFreed },
            });
          },
        });
        scheduler.start();
        return scheduler;
      },
      stop: (s) => s.stop(),
    }),
  ];

  const features = [
    defineModule({
      name: 'planner',
      needs: ['catalog', 'clickhouse', 'sinks'],
      start: ({ catalog, clickhouse, sinks }) =>
        createPlannerRuntime({
          settings: config.query,
          parquetRoot: config.paths.parquetDir,
          catalog: catalog.store,
          engine: clickhouse.engine,
          tables: sinks.tables,
          registry,
          logger,
        }),
      stop: (p) => p.stop(),
    }),
    defineModule({
      name: 'queryLog',
      needs: ['clickhouse'],
      start: ({ clickhouse }) => {
        const ch = config.clickhouse;
        // Cluster mode: replicated + Distributed on the cluster's nodes, like tenant tables.
        const cluster = clickhouse.cluster && ch.cluster ? { name: clickhouse.cluster.name, zkPathPrefix: ch.cluster.zkPathPrefix, engine: clickhouse.cluster.engine } : undefined;
        const queryLog = new QueryLog({
          settings: { ...config.queryLog, retentionIntervalMs: config.retention.intervalMs },
          table: new QueryLogTable({ engine: clickhouse.engine, ...(cluster ? { cluster } : {}), logger: logger.child({ component: 'query-log' }) }),
          ping: () => clickhouse.engine.ping(),
          ready: () => clickhouse.isOpen,
          registry,
          logger,
        });
        queryLog.start();
        return queryLog;
      },
      // Writes what is still buffered (bounded) before ClickHouse closes.
      stop: (q) => q.stop(),
      stopTimeoutMs: 7000,
    }),
    defineModule({
      name: 'executor',
      // ingest and applier: queries wait until what was acknowledged for their tables is applied.
      // queryLog: every query that ends is written to the query log.
      needs: ['planner', 'clickhouse', 'sinks', 'ingest', 'applier', 'queryLog'],
      start: ({ planner, clickhouse, sinks, ingest, applier, queryLog }) => {
        const runtime = createExecutorRuntime({
          settings: config.query,
          parquetRoot: config.paths.parquetDir,
          planner: planner.planner,
          engine: clickhouse.engine,
          tables: sinks.tables,
          applied: {
            acknowledgedLsn: (tenant, table) => ingest.pending.acknowledged.lastFor(tenant, table),
            appliedLsn: () => applier.applier.checkpoint,
            waitForApplied: (lsn, signal) => applier.applier.waitForApplied(lsn, signal),
            lag: () => applier.applier.lag,
          },
          registry,
          logger,
        });
        runtime.registry.onEnded(queryLog.record);
        return runtime;
      },
      stop: (e) => e.stop(),
    }),
    defineModule({
      name: 'workers',
      needs: ['stateStore', 'catalog'],
      start: async ({ stateStore, catalog }) => {
        const workers = new WorkersRuntime(config.workers, stateStore.scoped('workers'), catalog.store, registry, logger);
        await workers.start();
        return workers;
      },
      stop: (w) => w.stop(),
    }),
    defineModule({
      name: 'alerting',
      // The disk probe sizes the state store's directory: it must exist first.
      needs: ['stateStore'],
      start: async () => {
        const alerting = new AlertingRuntime(config.monitoring, config.paths, registry, logger);
        await alerting.start();
        return alerting;
      },
      stop: (a) => a.stop(),
    }),
  ];

  const services = [
    serviceModule({
      name: 'auth-gateway',
      needs: ['auth'],
      // Tenant delete and approved sweeps act on the data path where this process runs it.
      uses: ['applier', 'catalog', 'sinks', 'clickhouse', 'ingest'],
      build: ({ auth, applier, catalog, sinks, clickhouse, ingest }) =>
        createAuthGatewayService({
          auth,
          approvalSettings: config.auth.approvals,
          ...(applier && catalog && sinks && clickhouse && ingest
            ? {
                tenantData: {
                  purge: {
                    applier: applier.applier,
                    catalog: catalog.store,
                    tables: sinks.tables,
                    parquet: sinks.parquet,
                    schemas: catalog.schemas,
                    idempotency: ingest.pipeline,
                  },
                  retention: { applier: applier.applier, catalog: catalog.store, tables: sinks.tables, parquet: sinks.parquet },
                },
              }
            : {}),
        }),
    }),
    serviceModule({
      name: 'tenant-node',
      needs: ['auth', 'ingest', 'applier', 'catalog', 'sinks', 'clickhouse', 'executor', 'retention', 'workers'],
      build: ({ auth, ingest, applier, catalog, sinks, executor, workers }) =>
        withWorkers(
          createTenantNodeService({
            ingest,
            records: { tables: sinks.tables, pending: ingest.pending, applier: applier.applier },
            catalog: catalog.store,
            applier: applier.applier,
            retention: { applier: applier.applier, catalog: catalog.store, tables: sinks.tables, parquet: sinks.parquet },
            executor: executor.executor,
            maxJsonRows: config.query.maxJsonRows,
            sweepLease: workers.leaseOf('retention-sweep'),
            tenants: auth.tenants,
            approvals: auth.approvals,
          }),
          workers,
          boot.readiness,
        ),
    }),
    serviceModule({
      name: 'operation-node',
      needs: ['auth', 'executor', 'clickhouse', 'workers', 'ingest', 'applier', 'sinks', 'queryLog'],
      build: ({ auth, executor, clickhouse, workers, ingest, applier, sinks, queryLog }) =>
        withWorkers(
          createOperationNodeService({
            query: executor,
            engine: clickhouse.engine,
            ...(clickhouse.cluster ? { cluster: clickhouse.cluster } : {}),
            workers,
            audit: auth.audit,
            queryLog,
            maxJsonRows: config.query.maxJsonRows,
          }),
          workers,
          boot.readiness,
          { tables: sinks.tables, pending: ingest.pending, applier: applier.applier },
        ),
    }),
    serviceModule({
      name: 'cbo-engine',
      needs: ['auth', 'planner', 'workers'],
      build: ({ planner, workers }) => withWorkers(createCboEngineService({ planner }), workers, boot.readiness),
    }),
    serviceModule({
      name: 'metadata-catalog',
      needs: ['auth', 'catalog', 'applier', 'wal', 'workers'],
      build: ({ catalog, applier, wal, workers }) =>
        withWorkers(
          createMetadataCatalogService({
            catalog: catalog.store,
            applier: applier.applier,
            wal,
            ...(config.clickhouse.cluster ? { tableLayout: clusterTableLayout(config.clickhouse.cluster.shardingKey) } : {}),
          }),
          workers,
          boot.readiness,
        ),
    }),
    serviceModule({
      name: 'monitoring',
      needs: ['auth', 'observability', 'alerting', 'catalog'],
      // The cluster's replicas, and the query console (running queries, history), where this process runs them.
      uses: ['clickhouse', 'executor', 'queryLog'],
      build: ({ auth, observability: o, alerting, catalog, clickhouse, executor, queryLog }) =>
        createMonitoringService({
          config,
          governance: auth,
          registry: o.metrics.registry,
          logBuffer: o.logBuffer,
          healthBoard: boot.healthBoard,
          startedAt: boot.startedAt,
          alerting,
          catalog: catalog.store,
          ...(clickhouse?.cluster ? { cluster: clickhouse.cluster } : {}),
          ...(executor ? { queries: executor.registry } : {}),
          ...(queryLog ? { queryLog } : {}),
        }),
    }),
    serviceModule({
      name: 'query-interpreter',
      needs: ['auth', 'planner', 'workers'],
      build: ({ planner, workers }) => withWorkers(createQueryInterpreterService({ planner }), workers, boot.readiness),
    }),
  ];

  // Every module logs and registers metrics: all need observability, so it stops last.
  return [...infrastructure, ...dataPath, ...features, ...services].map((m) =>
    m.name === 'observability' || m.needs.includes('observability') ? m : { ...m, needs: [...m.needs, 'observability'] },
  );
}
