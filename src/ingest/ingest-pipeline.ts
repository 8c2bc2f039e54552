// The acknowledge path: validate the whole request, admit it against the
// tenant's limits, check/extend the table schemas, append one WAL record
// (durable, group-committed) and make the rows readable at once.
import { Errors } from '../platform/errors.js';
import { deleteKeyRange, type StateAccess } from '../platform/state-store.js';
import { idempotencyKey, idempotencyRange, idIndexPrefix } from '../storage/physical-names.js';
import type { WriteAheadLog } from '../storage/wal/index.js';
import type { IngestLimiter } from './ingest-limiter.js';
import type { IngestMetrics } from './metrics.js';
import type { CommittedIds } from './committed-ids.js';
import type { PendingRecords } from './pending-records.js';
import { validateRecords, type ValidationLimits } from './record-validator.js';
import type { TableSchemas } from './table-schemas.js';
import { encodeBatch, type IngestRow } from './wal-entry.js';

export interface IngestAck {
  /** Records of the request, all durable in the WAL. */
  accepted: number;
  /**
   * Of those, records whose (table, data_id) was already acknowledged, or
   * came earlier in the same request: they change nothing (the first record
   * with an id wins).
   */
  duplicates: number;
  lsn: number;
  /** True when this answer is the stored answer to an earlier request with the same Idempotency-Key. */
  replayed?: boolean;
}

export interface IngestDeps {
  wal: () => WriteAheadLog;
  /** The ingest path's own sublevel: `idempotency`. */
  state: () => StateAccess;
  schemas: TableSchemas;
  limiter: IngestLimiter;
  pending: PendingRecords;
  /** The catalog's data_id index: the LSN each id key was committed under (undefined when not). */
  committedLsns: (keys: readonly string[]) => Promise<Array<number | undefined>>;
  /** Rules ids out of the id index without a lookup (see committed-ids.ts). */
  committedIds?: CommittedIds;
  metrics: IngestMetrics;
  limits: ValidationLimits;
  /** Acknowledged rows allowed to wait for the applier before ingest pushes back. */
  maxPendingRows: number;
  /** The same bound in bytes of WAL entries held for the applier. */
  maxPendingBytes: number;
  /** Rows acknowledged per second, over a sliding window (for /data/stats). */
  onAccepted?: (tenant: string, rows: number) => void;
}

const IDEMPOTENCY_KEY = /^[A-Za-z0-9._:-]{1,128}$/;
const IDEMPOTENCY_TTL_MS = 24 * 3600 * 1000;

export class IngestPipeline {
  private readonly lookups: IdIndexLookups;
  /** Claims of the requests between their duplicate check and the pending buffer. */
  private readonly inFlight = new Set<Promise<void>>();

  constructor(private readonly deps: IngestDeps) {
    this.lookups = new IdIndexLookups(deps.committedLsns);
  }

  /** Forgets every stored Idempotency-Key answer of a tenant (deleted), a synced batch per slice. */
  forgetTenant(tenant: string): Promise<number> {
    return deleteKeyRange(this.deps.state(), 'idempotency', idempotencyRange(tenant));
  }

