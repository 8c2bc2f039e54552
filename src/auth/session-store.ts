// Sessions: one per login, and one refresh-token family each. The refresh
// token is opaque (`rt_<session>.<random>`), stored only as a SHA-256 (it is
// 256 random bits, so a fast hash is enough), and rotated on every use. Using a
// spent one again means it was stolen: the whole session is revoked, which also
// stops its access tokens at once (they carry the session id and every service
// checks it here). The store is the `sessions` sublevel with an in-memory copy
// of the sessions in use; all services share this process, so a revocation is
// seen by every one of them immediately. `sessionsByUser` indexes them by
// username (key `<username>\0<session id>`, written in the same batch as the
// session), so listing or revoking one user's sessions reads only theirs. An
// ended session (refresh expired, or revoked) is deleted by prune(), which the
// auth maintenance loop runs on a schedule.
import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import type { StateAccess } from '../platform/state-store.js';
import type { Memberships, UserRole } from '../platform/http/principal.js';

export interface SessionRecord {
  id: string;
  username: string;
  role: UserRole;
  tenant?: string;
  /** A member's tenants and role in each, as they were at login (a change revokes the session). */
  tenants?: Memberships;
  createdAt: number;
  /** When the refresh token (and so the session) stops working. */
  expiresAt: number;
  refreshHash: string;
  /** Hashes of rotated-out refresh tokens, newest last (bounded). */
  spent: string[];
  revokedAt?: number;
  revokedReason?: string;
  /** Last refresh-token rotation. */
  refreshedAt?: number;
  /** Who logged in, for the owner's list of sessions (address and user agent, truncated). */
  client?: { ip?: string; userAgent?: string };
}

export interface PruneResult {
  /** Sessions deleted (refresh expired or revoked). */
  pruned: number;
  /** Session records left in the store. */
  remaining: number;
}

export type RefreshOutcome =
  | { ok: true; session: SessionRecord; refreshToken: string }
  | { ok: false; reason: 'unknown' | 'revoked' | 'expired' | 'reused' };

const MAX_SPENT = 50;
const INDEX_BUILT_KEY = 'auth.sessionsByUser.v1';
/** Separates username and session id in index keys; usernames cannot hold it (see indexRange). */
const SEP = '\u0000';
const MAX_CACHED = 50_000;
const REFRESH_PATTERN = /^rt_([0-9a-f-]{36})\.([A-Za-z0-9_-]{43})$/;

export function sha256(value: string): string {
  return createHash('sha256').update(value).digest('base64url');
}

