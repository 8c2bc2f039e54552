// Read-your-writes: rows acknowledged (durable in the WAL) but not yet applied
// to ClickHouse. GET /data merges these with what the sink already has. The
// applier evicts them once its checkpoint passes their LSN.
import { tableRefKey } from '../storage/physical-names.js';
import type { StoredRecord } from '../storage/record-types.js';
import type { IngestBatch } from './wal-entry.js';

/** One WAL entry: decoded, and as written. */
export interface WalBatch {
  lsn: number;
  batch: IngestBatch;
  payload: Uint8Array;
  /**
   * Rows (indexes) whose data_id ingest could not prove new when it
   * acknowledged them; every other row's id was in no durable record then,
   * nor claimed by a request in flight. Undefined when the entry was never
   * checked (replayed from the WAL after a restart): every row is suspect.
   */
  suspects?: readonly number[];
}

interface PendingBatch {
  lsn: number;
  tenant: string;
  rows: IngestBatch['rows'];
  /** The batch as the WAL holds it (wal-entry.ts), for the applier's engine writer. */
  payload: Uint8Array;
  suspects: readonly number[] | undefined;
  /** When it was acknowledged (or replayed): the age of the oldest one is the applier's lag. */
  at: number;
}

export class PendingRecords {
  private readonly batches: PendingBatch[] = [];
  private rowCount = 0;
  private byteCount = 0;
  /**
   * Per tenant table (tableRefKey): each pending data_id and the LSN of its
   * first pending occurrence, so ingest can tell a duplicate without a scan.
   * The id strings are the rows' own, so this costs a map entry per row.
   */
  private readonly ids = new Map<string, Map<string, number>>();

  add(lsn: number, batch: IngestBatch, payload: Uint8Array, suspects?: readonly number[]): void {
    // Appends complete in LSN order only per group; keep the list sorted anyway.
    const entry = { lsn, tenant: batch.tenant, rows: batch.rows, payload, suspects, at: Date.now() };
    let i = this.batches.length;
    while (i > 0 && this.batches[i - 1]!.lsn > lsn) i--;
    this.batches.splice(i, 0, entry);
    this.rowCount += batch.rows.length;
    this.byteCount += payload.byteLength;
    let table = '';
    let ids: Map<string, number> | undefined;
    for (const r of batch.rows) {
      if (r.table !== table || !ids) {
        table = r.table;
        const key = tableRefKey(batch.tenant, table);
        ids = this.ids.get(key);
        if (!ids) this.ids.set(key, (ids = new Map()));
      }
      const first = ids.get(r.dataId);
      if (first === undefined || first > lsn) ids.set(r.dataId, lsn);
    }
  }

  evictThrough(lsn: number): void {
    let n = 0;
    while (n < this.batches.length && this.batches[n]!.lsn <= lsn) {
      const b = this.batches[n]!;
      this.rowCount -= b.rows.length;
      this.byteCount -= b.payload.byteLength;
      this.forgetIds(b);
      n++;
    }
    if (n > 0) this.batches.splice(0, n);
  }

  /** Drops a batch's ids whose first pending occurrence it is (a later duplicate is found in the id index once this one commits). */
  private forgetIds(b: PendingBatch): void {
    let table = '';
    let key = '';
    let ids: Map<string, number> | undefined;
    for (const r of b.rows) {
      if (r.table !== table || !ids) {
        table = r.table;
        key = tableRefKey(b.tenant, table);
        ids = this.ids.get(key);
        if (!ids) continue;
      }
      if (ids.get(r.dataId) === b.lsn) ids.delete(r.dataId);
      if (ids.size === 0) {
        this.ids.delete(key);
        ids = undefined;
      }
    }
  }

  /** The pending data_ids of a tenant table (read-only view), or undefined when none waits. */
  idsOf(tenant: string, table: string): ReadonlyMap<string, number> | undefined {
    return this.ids.get(tableRefKey(tenant, table));
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
      out.push({ lsn: b.lsn, batch: { tenant: b.tenant, rows: b.rows }, payload: b.payload, ...(b.suspects ? { suspects: b.suspects } : {}) });
      rows += b.rows.length;
      expected++;
    }
    return out;
  }

  get rows(): number {
    return this.rowCount;
  }

  /** Bytes of the WAL entries held (what INGEST_MAX_PENDING_BYTES bounds; decoded rows take a few times this in memory). */
  get bytes(): number {
    return this.byteCount;
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

  countFor(tenant: string): number {
    let n = 0;
    for (const b of this.batches) if (b.tenant === tenant) n += b.rows.length;
    return n;
  }
}
