// Everything the services need to know about who is calling, built once at
// boot and shared by all seven services: access tokens, sessions, API keys,
// users, tenants, the login limiter and the admin bootstrap, and the
// governance records every service writes to: the audit log and approvals.
// `authenticate` and `authorize` are the only way a request gets a principal.
import type { Request } from 'express';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { ApprovalStore } from './governance/approval-store.js';
import { AuditLog } from './governance/audit-log.js';
import { Errors } from '../platform/errors.js';
import type { LeaseRequirement, RouteAuth } from '../platform/http/route.js';
import { isValidTenantId, resolveTenant, tenantRoleOf } from '../platform/http/tenant-id.js';
import type { StateAccess } from '../platform/state-store.js';
import { AccessTokens, principalOf } from './access-token.js';
import { ApiKeyStore, looksLikeApiKey } from './api-key-store.js';
import type { AppConfig } from '../platform/config/load-config.js';
import { AuthMaintenance } from './auth-maintenance.js';
import { LoginLimiter, stateStoreCounters } from './login-limiter.js';
import { AuthMetrics, type RejectReason } from './metrics.js';
import { dummyPasswordHash, hashSecret, verifySecret } from './password-hash.js';
import { membershipsOf, type Principal } from '../platform/http/principal.js';
import { SessionStore, type SessionRecord } from './session-store.js';
import { TenantStore } from './tenant-store.js';
import { assignRole, UserStore, type RoleAssignment, type UserRecord } from './user-store.js';

/** The auth slice of the config, as parsed at boot. */
export type AuthSettings = AppConfig['auth'];

export interface IssuedTokens {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  refresh_token: string;
  refresh_expires_in: number;
}

