// Alert delivery as configured: one queue per Alertmanager URL and one for the
// webhook, fed by one notifier after every evaluation. Built once by the
// monitoring service; with no receiver configured it does nothing at all.
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { Agent } from 'undici';
import type { AppConfig } from '../platform/config/load-config.js';
import { AlertNotifier } from './alert-notifier.js';
import type { AlertStatus } from './alert-engine.js';
import { alertmanagerSend, receiverTarget, webhookSend } from './alert-receivers.js';
import { DeliveryMetrics } from './delivery-metrics.js';
import { DeliveryQueue, type DeliveryStatus } from './delivery-queue.js';

/** Consecutive failed sends after which the monitoring service reports itself degraded. */
const DEGRADED_AFTER_FAILURES = 3;

export class AlertDelivery {
  readonly queues: readonly DeliveryQueue[];
  private readonly notifier: AlertNotifier;
  private readonly agent?: Agent;

  constructor(
    cfg: AppConfig['monitoring'],
    deps: { registry?: Registry; logger: Logger },
  ) {
    const d = cfg.delivery;
    const log = deps.logger.child({ component: 'alert-delivery' });
    const metrics = new DeliveryMetrics(deps.registry);
    const queues: DeliveryQueue[] = [];
    if (d.alertmanagerUrls.length > 0 || d.webhook) {
      // Its own small pool: a receiver that hangs cannot take connections from anything else.
      this.agent = new Agent({ connections: 4, connectTimeout: d.timeoutMs, headersTimeout: d.timeoutMs, bodyTimeout: d.timeoutMs, keepAliveTimeout: 30_000 });
      const opts = { capacity: d.queueSize, maxAttempts: d.maxAttempts, timeoutMs: d.timeoutMs };
      for (const url of d.alertmanagerUrls) {
        const target = receiverTarget('alertmanager', url);
        queues.push(new DeliveryQueue(target.name, alertmanagerSend(this.agent, target), opts, metrics, log));
      }
      if (d.webhook) {
        const target = receiverTarget('webhook', d.webhook.url);
        queues.push(new DeliveryQueue(target.name, webhookSend(this.agent, target, d.webhook.secret), opts, metrics, log));
      }
      log.info({ receivers: queues.map((q) => q.receiver), resendDelayMs: d.resendDelayMs }, 'alert delivery configured');
    }
    this.queues = queues;
    this.notifier = new AlertNotifier(queues, { resendDelayMs: d.resendDelayMs, evalIntervalMs: cfg.alerts.evalIntervalMs });
  }

  /** After each evaluation: enqueues what is due and returns at once. */
  observe(statuses: readonly AlertStatus[], now = Date.now()): void {
    if (this.queues.length > 0) this.notifier.observe(statuses, now);
  }

  status(): DeliveryStatus[] {
    return this.queues.map((q) => q.status());
  }

  health(): string[] {
    return this.status()
      .filter((s) => s.consecutiveFailures >= DEGRADED_AFTER_FAILURES)
      .map((s) => `alert delivery to ${s.receiver} failing (${s.consecutiveFailures} attempts): ${s.lastError ?? 'unknown error'}`);
  }

  async stop(): Promise<void> {
    await Promise.all(this.queues.map((q) => q.stop()));
    await this.agent?.destroy();
  }
}
