// Turns rule states into alerts to deliver, the way Prometheus' rule manager
// does (rules/alerting.go: needsSending, ValidUntil, resolvedRetention):
// - a firing alert is sent when it starts firing and again every resend delay;
//   its endsAt is a lease of 4 × max(evaluation interval, resend delay), so if
//   this process dies its alerts expire in Alertmanager on their own instead of
//   firing forever, while two lost sends in a row change nothing;
// - a resolved alert is sent at once with endsAt = when it resolved, and again
//   every resend delay for RESOLVED_RETENTION_MS, so one lost send does not
//   leave it firing in Alertmanager until the lease runs out;
// - pending alerts are never sent.
// observe() only enqueues: delivery happens on each receiver's own queue.
import type { AlertStatus } from './alert-engine.js';

export interface OutgoingAlert {
  /** The alert's identity across sends: its label set (what Alertmanager fingerprints). */
  key: string;
  status: 'firing' | 'resolved';
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
}

/** Where observe() hands alerts; must return at once (a bounded queue). */
export interface AlertSink {
  enqueue(alerts: readonly OutgoingAlert[]): void;
}

export interface NotifierTiming {
  resendDelayMs: number;
  evalIntervalMs: number;
  /** How long a resolved alert keeps being re-sent (Prometheus: 15 minutes). */
  resolvedRetentionMs?: number;
}

export const RESOLVED_RETENTION_MS = 15 * 60_000;
/** Lease multiple: allows for two failed evaluations or sends (Prometheus' value). */
export const LEASE_INTERVALS = 4;

interface Tracked {
  labels: Record<string, string>;
  key: string;
  firedAt: number;
  resolvedAt?: number;
  lastSentAt?: number;
  annotations: Record<string, string>;
}

export class AlertNotifier {
  private readonly active = new Map<string, Tracked>();
  private readonly retentionMs: number;

  constructor(
    private readonly sinks: readonly AlertSink[],
    private readonly timing: NotifierTiming,
  ) {
    this.retentionMs = timing.resolvedRetentionMs ?? RESOLVED_RETENTION_MS;
  }

  /** endsAt of a firing alert sent at `now`. */
  leaseUntil(now: number): number {
    return now + LEASE_INTERVALS * Math.max(this.timing.evalIntervalMs, this.timing.resendDelayMs);
  }

  /** Called after every evaluation; returns the alerts it enqueued (for tests and logs). */
  observe(statuses: readonly AlertStatus[], now = Date.now()): OutgoingAlert[] {
    for (const s of statuses) {
      let t = this.active.get(s.name);
      if (s.state === 'firing') {
        // A rule that fires again after resolving is a new alert with its own startsAt.
        if (!t || t.resolvedAt !== undefined) {
          t = { labels: s.labels, key: labelKey(s.labels), firedAt: Date.parse(s.since), annotations: {} };
          this.active.set(s.name, t);
        }
        t.annotations = annotationsOf(s);
      } else if (t) {
        if (t.resolvedAt === undefined) {
          t.resolvedAt = s.state === 'inactive' ? Date.parse(s.since) : now;
          t.annotations = annotationsOf(s, t.annotations.value);
        } else if (now - t.resolvedAt > this.retentionMs) {
          this.active.delete(s.name);
        }
      }
    }
    const out: OutgoingAlert[] = [];
    for (const t of this.active.values()) {
      if (!this.needsSending(t, now)) continue;
      t.lastSentAt = now;
      const resolved = t.resolvedAt !== undefined;
      out.push({
        key: t.key,
        status: resolved ? 'resolved' : 'firing',
        labels: t.labels,
        annotations: t.annotations,
        startsAt: new Date(t.firedAt).toISOString(),
        endsAt: new Date(resolved ? t.resolvedAt! : this.leaseUntil(now)).toISOString(),
      });
    }
    if (out.length > 0) for (const sink of this.sinks) sink.enqueue(out);
    return out;
  }

  private needsSending(t: Tracked, now: number): boolean {
    if (t.lastSentAt === undefined) return true;
    if (t.resolvedAt !== undefined && t.resolvedAt >= t.lastSentAt) return true;
    return now - t.lastSentAt >= this.timing.resendDelayMs;
  }
}

function labelKey(labels: Record<string, string>): string {
  return JSON.stringify(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

export function formatValue(v: number | null): string {
  if (v === null) return 'no data';
  if (!Number.isFinite(v)) return String(v);
  return String(Number(v.toPrecision(6)));
}

/** summary, value and threshold as Alertmanager annotations (strings); with no data at resolution, the last value known. */
function annotationsOf(s: AlertStatus, lastValue?: string): Record<string, string> {
  const value = s.value === null && lastValue !== undefined ? lastValue : formatValue(s.value);
  return {
    summary: s.summary || s.name,
    description: `${s.name}: value ${value}, fires when ${s.op} ${formatValue(s.threshold)}`,
    value,
    threshold: formatValue(s.threshold),
  };
}
