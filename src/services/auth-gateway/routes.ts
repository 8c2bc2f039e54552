// Auth Gateway routes: login, token refresh/validation/logout, and the admin
// API for tenants, users and API keys. Thin: the work is in AuthRuntime and
// tenant-admin.ts. Every admin mutation (and password changes) declares its
// audit action; destructive ones may wait for a second admin's approval.
import type { Request } from 'express';
import { decodeJwt } from 'jose';
import { deferForApproval } from '../../auth/governance/approval-http.js';
import { noteAudit } from '../../platform/http/audit-note.js';
import { looksLikeApiKey, publicView } from '../../auth/api-key-store.js';
import type { Principal } from '../../platform/http/principal.js';
import type { SessionRecord } from '../../auth/session-store.js';
import type { TenantRecord } from '../../auth/tenant-store.js';
import { publicUser, type RoleAssignment } from '../../auth/user-store.js';
import { Errors } from '../../platform/errors.js';
import { route } from '../../platform/http/route.js';
import { governanceRoutes } from './governance-routes.js';
import type { AuthGatewayDeps } from './index.js';
import { changesRetention, deleteTenant, tenantOr404 as findTenant, updateTenant } from './tenant-admin.js';
import {
  changePasswordBody,
  createApiKeyBody,
  createTenantBody,
  createUserBody,
  loginBody,
  refreshBody,
  serviceCredentialBody,
  tenantFilterQuery,
  updateTenantBody,
  updateUserBody,
} from './schemas.js';

function principalOf(req: Request): Principal {
  if (!req.principal) throw Errors.unauthorized();
  return req.principal;
}

function param(req: Request, name: string): string {
  const v = req.params[name];
  if (typeof v !== 'string') throw Errors.badRequest(`missing path parameter ${name}`);
  return v;
}

/** A session as its owner sees it: never the refresh-token hashes. */
function publicSession(s: SessionRecord, currentId: string | undefined) {
  const iso = (t: number | undefined) => (t === undefined ? undefined : new Date(t).toISOString());
  return {
    id: s.id,
    current: s.id === currentId,
    createdAt: iso(s.createdAt),
    expiresAt: iso(s.expiresAt),
    ...(s.refreshedAt !== undefined ? { refreshedAt: iso(s.refreshedAt) } : {}),
    ...(s.revokedAt !== undefined ? { endedAt: iso(s.revokedAt) } : {}),
    ...(s.client ? { client: s.client } : {}),
  };
}

function clientAddress(req: Request): string {
  return req.socket.remoteAddress ?? 'unknown';
}

