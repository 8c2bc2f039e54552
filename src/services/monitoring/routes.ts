import { route } from '../../platform/http/route.js';
import { LEVELS } from '../../platform/logger.js';
import type { ServiceDeps } from '../service-deps.js';
import { logsQuery } from './schemas.js';

export function monitoringRoutes(deps: ServiceDeps) {
  return [
    route({
      method: 'get',
      path: '/metrics',
      operation: 'monitoring.metrics',
      auth: 'service',
      summary: 'Prometheus text exposition of every metric in this process',
      handler: async ({ res }) => {
        const text = await deps.metrics.registry.metrics();
        res.setHeader('Content-Type', deps.metrics.registry.contentType);
        res.send(text);
      },
    }),
    route({
      method: 'get',
      path: '/logs',
      operation: 'monitoring.logs',
      auth: 'admin',
      summary: 'Recent structured log entries (bounded buffer), filterable',
      query: logsQuery,
      handler: ({ query }) => {
        const entries = deps.logBuffer.query({
          minLevel: query.level ? LEVELS[query.level] : undefined,
          service: query.service,
          requestId: query.requestId,
          sinceMs: query.since,
          untilMs: query.until,
          limit: query.limit,
        });
        return { entries, count: entries.length };
      },
    }),
  ];
}
