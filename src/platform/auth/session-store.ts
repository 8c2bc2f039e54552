// Sessions: one per login, and one refresh-token family each. The refresh
// token is opaque (`rt_<session>.<random>`), stored only as a SHA-256 (it is
// 256 random bits, so a fast hash is enough), and rotated on every use. Using a
// spent one again means it was stolen: the whole session is revoked, which also
// stops its access tokens at once (they carry the session id and every service
// checks it here). The store is the `sessions` sublevel with an in-memory copy
// of the sessions in use; all services share this process, so a revocation is
// seen by every one of them immediately.
import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import type { StateStore } from '../state-store.js';
import type { Memberships, UserRole } from './principal.js';

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
}

export type RefreshOutcome =
  | { ok: true; session: SessionRecord; refreshToken: string }
  | { ok: false; reason: 'unknown' | 'revoked' | 'expired' | 'reused' };

const MAX_SPENT = 50;
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

  constructor(
    private readonly state: () => StateStore,
    private readonly refreshTtlSeconds: number,
  ) {}

  private get db() {
    return this.state().sublevel<SessionRecord>('sessions');
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
    return !!s && s.revokedAt === undefined && s.expiresAt > Date.now();
  }

  async create(user: { username: string; role: UserRole; tenant?: string; tenants?: Memberships }): Promise<{ session: SessionRecord; refreshToken: string }> {
    const id = randomUUID();
    const refreshToken = newRefreshToken(id);
    const now = Date.now();
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
    };
    await this.db.put(id, session);
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
    if (session.expiresAt <= Date.now()) return { ok: false, reason: 'expired' };
    const refreshToken = newRefreshToken(session.id);
    session.spent = [...session.spent, hash].slice(-MAX_SPENT);
    session.refreshHash = sha256(refreshToken);
    await this.db.put(session.id, session);
    return { ok: true, session, refreshToken };
  }

  async revoke(id: string, reason: string): Promise<boolean> {
    // Cached sessions are marked before the first await, so nothing can use them in between.
    const session = this.cache.get(id) ?? (await this.get(id));
    if (!session || session.revokedAt !== undefined) return false;
    session.revokedAt = Date.now();
    session.revokedReason = reason;
    await this.db.put(id, session);
    return true;
  }

  /** Revokes every live session of a user (disabled user, changed role). */
  async revokeUser(username: string, reason: string): Promise<number> {
    let n = 0;
    for await (const [id, s] of this.db.iterator()) {
      if (s.username === username && s.revokedAt === undefined && (await this.revoke(id, reason))) n++;
    }
    return n;
  }

  /** Drops sessions whose refresh token expired long ago (called at start). */
  async prune(olderThanMs = 24 * 3600_000): Promise<number> {
    const cutoff = Date.now() - olderThanMs;
    const dead: string[] = [];
    for await (const [id, s] of this.db.iterator()) if (s.expiresAt < cutoff) dead.push(id);
    if (dead.length > 0) await this.db.batch(dead.map((key) => ({ type: 'del' as const, key })));
    for (const id of dead) this.cache.delete(id);
    return dead.length;
  }
}
