// Tenant Node routes: thin wrappers over the ingest pipeline and the reader.
import type { Request } from 'express';
import { Errors } from '../../platform/errors.js';
import { route } from '../../platform/http/route.js';
import { tenantIdOf } from '../../platform/http/tenant-id.js';
import { hasSurrogateEscapes, parseNdjson } from '../../ingest/record-validator.js';
import type { TenantNodeDeps } from './index.js';
import { decodeCursor, encodeCursor } from '../../records/read-cursor.js';
import { readRecords, streamRecords, toApiRecord } from '../../records/record-reader.js';
import { retentionRoute } from './retention-route.js';
import { executeRoute } from './execute-route.js';
import { ingestBody, ingestQuery, readQuery, statsQuery } from './schemas.js';
import { totalsOf } from '../../catalog/catalog-store.js';

const INGEST_TYPES = ['application/json', 'application/x-ndjson'] as const;
const DEFAULT_PAGE = 100;
const MAX_JSON_PAGE = 10_000;

function recordsOf(req: Request, body: unknown): unknown[] {
  if (req.is('application/x-ndjson')) return parseNdjson(typeof body === 'string' ? body : '');
  return Array.isArray(body) ? body : [body];
}

/** The body as received (JSON bodies keep their raw bytes, NDJSON arrives as text). */
function rawTextOf(req: Request, body: unknown): Buffer | string {
  return req.rawBody ?? (typeof body === 'string' ? body : '');
}

export function tenantNodeRoutes(deps: TenantNodeDeps) {

  const ingestHandler = route({
    method: 'post',
    path: '/data',
    operation: 'tenant.ingest',
    auth: 'tenant:write',
    summary: 'Ingest one record, a JSON array of records, or NDJSON; 201 once durable in the WAL',
    body: ingestBody,
    query: ingestQuery,
    bodyTypes: INGEST_TYPES,
    requires: ['stateStore', 'wal'],
    handler: async ({ req, res, body, query }) => {
      const tenant = tenantIdOf(req);
      const ack = await deps.ingest.pipeline.ingest(tenant, recordsOf(req, body), {
        table: query.table,
        idempotencyKey: req.header('idempotency-key'),
        surrogateEscapes: hasSurrogateEscapes(rawTextOf(req, body)),
      });
      res.status(ack.replayed ? 200 : 201);
      return ack;
    },
  });

  const readHandler = route({
    method: 'get',
    path: '/data',
    operation: 'tenant.read',
    auth: 'tenant:read',
    summary: 'List/filter a tenant’s records (data_id, time range, cursor, limit); NDJSON with Accept or format=ndjson',
    query: readQuery,
    handler: async ({ req, res, query }) => {
      const tenant = tenantIdOf(req);
      const ndjson = query.format === 'ndjson' || (query.format === undefined && !!req.headers.accept?.includes('application/x-ndjson'));
      const limit = query.limit ?? DEFAULT_PAGE;
      if (!ndjson && limit > MAX_JSON_PAGE) throw Errors.validation(`limit above ${MAX_JSON_PAGE} needs format=ndjson`, { field: 'limit' });
      if (query.from !== undefined && query.to !== undefined && query.from >= query.to) throw Errors.validation('from must be before to', { field: 'from' });
      const filter = {
        table: query.table,
        dataId: query.data_id,
        fromMs: query.from,
        toMs: query.to,
        after: query.cursor ? decodeCursor(query.cursor) : undefined,
        limit,
      };
      if (!ndjson) {
        const page = await readRecords(deps.records, tenant, filter);
        const nextCursor = page.hasMore && page.last ? encodeCursor(page.last) : null;
        return { records: page.records.map(toApiRecord), count: page.records.length, next_cursor: nextCursor };
      }
      // NDJSON streams straight from the engine; the client stops early by closing the connection.
      const abort = new AbortController();
      res.on('close', () => abort.abort());
      res.status(200).type('application/x-ndjson');
      let buffer = '';
      for await (const r of streamRecords(deps.records, tenant, filter, abort.signal)) {
        buffer += JSON.stringify(toApiRecord(r)) + '\n';
        if (buffer.length >= 64 * 1024) {
          if (!res.write(buffer)) await new Promise((resolve) => res.once('drain', resolve));
          buffer = '';
        }
      }
      if (buffer) res.write(buffer);
      res.end();
      return undefined;
    },
  });

  const statsHandler = route({
    method: 'get',
    path: '/data/stats',
    operation: 'tenant.stats',
    auth: 'tenant:read',
    summary: 'Rows, bytes, partitions, ingest rate and WAL lag of the tenant',
    query: statsQuery,
    requires: ['stateStore', 'wal'],
    handler: async ({ req, query }) => {
      const tenant = tenantIdOf(req);
      const tables = (await deps.catalog.listTables(tenant)).filter((t) => query.table === undefined || t.table === query.table);
      const pendingRows = deps.ingest.pending.countFor(tenant);
      const lag = deps.applier.lag;
      return {
        tenant,
        ...totalsOf(tables),
        pendingRows,
        ingestRowsPerSecond: Math.round(deps.ingest.rate.rate(tenant) * 100) / 100,
        walLag: { records: lag.records, seconds: Math.round(lag.seconds * 1000) / 1000 },
        tables: tables.map((t) => ({ table: t.table, rows: t.rowCount, bytes: t.bytes, partitions: t.partitions, minTs: t.minTsMs, maxTs: t.maxTsMs })),
      };
    },
  });

  return [
    ingestHandler,
    { ...ingestHandler, path: '/data/store', operation: 'tenant.store' },
    readHandler,
    { ...readHandler, path: '/data/retrieve', operation: 'tenant.retrieve' },
    statsHandler,
    executeRoute(deps),
    retentionRoute(deps),
  ];
}
