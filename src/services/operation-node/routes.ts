// Operation Node routes: execute (JSON/NDJSON/Arrow), EXPLAIN, status, list,
// cancel, and the engines/workers this node runs on. Thin: the work is in
// src/query (planner, generator, executor, registry).
import type { Request } from 'express';
import { Errors } from '../../platform/errors.js';
import { route } from '../../platform/http/route.js';
import { consoleTenantOf, tenantIdOf } from '../../platform/http/tenant-id.js';
import { executeHandler } from '../../query/execute-handler.js';
import { queryCallerOf } from '../../query/query-caller.js';
import { cancelQuery, consoleQueries, seesQueryText } from '../../query/query-console.js';
import type { Consistency } from '../../query/freshness.js';
import { consistencyOf } from '../../query/request-schemas.js';
import type { OperationNodeDeps } from './index.js';
import { cancelParams, executeBody, historyQuery, planBody, planQuery, runningQuery, statusQuery } from './schemas.js';

export function operationNodeRoutes(deps: OperationNodeDeps) {
  const rt = () => deps.query;

  const explain = async (req: Request, input: { sql?: string | undefined; dsl?: unknown }, analyze: boolean, timeoutMs?: number, consistency?: Consistency) => {
    const tenant = tenantIdOf(req);
    const plan = await rt().executor.explain(tenant, input, analyze, timeoutMs, consistency, queryCallerOf(req));
    return deps.cluster ? { ...plan, shards: shardsTouched(deps.cluster) } : plan;
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
      auth: 'tenant:queries',
      summary: 'State, rows and elapsed time of one query (of the tenant; admins and operators: of any tenant)',
      query: statusQuery,
      requires: [],
      handler: ({ req, query }) => {
        const info = rt().registry.get(query.id, consoleTenantOf(req));
        if (!info) throw Errors.notFound(`query ${query.id}`);
        return info;
      },
    }),
    route({
      method: 'get',
      path: '/query/running',
      operation: 'query.list',
      auth: 'tenant:queries',
      summary: 'Queries of the tenant (running by default; ?state=all for recent ones too); admins and operators see every tenant’s unless X-Tenant-Id narrows',
      query: runningQuery,
      requires: [],
      handler: ({ req, query }) => {
        // With what each runs: the text for the tenant's users and admins, the normalized text for operators.
        const queries = consoleQueries(rt().registry, consoleTenantOf(req), query.state === 'all' ? undefined : query.state, seesQueryText(req.principal));
        return { queries, count: queries.length };
      },
    }),
    route({
      method: 'delete',
      path: '/query/:id',
      operation: 'query.cancel',
      auth: 'tenant:queries',
      summary: 'Cancel a running query (of the tenant; admins and operators: of any tenant); the engine stops it. A cancel by anyone but its owner is audited',
      requires: [],
      handler: async ({ req }) => {
        const { id } = cancelParams.parse(req.params);
        return cancelQuery(req, rt().registry, consoleTenantOf(req), id, deps.audit);
      },
    }),
    route({
      method: 'get',
      path: '/query/history',
      operation: 'query.history',
      auth: 'tenant:queries',
      summary:
        'The durable query log: queries that ended (state, rows, bytes, elapsed, who, client), newest or slowest first, filtered and paged by cursor; a tenant’s users see its own, admins and operators every tenant’s (operators the normalized text only)',
      query: historyQuery,
      handler: async ({ req, res, query }) => {
        // A member is held to its tenant whatever it asks; admins and operators may narrow with tenant= or X-Tenant-Id.
        const scope = consoleTenantOf(req);
        if (scope !== undefined && query.tenant !== undefined && query.tenant !== scope) {
          throw Errors.forbidden(`this request is scoped to tenant ${scope}; it cannot read the history of ${query.tenant}`);
        }
        // A client that goes away stops the read.
        const gone = new AbortController();
        res.once('close', () => gone.abort());
        return deps.queryLog.history(query, scope ?? query.tenant, { seesText: seesQueryText(req.principal) }, gone.signal);
      },
    }),
    route({
      method: 'get',
      path: '/nodes/status',
      operation: 'nodes.status',
      auth: 'operator',
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
        const cluster = deps.cluster ? await clusterStatus(deps.cluster) : undefined;
        return { engines, ...(cluster ? { cluster } : {}), workers, queries: { running: registry.list({ state: 'running' }).length, ...registry.counters } };
      },
    }),
  ];
}

type ClusterDeps = NonNullable<OperationNodeDeps['cluster']>;

/**
 * The shards a query through Distributed tables reads: every shard (18.16
 * cannot skip shards by the sharding key), one replica of each.
 */
function shardsTouched(cluster: ClusterDeps) {
  const shards = cluster.layout.topology.shards;
  return {
    cluster: cluster.name,
    touched: shards.map((s) => ({ shard: s.shard, replicas: s.replicas.length })),
    count: shards.length,
    note: 'Distributed tables read one replica of every shard; ClickHouse 18.16 does not prune shards by the sharding key',
  };
}

/** Every shard and replica as read now, with whether this process sends it calls. */
async function clusterStatus(cluster: ClusterDeps) {
  try {
    return { name: cluster.name, ...(await cluster.status()) };
  } catch (err) {
    // No node answered: the replicas' own state is unknown, this process's view of them is not.
    return { name: cluster.name, error: err instanceof Error ? err.message : String(err), nodes: cluster.engine.standings() };
  }
}
