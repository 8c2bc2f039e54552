// Metrics of alert delivery, per receiver (`alertmanager:<host>` or `webhook:<host>`,
// never a full URL: webhook paths often carry tokens).
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export class DeliveryMetrics {
  /** One per request to a receiver: success, or failed (connection error, timeout, non-2xx). */
  readonly deliveries: Counter<'receiver' | 'outcome'>;
  /** Alerts given up on: queue_full (oldest dropped) or max_attempts. */
  readonly dropped: Counter<'receiver' | 'reason'>;
  readonly queueDepth: Gauge<'receiver'>;
  readonly duration: Histogram<'receiver'>;

  constructor(registry?: Registry) {
    const registers = registry ? [registry] : [];
    this.deliveries = new Counter({
      name: 'alert_deliveries_total',
      help: 'Requests that delivered alerts to a receiver, by outcome (success, failed)',
      labelNames: ['receiver', 'outcome'],
      registers,
    });
    this.dropped = new Counter({
      name: 'alert_delivery_dropped_total',
      help: 'Alerts a receiver never got, by reason (queue_full, max_attempts)',
      labelNames: ['receiver', 'reason'],
      registers,
    });
    this.queueDepth = new Gauge({
      name: 'alert_delivery_queue_depth',
      help: 'Alerts waiting (or being retried) for delivery, by receiver',
      labelNames: ['receiver'],
      registers,
    });
    this.duration = new Histogram({
      name: 'alert_delivery_duration_seconds',
      help: 'Time of one delivery request, successful or not, by receiver',
      labelNames: ['receiver'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
  }
}