  async ingest(
    tenant: string,
    records: unknown[],
    opts: { table?: string; idempotencyKey?: string; surrogateEscapes?: boolean },
  ): Promise<IngestAck> {
    const { deps } = this;
    const idemKey = opts.idempotencyKey;
    if (idemKey !== undefined && !IDEMPOTENCY_KEY.test(idemKey)) {
      throw Errors.validation('Idempotency-Key must match ^[A-Za-z0-9._:-]{1,128}$');
    }
    const rows = validateRecords(records, opts.table ?? 'events', deps.limits, Date.now(), { surrogateEscapes: opts.surrogateEscapes });
    const idem = deps.state().sublevel<IngestAck & { at: number }>('idempotency');
    if (idemKey !== undefined) {
      const prior = await idem.get(idempotencyKey(tenant, idemKey));
      if (prior && Date.now() - prior.at < IDEMPOTENCY_TTL_MS) {
        deps.metrics.requests.inc({ outcome: 'replayed' });
        return { accepted: prior.accepted, duplicates: prior.duplicates ?? 0, lsn: prior.lsn, replayed: true };
      }
    }
    this.pushBackIfFull(rows.length, 0);
    await deps.limiter.admit(tenant, rows.length);
    await deps.schemas.extend(tenant, rows);

    const batch = { tenant, rows };
    const payload = encodeBatch(batch);
    // Checked again with the entry's size: a burst of requests must not carry the buffer past either bound.
    this.pushBackIfFull(rows.length, payload.length);
    let finish!: () => void;
    const token = new Promise<void>((resolve) => (finish = resolve));
    let lastLsn: number;
    let suspects: number[];
    let appended = false;
    try {
      // Synchronous with the check: of concurrent requests with one new id, exactly one calls it new.
      const claim = deps.pending.claim(tenant, rows, token);
      // A request repeating an id appends after every request in flight, so the one that called it new
      // (if still in flight) is first in the WAL too. Repeats are rare; the others never wait.
      const before = claim.suspects.length > 0 ? [...this.inFlight] : [];
      this.inFlight.add(token);
      suspects = await this.committedAmong(tenant, rows, claim.unclaimed, claim.suspects);
      // Claims never reject.
      if (before.length > 0) await Promise.all(before);
      ({ lastLsn } = await deps.wal().append([payload]));
      deps.pending.add(lastLsn, batch, payload, { suspects, token });
      appended = true;
    } finally {
      if (!appended) deps.pending.release(tenant, rows, token);
      this.inFlight.delete(token);
      finish();
    }
    const duplicates = suspects.length;

    deps.metrics.walBytes.inc(payload.length);
    deps.metrics.walRecords.inc();
    deps.metrics.accepted(tenant, rows.length);
    if (duplicates > 0) deps.metrics.duplicates.inc(duplicates);
    deps.onAccepted?.(tenant, rows.length);
    const ack: IngestAck = { accepted: rows.length, duplicates, lsn: lastLsn };
    if (idemKey !== undefined) await idem.put(idempotencyKey(tenant, idemKey), { ...ack, at: Date.now() });
    return ack;
  }

  /** 503 ingest_backpressure when `rows` more rows (and `bytes` more WAL bytes) would pass a pending bound. */
  private pushBackIfFull(rows: number, bytes: number): void {
    const { pending, maxPendingRows, maxPendingBytes } = this.deps;
    if (pending.rows + rows > maxPendingRows || pending.bytes + bytes > maxPendingBytes) {
      this.deps.metrics.requests.inc({ outcome: 'backpressure' });
      throw Errors.applierBehind(pending.rows, pending.bytes);
    }
  }

  /**
   * Adds to `suspects` the rows of `candidates` (held by no one) whose id the
   * applier's index has committed, and returns them all in row order. Only
   * ids the committed-id filter cannot rule out are looked up. The
   * pending buffer is checked (claim) before the index, and the applier
   * commits its index before it evicts rows from the pending buffer, so an
   * id cannot slip between the two.
   */
  private async committedAmong(tenant: string, rows: IngestRow[], candidates: number[], suspects: number[]): Promise<number[]> {
    const keys: string[] = [];
    const looked: number[] = [];
    let table = '';
    let prefix = '';
    for (const i of candidates) {
      const r = rows[i]!;
      if (r.table !== table) {
        table = r.table;
        prefix = idIndexPrefix(tenant, table);
      }
      const key = prefix + r.dataId;
      // Certainly not committed: no lookup.
      if (this.deps.committedIds && !this.deps.committedIds.mightContain(key)) continue;
      keys.push(key);
      looked.push(i);
    }
    if (keys.length > 0) {
      const committed = await this.lookups.get(keys);
      for (let k = 0; k < committed.length; k++) if (committed[k] !== undefined) suspects.push(looked[k]!);
    }
    return suspects.length > 1 ? suspects.sort((a, b) => a - b) : suspects;
  }
}

/**
 * Id-index lookups of the requests that arrive in one turn of the event loop
 * go to the catalog's index (LevelDB) as one getMany: a single-record request would otherwise pay a
 * native call and a threadpool round trip for its one key.
 */
class IdIndexLookups {
  private queued: Array<{ keys: string[]; resolve: (found: Array<number | undefined>) => void; reject: (err: unknown) => void }> = [];

  constructor(private readonly committedLsns: (keys: readonly string[]) => Promise<Array<number | undefined>>) {}

  get(keys: string[]): Promise<Array<number | undefined>> {
    return new Promise((resolve, reject) => {
      if (this.queued.length === 0) setImmediate(() => void this.flush());
      this.queued.push({ keys, resolve, reject });
    });
  }

  private async flush(): Promise<void> {
    const calls = this.queued;
    this.queued = [];
    const keys = calls.length === 1 ? calls[0]!.keys : calls.flatMap((c) => c.keys);
    try {
      const found = await this.committedLsns(keys);
      let at = 0;
      for (const c of calls) {
        c.resolve(calls.length === 1 ? found : found.slice(at, at + c.keys.length));
        at += c.keys.length;
      }
    } catch (err) {
      for (const c of calls) c.reject(err);
    }
  }
}