const BOOTSTRAP_KEY = 'auth.adminBootstrap';
const SESSION_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export class AuthRuntime {
  readonly tokens: AccessTokens;
  readonly sessions: SessionStore;
  readonly apiKeys: ApiKeyStore;
  readonly tenants: TenantStore;
  readonly users: UserStore;
  readonly loginLimiter: LoginLimiter;
  readonly metrics: AuthMetrics;
  /** Prunes ended sessions and stale login counters on a schedule; started by the auth gateway. */
  readonly maintenance: AuthMaintenance;
  /** Durable record of admin, privileged and destructive actions (and refusals of them). */
  readonly audit: AuditLog;
  /** Destructive operations waiting for a second admin. */
  readonly approvals: ApprovalStore;
  private bootstrapped?: Promise<void>;
  private readonly log: Logger;

  constructor(
    private readonly settings: AuthSettings,
    private readonly state: () => StateAccess,
    logger: Logger,
    registry?: Registry,
  ) {
    this.log = logger.child({ component: 'auth' });
    this.metrics = new AuthMetrics(registry);
    this.tokens = new AccessTokens(settings.jwtSecret, settings.accessTokenTtlSeconds);
    this.sessions = new SessionStore(state, settings.refreshTokenTtlSeconds);
    // Children resolved once: a cache hit happens on every API-key request.
    const apiKeyChecks = { hit: this.metrics.apiKeyChecks.labels({ cache: 'hit' }), miss: this.metrics.apiKeyChecks.labels({ cache: 'miss' }) };
    this.apiKeys = new ApiKeyStore(state, settings.apiKeyCacheSeconds * 1000, (cache) => apiKeyChecks[cache].inc());
    this.tenants = new TenantStore(state);
    this.users = new UserStore(state);
    this.loginLimiter = new LoginLimiter(settings.login, Date.now, stateStoreCounters(state));
    this.maintenance = new AuthMaintenance({
      sessions: this.sessions,
      loginLimiter: this.loginLimiter,
      metrics: this.metrics,
      logger: this.log,
      intervalMs: settings.sessionPruneIntervalMs,
    });
    this.audit = new AuditLog(state, logger);
    this.approvals = new ApprovalStore(state, settings.approvals);
  }

  /** On first start, creates the admin from ADMIN_USERNAME/ADMIN_PASSWORD; later starts leave users alone. */
  ensureBootstrapped(): Promise<void> {
    this.bootstrapped ??= (async () => {
      const meta = this.state().sublevel<{ at: number; username: string }>('authMeta');
      if (await meta.get(BOOTSTRAP_KEY)) return;
      const { adminUsername: username, adminPassword } = this.settings;
      if (!(await this.users.get(username))) {
        await this.users.put({ username, role: 'admin', passwordHash: await hashSecret(adminPassword), createdAt: Date.now(), createdBy: 'bootstrap' });
        this.log.info({ username }, 'bootstrapped the admin user from ADMIN_USERNAME/ADMIN_PASSWORD');
      }
      await meta.put(BOOTSTRAP_KEY, { at: Date.now(), username });
    })();
    this.bootstrapped.catch(() => (this.bootstrapped = undefined));
    return this.bootstrapped;
  }

  // ---- per request ----

  /** The principal behind the request's bearer credential; 401 if there is none or it is not valid. */
  async authenticate(req: Request): Promise<Principal> {
    const reject = (reason: RejectReason, message: string) => {
      this.metrics.rejections.inc({ reason });
      return Errors.unauthorized(message);
    };
    const header = req.headers.authorization;
    if (!header) throw reject('missing', 'missing credential: send Authorization: Bearer <access token or API key>');
    const m = /^Bearer[ ]+(\S+)\s*$/i.exec(header);
    if (!m) throw reject('malformed', 'malformed Authorization header: expected Bearer <token>');
    const token = m[1]!;
    if (looksLikeApiKey(token)) {
      const principal = await this.apiKeys.verify(token);
      if (!principal) throw reject('invalid_api_key', 'invalid or revoked API key');
      return principal;
    }
    const result = await this.tokens.verify(token);
    if (!result.ok) {
      if (result.reason === 'expired') throw reject('expired', 'access token expired');
      if (result.reason === 'not_yet_valid') throw reject('not_yet_valid', 'access token not yet valid');
      throw reject('invalid_token', 'invalid access token');
    }
    if (!(await this.sessions.isActive(result.claims.sid))) throw reject('revoked_session', 'session revoked or expired');
    return principalOf(result.claims);
  }

  /**
   * 403 unless the principal may call a route with this policy (and, for a
   * service credential on a leased route, holds the lease); resolves the
   * tenant of tenant routes.
   */
  async authorize(principal: Principal, policy: RouteAuth, req: Request, lease?: LeaseRequirement): Promise<void> {
    try {
      await this.check(principal, policy, req);
      if (lease && principal.role === 'service') await lease.verify(req, principal, resolveTenant(req, principal));
    } catch (err) {
      this.metrics.rejections.inc({ reason: 'forbidden' });
      throw err;
    }
  }

  private async check(principal: Principal, policy: RouteAuth, req: Request): Promise<void> {
    const role = principal.role;
    switch (policy) {
      case 'public':
      case 'authenticated':
        return;
      case 'client':
        if (role === 'service') throw Errors.forbidden('a service credential acts only on its registration and job leases');
        return;
      case 'admin':
        if (role !== 'admin') throw Errors.forbidden('this route needs role admin');
        return;
      case 'operator':
        if (role !== 'admin' && role !== 'operator') throw Errors.forbidden('this route needs role admin or operator');
        return;
      case 'scrape':
        if (role !== 'admin' && role !== 'operator' && role !== 'service') throw Errors.forbidden('this route needs role admin, operator or service');
        return;
      case 'service':
        if (role !== 'service' && role !== 'admin') throw Errors.forbidden('this route needs role service or admin');
        return;
      case 'tenant:queries':
        if (role === 'admin' || role === 'operator') {
          // Every tenant's queries; X-Tenant-Id, when given, must still be a tenant id.
          if (req.headers['x-tenant-id'] !== undefined && !isValidTenantId(req.headers['x-tenant-id'])) throw Errors.invalidTenantId();
          return;
        }
        return this.checkTenant(principal, 'read', req);
      case 'tenant:read':
        return this.checkTenant(principal, 'read', req);
      case 'tenant:write':
        return this.checkTenant(principal, 'write', req);
    }
  }

  private async checkTenant(principal: Principal, right: 'read' | 'write', req: Request): Promise<void> {
    if (principal.role === 'service') throw Errors.forbidden('service credentials cannot access tenant data');
    if (principal.role === 'operator') throw Errors.forbidden('role operator has no access to tenant data');
    const tenant = resolveTenant(req, principal);
    if (principal.role === 'admin') return;
    if (right === 'write' && tenantRoleOf(principal, tenant) !== 'writer') throw Errors.forbidden(`role reader of tenant ${tenant} cannot write`);
    const record = await this.tenants.get(tenant);
    if (!record) throw Errors.forbidden(`tenant ${tenant} does not exist`);
    if (record.disabled) throw Errors.forbidden(`tenant ${tenant} is disabled`);
  }

  // ---- the auth gateway's operations ----

  /**
   * Username + password, throttled per username and address: the user, or 401
   * (wrong), 429 (locked out). Failures are logged without the password.
   */
  async checkPassword(username: string, password: string, ip: string, requestId?: string): Promise<UserRecord> {
    await this.ensureBootstrapped();
    const wait = await this.loginLimiter.retryAfter(username, ip);
    if (wait > 0) {
      this.metrics.logins.inc({ outcome: 'locked' });
      this.log.warn({ event: 'login_locked', username, ip, retryAfterSeconds: wait }, 'login refused: too many failed attempts');
      throw Errors.rateLimited('too many failed login attempts; try again later', wait);
    }
    const user = await this.users.get(username);
    // The same scrypt work whether or not the user exists, so timing does not reveal usernames.
    const ok = await verifySecret(password, user?.passwordHash ?? (await dummyPasswordHash()));
    if (!user || !ok) {
      await this.loginLimiter.recordFailure(username, ip);
      const lockedFor = await this.loginLimiter.retryAfter(username, ip);
      // This failure started a lockout (the check above found none): the audit log keeps it.
      if (lockedFor > 0) {
        await this.audit.record({
          principal: 'anonymous',
          action: 'auth.login.lockout',
          target: `user:${username}`,
          outcome: 'denied',
          ...(requestId ? { requestId } : {}),
          details: { ip, lockedSeconds: lockedFor },
        });
      }
      this.metrics.logins.inc({ outcome: 'bad_credentials' });
      this.log.warn({ event: 'login_failed', username, ip, reason: user ? 'bad_password' : 'unknown_user' }, 'login failed');
      throw Errors.unauthorized('invalid username or password');
    }
    await this.loginLimiter.recordSuccess(username);
    return user;
  }

  async login(username: string, password: string, ip: string, userAgent?: string, requestId?: string): Promise<{ tokens: IssuedTokens; user: UserRecord }> {
    const user = await this.checkPassword(username, password, ip, requestId);
    if (user.disabled) {
      this.metrics.logins.inc({ outcome: 'disabled' });
      throw Errors.forbidden('user is disabled');
    }
    const closed = await this.closedTenants(user);
    if (closed) {
      this.metrics.logins.inc({ outcome: 'disabled' });
      throw Errors.forbidden(closed);
    }
    this.metrics.logins.inc({ outcome: 'success' });
    const { session, refreshToken } = await this.sessions.create(user, { ip, userAgent });
    this.log.info({ event: 'login', username, role: user.role, sessionId: session.id }, 'login');
    return { tokens: await this.issue(session, refreshToken), user };
  }

  async refresh(refreshToken: string): Promise<IssuedTokens> {
    const outcome = await this.sessions.refresh(refreshToken);
    this.metrics.refreshes.inc({ outcome: outcome.ok ? 'rotated' : outcome.reason === 'reused' ? 'reused' : 'rejected' });
    if (!outcome.ok) {
      if (outcome.reason === 'reused') {
        this.log.warn({ event: 'refresh_reuse', sessionId: /^rt_([^.]+)/.exec(refreshToken)?.[1] }, 'spent refresh token reused: session revoked');
      }
      throw Errors.unauthorized(outcome.reason === 'reused' ? 'refresh token already used; the session is revoked' : `refresh token ${outcome.reason}`);
    }
    const user = await this.users.get(outcome.session.username);
    if (!user || user.disabled) {
      await this.sessions.revoke(outcome.session.id, 'user_disabled');
      throw Errors.unauthorized('user is disabled');
    }
    const closed = await this.closedTenants(user);
    if (closed) throw Errors.forbidden(closed);
    return this.issue(outcome.session, outcome.refreshToken);
  }

  /** Why a member may not sign in: every tenant it belongs to is disabled or gone (undefined when it may). */
  private async closedTenants(user: UserRecord): Promise<string | undefined> {
    const ids = Object.keys(membershipsOf(user));
    if (ids.length === 0) return undefined;
    for (const id of ids) {
      const t = await this.tenants.get(id);
      if (t && !t.disabled) return undefined;
    }
    return ids.length === 1 ? `tenant ${ids[0]} is disabled` : `every tenant of this user is disabled (${ids.join(', ')})`;
  }

  async logout(principal: Principal): Promise<boolean> {
    if (!principal.sessionId) return false;
    const revoked = await this.sessions.revoke(principal.sessionId, 'logout');
    this.log.info({ event: 'logout', username: principal.subject, sessionId: principal.sessionId }, 'logout');
    return revoked;
  }

  /** The caller's own live sessions (users only: an API key is not a session). */
  async listSessions(principal: Principal): Promise<SessionRecord[]> {
    if (principal.kind !== 'user' || !principal.sessionId) throw Errors.badRequest('API keys have no sessions; only users logged in with a password do');
    return this.sessions.listForUser(principal.subject);
  }

  /**
   * Ends one of the caller's own sessions. Another user's session, an unknown
   * id and an ended session are all 404, so session ids of others do not leak.
   */
  async endSession(principal: Principal, sessionId: string): Promise<SessionRecord> {
    if (principal.kind !== 'user' || !principal.sessionId) throw Errors.badRequest('API keys have no sessions; only users logged in with a password do');
    const session = SESSION_ID.test(sessionId) ? await this.sessions.get(sessionId) : null;
    if (!session || session.username !== principal.subject || !(await this.sessions.isActive(sessionId))) throw Errors.notFound(`session ${sessionId.slice(0, 64)}`);
    await this.sessions.revoke(sessionId, 'ended_by_user');
    this.log.info({ event: 'session_ended', username: principal.subject, sessionId, current: sessionId === principal.sessionId }, 'session ended by its user');
    return session;
  }

  /** A user with a non-tenant role (admin, operator) or memberships (writer/reader of each tenant named). */
  async createUser(input: { username: string; password: string; assign: RoleAssignment }, createdBy: string): Promise<UserRecord> {
    const user: UserRecord = { username: input.username, role: 'reader', passwordHash: await hashSecret(input.password), createdAt: Date.now(), createdBy };
    assignRole(user, input.assign);
    await this.users.put(user);
    return user;
  }

  /** New role or memberships; the user's sessions end (their tokens carry the old ones). */
  async changeRole(user: UserRecord, to: RoleAssignment): Promise<number> {
    assignRole(user, to);
    await this.users.put(user);
    return this.sessions.revokeUser(user.username, 'role_changed');
  }

  /**
   * Removes a tenant from every credential: its API keys are revoked, its
   * members lose that membership (and their sessions end).
   */
  async removeTenantCredentials(tenant: string): Promise<{ apiKeysRevoked: number; membersUpdated: number; sessionsRevoked: number }> {
    let apiKeysRevoked = 0;
    for (const k of await this.apiKeys.list({ tenant })) {
      if (k.revokedAt === undefined) apiKeysRevoked++;
      await this.apiKeys.revoke(k.id);
    }
    let membersUpdated = 0;
    let sessionsRevoked = 0;
    for (const u of await this.users.list({ tenant })) {
      const { [tenant]: _gone, ...rest } = membershipsOf(u);
      assignRole(u, { tenants: rest });
      await this.users.put(u);
      membersUpdated++;
      sessionsRevoked += await this.sessions.revokeUser(u.username, 'tenant_deleted');
    }
    return { apiKeysRevoked, membersUpdated, sessionsRevoked };
  }

  /** New password (and so all existing sessions revoked). */
  async setPassword(user: UserRecord, password: string): Promise<number> {
    user.passwordHash = await hashSecret(password);
    await this.users.put(user);
    return this.sessions.revokeUser(user.username, 'password_changed');
  }

  async disableUser(user: UserRecord): Promise<number> {
    user.disabled = true;
    await this.users.put(user);
    return this.sessions.revokeUser(user.username, 'user_disabled');
  }

  private async issue(session: SessionRecord, refreshToken: string): Promise<IssuedTokens> {
    const access = await this.tokens.sign({ subject: session.username, role: session.role, tenant: session.tenant, tenants: session.tenants, sessionId: session.id });
    return {
      access_token: access,
      token_type: 'Bearer',
      expires_in: this.tokens.ttlSeconds,
      refresh_token: refreshToken,
      refresh_expires_in: Math.max(0, Math.round((session.expiresAt - Date.now()) / 1000)),
    };
  }
}
