// Who is calling: resolved once per request from the credential and put on
// `req.principal`; route policies and tenantIdOf read it from there.
//
// Roles: `admin` (everything), `operator` (read-only monitoring and the query
// console across tenants, no tenant data), `writer`/`reader` of one or more
// tenants (a role per tenant: a user's memberships), `service` (workers: only
// what their registration or job lease names).
export type Role = 'admin' | 'operator' | 'writer' | 'reader' | 'service';
export type UserRole = 'admin' | 'operator' | 'writer' | 'reader';
export type ApiKeyRole = 'writer' | 'reader' | 'service';
/** What a member may do in one tenant. */
export type TenantRole = 'writer' | 'reader';
export type PrincipalKind = 'user' | 'apiKey' | 'service';

/** A member's role per tenant id. */
export type Memberships = Readonly<Record<string, TenantRole>>;

export interface Principal {
  /** Username for users, key id for API keys. */
  subject: string;
  /** For members of several tenants, the strongest of their tenant roles (writer over reader). */
  role: Role;
  /** The tenant of a single-tenant writer/reader; absent for admin, operator, service and members of several tenants. */
  tenant?: string;
  /** Every tenant a writer/reader may act for, with the role there (a single-tenant credential has one). */
  tenants?: Memberships;
  /** The session (refresh-token family) behind a user's access token. */
  sessionId?: string;
  kind: PrincipalKind;
}

declare module 'express-serve-static-core' {
  interface Request {
    /** Set by the auth guard in create-service-app before any non-public handler runs. */
    principal?: Principal;
  }
}

export const USER_ROLES = ['admin', 'operator', 'writer', 'reader'] as const satisfies readonly UserRole[];
export const API_KEY_ROLES = ['writer', 'reader', 'service'] as const satisfies readonly ApiKeyRole[];
export const TENANT_ROLES = ['writer', 'reader'] as const satisfies readonly TenantRole[];

/** The tenants a principal is a member of, with its role in each (empty for admin, operator and service). */
export function membershipsOf(p: Pick<Principal, 'role' | 'tenant' | 'tenants'>): Memberships {
  if (p.tenants) return p.tenants;
  if (p.tenant && (p.role === 'writer' || p.role === 'reader')) return { [p.tenant]: p.role };
  return {};
}

/** writer if any membership writes, else reader. */
export function strongestRole(m: Memberships): TenantRole {
  return Object.values(m).includes('writer') ? 'writer' : 'reader';
}

/** `user:alice`, `apiKey:0123…`, `service:0123…`: how logs, audit entries and query owners name a principal. */
export function principalName(p: Pick<Principal, 'kind' | 'subject'>): string {
  return `${p.kind}:${p.subject}`;
}
