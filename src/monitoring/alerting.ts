// Alert evaluation and the metric history behind it and the dashboard's charts,
// built once by boot: a short history of registry snapshots (sampled every
// MONITORING_SAMPLE_INTERVAL_MS), free disk under DATA_DIR, the rules evaluated
// every ALERT_EVAL_INTERVAL_MS, and delivery of firing and resolved alerts to
// Alertmanager and the webhook (queued: a slow receiver never holds evaluation).
// Both loops run between start() and stop().
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { AppConfig } from '../platform/config/load-config.js';
import { AlertDelivery } from './alert-delivery.js';
import { AlertEngine } from './alert-engine.js';
import { loadAlertRules } from './alert-rules.js';
import { DASHBOARD_CHARTS } from './charts.js';
import { DiskProbe } from './disk-probe.js';
import { windowOf } from './metric-expression.js';
import { MetricHistory } from './metric-history.js';
import { registerMonitoringMetrics } from './metrics.js';

/** Chart points kept per series: ten minutes at the default one-second sampling. */
const CHART_POINTS = 600;

export class AlertingRuntime {
  readonly history: MetricHistory;
  readonly alerts: AlertEngine;
  readonly disk: DiskProbe;
  readonly delivery: AlertDelivery;
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly loopErrors = new Map<string, string>();
  private lastLoopError = 0;
  private readonly log: Logger;

  constructor(
    private readonly settings: AppConfig['monitoring'],
    paths: Pick<AppConfig['paths'], 'dataDir' | 'statePath'>,
    registry: Registry,
    logger: Logger,
  ) {
    this.log = logger.child({ service: 'monitoring', component: 'alerts' });
    const rules = loadAlertRules(settings.alerts);
    this.alerts = new AlertEngine(rules, { logger: this.log });
    this.disk = new DiskProbe(paths.dataDir, paths.statePath);
    this.delivery = new AlertDelivery(settings, { registry, logger: logger.child({ service: 'monitoring' }) });
    this.history = new MetricHistory(registry, DASHBOARD_CHARTS, {
      chartPoints: CHART_POINTS,
      extraWindowSec: Math.max(0, ...rules.map((r) => windowOf(r.expr))),
    });
    registerMonitoringMetrics(registry, { alerts: () => this.alerts, disk: this.disk });
  }

  async start(): Promise<void> {
    await this.sample();
    await this.evaluate();
    this.every(this.settings.sampleIntervalMs, this.sample);
    this.every(this.settings.alerts.evalIntervalMs, this.evaluate);
  }

  async stop(): Promise<void> {
    for (const t of this.timers.splice(0)) clearInterval(t);
    await this.delivery.stop();
  }

  /** Why alerting is degraded (for /health): loops that keep failing, receivers that keep refusing. */
  problems(): string[] {
    const loops = [...this.loopErrors].map(([loop, msg]) => `${loop === 'alerts' ? 'alert evaluation' : 'metric sampling'} failing: ${msg}`);
    return [...loops, ...this.delivery.health()];
  }

  private readonly sample = this.guarded('sample', async () => {
    await this.history.capture({ chart: true });
  });

  private readonly evaluate = this.guarded('alerts', async () => {
    await this.disk.refresh();
    await this.history.capture({ chart: false });
    this.alerts.evaluate(this.history);
    this.delivery.observe(this.alerts.list());
  });

  private every(ms: number, fn: () => Promise<void>): void {
    let running = false;
    const t = setInterval(() => {
      if (running) return;
      running = true;
      void fn().finally(() => (running = false));
    }, ms);
    t.unref();
    this.timers.push(t);
  }

  private guarded(what: string, fn: () => Promise<void>): () => Promise<void> {
    return async () => {
      try {
        await fn();
        this.loopErrors.delete(what);
      } catch (err) {
        // At most one line a minute: a broken loop must not flood the log buffer it feeds.
        if (Date.now() - this.lastLoopError > 60_000) this.log.error({ err, loop: what }, 'monitoring loop failed');
        this.lastLoopError = Date.now();
        this.loopErrors.set(what, err instanceof Error ? err.message : String(err));
      }
    };
  }
}
