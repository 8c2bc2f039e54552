// Everything the services need to know about who is calling, built once at
// boot and shared by all seven services: access tokens, sessions, API keys,
// users, tenants, the login limiter and the admin bootstrap. `authenticate`
// and `authorize` are the only way a request gets a principal.
import type { Request } from 'express';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { Errors } from '../errors.js';
import type { RouteAuth } from '../http/route.js';
import { resolveTenant } from '../http/tenant-id.js';
import type { StateStore } from '../state-store.js';
import { AccessTokens, principalOf } from './access-token.js';
import { ApiKeyStore, looksLikeApiKey } from './api-key-store.js';
import type { AppConfig } from '../config/load-config.js';
import { AuthMaintenance } from './auth-maintenance.js';
import { LoginLimiter, stateStoreCounters } from './login-limiter.js';
import { AuthMetrics, type RejectReason } from './metrics.js';
import { dummyPasswordHash, hashSecret, verifySecret } from './password-hash.js';
import type { Principal, UserRole } from './principal.js';
import { SessionStore, type SessionRecord } from './session-store.js';
import { TenantStore } from './tenant-store.js';
import { UserStore, type UserRecord } from './user-store.js';

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
  private bootstrapped?: Promise<void>;
  private readonly log: Logger;

  constructor(
    private readonly settings: AuthSettings,
    private readonly state: () => StateStore,
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
  }

  /** On first start, creates the admin from ADMIN_USERNAME/ADMIN_PASSWORD; later starts leave users alone. */
  ensureBootstrapped(): Promise<void> {
    this.bootstrapped ??= (async () => {
      const meta = this.state().sublevel<{ at: number; username: string }>('meta');
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

  /** 403 unless the principal may call a route with this policy; resolves the tenant of tenant routes. */
  async authorize(principal: Principal, policy: RouteAuth, req: Request): Promise<void> {
    try {
      await this.check(principal, policy, req);
    } catch (err) {
      this.metrics.rejections.inc({ reason: 'forbidden' });
      throw err;
    }
  }

  private async check(principal: Principal, policy: RouteAuth, req: Request): Promise<void> {
    switch (policy) {
      case 'public':
      case 'authenticated':
        return;
      case 'admin':
        if (principal.role !== 'admin') throw Errors.forbidden('this route needs role admin');
        return;
      case 'service':
        if (principal.role !== 'service' && principal.role !== 'admin') throw Errors.forbidden('this route needs role service or admin');
        return;
      case 'tenant:read':
      case 'tenant:write': {
        if (principal.role === 'service') throw Errors.forbidden('service credentials cannot access tenant data');
        if (policy === 'tenant:write' && principal.role === 'reader') throw Errors.forbidden('role reader cannot write');
        const tenant = resolveTenant(req, principal);
        if (principal.role === 'admin') return;
        const record = await this.tenants.get(tenant);
        if (!record) throw Errors.forbidden(`tenant ${tenant} does not exist`);
        if (record.disabled) throw Errors.forbidden(`tenant ${tenant} is disabled`);
        return;
      }
    }
  }

  // ---- the auth gateway's operations ----

  /**
   * Username + password, throttled per username and address: the user, or 401
   * (wrong), 429 (locked out). Failures are logged without the password.
   */
  async checkPassword(username: string, password: string, ip: string): Promise<UserRecord> {
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
      this.metrics.logins.inc({ outcome: 'bad_credentials' });
      this.log.warn({ event: 'login_failed', username, ip, reason: user ? 'bad_password' : 'unknown_user' }, 'login failed');
      throw Errors.unauthorized('invalid username or password');
    }
    await this.loginLimiter.recordSuccess(username);
    return user;
  }

  async login(username: string, password: string, ip: string, userAgent?: string): Promise<{ tokens: IssuedTokens; user: UserRecord }> {
    const user = await this.checkPassword(username, password, ip);
    const tenant = user.tenant ? await this.tenants.get(user.tenant) : undefined;
    if (user.disabled || (user.tenant && (!tenant || tenant.disabled))) {
      this.metrics.logins.inc({ outcome: 'disabled' });
      throw Errors.forbidden(user.disabled ? 'user is disabled' : `tenant ${user.tenant} is disabled`);
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
    const tenant = user.tenant ? await this.tenants.get(user.tenant) : undefined;
    if (user.tenant && (!tenant || tenant.disabled)) throw Errors.forbidden(`tenant ${user.tenant} is disabled`);
    return this.issue(outcome.session, outcome.refreshToken);
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

  async createUser(input: { username: string; password: string; role: UserRole; tenant?: string }, createdBy: string): Promise<UserRecord> {
    const user: UserRecord = {
      username: input.username,
      role: input.role,
      ...(input.tenant ? { tenant: input.tenant } : {}),
      passwordHash: await hashSecret(input.password),
      createdAt: Date.now(),
      createdBy,
    };
    await this.users.put(user);
    return user;
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
    const access = await this.tokens.sign({ subject: session.username, role: session.role, tenant: session.tenant, sessionId: session.id });
    return {
      access_token: access,
      token_type: 'Bearer',
      expires_in: this.tokens.ttlSeconds,
      refresh_token: refreshToken,
      refresh_expires_in: Math.max(0, Math.round((session.expiresAt - Date.now()) / 1000)),
    };
  }
}
