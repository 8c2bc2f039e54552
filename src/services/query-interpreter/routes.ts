// Query Interpreter routes: SQL and DSL to the AST, validation against the
// tenant's catalog (400 with line/column), and the logical plan.
import { route } from '../../platform/http/route.js';
import { tenantIdOf } from '../../platform/http/tenant-id.js';
import { parseInput } from '../../query/query-planner.js';
import type { QueryInterpreterDeps } from './index.js';
import { dslBody, parseSqlResponse, queryBody, sqlBody, sqlTextOf } from './schemas.js';

export function queryInterpreterRoutes(deps: QueryInterpreterDeps) {
  const rt = deps.planner;
  return [
    route({
      method: 'post',
      path: '/parse/sql',
      operation: 'interpreter.parse_sql',
      auth: 'client',
      summary: 'Parse a SELECT of the documented subset (`sql`, or its alias `query`) into its AST (positions included); 400 with line/column otherwise',
      body: sqlBody,
      response: parseSqlResponse,
      requires: [],
      handler: ({ body }) => ({ ast: parseInput({ sql: sqlTextOf(body) }) }),
    }),
    route({
      method: 'post',
      path: '/parse/dsl',
      operation: 'interpreter.parse_dsl',
      auth: 'client',
      summary: 'Translate a JSON DSL query ({table, filter, groupBy, aggregations, orderBy, limit}) into the same AST form',
      body: dslBody,
      requires: [],
      handler: ({ body }) => ({ ast: parseInput({ dsl: body }) }),
    }),
    route({
      method: 'post',
      path: '/validate/query',
      operation: 'interpreter.validate',
      auth: 'tenant:read',
      summary: 'Check a SQL or DSL query against the tenant’s catalog: tables, columns, types, aggregates',
      body: queryBody,
      requires: ['stateStore'],
      handler: async ({ req, body }) => {
        const tenant = tenantIdOf(req);
        const { bound } = await rt.planner.bind(tenant, { sql: body.sql, dsl: body.dsl });
        return {
          valid: true,
          tables: bound.tables.map((t) => ({ table: t.table, alias: t.alias })),
          columns: bound.outputs.map((o) => ({ name: o.name, type: o.type })),
        };
      },
    }),
    route({
      method: 'post',
      path: '/transform/plan',
      operation: 'interpreter.transform',
      auth: 'tenant:read',
      summary: 'The logical plan of a SQL or DSL query (scan, join, filter, aggregate, project, sort, limit)',
      body: queryBody,
      requires: ['stateStore'],
      handler: async ({ req, body }) => {
        const tenant = tenantIdOf(req);
        const { logical, bound } = await rt.planner.bind(tenant, { sql: body.sql, dsl: body.dsl });
        return { logical, columns: bound.outputs.map((o) => ({ name: o.name, type: o.type })) };
      },
    }),
  ];
}
