// One receiver's delivery queue. enqueue() is synchronous and bounded, so
// alert evaluation (and any request) never waits for a receiver; one send is
// in flight at a time, with a hard timeout. A failed send puts its alerts back
// at the head of the queue and the receiver waits an exponential backoff
// (with jitter) before the next try. An alert is keyed by its label set: a
// newer version of it replaces the queued one (nothing stale is retried), and
// it is dropped after maxAttempts failed sends or when the queue is full
// (oldest first, as Prometheus' notifier does). Each drop is counted.
import type { Logger } from 'pino';
import type { OutgoingAlert } from './alert-notifier.js';
import type { DeliveryMetrics } from './delivery-metrics.js';

/** Sends one batch; resolves on success, throws on any failure. Must honour the signal. */
export type DeliverySend = (alerts: OutgoingAlert[], signal: AbortSignal) => Promise<void>;

export interface DeliveryQueueOptions {
  capacity: number;
  maxAttempts: number;
  timeoutMs: number;
  batchSize?: number;
  backoffBaseMs?: number;
  backoffMaxMs?: number;
}

export interface DeliveryStatus {
  receiver: string;
  queued: number;
  consecutiveFailures: number;
  lastError?: string;
  lastSuccessAt?: number;
}

interface Item {
  alert: OutgoingAlert;
  attempts: number;
}

export const DEFAULT_BATCH_SIZE = 64;
export const BACKOFF_BASE_MS = 500;
export const BACKOFF_MAX_MS = 30_000;

export class DeliveryQueue {
  private pending = new Map<string, Item>();
  private inFlight = false;
  private timer?: NodeJS.Timeout;
  private nextAttemptAt = 0;
  private failures = 0;
  private lastError?: string;
  private lastSuccessAt?: number;
  private stopped = false;
  private readonly stopping = new AbortController();
  private idle: Promise<void> = Promise.resolve();

  constructor(
    readonly receiver: string,
    private readonly send: DeliverySend,
    private readonly opts: DeliveryQueueOptions,
    private readonly metrics: DeliveryMetrics,
    private readonly log: Logger,
  ) {
    metrics.queueDepth.set({ receiver }, 0);
  }

  enqueue(alerts: readonly OutgoingAlert[]): void {
    if (this.stopped) return;
    for (const alert of alerts) {
      if (this.pending.has(alert.key)) {
        // A newer version (later endsAt, or now resolved) supersedes the queued one, attempts start over.
        this.pending.set(alert.key, { alert, attempts: 0 });
        continue;
      }
      this.makeRoom(1);
      this.pending.set(alert.key, { alert, attempts: 0 });
    }
    this.metrics.queueDepth.set({ receiver: this.receiver }, this.pending.size);
    this.kick();
  }

  status(): DeliveryStatus {
    return {
      receiver: this.receiver,
      queued: this.pending.size,
      consecutiveFailures: this.failures,
      ...(this.lastError !== undefined ? { lastError: this.lastError } : {}),
      ...(this.lastSuccessAt !== undefined ? { lastSuccessAt: this.lastSuccessAt } : {}),
    };
  }

  /** Resolves when nothing is queued or in flight (tests; a bounded flush at shutdown). */
  async drained(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (this.pending.size > 0 || this.inFlight) {
      if (Date.now() >= deadline) return false;
      await new Promise((r) => setTimeout(r, 20));
    }
    return true;
  }

  /** Stops sending: the in-flight request is aborted, queued alerts are discarded. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.stopping.abort();
    await this.idle;
  }

  private makeRoom(n: number): void {
    while (this.pending.size + n > this.opts.capacity && this.pending.size > 0) {
      const oldest = this.pending.keys().next().value!;
      this.pending.delete(oldest);
      this.metrics.dropped.inc({ receiver: this.receiver, reason: 'queue_full' });
    }
  }

  private kick(): void {
    if (this.stopped || this.inFlight || this.timer || this.pending.size === 0) return;
    const wait = this.nextAttemptAt - Date.now();
    if (wait > 0) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.kick();
      }, wait);
      this.timer.unref();
      return;
    }
    this.idle = this.flush();
  }

  private async flush(): Promise<void> {
    this.inFlight = true;
    const batch: Item[] = [];
    for (const [key, item] of this.pending) {
      if (batch.length >= (this.opts.batchSize ?? DEFAULT_BATCH_SIZE)) break;
      batch.push(item);
      this.pending.delete(key);
    }
    const started = performance.now();
    try {
      await this.send(
        batch.map((i) => i.alert),
        AbortSignal.any([this.stopping.signal, AbortSignal.timeout(this.opts.timeoutMs)]),
      );
      this.metrics.deliveries.inc({ receiver: this.receiver, outcome: 'success' });
      if (this.failures > 0) this.log.info({ receiver: this.receiver, afterFailures: this.failures }, 'alert delivery recovered');
      this.failures = 0;
      this.nextAttemptAt = 0;
      this.lastSuccessAt = Date.now();
    } catch (err) {
      if (!this.stopped) this.failed(batch, err);
    } finally {
      this.metrics.duration.observe({ receiver: this.receiver }, (performance.now() - started) / 1000);
      this.inFlight = false;
      this.metrics.queueDepth.set({ receiver: this.receiver }, this.pending.size);
      this.kick();
    }
  }

  private failed(batch: Item[], err: unknown): void {
    this.metrics.deliveries.inc({ receiver: this.receiver, outcome: 'failed' });
    this.failures++;
    this.lastError = describe(err);
    const retry: Array<[string, Item]> = [];
    let givenUp = 0;
    for (const item of batch) {
      if (this.pending.has(item.alert.key)) continue; // a newer version is already queued
      if (item.attempts + 1 >= this.opts.maxAttempts) {
        givenUp++;
        continue;
      }
      retry.push([item.alert.key, { alert: item.alert, attempts: item.attempts + 1 }]);
    }
    if (givenUp > 0) this.metrics.dropped.inc({ receiver: this.receiver, reason: 'max_attempts' }, givenUp);
    // Retried alerts go back to the head, ahead of newer ones; the bound still holds (oldest dropped).
    this.pending = new Map([...retry, ...this.pending]);
    this.makeRoom(0);
    const base = this.opts.backoffBaseMs ?? BACKOFF_BASE_MS;
    const max = this.opts.backoffMaxMs ?? BACKOFF_MAX_MS;
    const delay = Math.min(max, base * 2 ** Math.min(this.failures - 1, 30)) * (0.8 + Math.random() * 0.4);
    this.nextAttemptAt = Date.now() + delay;
    // The first failure, then once per doubling: a dead receiver does not flood the log.
    if ((this.failures & (this.failures - 1)) === 0) {
      this.log.warn({ receiver: this.receiver, failures: this.failures, retryInMs: Math.round(delay), alerts: batch.length, givenUp, error: this.lastError }, 'alert delivery failed');
    }
  }
}

function describe(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: string }).code;
    if (err.name === 'TimeoutError' || code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') return 'timed out';
    const cause = err.cause as { code?: string; message?: string } | undefined;
    return [code, err.message, cause?.code].filter(Boolean).join(': ');
  }
  return String(err);
}
