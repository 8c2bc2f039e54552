// Evaluates alert rules against the metric history. Each rule moves
// inactive → pending (condition true) → firing (true for forMs) and back to
// inactive when the condition clears or its metric has no data. Transitions are
// logged, so /logs and the process output tell the story of every alert.
import type { Logger } from 'pino';
import { alertLabels, type AlertOp, type AlertRule } from './alert-rules.js';
import { evaluate, type SnapshotSource } from './metric-expression.js';

export type AlertState = 'inactive' | 'pending' | 'firing';

export interface AlertStatus {
  name: string;
  summary: string;
  severity: AlertRule['severity'];
  state: AlertState;
  /** When the rule entered its current state (ISO-8601). */
  since: string;
  /** When the condition started to hold (pending or firing), else null. */
  activeAt: string | null;
  value: number | null;
  op: AlertOp;
  threshold: number;
  forMs: number;
  lastEvaluatedAt: string | null;
  /** The labels the alert is delivered with (alertname, severity, service, tenant where relevant, the rule's own). */
  labels: Record<string, string>;
}

interface RuleState {
  state: AlertState;
  since: number;
  activeAt: number | null;
  value: number | null;
  lastEvaluatedAt: number | null;
}

export function compare(value: number, op: AlertOp, threshold: number): boolean {
  switch (op) {
    case '>':
      return value > threshold;
    case '>=':
      return value >= threshold;
    case '<':
      return value < threshold;
    case '<=':
      return value <= threshold;
  }
}

export class AlertEngine {
  private readonly states = new Map<string, RuleState>();
  private readonly labels = new Map<string, Record<string, string>>();

  constructor(
    readonly rules: readonly AlertRule[],
    private readonly opts: { logger: Logger; onChange?: (rule: AlertRule, state: AlertState) => void; now?: number },
  ) {
    const t = opts.now ?? Date.now();
    for (const r of rules) {
      this.states.set(r.name, { state: 'inactive', since: t, activeAt: null, value: null, lastEvaluatedAt: null });
      this.labels.set(r.name, alertLabels(r));
    }
  }

  evaluate(source: SnapshotSource, now = Date.now()): void {
    for (const rule of this.rules) {
      const s = this.states.get(rule.name)!;
      let value: number | null;
      try {
        value = evaluate(rule.expr, source);
      } catch (err) {
        this.opts.logger.error({ err, alert: rule.name }, 'alert rule evaluation failed');
        value = null;
      }
      s.value = value;
      s.lastEvaluatedAt = now;
      const holds = value !== null && compare(value, rule.op, rule.threshold);
      const before = s.state;
      if (!holds) {
        if (before !== 'inactive') this.transition(rule, s, 'inactive', now);
        s.activeAt = null;
        continue;
      }
      if (before === 'inactive') {
        s.activeAt = now;
        this.transition(rule, s, rule.forMs === 0 ? 'firing' : 'pending', now);
      } else if (before === 'pending' && now - (s.activeAt ?? now) >= rule.forMs) {
        this.transition(rule, s, 'firing', now);
      }
    }
  }

  list(): AlertStatus[] {
    return this.rules.map((rule) => {
      const s = this.states.get(rule.name)!;
      return {
        name: rule.name,
        summary: rule.summary,
        severity: rule.severity,
        state: s.state,
        since: new Date(s.since).toISOString(),
        activeAt: s.activeAt === null ? null : new Date(s.activeAt).toISOString(),
        value: s.value,
        op: rule.op,
        threshold: rule.threshold,
        forMs: rule.forMs,
        lastEvaluatedAt: s.lastEvaluatedAt === null ? null : new Date(s.lastEvaluatedAt).toISOString(),
        labels: { ...this.labels.get(rule.name)! },
      };
    });
  }

  private transition(rule: AlertRule, s: RuleState, to: AlertState, now: number): void {
    const from = s.state;
    s.state = to;
    s.since = now;
    const fields = { alert: rule.name, severity: rule.severity, from, to, value: s.value, op: rule.op, threshold: rule.threshold };
    if (to === 'firing') this.opts.logger.warn(fields, `alert firing: ${rule.name}`);
    else if (from === 'firing') this.opts.logger.info(fields, `alert resolved: ${rule.name}`);
    else this.opts.logger.info(fields, `alert ${to}: ${rule.name}`);
    this.opts.onChange?.(rule, to);
  }
}
