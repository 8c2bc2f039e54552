// The audit log: who did what to what, when, and how it ended, for every admin
// action and every destructive or privileged one (and refused attempts at
// them). Entries live in the state store's `audit` sublevel under time-ordered
// keys and are written with a synced LevelDB write before the action is
// acknowledged, so an answered action has its entry even after kill -9 or a
// power cut. Never a secret or a payload: entries carry names, ids and counts.
import { randomBytes } from 'node:crypto';
import type { Request } from 'express';
import type { Logger } from 'pino';
import { principalName, type Principal } from '../../platform/http/principal.js';
import type { AuditDetails, AuditNote, AuditOutcome } from '../../platform/http/audit-note.js';
import type { JsonSublevel, StateAccess } from '../../platform/state-store.js';

export type { AuditDetails, AuditNote, AuditOutcome } from '../../platform/http/audit-note.js';
export { noteAudit } from '../../platform/http/audit-note.js';

export interface AuditEntry {
  /** Time-ordered key: the paging cursor too. */
  id: string;
  at: string;
  atMs: number;
  /** `user:alice`, `apiKey:<id>`, `service:<id>`, `system:<component>`. */
  principal: string;
  role?: string;
  tenant?: string;
  action: string;
  target?: string;
  outcome: AuditOutcome;
  requestId?: string;
  details?: AuditDetails;
}

export type AuditInput = Omit<AuditEntry, 'id' | 'at' | 'atMs'>;

export interface AuditQuery {
  fromMs?: number;
  /** Exclusive. */
  toMs?: number;
  principal?: string;
  tenant?: string;
  /** An action name, or a prefix ending in `*` (`admin.tenants.*`). */
  action?: string;
  limit: number;
  /** The last id of the previous page (entries come newest first). */
  cursor?: string;
}

export interface AuditPage {
  entries: AuditEntry[];
  /** Pass as `cursor` for the next (older) page; null when there is none. */
  nextCursor: string | null;
}

// A key or value that looks like a credential is never stored, whoever passed it.
const SECRET_KEY = /(password|secret|token|authorization|cookie|credential)$|^(key|pass|passwd)$/i;
const MAX_TEXT = 200;
/** One page never scans more than this many entries (filters that match little are paged by cursor). */
const MAX_SCAN = 50_000;

function clean(details: AuditDetails | undefined): AuditDetails | undefined {
  if (!details) return undefined;
  const out: AuditDetails = {};
  for (const [k, v] of Object.entries(details)) {
    if (SECRET_KEY.test(k) || v === undefined) continue;
    out[k] = typeof v === 'string' ? v.slice(0, MAX_TEXT) : v;
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

const timeKey = (ms: number) => Math.max(0, Math.floor(ms)).toString().padStart(15, '0');

export class AuditLog {
  private seq = 0;
  private readonly log: Logger;

  constructor(
    private readonly state: () => StateAccess,
    logger: Logger,
  ) {
    this.log = logger.child({ component: 'audit' });
  }

  private get db(): JsonSublevel<AuditEntry> {
    return this.state().sublevel<AuditEntry>('audit');
  }

  /** Appends an entry; resolves once it is on stable storage. */
  async record(input: AuditInput): Promise<AuditEntry> {
    const atMs = Date.now();
    // Time first so keys sort by time; a per-process counter and a random tail keep keys of one millisecond apart, across restarts too.
    const id = `${timeKey(atMs)}-${(this.seq++ % 36 ** 6).toString(36).padStart(6, '0')}-${randomBytes(3).toString('hex')}`;
    const details = clean(input.details);
    const entry: AuditEntry = {
      id,
      at: new Date(atMs).toISOString(),
      atMs,
      principal: input.principal,
      ...(input.role ? { role: input.role } : {}),
      ...(input.tenant ? { tenant: input.tenant } : {}),
      action: input.action,
      ...(input.target ? { target: input.target.slice(0, MAX_TEXT) } : {}),
      outcome: input.outcome,
      ...(input.requestId ? { requestId: input.requestId } : {}),
      ...(details ? { details } : {}),
    };
    await this.state().writeBatch([{ type: 'put', sublevel: 'audit', key: id, value: entry }], { sync: true });
    this.log.info({ audit: { action: entry.action, principal: entry.principal, tenant: entry.tenant, target: entry.target, outcome: entry.outcome } }, `audit: ${entry.action} ${entry.outcome}`);
    return entry;
  }

  /** The entry of a request: principal, role and request id from the request, the rest from the caller and the handler's note. */
  recordRequest(req: Request, action: string, outcome: AuditOutcome, extra: AuditNote = {}): Promise<AuditEntry> {
    const p: Principal | undefined = req.principal;
    const note = { ...req.auditNote, ...extra, details: { ...req.auditNote?.details, ...extra.details } };
    return this.record({
      principal: p ? principalName(p) : 'anonymous',
      ...(p ? { role: p.role } : {}),
      ...((note.tenant ?? req.tenantId) ? { tenant: note.tenant ?? req.tenantId } : {}),
      action,
      ...(note.target ? { target: note.target } : {}),
      outcome: note.outcome ?? outcome,
      requestId: req.requestId,
      details: note.details,
    });
  }

  /** Entries newest first, filtered, one page at a time. */
  async query(q: AuditQuery): Promise<AuditPage> {
    const upper = q.cursor ?? (q.toMs !== undefined ? timeKey(q.toMs) : undefined);
    const range = {
      reverse: true,
      ...(upper !== undefined ? { lt: upper } : {}),
      ...(q.fromMs !== undefined ? { gte: timeKey(q.fromMs) } : {}),
    };
    const prefix = q.action?.endsWith('*') ? q.action.slice(0, -1) : undefined;
    const entries: AuditEntry[] = [];
    let scanned = 0;
    for await (const [key, e] of this.db.iterator(range)) {
      if (++scanned > MAX_SCAN) return { entries, nextCursor: key };
      if (q.toMs !== undefined && e.atMs >= q.toMs) continue;
      if (q.principal !== undefined && e.principal !== q.principal) continue;
      if (q.tenant !== undefined && e.tenant !== q.tenant) continue;
      if (q.action !== undefined && (prefix !== undefined ? !e.action.startsWith(prefix) : e.action !== q.action)) continue;
      entries.push(e);
      if (entries.length === q.limit) return { entries, nextCursor: key };
    }
    return { entries, nextCursor: null };
  }
}
