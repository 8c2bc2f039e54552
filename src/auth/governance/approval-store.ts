// Four-eyes approval of destructive operations. With an operation listed in
// APPROVAL_REQUIRED_FOR, an admin's request for it is stored here as pending
// (the caller answers 202 with its id) and takes effect only when a different
// admin approves it within APPROVAL_TTL_SECONDS; rejecting, or letting it
// expire, ends it without effect. Decisions on one store run one at a time, so
// two admins approving at once cannot both run the operation.
import { randomBytes } from 'node:crypto';
import type { ApprovalAction } from '../../platform/config/schema.js';
import { Errors } from '../../platform/errors.js';
import type { JsonSublevel, StateAccess } from '../../platform/state-store.js';

export type ApprovalStatus = 'pending' | 'approved' | 'rejected' | 'expired';

export interface ApprovalRecord {
  id: string;
  action: ApprovalAction;
  tenant: string;
  /** What runs once approved: names, ids, cutoffs and settings, never a secret. */
  params: Record<string, unknown>;
  /** One line for people: what approving will do. */
  summary: string;
  requestedBy: string;
  requestedAt: number;
  expiresAt: number;
  status: ApprovalStatus;
  decidedBy?: string;
  decidedAt?: number;
  /** What the operation answered when it ran. */
  result?: unknown;
  requestId?: string;
}

export interface ApprovalRequest {
  action: ApprovalAction;
  tenant: string;
  params: Record<string, unknown>;
  summary: string;
  requestedBy: string;
  requestId?: string;
}

export type Decision = 'approve' | 'reject';

export class ApprovalStore {
  private chain: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly state: () => StateAccess,
    private readonly settings: { requiredFor: readonly ApprovalAction[]; ttlSeconds: number },
    private readonly now: () => number = Date.now,
  ) {}

  private get db(): JsonSublevel<ApprovalRecord> {
    return this.state().sublevel<ApprovalRecord>('approvals');
  }

  /** Whether this operation waits for a second admin. */
  requires(action: ApprovalAction): boolean {
    return this.settings.requiredFor.includes(action);
  }

  get ttlSeconds(): number {
    return this.settings.ttlSeconds;
  }

  async request(input: ApprovalRequest): Promise<ApprovalRecord> {
    const now = this.now();
    const record: ApprovalRecord = {
      // Time-ordered ids: listing newest first is a reverse scan.
      id: `apr-${now.toString(36).padStart(9, '0')}-${randomBytes(5).toString('hex')}`,
      action: input.action,
      tenant: input.tenant,
      params: input.params,
      summary: input.summary,
      requestedBy: input.requestedBy,
      requestedAt: now,
      expiresAt: now + this.settings.ttlSeconds * 1000,
      status: 'pending',
      ...(input.requestId ? { requestId: input.requestId } : {}),
    };
    await this.save(record);
    return record;
  }

  /** The record with its status as of now (a pending one past its TTL shows as expired). */
  async get(id: string): Promise<ApprovalRecord | undefined> {
    if (!/^apr-[0-9a-z]{9}-[0-9a-f]{10}$/.test(id)) return undefined;
    const r = await this.db.get(id);
    return r ? this.current(r) : undefined;
  }

  async list(filter: { status?: ApprovalStatus; limit: number }): Promise<ApprovalRecord[]> {
    const out: ApprovalRecord[] = [];
    for await (const r of this.db.values({ reverse: true })) {
      const c = this.current(r);
      if (filter.status !== undefined && c.status !== filter.status) continue;
      out.push(c);
      if (out.length >= filter.limit) break;
    }
    return out;
  }

  /**
   * Approves (running `run` first: the approval is recorded only once the
   * operation succeeded, so a failed run can be approved again) or rejects.
   * 404 unknown, 403 self-approval, 410 expired, 409 already decided.
   * The requester may reject (withdraw) their own request.
   */
  decide(id: string, decidedBy: string, decision: Decision, run: (r: ApprovalRecord) => Promise<unknown>): Promise<ApprovalRecord> {
    const next = this.chain.then(async () => {
      const stored = await this.get(id);
      if (!stored) throw Errors.notFound(`approval ${id}`);
      if (stored.status === 'expired') {
        if ((await this.db.get(id))?.status === 'pending') await this.save(stored);
        throw Errors.approvalExpired(id, stored.expiresAt);
      }
      if (stored.status !== 'pending') throw Errors.approvalDecided(id, stored.status);
      // The requester may withdraw (reject) their request, never approve it.
      if (decision === 'approve' && stored.requestedBy === decidedBy) throw Errors.selfApproval(id);
      const decided: ApprovalRecord = { ...stored, decidedBy };
      if (decision === 'approve') {
        decided.result = await run(stored);
        decided.status = 'approved';
      } else {
        decided.status = 'rejected';
      }
      decided.decidedAt = this.now();
      await this.save(decided);
      return decided;
    });
    this.chain = next.catch(() => undefined);
    return next;
  }

  private save(r: ApprovalRecord): Promise<void> {
    return this.state().writeBatch([{ type: 'put', sublevel: 'approvals', key: r.id, value: r }], { sync: true });
  }

  private current(r: ApprovalRecord): ApprovalRecord {
    return r.status === 'pending' && this.now() > r.expiresAt ? { ...r, status: 'expired' } : r;
  }
}
