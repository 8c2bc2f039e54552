// Read-your-writes: rows acknowledged (durable in the WAL) but not yet applied
// to ClickHouse. GET /data merges these with what the sink already has. The
// applier evicts them once its checkpoint passes their LSN.
import type { StoredRecord } from '../storage/record-types.js';
import { AcknowledgedLsns } from './acknowledged-lsns.js';
import type { IngestBatch } from './wal-entry.js';

/** One WAL entry: decoded, and as written. */
export interface WalBatch {
  lsn: number;
  batch: IngestBatch;
  payload: Uint8Array;
}

interface PendingBatch {
  lsn: number;
  tenant: string;
  rows: IngestBatch['rows'];
  /** The batch as the WAL holds it (wal-entry.ts), for the applier's row renderer. */
  payload: Uint8Array;
  /** When it was acknowledged (or replayed): the age of the oldest one is the applier's lag. */
  at: number;
}

export class PendingRecords {
  private readonly batches: PendingBatch[] = [];
  private rowCount = 0;
  /** Last LSN acknowledged per table: what read-after-write queries wait for. */
  readonly acknowledged = new AcknowledgedLsns();

  add(lsn: number, batch: IngestBatch, payload: Uint8Array): void {
    this.acknowledged.record(batch.tenant, batch.rows, lsn);
    // Appends complete in LSN order only per group; keep the list sorted anyway.
    const entry = { lsn, tenant: batch.tenant, rows: batch.rows, payload, at: Date.now() };
    let i = this.batches.length;
    while (i > 0 && this.batches[i - 1]!.lsn > lsn) i--;
    this.batches.splice(i, 0, entry);
    this.rowCount += batch.rows.length;
  }

  evictThrough(lsn: number): void {
    let n = 0;
    while (n < this.batches.length && this.batches[n]!.lsn <= lsn) {
      this.rowCount -= this.batches[n]!.rows.length;
      n++;
    }
    if (n > 0) this.batches.splice(0, n);
  }

  /**
   * Batches with consecutive LSNs starting exactly at `fromLsn`, up to about
   * `maxRows` rows (at least one batch). Empty when `fromLsn` is not here.
   */
  contiguousFrom(fromLsn: number, maxRows: number): WalBatch[] {
    const out: WalBatch[] = [];
    let i = 0;
    while (i < this.batches.length && this.batches[i]!.lsn < fromLsn) i++;
    let expected = fromLsn;
    let rows = 0;
    for (; i < this.batches.length; i++) {
      const b = this.batches[i]!;
      if (b.lsn !== expected || (out.length > 0 && rows + b.rows.length > maxRows)) break;
      out.push({ lsn: b.lsn, batch: { tenant: b.tenant, rows: b.rows }, payload: b.payload });
      rows += b.rows.length;
      expected++;
    }
    return out;
  }

  get rows(): number {
    return this.rowCount;
  }

  get oldestLsn(): number | undefined {
    return this.batches[0]?.lsn;
  }

  /** Milliseconds since the oldest pending batch was added; 0 when none waits. */
  oldestAgeMs(now = Date.now()): number {
    const first = this.batches[0];
    return first ? now - first.at : 0;
  }

  /** Pending rows of one tenant table, in LSN order, first occurrence of a data_id wins. */
  find(tenant: string, table: string, match: (r: StoredRecord) => boolean): StoredRecord[] {
    const out: StoredRecord[] = [];
    const seen = new Set<string>();
    for (const b of this.batches) {
      if (b.tenant !== tenant) continue;
      for (const r of b.rows) {
        if (r.table !== table || seen.has(r.dataId)) continue;
        seen.add(r.dataId);
        const rec = { dataId: r.dataId, tsMs: r.tsMs, lsn: b.lsn, payload: r.payload };
        if (match(rec)) out.push(rec);
      }
    }
    return out;
  }

  /**
   * Drops the rows of a deleted tenant acknowledged up to `throughLsn`: no
   * longer readable, never applied. Their batches stay (empty) so the LSN run
   * the applier reads stays contiguous. Returns the rows dropped.
   */
  forgetTenant(tenant: string, throughLsn: number): number {
    let dropped = 0;
    for (const b of this.batches) {
      if (b.lsn > throughLsn) break;
      if (b.tenant !== tenant || b.rows.length === 0) continue;
      dropped += b.rows.length;
      this.rowCount -= b.rows.length;
      b.rows = [];
    }
    return dropped;
  }

  countFor(tenant: string): number {
    let n = 0;
    for (const b of this.batches) if (b.tenant === tenant) n += b.rows.length;
    return n;
  }
}
