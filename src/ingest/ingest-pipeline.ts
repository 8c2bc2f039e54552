// The acknowledge path: validate the whole request, admit it against the
// tenant's limits, check/extend the table schemas, append one WAL record
// (durable, group-committed) and make the rows readable at once.
import { Errors } from '../platform/errors.js';
import type { StateAccess, StoreWrite } from '../platform/state-store.js';
import { idempotencyKey, idempotencyRange } from '../storage/physical-names.js';
import type { WriteAheadLog } from '../storage/wal/index.js';
import type { IngestLimiter } from './ingest-limiter.js';
import type { IngestMetrics } from './metrics.js';
import type { PendingRecords } from './pending-records.js';
import { validateRecords, type ValidationLimits } from './record-validator.js';
import type { TableSchemas } from './table-schemas.js';
import { encodeBatch } from './wal-entry.js';

export interface IngestAck {
  accepted: number;
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
  metrics: IngestMetrics;
  limits: ValidationLimits;
  /** Acknowledged rows allowed to wait for the applier before ingest pushes back. */
  maxPendingRows: number;
  /** Rows acknowledged per second, over a sliding window (for /data/stats). */
  onAccepted?: (tenant: string, rows: number) => void;
}

const IDEMPOTENCY_KEY = /^[A-Za-z0-9._:-]{1,128}$/;
const IDEMPOTENCY_TTL_MS = 24 * 3600 * 1000;

export class IngestPipeline {
  constructor(private readonly deps: IngestDeps) {}

  /** Forgets every stored Idempotency-Key answer of a tenant (deleted), a synced batch per slice. */
  async forgetTenant(tenant: string): Promise<number> {
    const state = this.deps.state();
    let deleted = 0;
    for (;;) {
      const keys: string[] = [];
      for await (const key of state.sublevel('idempotency').keys({ ...idempotencyRange(tenant), limit: 10_000 })) keys.push(key);
      if (keys.length === 0) return deleted;
      await state.writeBatch(keys.map((key): StoreWrite => ({ type: 'del', sublevel: 'idempotency', key })), { sync: true });
      deleted += keys.length;
    }
  }

  async ingest(tenant: string, records: unknown[], opts: { table?: string; idempotencyKey?: string }): Promise<IngestAck> {
    const { deps } = this;
    const idemKey = opts.idempotencyKey;
    if (idemKey !== undefined && !IDEMPOTENCY_KEY.test(idemKey)) {
      throw Errors.validation('Idempotency-Key must match ^[A-Za-z0-9._:-]{1,128}$');
    }
    const rows = validateRecords(records, opts.table ?? 'events', deps.limits);
    const idem = deps.state().sublevel<IngestAck & { at: number }>('idempotency');
    if (idemKey !== undefined) {
      const prior = await idem.get(idempotencyKey(tenant, idemKey));
      if (prior && Date.now() - prior.at < IDEMPOTENCY_TTL_MS) {
        deps.metrics.requests.inc({ outcome: 'replayed' });
        return { accepted: prior.accepted, lsn: prior.lsn, replayed: true };
      }
    }
    if (deps.pending.rows + rows.length > deps.maxPendingRows) {
      deps.metrics.requests.inc({ outcome: 'backpressure' });
      throw Errors.applierBehind(deps.pending.rows);
    }
    await deps.limiter.admit(tenant, rows.length);
    const grown = deps.schemas.checkAndExtend(tenant, rows);
    if (grown.length > 0) await deps.schemas.persist(grown);

    const batch = { tenant, rows };
    const payload = encodeBatch(batch);
    const { lastLsn } = await deps.wal().append([payload]);
    deps.pending.add(lastLsn, batch, payload);

    deps.metrics.walBytes.inc(payload.length);
    deps.metrics.walRecords.inc();
    deps.metrics.accepted(tenant, rows.length);
    deps.onAccepted?.(tenant, rows.length);
    const ack: IngestAck = { accepted: rows.length, lsn: lastLsn };
    if (idemKey !== undefined) await idem.put(idempotencyKey(tenant, idemKey), { ...ack, at: Date.now() });
    return ack;
  }
}