export function authGatewayRoutes(deps: AuthGatewayDeps) {
  const auth = deps.auth;

  const tenantOr404 = (id: string) => findTenant(deps, id);
  // The tenant store forgets its cached copy on put, so new limits apply to ingest at once.
  const saveTenant = (t: TenantRecord) => auth.tenants.put(t);
  /** Every tenant a role assignment names must exist. */
  const assertTenantsExist = async (assign: RoleAssignment | undefined) => {
    if (assign && 'tenants' in assign) for (const t of Object.keys(assign.tenants)) await tenantOr404(t);
  };

  return [
    // ---- tokens ----
    route({
      method: 'post',
      path: '/auth/login',
      operation: 'auth.login',
      auth: 'public',
      summary: 'Username + password → 15-minute access token (JWT) and a rotating refresh token; 429 with Retry-After after repeated failures',
      body: loginBody,
      handler: async ({ req, body }) => {
        const { tokens, user } = await auth.login(body.username, body.password, clientAddress(req), req.get('user-agent'), req.requestId);
        return { ...tokens, user: publicUser(user) };
      },
    }),
    route({
      method: 'post',
      path: '/auth/refresh',
      operation: 'auth.refresh',
      auth: 'public',
      summary: 'Rotate a refresh token (the refresh token is the credential); reusing a spent one revokes its whole session',
      body: refreshBody,
      handler: async ({ body }) => auth.refresh(body.refresh_token),
    }),
    route({
      method: 'post',
      path: '/auth/validate',
      operation: 'auth.validate',
      auth: 'authenticated',
      summary: 'Validate the bearer credential (access token or API key): its principal and claims, or 401',
      handler: ({ req }) => {
        const principal = principalOf(req);
        const token = /^Bearer\s+(\S+)/i.exec(req.headers.authorization ?? '')?.[1] ?? '';
        return { valid: true, principal, ...(looksLikeApiKey(token) ? {} : { claims: decodeJwt(token) }) };
      },
    }),
    route({
      method: 'post',
      path: '/auth/logout',
      operation: 'auth.logout',
      auth: 'authenticated',
      summary: 'Revoke the session of this access token: it and its refresh tokens stop working at once on every service',
      handler: async ({ req }) => {
        const principal = principalOf(req);
        if (!principal.sessionId) throw Errors.badRequest('API keys are not sessions; revoke them with DELETE /admin/api-keys/:id');
        return { revoked: await auth.logout(principal) };
      },
    }),
    route({
      method: 'post',
      path: '/auth/password',
      operation: 'auth.password',
      auth: 'authenticated',
      audit: 'auth.password.change',
      summary: 'Change one’s own password (current password required); every session of the user is revoked, log in again',
      body: changePasswordBody,
      handler: async ({ req, body }) => {
        const principal = principalOf(req);
        noteAudit(req, { target: `user:${principal.subject}` });
        if (principal.kind !== 'user') throw Errors.badRequest('only users have passwords');
        // Checked like a login: same limiter, same failure logging.
        const user = await auth.checkPassword(principal.subject, body.current_password, clientAddress(req), req.requestId);
        return { revokedSessions: await auth.setPassword(user, body.new_password) };
      },
    }),
    route({
      method: 'get',
      path: '/auth/me',
      operation: 'auth.me',
      auth: 'authenticated',
      summary: 'Who the bearer credential is: role, tenant, session',
      handler: async ({ req }) => {
        const principal = principalOf(req);
        const user = principal.kind === 'user' ? await auth.users.get(principal.subject) : undefined;
        return { principal, ...(user ? { user: publicUser(user) } : {}) };
      },
    }),
    route({
      method: 'get',
      path: '/auth/sessions',
      operation: 'auth.sessions.list',
      auth: 'authenticated',
      summary: 'The caller’s own live sessions (one per login): created, expires, last refreshed, client, which one is current',
      handler: async ({ req }) => {
        const principal = principalOf(req);
        const sessions = (await auth.listSessions(principal)).map((s) => publicSession(s, principal.sessionId));
        return { sessions, count: sessions.length };
      },
    }),
    route({
      method: 'delete',
      path: '/auth/sessions/:id',
      operation: 'auth.sessions.end',
      auth: 'authenticated',
      summary: 'End one of the caller’s own sessions (its access and refresh tokens stop at once); any other id is 404',
      handler: async ({ req }) => {
        const principal = principalOf(req);
        const session = await auth.endSession(principal, param(req, 'id'));
        return { ended: true, session: publicSession({ ...session }, principal.sessionId) };
      },
    }),

    // ---- tenants ----
    route({
      method: 'post',
      path: '/admin/tenants',
      operation: 'admin.tenants.create',
      auth: 'admin',
      audit: 'admin.tenants.create',
      summary: 'Create a tenant (id, name, ingest limits, retention in days)',
      body: createTenantBody,
      handler: async ({ req, res, body }) => {
        noteAudit(req, { tenant: body.id, target: `tenant:${body.id}`, ...(body.retentionDays !== undefined ? { details: { retentionDays: body.retentionDays } } : {}) });
        if (await auth.tenants.get(body.id)) throw Errors.conflict(`tenant ${body.id} already exists`);
        const now = Date.now();
        const tenant: TenantRecord = {
          id: body.id,
          ...(body.name ? { name: body.name } : {}),
          limits: body.limits ?? {},
          ...(body.retentionDays !== undefined ? { retentionDays: body.retentionDays } : {}),
          createdAt: now,
          updatedAt: now,
        };
        await saveTenant(tenant);
        res.status(201);
        return tenant;
      },
    }),
    route({
      method: 'get',
      path: '/admin/tenants',
      operation: 'admin.tenants.list',
      auth: 'admin',
      summary: 'List tenants',
      handler: async () => {
        const tenants = await auth.tenants.list();
        return { tenants, count: tenants.length };
      },
    }),
    route({
      method: 'get',
      path: '/admin/tenants/:id',
      operation: 'admin.tenants.get',
      auth: 'admin',
      summary: 'One tenant',
      handler: async ({ req }) => tenantOr404(param(req, 'id')),
    }),
    route({
      method: 'patch',
      path: '/admin/tenants/:id',
      operation: 'admin.tenants.update',
      auth: 'admin',
      audit: 'admin.tenants.update',
      summary: 'Change a tenant’s name, limits (merged), retention (null = keep forever) or disabled flag; a retention change may need a second admin (202)',
      body: updateTenantBody,
      handler: async ({ req, res, body }) => {
        const id = param(req, 'id');
        noteAudit(req, { tenant: id, target: `tenant:${id}`, details: { fields: Object.keys(body).sort().join(',') } });
        const tenant = await tenantOr404(id);
        if (changesRetention(tenant, body)) {
          noteAudit(req, { details: { retentionDays: body.retentionDays ?? null } });
          if (auth.approvals.requires('retention-change')) {
            return deferForApproval(auth.approvals, req, res, {
              action: 'retention-change',
              tenant: id,
              params: { patch: body },
              summary: `change tenant ${id}: retentionDays ${tenant.retentionDays ?? 'none'} → ${body.retentionDays ?? 'none'}`,
            });
          }
        }
        return updateTenant(deps, id, body);
      },
    }),
    route({
      method: 'post',
      path: '/admin/tenants/:id/disable',
      operation: 'admin.tenants.disable',
      auth: 'admin',
      audit: 'admin.tenants.disable',
      summary: 'Disable a tenant: its users and API keys get 403 on every tenant route',
      handler: async ({ req }) => {
        const id = param(req, 'id');
        noteAudit(req, { tenant: id, target: `tenant:${id}` });
        const tenant = await tenantOr404(id);
        const updated: TenantRecord = { ...tenant, disabled: true, updatedAt: Date.now() };
        await saveTenant(updated);
        return updated;
      },
    }),
    route({
      method: 'delete',
      path: '/admin/tenants/:id',
      operation: 'admin.tenants.delete',
      auth: 'admin',
      audit: 'admin.tenants.delete',
      summary:
        'Delete a tenant: its data in every sink (ClickHouse, Parquet, catalog, id index, unapplied rows), its API keys, memberships and sessions; may need a second admin (202)',
      handler: async ({ req, res }) => {
        const id = param(req, 'id');
        noteAudit(req, { tenant: id, target: `tenant:${id}` });
        await tenantOr404(id);
        if (auth.approvals.requires('tenant-delete')) {
          return deferForApproval(auth.approvals, req, res, { action: 'tenant-delete', tenant: id, params: {}, summary: `delete tenant ${id} and all of its data` });
        }
        const deleted = await deleteTenant(deps, id);
        const { tenant: _t, tables, ...counts } = deleted;
        noteAudit(req, { details: { ...counts, tables: tables.length } });
        return deleted;
      },
    }),

    // ---- users ----
    route({
      method: 'post',
      path: '/admin/users',
      operation: 'admin.users.create',
      auth: 'admin',
      audit: 'admin.users.create',
      summary: 'Create a user: role admin or operator, writer/reader of a tenant, or memberships (a role per tenant)',
      body: createUserBody,
      handler: async ({ req, res, body }) => {
        noteAudit(req, { target: `user:${body.username}`, details: { assigned: describeAssignment(body.assign) } });
        if (!body.assign) throw Errors.validation('give role or memberships', { field: 'role' });
        await assertTenantsExist(body.assign);
        if (await auth.users.get(body.username)) throw Errors.conflict(`user ${body.username} already exists`);
        const user = await auth.createUser({ username: body.username, password: body.password, assign: body.assign }, principalOf(req).subject);
        res.status(201);
        return publicUser(user);
      },
    }),
    route({
      method: 'get',
      path: '/admin/users',
      operation: 'admin.users.list',
      auth: 'admin',
      summary: 'List users (optionally of one tenant)',
      query: tenantFilterQuery,
      handler: async ({ query }) => {
        const users = (await auth.users.list({ tenant: query.tenant })).map(publicUser);
        return { users, count: users.length };
      },
    }),
    route({
      method: 'patch',
      path: '/admin/users/:username',
      operation: 'admin.users.update',
      auth: 'admin',
      audit: 'admin.users.update',
      summary: 'Reset a user’s password, enable or disable them, or change their role or memberships; each revokes their sessions',
      body: updateUserBody,
      handler: async ({ req, body }) => {
        const username = param(req, 'username');
        noteAudit(req, {
          target: `user:${username}`,
          details: {
            passwordReset: body.password !== undefined,
            ...(body.disabled !== undefined ? { disabled: body.disabled } : {}),
            ...(body.assign ? { assigned: describeAssignment(body.assign) } : {}),
          },
        });
        const user = await auth.users.get(username);
        if (!user) throw Errors.notFound(`user ${username}`);
        const self = username === principalOf(req).subject;
        if (body.disabled === true && self) throw Errors.badRequest('an admin cannot disable themselves');
        if (body.assign && self) throw Errors.badRequest('an admin cannot change their own role');
        await assertTenantsExist(body.assign);
        let revokedSessions = 0;
        if (body.assign) revokedSessions += await auth.changeRole(user, body.assign);
        if (body.password !== undefined) revokedSessions += await auth.setPassword(user, body.password);
        if (body.disabled === true) revokedSessions += await auth.disableUser(user);
        if (body.disabled === false && user.disabled) {
          delete user.disabled;
          await auth.users.put(user);
        }
        return { user: publicUser(user), revokedSessions };
      },
    }),
    route({
      method: 'post',
      path: '/admin/users/:username/disable',
      operation: 'admin.users.disable',
      auth: 'admin',
      audit: 'admin.users.disable',
      summary: 'Disable a user and revoke all of their sessions',
      handler: async ({ req }) => {
        const username = param(req, 'username');
        noteAudit(req, { target: `user:${username}` });
        const user = await auth.users.get(username);
        if (!user) throw Errors.notFound(`user ${username}`);
        if (username === principalOf(req).subject) throw Errors.badRequest('an admin cannot disable themselves');
        const revokedSessions = await auth.disableUser(user);
        return { user: publicUser(user), revokedSessions };
      },
    }),

    // ---- API keys ----
    route({
      method: 'post',
      path: '/admin/api-keys',
      operation: 'admin.apiKeys.create',
      auth: 'admin',
      audit: 'admin.apiKeys.create',
      summary: 'Create an API key (writer/reader of a tenant, or service); the key is in this response only',
      body: createApiKeyBody,
      handler: async ({ req, res, body }) => {
        noteAudit(req, { ...(body.tenant ? { tenant: body.tenant } : {}), details: { role: body.role, name: body.name } });
        if (body.tenant) await tenantOr404(body.tenant);
        const { key, record } = await auth.apiKeys.create({ ...body, createdBy: principalOf(req).subject });
        noteAudit(req, { target: `apiKey:${record.id}` });
        res.status(201);
        return { ...publicView(record), key };
      },
    }),
    route({
      method: 'post',
      path: '/admin/service-credentials',
      operation: 'admin.serviceCredentials.create',
      auth: 'admin',
      audit: 'admin.serviceCredentials.create',
      summary: 'Mint a credential with role service for a Python worker (an API key without tenant); shown once',
      body: serviceCredentialBody,
      handler: async ({ req, res, body }) => {
        const { key, record } = await auth.apiKeys.create({ name: body.name, role: 'service', createdBy: principalOf(req).subject });
        noteAudit(req, { target: `apiKey:${record.id}`, details: { role: 'service', name: body.name } });
        res.status(201);
        return { ...publicView(record), key };
      },
    }),
    route({
      method: 'get',
      path: '/admin/api-keys',
      operation: 'admin.apiKeys.list',
      auth: 'admin',
      summary: 'List API keys (never the keys themselves)',
      query: tenantFilterQuery,
      handler: async ({ query }) => {
        const keys = (await auth.apiKeys.list({ tenant: query.tenant })).map(publicView);
        return { apiKeys: keys, count: keys.length };
      },
    }),
    route({
      method: 'delete',
      path: '/admin/api-keys/:id',
      operation: 'admin.apiKeys.revoke',
      auth: 'admin',
      audit: 'admin.apiKeys.revoke',
      summary: 'Revoke an API key; it stops working at once',
      handler: async ({ req }) => {
        const id = param(req, 'id');
        noteAudit(req, { target: `apiKey:${id}` });
        const record = await auth.apiKeys.revoke(id);
        if (!record) throw Errors.notFound(`API key ${id}`);
        if (record.tenant) noteAudit(req, { tenant: record.tenant });
        return publicView(record);
      },
    }),

    ...governanceRoutes(deps),
  ];
}

/** `admin`, `operator`, or `acme:writer,globex:reader`: what an audit entry says a user was made. */
function describeAssignment(assign: RoleAssignment | undefined): string | null {
  if (!assign) return null;
  if ('role' in assign) return assign.role;
  return Object.entries(assign.tenants).map(([t, r]) => `${t}:${r}`).join(',');
}
