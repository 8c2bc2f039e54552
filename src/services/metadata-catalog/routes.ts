// Metadata Catalog routes: the catalog the applier maintains, scoped to the
// caller's tenant.
import { route } from '../../platform/http/route.js';
import { tenantIdOf } from '../../platform/http/tenant-id.js';
import type { MetadataCatalogDeps } from './index.js';
import { describeIndexes } from './indexes.js';
import { partitionsBody, tablesQuery } from './schemas.js';
import { totalsOf } from '../../catalog/catalog-store.js';

// The catalog answers while ClickHouse is down: it lives in the state store.
const CATALOG_ONLY = ['stateStore', 'wal'] as const;

export function metadataCatalogRoutes(deps: MetadataCatalogDeps) {
  const catalog = () => deps.catalog;
  return [
    route({
      method: 'get',
      path: '/metadata/tables',
      operation: 'catalog.tables',
      auth: 'tenant:read',
      requires: CATALOG_ONLY,
      summary: 'Tables of the tenant: columns, types, row counts, bytes, time range',
      query: tablesQuery,
      handler: async ({ req, query }) => {
        const tenant = tenantIdOf(req);
        const tables = (await catalog().listTables(tenant)).filter((t) => !query.table || t.table === query.table);
        return {
          tenant,
          tables: tables.map((t) => ({
            table: t.table,
            columns: [
              { name: 'data_id', type: 'String', system: true },
              { name: 'ts_ms', type: 'Int64', system: true },
              { name: 'date', type: 'Date', system: true },
              { name: 'lsn', type: 'UInt64', system: true },
              { name: 'payload', type: 'String', system: true },
              ...t.columns.map((c) => ({ name: c.name, type: c.type, system: false })),
            ],
            rowCount: t.rowCount,
            bytes: t.bytes,
            partitions: t.partitions,
            minTs: t.minTsMs,
            maxTs: t.maxTsMs,
            updatedAt: t.updatedAt,
          })),
        };
      },
    }),
    route({
      method: 'post',
      path: '/metadata/partitions',
      operation: 'catalog.partitions',
      auth: 'tenant:read',
      requires: CATALOG_ONLY,
      summary: 'Parquet partitions (files, rows, bytes, min/max time) filtered by table and time range',
      body: partitionsBody,
      handler: async ({ req, body }) => {
        const tenant = tenantIdOf(req);
        const parts = (await catalog().listParts(tenant, body.table))
          .filter((p) => (body.from === undefined || p.maxTsMs >= body.from) && (body.to === undefined || p.minTsMs < body.to))
          .slice(0, body.limit);
        return {
          tenant,
          count: parts.length,
          partitions: parts.map((p) => ({
            table: p.table,
            date: p.date,
            file: p.relativePath,
            firstLsn: p.firstLsn,
            lastLsn: p.lastLsn,
            rows: p.rows,
            bytes: p.bytes,
            minTs: new Date(p.minTsMs).toISOString(),
            maxTs: new Date(p.maxTsMs).toISOString(),
          })),
        };
      },
    }),
    route({
      method: 'get',
      path: '/metadata/indexes',
      operation: 'catalog.indexes',
      auth: 'tenant:read',
      requires: CATALOG_ONLY,
      summary: 'Sort keys, partition keys and skipping indexes of the tenant’s tables',
      query: tablesQuery,
      handler: async ({ req, query }) => {
        const tenant = tenantIdOf(req);
        const tables = (await catalog().listTables(tenant)).filter((t) => !query.table || t.table === query.table);
        return { tenant, indexes: tables.map((t) => describeIndexes(t.table, deps.tableLayout)) };
      },
    }),
    route({
      method: 'get',
      path: '/metadata/stats',
      operation: 'catalog.stats',
      auth: 'tenant:read',
      requires: CATALOG_ONLY,
      summary: 'Totals of the tenant’s catalog: tables, rows, bytes, partitions, applier checkpoint',
      handler: async ({ req }) => {
        const tenant = tenantIdOf(req);
        const tables = await deps.catalog.listTables(tenant);
        return {
          tenant,
          tables: tables.length,
          ...totalsOf(tables),
          applierCheckpointLsn: deps.applier.checkpoint,
          walLastLsn: deps.wal.lastLsn,
        };
      },
    }),
  ];
}
