// Who is calling: resolved once per request from the credential and put on
// `req.principal`; route policies and tenantIdOf read it from there.
export type Role = 'admin' | 'writer' | 'reader' | 'service';
export type UserRole = 'admin' | 'writer' | 'reader';
export type ApiKeyRole = 'writer' | 'reader' | 'service';
export type PrincipalKind = 'user' | 'apiKey' | 'service';

export interface Principal {
  /** Username for users, key id for API keys. */
  subject: string;
  role: Role;
  /** The tenant a writer/reader belongs to; absent for admin and service. */
  tenant?: string;
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

export const USER_ROLES = ['admin', 'writer', 'reader'] as const satisfies readonly UserRole[];
export const API_KEY_ROLES = ['writer', 'reader', 'service'] as const satisfies readonly ApiKeyRole[];
