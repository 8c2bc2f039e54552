// The dashboard's query console (admins and operators): running queries of
// every tenant, cancel with one click (audited like DELETE /query/:id, by the
// same domain code), and the query history, filtered like GET /query/history.
// The registry and the query log are this process's, when it runs them: in a
// process without the executor (SERVICES without operation-node and
// tenant-node) the panel is told why it has nothing.
import { Errors } from '../../platform/errors.js';
import { route } from '../../platform/http/route.js';
import { cancelQuery, consoleQueries, seesQueryText } from '../../query/query-console.js';
import type { MonitoringDeps } from './index.js';
import { consoleCancelParams, historyQuery } from './schemas.js';

const NO_EXECUTOR = 'this process runs no queries (SERVICES has neither operation-node nor tenant-node): open the dashboard of a process that does';

export function consoleRoutes(deps: MonitoringDeps) {
  return [
    route({
      method: 'get',
      path: '/dashboard/api/queries',
      operation: 'monitoring.dashboard.queries',
      auth: 'operator',
      summary: 'The query console: running queries of every tenant (tenant, principal, text — normalized for operators —, elapsed, rows so far)',
      requires: [],
      handler: ({ req }) => {
        if (!deps.queries) return { available: false, reason: NO_EXECUTOR, queries: [] };
        return { available: true, queries: consoleQueries(deps.queries, undefined, 'running', seesQueryText(req.principal)) };
      },
    }),
    route({
      method: 'delete',
      path: '/dashboard/api/queries/:id',
      operation: 'monitoring.dashboard.cancelQuery',
      auth: 'operator',
      summary: 'Cancels a running query of any tenant from the console; audited (query.cancel) like DELETE /query/:id by anyone but its owner',
      requires: [],
      handler: async ({ req }) => {
        const { id } = consoleCancelParams.parse(req.params);
        // Nothing runs here, so no query of that id does.
        if (!deps.queries) throw Errors.notFound(`query ${id} (${NO_EXECUTOR})`);
        return cancelQuery(req, deps.queries, undefined, id, deps.governance.audit);
      },
    }),
    route({
      method: 'get',
      path: '/dashboard/api/history',
      operation: 'monitoring.dashboard.history',
      auth: 'operator',
      summary: 'The console’s query history: the query log of every tenant, filtered like GET /query/history (sort=slowest for the slowest first)',
      query: historyQuery,
      requires: [],
      handler: async ({ req, res, query }) => {
        if (!deps.queryLog) return { available: false, reason: NO_EXECUTOR, entries: [], nextCursor: null, sort: query.sort };
        const gone = new AbortController();
        res.once('close', () => gone.abort());
        return { available: true, ...(await deps.queryLog.history(query, query.tenant, { seesText: seesQueryText(req.principal) }, gone.signal)) };
      },
    }),
  ];
}
