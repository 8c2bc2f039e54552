// Operation Node routes: execute (JSON/NDJSON/Arrow), EXPLAIN, status, list,
// cancel, and the engines/workers this node runs on. Thin: the work is in
// src/query (planner, generator, executor, registry).
import type { Request, Response } from 'express';
import { z } from 'zod';
import { Errors } from '../../platform/errors.js';
import { route } from '../../platform/http/route.js';
import { tenantIdOf } from '../../platform/http/tenant-id.js';
import { queryRuntime } from '../../query/query-runtime.js';
import { executeBody, planBody, planQuery } from '../../query/request-schemas.js';
import { workerStatus } from '../../workers/index.js';
import type { ServiceDeps } from '../service-deps.js';
import { formatOf, writeResult } from './result-writer.js';

type ExecuteBody = z.infer<typeof executeBody>;

/** The handler behind POST /query/execute and POST /data/execute. */
export function executeHandler(deps: ServiceDeps, via: string) {
  return async ({ req, res, body }: { req: Request; res: Response; body: ExecuteBody }) => {
    const tenant = tenantIdOf(req);
    const rt = queryRuntime(deps);
    const format = formatOf(req, body.format);
    const open = await rt.executor.open(tenant, { sql: body.sql, dsl: body.dsl }, { timeoutMs: body.timeoutMs, via, format });
    return writeResult(req, res, open, format, deps.config.query.maxJsonRows);
  };
}

const statusQuery = z.object({ id: z.string().uuid() });
const runningQuery = z.object({ state: z.enum(['running', 'finished', 'failed', 'cancelled', 'timeout', 'all']).default('running') });
const cancelParams = z.object({ id: z.string().uuid() });

export function operationNodeRoutes(deps: ServiceDeps) {
  const rt = () => queryRuntime(deps);
  const needs = ['stateStore', 'wal', 'clickhouse'] as const;

  const explain = async (req: Request, input: { sql?: string | undefined; dsl?: unknown }, analyze: boolean, timeoutMs?: number) => {
    const tenant = tenantIdOf(req);
    return rt().executor.explain(tenant, input, analyze, timeoutMs);
  };

  return [
    route({
      method: 'post',
      path: '/query/execute',
      operation: 'query.execute',
      auth: 'tenant:read',
      summary: 'Run a SQL or DSL query for the tenant; JSON, or NDJSON / Arrow IPC stream by Accept (or format)',
      body: executeBody,
      requires: needs,
      handler: executeHandler(deps, 'operation-node'),
    }),
    route({
      method: 'get',
      path: '/query/plan',
      operation: 'query.plan',
      auth: 'tenant:read',
      summary: 'EXPLAIN a SQL query (?sql=…): logical and physical plan with estimates; analyze=true adds actual rows and q-error',
      query: planQuery,
      requires: needs,
      handler: async ({ req, query }) => {
        if (query.sql === undefined) throw Errors.validation('sql is required', { field: 'sql' });
        return explain(req, { sql: query.sql }, query.analyze);
      },
    }),
    route({
      method: 'post',
      path: '/query/plan',
      operation: 'query.plan',
      auth: 'tenant:read',
      summary: 'EXPLAIN a SQL or DSL query; analyze=true runs it and adds actual rows and q-error per node',
      body: planBody,
      requires: needs,
      handler: async ({ req, body }) => explain(req, { sql: body.sql, dsl: body.dsl }, body.analyze ?? false, body.timeoutMs),
    }),
    route({
      method: 'get',
      path: '/query/status',
      operation: 'query.status',
      auth: 'tenant:read',
      summary: 'State, rows and elapsed time of one query of the tenant',
      query: statusQuery,
      requires: [],
      handler: ({ req, query }) => {
        const tenant = tenantIdOf(req);
        const info = rt().registry.get(query.id, tenant);
        if (!info) throw Errors.notFound(`query ${query.id}`);
        return info;
      },
    }),
    route({
      method: 'get',
      path: '/query/running',
      operation: 'query.list',
      auth: 'tenant:read',
      summary: 'Queries of the tenant (running by default; ?state=all for recent ones too)',
      query: runningQuery,
      requires: [],
      handler: ({ req, query }) => {
        const tenant = tenantIdOf(req);
        const queries = rt().registry.list({ tenant, ...(query.state === 'all' ? {} : { state: query.state }) });
        return { queries, count: queries.length };
      },
    }),
    route({
      method: 'delete',
      path: '/query/:id',
      operation: 'query.cancel',
      auth: 'tenant:read',
      summary: 'Cancel a running query of the tenant; the engine stops it',
      requires: [],
      handler: ({ req }) => {
        const tenant = tenantIdOf(req);
        const { id } = cancelParams.parse(req.params);
        return rt().registry.cancel(id, tenant);
      },
    }),
    route({
      method: 'get',
      path: '/nodes/status',
      operation: 'nodes.status',
      auth: 'authenticated',
      summary: 'Engines (ClickHouse, Parquet) and remote workers this node executes on, with health',
      requires: [],
      handler: async () => {
        const engines: Array<Record<string, unknown>> = [];
        if (deps.resources.hasDataPath) {
          const dp = deps.resources.dataPath;
          const t0 = performance.now();
          let healthy = true;
          let error: string | undefined;
          try {
            await dp.engine.ping();
          } catch (err) {
            healthy = false;
            error = err instanceof Error ? err.message : String(err);
          }
          engines.push({
            name: 'clickhouse',
            kind: dp.engine.kind,
            database: dp.engine.database,
            healthy,
            pingMs: Math.round((performance.now() - t0) * 100) / 100,
            ...(error ? { error } : {}),
          });
          engines.push({ name: 'parquet', kind: 'file', readable: dp.engine.kind === 'embedded', healthy: true, note: dp.engine.kind === 'embedded' ? 'read through file() by the embedded engine' : 'written only; the server cannot read this node’s files' });
        } else {
          engines.push({ name: 'clickhouse', healthy: false, error: 'data path not open yet' });
        }
        const registry = rt().registry;
        let workers: unknown;
        try {
          workers = workerStatus(deps);
        } catch (err) {
          workers = { error: err instanceof Error ? err.message : String(err) };
        }
        return { engines, workers, queries: { running: registry.list({ state: 'running' }).length, ...registry.counters } };
      },
    }),
  ];
}
