// Rows acknowledged per second over the last minute, per tenant and in total,
// kept as 60 one-second buckets (cheap to update on the hot path).
const WINDOW_SECONDS = 60;

class Window {
  private readonly counts = new Float64Array(WINDOW_SECONDS);
  private readonly stamps = new Float64Array(WINDOW_SECONDS);

  add(n: number, nowSec: number): void {
    const i = nowSec % WINDOW_SECONDS;
    if (this.stamps[i] !== nowSec) {
      this.stamps[i] = nowSec;
      this.counts[i] = 0;
    }
    this.counts[i] = (this.counts[i] ?? 0) + n;
  }

  rate(nowSec: number, seconds: number): number {
    let sum = 0;
    for (let s = nowSec - seconds; s < nowSec; s++) {
      const i = ((s % WINDOW_SECONDS) + WINDOW_SECONDS) % WINDOW_SECONDS;
      if (this.stamps[i] === s) sum += this.counts[i] ?? 0;
    }
    return sum / seconds;
  }
}

export class IngestRate {
  private readonly total = new Window();
  private readonly byTenant = new Map<string, Window>();

  record(tenant: string, rows: number, nowMs = Date.now()): void {
    const sec = Math.floor(nowMs / 1000);
    this.total.add(rows, sec);
    let w = this.byTenant.get(tenant);
    if (!w) this.byTenant.set(tenant, (w = new Window()));
    w.add(rows, sec);
  }

  /** Mean rows/s over the last `seconds` complete seconds. */
  rate(tenant?: string, seconds = 10, nowMs = Date.now()): number {
    const w = tenant === undefined ? this.total : this.byTenant.get(tenant);
    return w ? w.rate(Math.floor(nowMs / 1000), Math.min(seconds, WINDOW_SECONDS - 1)) : 0;
  }
}
