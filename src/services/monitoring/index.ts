// The monitoring service: /metrics, /alerts, /logs and the dashboard. It keeps
// a short history of registry snapshots (charts, rates) and evaluates alert
// rules on a timer; both loops run only between start() and stop().
import { AlertDelivery } from '../../monitoring/alert-delivery.js';
import { loadAlertRules } from '../../monitoring/alert-rules.js';
import { AlertEngine } from '../../monitoring/alert-engine.js';
import { DASHBOARD_CHARTS } from '../../monitoring/charts.js';
import { DiskProbe } from '../../monitoring/disk-probe.js';
import { windowOf } from '../../monitoring/metric-expression.js';
import { MetricHistory } from '../../monitoring/metric-history.js';
import { registerMonitoringMetrics } from '../../monitoring/metrics.js';
import type { ServiceModule } from '../../platform/service.js';
import type { ServiceDeps } from '../service-deps.js';
import { DashboardAssets } from './dashboard-assets.js';
import type { MonitoringState } from './dashboard-snapshot.js';
import { monitoringRoutes } from './routes.js';

/** Chart points kept per series: ten minutes at the default one-second sampling. */
const CHART_POINTS = 600;

export function createMonitoringService(deps: ServiceDeps): ServiceModule {
  const log = deps.logger.child({ service: 'monitoring', component: 'alerts' });
  const cfg = deps.config.monitoring;
  const rules = loadAlertRules(cfg.alerts);
  const alerts = new AlertEngine(rules, { logger: log });
  const disk = new DiskProbe(deps.config.paths.dataDir, deps.config.paths.statePath);
  const history = new MetricHistory(deps.metrics.registry, DASHBOARD_CHARTS, {
    chartPoints: CHART_POINTS,
    extraWindowSec: Math.max(0, ...rules.map((r) => windowOf(r.expr))),
  });
  registerMonitoringMetrics(deps.metrics.registry, {
    alerts: () => alerts,
    disk,
    applierSecondsSinceProgress: () => {
      if (!deps.resources.hasDataPath) return undefined;
      const applier = deps.resources.dataPath.applier;
      const lag = applier.lag;
      if (lag.records === 0) return 0;
      const sinceProgress = (Date.now() - applier.health.lastProgressAt) / 1000;
      // An applier idle for an hour that just got a record is not stalled: count from the older of the two.
      return lag.seconds > 0 ? Math.min(sinceProgress, lag.seconds) : sinceProgress;
    },
  });
  // Alertmanager / webhook delivery: enqueue-only on the evaluation path.
  const delivery = new AlertDelivery(cfg, { registry: deps.metrics.registry, logger: deps.logger.child({ service: 'monitoring' }) });
  const mon: MonitoringState = { history, alerts, disk, delivery };

  const timers: NodeJS.Timeout[] = [];
  let lastLoopError = 0;
  const loopErrors = new Map<string, string>();
  const guarded = (what: string, fn: () => Promise<void>) => async () => {
    try {
      await fn();
      loopErrors.delete(what);
    } catch (err) {
      // At most one line a minute: a broken loop must not flood the log buffer it feeds.
      if (Date.now() - lastLoopError > 60_000) log.error({ err, loop: what }, 'monitoring loop failed');
      lastLoopError = Date.now();
      loopErrors.set(what, err instanceof Error ? err.message : String(err));
    }
  };
  const sample = guarded('sample', async () => {
    await history.capture({ chart: true });
  });
  const evaluateAlerts = guarded('alerts', async () => {
    await disk.refresh();
    await history.capture({ chart: false });
    alerts.evaluate(history);
    delivery.observe(alerts.list());
  });

  return {
    id: 'monitoring',
    dependencies: ['stateStore'],
    routes: monitoringRoutes(deps, mon, new DashboardAssets()),
    async start() {
      await sample();
      await evaluateAlerts();
      const every = (ms: number, fn: () => Promise<void>) => {
        let running = false;
        const t = setInterval(() => {
          if (running) return;
          running = true;
          void fn().finally(() => (running = false));
        }, ms);
        t.unref();
        timers.push(t);
      };
      every(cfg.sampleIntervalMs, sample);
      every(cfg.alerts.evalIntervalMs, evaluateAlerts);
    },
    async stop() {
      for (const t of timers.splice(0)) clearInterval(t);
      await delivery.stop();
    },
    health() {
      const reasons = [...loopErrors].map(([loop, msg]) => `${loop === 'alerts' ? 'alert evaluation' : 'metric sampling'} failing: ${msg}`);
      reasons.push(...delivery.health());
      return reasons.length === 0 ? { status: 'ok' } : { status: 'degraded', reasons };
    },
  };
}
