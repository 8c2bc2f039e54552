// The acknowledge path: validate the whole request, admit it against the
// tenant's limits, check/extend the table schemas, append one WAL record
// (durable, group-committed) and make the rows readable at once.
import { Errors } from '../platform/errors.js';
import type { StateStore } from '../platform/state-store.js';
import { idempotencyKey, idIndexPrefix, tableRefKey } from '../storage/physical-names.js';
import type { WriteAheadLog } from '../storage/wal/index.js';
import type { IngestLimiter } from './ingest-limiter.js';
import type { IngestMetrics } from './metrics.js';
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
  state: () => StateStore;
  schemas: TableSchemas;
  limiter: IngestLimiter;
  pending: PendingRecords;
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
  /**
   * Per tenant table (tableRefKey), the data_ids of requests between their
   * duplicate check and the pending buffer, each with the completion of the
   * latest such request. A request that finds an id here calls it a
   * duplicate and appends only after that request is done, so among
   * concurrent requests an id's WAL order is the order they checked it in,
   * and the one that called it new (the first) also has it first in the WAL.
   */
  private readonly inFlight = new Map<string, Map<string, Promise<void>>>();

  constructor(private readonly deps: IngestDeps) {}

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
    const idem = deps.state().sublevel<IngestAck & { at: number }>('ingest');
    if (idemKey !== undefined) {
      const prior = await idem.get(idempotencyKey(tenant, idemKey));
      if (prior && Date.now() - prior.at < IDEMPOTENCY_TTL_MS) {
        deps.metrics.requests.inc({ outcome: 'replayed' });
        return { accepted: prior.accepted, duplicates: prior.duplicates ?? 0, lsn: prior.lsn, replayed: true };
      }
    }
    this.pushBackIfFull(rows.length, 0);
    await deps.limiter.admit(tenant, rows.length);
    const grown = deps.schemas.checkAndExtend(tenant, rows);
    if (grown.length > 0) await deps.schemas.persist(grown);

    const batch = { tenant, rows };
    const payload = encodeBatch(batch);
    // Checked again with the entry's size: a burst of requests must not carry the buffer past either bound.
    this.pushBackIfFull(rows.length, payload.length);
    let finish!: () => void;
    const done = new Promise<void>((resolve) => (finish = resolve));
    const held: Held = [];
    let lastLsn: number;
    let suspects: number[];
    try {
      const found = await this.findDuplicates(tenant, rows, done, held);
      suspects = found.suspects;
      // Never rejects: a request is done whether it succeeded or not.
      if (found.after.size > 0) await Promise.all(found.after);
      ({ lastLsn } = await deps.wal().append([payload]));
      deps.pending.add(lastLsn, batch, payload, suspects);
    } finally {
      finish();
      for (let k = 0; k < held.length; k += 2) {
        const ids = held[k] as Map<string, Promise<void>>;
        if (ids.get(held[k + 1] as string) === done) ids.delete(held[k + 1] as string);
      }
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
   * The rows (indexes) that repeat an id: earlier in the request, still
   * pending, held by a request in flight, or committed in the applier's id
   * index; and the requests in flight this one must append after. The
   * pending and in-flight checks run before the index lookup, and the
   * applier commits its index before it evicts rows from the pending buffer,
   * so an id cannot slip between the two. Every id of the request is held
   * (pairs of map and id in `held`) until its rows are pending; the applier
   * writes the rows found new without looking them up again.
   */
  private async findDuplicates(tenant: string, rows: IngestRow[], done: Promise<void>, held: Held): Promise<{ suspects: number[]; after: Set<Promise<void>> }> {
    const suspects: number[] = [];
    const after = new Set<Promise<void>>();
    const lookups: string[] = [];
    const looked: number[] = [];
    let table = '';
    let prefix = '';
    let pendingIds: ReadonlyMap<string, number> | undefined;
    let holding: Map<string, Promise<void>> | undefined;
    for (let i = 0; i < rows.length; i++) {
      const r = rows[i]!;
      if (r.table !== table || !holding) {
        table = r.table;
        prefix = idIndexPrefix(tenant, table);
        pendingIds = this.deps.pending.idsOf(tenant, table);
        const key = tableRefKey(tenant, table);
        holding = this.inFlight.get(key);
        if (!holding) this.inFlight.set(key, (holding = new Map()));
      }
      const holder = holding.get(r.dataId);
      if (holder !== done) {
        holding.set(r.dataId, done);
        held.push(holding, r.dataId);
      }
      if (holder !== undefined || pendingIds?.has(r.dataId)) {
        // A repeat within this request finds its own first occurrence.
        if (holder !== undefined && holder !== done) after.add(holder);
        suspects.push(i);
        continue;
      }
      lookups.push(prefix + r.dataId);
      looked.push(i);
    }
    if (lookups.length > 0) {
      const committed = await this.deps.state().getMany<number>('ingest', lookups);
      for (let k = 0; k < committed.length; k++) if (committed[k] !== undefined) suspects.push(looked[k]!);
    }
    return { suspects: suspects.sort((a, b) => a - b), after };
  }
}

/** Held ids, flattened: (the map that holds it, the id) pairs. */
type Held = Array<Map<string, Promise<void>> | string>;
