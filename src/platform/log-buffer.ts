// A bounded in-memory copy of recent log lines for GET /logs. Lines are kept
// as the JSON text pino already produced (secrets already redacted) and parsed
// only when somebody asks, so logging stays cheap on the hot path.
import { Writable } from 'node:stream';

export interface LogEntry {
  level: number;
  time: number;
  msg?: string;
  service?: string;
  requestId?: string;
  [key: string]: unknown;
}

export interface LogQuery {
  minLevel?: number;
  service?: string;
  requestId?: string;
  sinceMs?: number;
  untilMs?: number;
  limit?: number;
}

export class LogBuffer extends Writable {
  private readonly lines: string[] = [];
  private next = 0;
  private filled = false;

  constructor(private readonly capacity: number) {
    super({ decodeStrings: false });
  }

  override _write(chunk: Buffer | string, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    const text = typeof chunk === 'string' ? chunk : chunk.toString('utf8');
    for (const line of text.split('\n')) {
      if (line.length === 0) continue;
      this.lines[this.next] = line;
      this.next = (this.next + 1) % this.capacity;
      if (this.next === 0) this.filled = true;
    }
    cb();
  }

  /** Newest last, filtered, at most `limit` entries (the newest ones). */
  query(q: LogQuery = {}): LogEntry[] {
    const ordered = this.filled ? [...this.lines.slice(this.next), ...this.lines.slice(0, this.next)] : this.lines.slice(0, this.next);
    const out: LogEntry[] = [];
    const limit = q.limit ?? 200;
    for (let i = ordered.length - 1; i >= 0 && out.length < limit; i--) {
      let entry: LogEntry;
      try {
        entry = JSON.parse(ordered[i] as string) as LogEntry;
      } catch {
        continue;
      }
      if (q.minLevel !== undefined && entry.level < q.minLevel) continue;
      if (q.service !== undefined && entry.service !== q.service) continue;
      if (q.requestId !== undefined && entry.requestId !== q.requestId) continue;
      if (q.sinceMs !== undefined && entry.time < q.sinceMs) continue;
      if (q.untilMs !== undefined && entry.time > q.untilMs) continue;
      out.push(entry);
    }
    return out.reverse();
  }
}
