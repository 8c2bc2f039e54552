// Operation Node routes: execute (JSON/NDJSON/Arrow), EXPLAIN, status, list,
// cancel, and the engines/workers this node runs on. Thin: the work is in
// src/query (planner, generator, executor, registry).
import type { Request } from 'express';
import { Errors } from '../../platform/errors.js';
import { route } from '../../platform/http/route.js';
import { tenantIdOf } from '../../platform/http/tenant-id.js';
import { executeHandler } from '../../query/execute-handler.js';
import type { Consistency } from '../../query/freshness.js';
import { consistencyOf } from '../../query/request-schemas.js';
import type { OperationNodeDeps } from './index.js';
import { cancelParams, executeBody, planBody, planQuery, runningQuery, statusQuery } from './schemas.js';

export function operationNodeRoutes(deps: OperationNodeDeps) {
  const rt = () => deps.query;

  const explain = async (req: Request, input: { sql?: string | undefined; dsl?: unknown }, analyze: boolean, timeoutMs?: number, consistency?: Consistency) => {
    const tenant = tenantIdOf(req);
    return rt().executor.explain(tenant, input, analyze, timeoutMs, consistency);
  };

  return [
    route({
      method: 'post',
      path: '/query/execute',
      operation: 'query.execute',
      auth: 'tenant:read',
      summary: 'Run a SQL or DSL query for the tenant; JSON, or NDJSON / Arrow IPC stream by Accept (or format)',
      body: executeBody,
      handler: executeHandler(deps.query.executor, { via: 'operation-node', maxJsonRows: deps.maxJsonRows }),
    }),
    route({
      method: 'get',
      path: '/query/plan',
      operation: 'query.plan',
      auth: 'tenant:read',
      summary: 'EXPLAIN a SQL query (?sql=…): logical and physical plan with estimates; analyze=true adds actual rows and q-error',
      query: planQuery,
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
      handler: async ({ req, body }) => explain(req, { sql: body.sql, dsl: body.dsl }, body.analyze ?? false, body.timeoutMs, consistencyOf(body)),
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
        const engine = deps.engine;
        const t0 = performance.now();
        let healthy = true;
        let error: string | undefined;
        try {
          await engine.ping();
        } catch (err) {
          healthy = false;
          error = err instanceof Error ? err.message : String(err);
        }
        engines.push({
          name: 'clickhouse',
          kind: engine.kind,
          database: engine.database,
          healthy,
          pingMs: Math.round((performance.now() - t0) * 100) / 100,
          ...(error ? { error } : {}),
        });
        engines.push({ name: 'parquet', kind: 'file', readable: engine.kind === 'embedded', healthy: true, note: engine.kind === 'embedded' ? 'read through file() by the embedded engine' : 'written only; the server cannot read this node’s files' });
        const registry = rt().registry;
        const workers = deps.workers.status();
        return { engines, workers, queries: { running: registry.list({ state: 'running' }).length, ...registry.counters } };
      },
    }),
  ];
}
