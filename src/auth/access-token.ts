// Short-lived access tokens: HS256 JWTs signed with JWT_SECRET, algorithm,
// issuer and audience pinned on verification. Every service verifies them
// locally; the session id inside lets logout revoke them at once.
import { errors as joseErrors, jwtVerify, SignJWT } from 'jose';
import { TENANT_ROLES, type Memberships, type Principal, type Role } from '../platform/http/principal.js';

export const TOKEN_ISSUER = 'storage-control-plane';
export const TOKEN_AUDIENCE = 'storage-control-plane';
const ALGORITHM = 'HS256';
const CLOCK_TOLERANCE_SECONDS = 5;

export interface AccessClaims {
  sub: string;
  role: Role;
  tenant?: string;
  /** A member's tenants and role in each (users of several tenants). */
  tenants?: Memberships;
  sid: string;
  kind: 'user';
  iat: number;
  exp: number;
  jti?: string;
}

export type TokenFailure = 'expired' | 'not_yet_valid' | 'invalid';

const MAX_CACHED_TOKENS = 10_000;

export class AccessTokens {
  private readonly key: Uint8Array;
  // Verifying an HS256 JWT through WebCrypto costs far more than the request it
  // guards; a token that verified once stays valid until its exp, so its claims
  // are remembered (revocation is the session check's job, done on every request).
  private readonly verified = new Map<string, AccessClaims>();

  constructor(
    secret: string,
    readonly ttlSeconds: number,
  ) {
    this.key = new TextEncoder().encode(secret);
  }

  async sign(p: { subject: string; role: Role; tenant?: string; tenants?: Memberships; sessionId: string }): Promise<string> {
    const tenants = p.tenants && Object.keys(p.tenants).length > 0 ? { tenants: p.tenants } : {};
    return new SignJWT({ role: p.role, ...(p.tenant ? { tenant: p.tenant } : {}), ...tenants, sid: p.sessionId, kind: 'user' })
      .setProtectedHeader({ alg: ALGORITHM, typ: 'JWT' })
      .setSubject(p.subject)
      .setIssuer(TOKEN_ISSUER)
      .setAudience(TOKEN_AUDIENCE)
      .setIssuedAt()
      .setNotBefore('0s')
      .setExpirationTime(`${this.ttlSeconds}s`)
      .sign(this.key);
  }

  /** Claims of a valid token, or why it is not valid. Never throws for a bad token. */
  async verify(token: string): Promise<{ ok: true; claims: AccessClaims } | { ok: false; reason: TokenFailure }> {
    const cached = this.verified.get(token);
    if (cached) {
      if (cached.exp + CLOCK_TOLERANCE_SECONDS >= Math.floor(Date.now() / 1000)) return { ok: true, claims: cached };
      this.verified.delete(token);
      return { ok: false, reason: 'expired' };
    }
    const result = await this.verifySignature(token);
    if (result.ok) {
      if (this.verified.size >= MAX_CACHED_TOKENS) this.verified.clear();
      this.verified.set(token, result.claims);
    }
    return result;
  }

  private async verifySignature(token: string): Promise<{ ok: true; claims: AccessClaims } | { ok: false; reason: TokenFailure }> {
    try {
      const { payload } = await jwtVerify(token, this.key, {
        algorithms: [ALGORITHM],
        issuer: TOKEN_ISSUER,
        audience: TOKEN_AUDIENCE,
        requiredClaims: ['sub', 'exp', 'iat', 'sid', 'role'],
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
      });
      if (!isClaims(payload)) return { ok: false, reason: 'invalid' };
      // jose accepts an iat in the future; we never issue one, so it is either skew or forgery.
      if (payload.iat > Math.floor(Date.now() / 1000) + CLOCK_TOLERANCE_SECONDS) return { ok: false, reason: 'not_yet_valid' };
      return { ok: true, claims: payload };
    } catch (err) {
      if (err instanceof joseErrors.JWTExpired) return { ok: false, reason: 'expired' };
      if (err instanceof joseErrors.JWTClaimValidationFailed && err.claim === 'nbf') return { ok: false, reason: 'not_yet_valid' };
      return { ok: false, reason: 'invalid' };
    }
  }
}

const ROLES = new Set(['admin', 'operator', 'writer', 'reader', 'service']);

function isMemberships(v: unknown): v is Memberships {
  return (
    typeof v === 'object' &&
    v !== null &&
    !Array.isArray(v) &&
    Object.values(v).every((r) => (TENANT_ROLES as readonly unknown[]).includes(r))
  );
}

function isClaims(p: Record<string, unknown>): p is AccessClaims & Record<string, unknown> {
  return (
    typeof p.sub === 'string' &&
    typeof p.iat === 'number' &&
    typeof p.sid === 'string' &&
    typeof p.role === 'string' &&
    ROLES.has(p.role) &&
    p.kind === 'user' &&
    (p.tenant === undefined || typeof p.tenant === 'string') &&
    (p.tenants === undefined || isMemberships(p.tenants))
  );
}

export function principalOf(claims: AccessClaims): Principal {
  return {
    subject: claims.sub,
    role: claims.role,
    ...(claims.tenant ? { tenant: claims.tenant } : {}),
    ...(claims.tenants ? { tenants: claims.tenants } : {}),
    sessionId: claims.sid,
    kind: 'user',
  };
}