/** Constant-time equality of two hashes (never short-circuits on the first differing byte). */
export function sameHash(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function newRefreshToken(sessionId: string): string {
  return `rt_${sessionId}.${randomBytes(32).toString('base64url')}`;
}

export class SessionStore {
  private readonly cache = new Map<string, SessionRecord | null>();
  private readonly loading = new Map<string, Promise<SessionRecord | null>>();
  private indexed?: Promise<void>;

  constructor(
    private readonly state: () => StateAccess,
    private readonly refreshTtlSeconds: number,
    private readonly now: () => number = Date.now,
  ) {}

  private get db() {
    return this.state().sublevel<SessionRecord>('sessions');
  }

  private get byUser() {
    return this.state().sublevel<{ expiresAt: number }>('sessionsByUser');
  }

  private remember(id: string, s: SessionRecord | null): void {
    if (this.cache.size >= MAX_CACHED) {
      const oldest = this.cache.keys().next().value;
      if (oldest !== undefined) this.cache.delete(oldest);
    }
    this.cache.set(id, s);
  }

  /** One object per session id, so check-and-rotate below cannot interleave. */
  async get(id: string): Promise<SessionRecord | null> {
    const cached = this.cache.get(id);
    if (cached !== undefined) return cached;
    let pending = this.loading.get(id);
    if (!pending) {
      pending = this.db.get(id).then((s) => {
        const value = s ?? null;
        this.remember(id, value);
        this.loading.delete(id);
        return value;
      });
      this.loading.set(id, pending);
    }
    return pending;
  }

  /** True while a session may be used: known, not revoked, refresh not expired. */
  async isActive(id: string): Promise<boolean> {
    const s = await this.get(id);
    return !!s && isLive(s, this.now());
  }

  async create(
    user: { username: string; role: UserRole; tenant?: string; tenants?: Memberships },
    client?: { ip?: string; userAgent?: string },
  ): Promise<{ session: SessionRecord; refreshToken: string }> {
    const id = randomUUID();
    const refreshToken = newRefreshToken(id);
    const now = this.now();
    const session: SessionRecord = {
      id,
      username: user.username,
      role: user.role,
      ...(user.tenant ? { tenant: user.tenant } : {}),
      ...(user.tenants && Object.keys(user.tenants).length > 0 ? { tenants: user.tenants } : {}),
      createdAt: now,
      expiresAt: now + this.refreshTtlSeconds * 1000,
      refreshHash: sha256(refreshToken),
      spent: [],
      ...(client ? { client: { ...(client.ip ? { ip: client.ip.slice(0, 64) } : {}), ...(client.userAgent ? { userAgent: client.userAgent.slice(0, 256) } : {}) } } : {}),
    };
    await this.state()
      .batch()
      .put(id, session, { sublevel: this.db })
      .put(indexKey(session.username, id), { expiresAt: session.expiresAt }, { sublevel: this.byUser })
      .write();
    this.remember(id, session);
    return { session, refreshToken };
  }

  /** Rotates a refresh token; a spent one revokes its whole family. */
  async refresh(token: string): Promise<RefreshOutcome> {
    const m = REFRESH_PATTERN.exec(token);
    if (!m) return { ok: false, reason: 'unknown' };
    const session = await this.get(m[1]!);
    if (!session) return { ok: false, reason: 'unknown' };
    const hash = sha256(token);
    // Synchronous from here to the mutation: concurrent refreshes of one token cannot both win.
    if (session.revokedAt !== undefined) return { ok: false, reason: 'revoked' };
    if (session.spent.some((h) => sameHash(h, hash))) {
      await this.revoke(session.id, 'refresh_token_reused');
      return { ok: false, reason: 'reused' };
    }
    if (!sameHash(hash, session.refreshHash)) return { ok: false, reason: 'unknown' };
    if (session.expiresAt <= this.now()) return { ok: false, reason: 'expired' };
    const refreshToken = newRefreshToken(session.id);
    session.spent = [...session.spent, hash].slice(-MAX_SPENT);
    session.refreshHash = sha256(refreshToken);
    session.refreshedAt = this.now();
    await this.db.put(session.id, session);
    return { ok: true, session, refreshToken };
  }

  async revoke(id: string, reason: string): Promise<boolean> {
    // Cached sessions are marked before the first await, so nothing can use them in between.
    const session = this.cache.get(id) ?? (await this.get(id));
    if (!session || session.revokedAt !== undefined) return false;
    session.revokedAt = this.now();
    session.revokedReason = reason;
    await this.db.put(id, session);
    return true;
  }

  /** The user's sessions that can still be used, newest first (reads only this user's index entries). */
  async listForUser(username: string): Promise<SessionRecord[]> {
    await this.ensureIndexed();
    const ids: string[] = [];
    for await (const key of this.byUser.keys(indexRange(username))) ids.push(key.slice(key.lastIndexOf(SEP) + 1));
    const now = this.now();
    const sessions = await Promise.all(ids.map((id) => this.get(id)));
    return sessions.filter((s): s is SessionRecord => !!s && s.username === username && isLive(s, now)).sort((a, b) => b.createdAt - a.createdAt);
  }

  /** Revokes every live session of a user (disabled user, changed password or role). */
  async revokeUser(username: string, reason: string): Promise<number> {
    let n = 0;
    for (const s of await this.listForUser(username)) if (await this.revoke(s.id, reason)) n++;
    return n;
  }

  /**
   * Deletes ended sessions (refresh token expired, or revoked) with their index
   * entries. Either is refused already, so deleting changes no answer: an
   * unknown session is not active and its refresh tokens are unknown.
   */
  async prune(): Promise<PruneResult> {
    await this.ensureIndexed();
    const now = this.now();
    let total = 0;
    let pruned = 0;
    let dead: SessionRecord[] = [];
    // LevelDB iterators read a snapshot, so deleting as we go is safe; a batch per thousand keeps memory flat.
    const flush = async () => {
      if (dead.length === 0) return;
      const batch = this.state().batch();
      for (const s of dead) batch.del(s.id, { sublevel: this.db }).del(indexKey(s.username, s.id), { sublevel: this.byUser });
      await batch.write();
      for (const s of dead) this.cache.delete(s.id);
      pruned += dead.length;
      dead = [];
    };
    for await (const s of this.db.values()) {
      total++;
      if (isLive(s, now)) continue;
      dead.push(s);
      if (dead.length >= PRUNE_BATCH) await flush();
    }
    await flush();
    return { pruned, remaining: total - pruned };
  }

  /** Sessions written before the index existed get their entries once (first use after an upgrade). */
  private ensureIndexed(): Promise<void> {
    this.indexed ??= (async () => {
      const meta = this.state().sublevel<{ at: number }>('authMeta');
      if (await meta.get(INDEX_BUILT_KEY)) return;
      let batch = this.state().batch();
      for await (const s of this.db.values()) {
        batch.put(indexKey(s.username, s.id), { expiresAt: s.expiresAt }, { sublevel: this.byUser });
        if (batch.length >= PRUNE_BATCH) {
          await batch.write();
          batch = this.state().batch();
        }
      }
      await batch.put(INDEX_BUILT_KEY, { at: this.now() }, { sublevel: meta }).write();
    })();
    this.indexed.catch(() => (this.indexed = undefined));
    return this.indexed;
  }
}

const PRUNE_BATCH = 1000;

function isLive(s: SessionRecord, now: number): boolean {
  return s.revokedAt === undefined && s.expiresAt > now;
}

function indexKey(username: string, sessionId: string): string {
  return `${username}${SEP}${sessionId}`;
}

/** Exactly the keys `<username>\0…`: a username containing \0 could reach into another's range, so callers also check the record's username. */
function indexRange(username: string): { gt: string; lt: string } {
  return { gt: `${username}${SEP}`, lt: `${username}\u0001` };
}
