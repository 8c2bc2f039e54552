// API keys for ingestion clients and Python workers: `cpk_<id>_<secret>`,
// shown once at creation and stored only as a scrypt hash. Verifying scrypt on
// every request would cap ingest at a few dozen requests/s per core, so a
// verified key is cached in memory under the SHA-256 of the whole key for a
// short TTL (and a wrong one too, so garbage cannot make us run scrypt in a
// loop). Revocation purges the cache at once.
import { randomBytes } from 'node:crypto';
import type { StateAccess } from '../platform/state-store.js';
import { hashSecret, verifySecret } from './password-hash.js';
import type { ApiKeyRole, Principal } from '../platform/http/principal.js';
import { sha256 } from './session-store.js';

export interface ApiKeyRecord {
  id: string;
  name: string;
  role: ApiKeyRole;
  tenant?: string;
  hash: string;
  createdAt: number;
  createdBy: string;
  revokedAt?: number;
}

export type PublicApiKey = Omit<ApiKeyRecord, 'hash'> & { prefix: string };

const KEY_PATTERN = /^cpk_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;
const MAX_CACHED = 100_000;

export function looksLikeApiKey(token: string): boolean {
  return token.startsWith('cpk_');
}

export function publicView(r: ApiKeyRecord): PublicApiKey {
  const { hash: _hash, ...rest } = r;
  return { ...rest, prefix: `cpk_${r.id}_` };
}

interface CacheEntry {
  keyId: string;
  principal: Principal | null;
  until: number;
}

export class ApiKeyStore {
  private readonly verified = new Map<string, CacheEntry>();
  private readonly pending = new Map<string, Promise<Principal | null>>();
  /** Ids revoked by this process: a verification that raced the revocation never caches them as valid. */
  private readonly revoked = new Set<string>();

  constructor(
    private readonly state: () => StateAccess,
    private readonly cacheTtlMs: number,
    private readonly onCheck: (cache: 'hit' | 'miss') => void = () => {},
  ) {}

  private get db() {
    return this.state().sublevel<ApiKeyRecord>('apiKeys');
  }

  async create(input: { name: string; role: ApiKeyRole; tenant?: string; createdBy: string }): Promise<{ key: string; record: ApiKeyRecord }> {
    const id = randomBytes(8).toString('hex');
    const secret = randomBytes(32).toString('base64url');
    const key = `cpk_${id}_${secret}`;
    const record: ApiKeyRecord = {
      id,
      name: input.name,
      role: input.role,
      ...(input.tenant ? { tenant: input.tenant } : {}),
      hash: await hashSecret(secret),
      createdAt: Date.now(),
      createdBy: input.createdBy,
    };
    await this.db.put(id, record);
    return { key, record };
  }

  async list(filter: { tenant?: string } = {}): Promise<ApiKeyRecord[]> {
    const out: ApiKeyRecord[] = [];
    for await (const r of this.db.values()) if (filter.tenant === undefined || r.tenant === filter.tenant) out.push(r);
    return out;
  }

  async get(id: string): Promise<ApiKeyRecord | undefined> {
    return /^[0-9a-f]{16}$/.test(id) ? this.db.get(id) : undefined;
  }

  async revoke(id: string): Promise<ApiKeyRecord | undefined> {
    const record = await this.get(id);
    if (!record) return undefined;
    this.revoked.add(id);
    this.forget(id);
    if (record.revokedAt === undefined) {
      record.revokedAt = Date.now();
      await this.db.put(id, record);
    }
    this.forget(id);
    return record;
  }

  /** Drops cached verifications of one key (or all keys of a tenant). */
  forget(keyId: string): void {
    for (const [digest, entry] of this.verified) if (entry.keyId === keyId) this.verified.delete(digest);
  }

  forgetAll(): void {
    this.verified.clear();
  }

  /** The key's principal, or null for an unknown, revoked or wrong key. */
  async verify(key: string): Promise<Principal | null> {
    const m = KEY_PATTERN.exec(key);
    if (!m) return null;
    const digest = sha256(key);
    const hit = this.verified.get(digest);
    if (hit && hit.until > Date.now()) {
      this.onCheck('hit');
      return hit.principal;
    }
    let inflight = this.pending.get(digest);
    if (!inflight) {
      this.onCheck('miss');
      const keyId = m[1]!;
      inflight = this.verifySlow(keyId, m[2]!).then(
        (verified) => {
          this.pending.delete(digest);
          const principal = this.revoked.has(keyId) ? null : verified;
          if (this.verified.size >= MAX_CACHED) this.verified.clear();
          this.verified.set(digest, { keyId, principal, until: Date.now() + this.cacheTtlMs });
          return principal;
        },
        (err: unknown) => {
          this.pending.delete(digest);
          throw err;
        },
      );
      this.pending.set(digest, inflight);
    }
    return inflight;
  }

  private async verifySlow(id: string, secret: string): Promise<Principal | null> {
    const record = await this.db.get(id);
    if (!record || record.revokedAt !== undefined) return null;
    if (!(await verifySecret(secret, record.hash))) return null;
    // Revoked while scrypt ran?
    const again = await this.db.get(id);
    if (!again || again.revokedAt !== undefined) return null;
    return {
      subject: record.id,
      role: record.role,
      ...(record.tenant ? { tenant: record.tenant } : {}),
      kind: record.role === 'service' ? 'service' : 'apiKey',
    };
  }
}
