// Read-your-writes: rows acknowledged (durable in the WAL) but not yet applied
// to ClickHouse. GET /data merges these with what the sink already has. The
// applier evicts them once its checkpoint passes their LSN.
import { tableRefKey } from '../storage/physical-names.js';
import type { StoredRecord } from '../storage/record-types.js';
import { AcknowledgedLsns } from './acknowledged-lsns.js';
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
  /** The claim its ids were recorded under (see claim). */
  token: ClaimToken;
  /** When it was acknowledged (or replayed): the age of the oldest one is the applier's lag. */
  at: number;
}

/**
 * Stands for one request's claim on its ids: settles once the request's rows
 * are pending, or it failed. A fresh one per request (identity matters).
 */
export type ClaimToken = Promise<void>;

/** What claim() found about a request's rows. */
export interface ClaimResult {
  /** Rows (indexes) repeating an id held by a pending batch, a request in flight, or an earlier row of the request. */
  suspects: number[];
  /** Rows whose ids nothing held: new unless the applier's id index has them. */
  unclaimed: number[];
}

export class PendingRecords {
  private readonly batches: PendingBatch[] = [];
  private rowCount = 0;
  private byteCount = 0;
  /** Last LSN acknowledged per table: what read-after-write queries wait for. */
  readonly acknowledged = new AcknowledgedLsns();
  /**
   * Per tenant table (tableRefKey): each data_id held by a request in flight
   * or a pending batch, with the claim of the latest request that holds it.
   * One map for both, so an acknowledged row costs one set, and one delete
   * when it is evicted; the id strings are the rows' own.
   */
  private readonly ids = new Map<string, Map<string, ClaimToken>>();

  /**
   * Records a request's ids under `token`, synchronously with the check, so
   * that of concurrent requests with one id exactly one finds it unheld. An
   * id stays held until a batch holding it is evicted (the applier's id index
   * has it by then) or the request that holds it fails (release).
   */
  claim(tenant: string, rows: IngestBatch['rows'], token: ClaimToken): ClaimResult {
    const result: ClaimResult = { suspects: [], unclaimed: [] };
    let table = '';
    let ids: Map<string, ClaimToken> | undefined;
    for (let i = 0; i < rows.length; i++) {
      const r = rows[i]!;
      if (r.table !== table || !ids) {
        table = r.table;
        const key = tableRefKey(tenant, table);
        ids = this.ids.get(key);
        if (!ids) this.ids.set(key, (ids = new Map()));
      }
      // One hash operation: the map grows only when nothing held the id.
      const before = ids.size;
      ids.set(r.dataId, token);
      if (ids.size > before) result.unclaimed.push(i);
      else result.suspects.push(i);
    }
    return result;
  }

  /** Gives up a failed request's claims (those no later request took over). */
  release(tenant: string, rows: IngestBatch['rows'], token: ClaimToken): void {
    this.forEachIdMap(tenant, rows, (ids, id) => {
      if (ids.get(id) === token) ids.delete(id);
    });
  }

  /**
   * A durable batch, readable at once. `suspects` and `token` come from its
   * claim; a batch replayed from the WAL has neither (it claims its ids here,
   * and the applier checks every row).
   */
  add(lsn: number, batch: IngestBatch, payload: Uint8Array, claimed?: { suspects: readonly number[]; token: ClaimToken }): void {
    this.acknowledged.record(batch.tenant, batch.rows, lsn);
    let token = claimed?.token;
    if (!token) {
      token = Promise.resolve();
      this.claim(batch.tenant, batch.rows, token);
    }
    // Appends complete in LSN order only per group; keep the list sorted anyway.
    const entry = { lsn, tenant: batch.tenant, rows: batch.rows, payload, suspects: claimed?.suspects, token, at: Date.now() };
    let i = this.batches.length;
    while (i > 0 && this.batches[i - 1]!.lsn > lsn) i--;
    this.batches.splice(i, 0, entry);
    this.rowCount += batch.rows.length;
    this.byteCount += payload.byteLength;
  }

  evictThrough(lsn: number): void {
    let n = 0;
    while (n < this.batches.length && this.batches[n]!.lsn <= lsn) {
      const b = this.batches[n]!;
      this.rowCount -= b.rows.length;
      this.byteCount -= b.payload.byteLength;
      // Committed: the id index answers for these ids now, whoever else held them since.
      this.forEachIdMap(b.tenant, b.rows, (ids, id) => ids.delete(id));
      n++;
    }
    if (n > 0) this.batches.splice(0, n);
  }

  /** Calls `fn` with each row's id and its table's id map (when there is one); drops maps left empty. */
  private forEachIdMap(tenant: string, rows: IngestBatch['rows'], fn: (ids: Map<string, ClaimToken>, id: string) => void): void {
    let table = '';
    let key = '';
    let ids: Map<string, ClaimToken> | undefined;
    for (const r of rows) {
      if (r.table !== table || !ids) {
        if (ids?.size === 0) this.ids.delete(key);
        table = r.table;
        key = tableRefKey(tenant, table);
        ids = this.ids.get(key);
        if (!ids) continue;
      }
      fn(ids, r.dataId);
    }
    if (ids?.size === 0) this.ids.delete(key);
  }

  /** Whether a request in flight or a pending batch holds this id. */
  holds(tenant: string, table: string, dataId: string): boolean {
    return this.ids.get(tableRefKey(tenant, table))?.has(dataId) ?? false;
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
