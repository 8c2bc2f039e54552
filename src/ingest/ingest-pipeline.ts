// The acknowledge path: validate the whole request, admit it against the
// tenant's limits, check/extend the table schemas, append one WAL record
// (durable, group-committed) and make the rows readable at once.
import { Errors } from '../platform/errors.js';
import type { StateStore } from '../platform/state-store.js';
import { idempotencyKey, idIndexPrefix } from '../storage/physical-names.js';
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
   * Id-index keys of rows between their request's duplicate check and the
   * pending buffer, so two concurrent requests with a new id do not both call
   * it new.
   */
  private readonly inFlight = new Set<string>();

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
    const claimed: string[] = [];
    let lastLsn: number;
    let duplicates: number;
    try {
      duplicates = await this.countDuplicates(tenant, rows, claimed);
      ({ lastLsn } = await deps.wal().append([payload]));
      deps.pending.add(lastLsn, batch, payload);
    } finally {
      for (const k of claimed) this.inFlight.delete(k);
    }

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
   * How many rows repeat an id: earlier in the request, still pending (or
   * claimed by a request in flight), or committed in the applier's id index.
   * The pending and in-flight checks run before the index lookup, and the
   * applier commits its index before it evicts rows from the pending buffer,
   * so an id cannot slip between the two. Ids found new are claimed in
   * `claimed` until their rows are pending.
   */
  private async countDuplicates(tenant: string, rows: IngestRow[], claimed: string[]): Promise<number> {
    let duplicates = 0;
    const lookups: string[] = [];
    let table = '';
    let prefix = '';
    let pendingIds: ReadonlyMap<string, number> | undefined;
    for (const r of rows) {
      if (r.table !== table) {
        table = r.table;
        prefix = idIndexPrefix(tenant, table);
        pendingIds = this.deps.pending.idsOf(tenant, table);
      }
      const key = prefix + r.dataId;
      if (this.inFlight.has(key) || pendingIds?.has(r.dataId)) {
        // Also covers a repeat within this request: its first occurrence was claimed just now.
        duplicates++;
        continue;
      }
      this.inFlight.add(key);
      claimed.push(key);
      lookups.push(key);
    }
    if (lookups.length > 0) {
      for (const lsn of await this.deps.state().getMany<number>('ingest', lookups)) if (lsn !== undefined) duplicates++;
    }
    return duplicates;
  }
}
