// Monitoring routes: Prometheus metrics, alerts, logs, and the dashboard (page
// shell and assets public; its data for admins and operators; login forwarded
// to the gateway).
import { route } from '../../platform/http/route.js';
import { LEVELS } from '../../platform/logger.js';
import { redactEntry } from '../../monitoring/log-redaction.js';
import { prometheusRuleFile } from '../../monitoring/prometheus-rule-file.js';
import { consoleRoutes } from './console-routes.js';
import type { MonitoringDeps } from './index.js';
import type { DashboardAssets } from './dashboard-assets.js';
import { forwardLogin, forwardLogout, forwardRefresh } from './dashboard-login.js';
import { buildSnapshot } from './dashboard-snapshot.js';
import { alertsQuery, loginBody, logsQuery, refreshBody, snapshotQuery } from './schemas.js';

export function monitoringRoutes(deps: MonitoringDeps, assets: DashboardAssets) {
  const mon = deps.alerting;
  return [
    route({
      method: 'get',
      path: '/metrics',
      operation: 'monitoring.metrics',
      auth: 'scrape',
      summary: 'Prometheus text exposition of every metric in this process',
      handler: async ({ res }) => {
        const text = await deps.registry.metrics();
        res.setHeader('Content-Type', deps.registry.contentType);
        res.send(text);
      },
    }),
    route({
      method: 'get',
      path: '/alerts',
      operation: 'monitoring.alerts',
      auth: 'operator',
      summary: 'Alert rules with their state (inactive/pending/firing), since when, value and threshold',
      query: alertsQuery,
      handler: ({ query }) => {
        const all = mon.alerts.list();
        const alerts = query.state ? all.filter((a) => a.state === query.state) : all;
        return {
          alerts,
          firing: all.filter((a) => a.state === 'firing').length,
          pending: all.filter((a) => a.state === 'pending').length,
          evaluationIntervalMs: deps.config.monitoring.alerts.evalIntervalMs,
          delivery: mon.delivery.status(),
        };
      },
    }),
    route({
      method: 'get',
      path: '/alerts/rules.yml',
      operation: 'monitoring.alerts.ruleFile',
      auth: 'scrape',
      summary: 'The alert rules (defaults and ALERT_RULES_FILE) as a Prometheus rule file, for your own Prometheus',
      requires: [],
      handler: ({ res }) => {
        res.setHeader('Content-Type', 'application/yaml; charset=utf-8');
        res.setHeader('Content-Disposition', 'inline; filename="rules.yml"');
        res.send(prometheusRuleFile(mon.alerts.rules, { evalIntervalMs: deps.config.monitoring.alerts.evalIntervalMs }));
      },
    }),
    route({
      method: 'get',
      path: '/logs',
      operation: 'monitoring.logs',
      auth: 'operator',
      summary: 'Recent structured log entries (bounded buffer), filterable by level, service, request id and time; secrets redacted',
      query: logsQuery,
      handler: ({ query }) => {
        const entries = deps.logBuffer
          .query({
            minLevel: query.level ? LEVELS[query.level] : undefined,
            service: query.service,
            requestId: query.requestId,
            sinceMs: query.since,
            untilMs: query.until,
            limit: query.limit,
          })
          .map(redactEntry);
        return { entries, count: entries.length };
      },
    }),
    route({
      method: 'get',
      path: '/dashboard',
      operation: 'monitoring.dashboard.page',
      auth: 'public',
      summary: 'The operator dashboard (HTML page; its data comes from /dashboard/api/snapshot)',
      requires: [],
      handler: ({ res }) => assets.send(res, 'index.html'),
    }),
    route({
      method: 'get',
      path: '/dashboard/assets/:file',
      operation: 'monitoring.dashboard.asset',
      auth: 'public',
      summary: 'Static script and stylesheet of the dashboard page',
      requires: [],
      handler: ({ req, res }) => assets.send(res, String(req.params.file)),
    }),
    route({
      method: 'get',
      path: '/dashboard/api/snapshot',
      operation: 'monitoring.dashboard.snapshot',
      auth: 'operator',
      summary: 'Everything the dashboard shows: health, workers, counters, charts, tenants, alerts, pending approvals, recent audit entries and logs',
      query: snapshotQuery,
      handler: ({ query }) => buildSnapshot(deps, query),
    }),
    ...consoleRoutes(deps),
    route({
      method: 'post',
      path: '/dashboard/login',
      operation: 'monitoring.dashboard.login',
      auth: 'public',
      summary: 'Logs the dashboard in through the auth gateway; returns its tokens as /auth/login names them (access_token, token_type, expires_in, refresh_token)',
      body: loginBody,
      requires: [],
      handler: async ({ req, body }) => {
        const result = await forwardLogin(deps, body, req.requestId);
        req.log.info({ username: body.username }, 'dashboard signed in');
        return result;
      },
    }),
    route({
      method: 'post',
      path: '/dashboard/refresh',
      operation: 'monitoring.dashboard.refresh',
      auth: 'public',
      summary: 'Renews the dashboard session through the auth gateway (the refresh token is the credential and is rotated)',
      body: refreshBody,
      requires: [],
      handler: ({ req, body }) => forwardRefresh(deps, body.refresh_token, req.requestId),
    }),
    route({
      method: 'post',
      path: '/dashboard/logout',
      operation: 'monitoring.dashboard.logout',
      auth: 'public',
      summary: 'Signs the dashboard out: revokes the session of the Bearer token at the auth gateway',
      requires: [],
      handler: ({ req }) => forwardLogout(deps, req.headers.authorization, req.requestId),
    }),
  ];
}
