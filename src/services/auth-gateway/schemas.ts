import { z } from 'zod';
import { API_KEY_ROLES, TENANT_ROLES, USER_ROLES, type Memberships } from '../../platform/http/principal.js';
import { instantSchema } from '../../platform/http/common-schemas.js';
import { TENANT_ID_PATTERN } from '../../platform/http/tenant-id.js';

const tenantId = z.string().regex(TENANT_ID_PATTERN, 'must match ^[a-z0-9][a-z0-9_-]{0,62}$');
const username = z.string().regex(/^[A-Za-z0-9._@-]{1,64}$/, 'letters, digits and . _ @ - (1–64)');
const label = z.string().trim().min(1).max(200);

export const loginBody = z.strictObject({
  username: z.string().min(1).max(256),
  password: z.string().min(1).max(1024),
});

export const refreshBody = z.strictObject({ refresh_token: z.string().min(1).max(512) });

export const limitsSchema = z.strictObject({
  ingestRowsPerSecond: z.number().int().positive().optional(),
  ingestBurstRows: z.number().int().positive().optional(),
});

const retentionDays = z.number().int().min(1).max(36_500);

export const createTenantBody = z.strictObject({
  id: tenantId,
  name: label.optional(),
  limits: limitsSchema.optional(),
  retentionDays: retentionDays.optional(),
});

export const updateTenantBody = z.strictObject({
  name: label.optional(),
  limits: limitsSchema.optional(),
  /** null removes the retention (keep forever). */
  retentionDays: retentionDays.nullable().optional(),
  disabled: z.boolean().optional(),
});

const membershipList = z
  .array(z.strictObject({ tenant: tenantId, role: z.enum(TENANT_ROLES) }))
  .min(1)
  .max(1000)
  .refine((list) => new Set(list.map((m) => m.tenant)).size === list.length, { message: 'each tenant may be named once' });

/**
 * Who a user is, in one of three forms: `role` admin or operator (no tenant);
 * `role` writer/reader with one `tenant`; or `memberships` (a role per tenant,
 * without `role`).
 */
const roleFields = {
  role: z.enum(USER_ROLES).optional(),
  tenant: tenantId.optional(),
  memberships: membershipList.optional(),
};

type RoleInput = { role?: (typeof USER_ROLES)[number]; tenant?: string; memberships?: Array<{ tenant: string; role: 'writer' | 'reader' }> };

/** The role a body asks for, or a message saying why the combination is wrong. */
function roleOf(u: RoleInput): { role: 'admin' | 'operator' } | { tenants: Memberships } | string | undefined {
  if (u.role === undefined && u.tenant === undefined && u.memberships === undefined) return undefined;
  if (u.memberships !== undefined) {
    if (u.role !== undefined || u.tenant !== undefined) return 'give either memberships, or role (with tenant for writer/reader), not both';
    return { tenants: Object.fromEntries(u.memberships.map((m) => [m.tenant, m.role])) };
  }
  if (u.role === 'admin' || u.role === 'operator') return u.tenant === undefined ? { role: u.role } : `role ${u.role} has no tenant`;
  if (u.role === undefined) return 'tenant needs a role (writer or reader)';
  return u.tenant !== undefined ? { tenants: { [u.tenant]: u.role } } : 'writer and reader need a tenant (or use memberships for several)';
}

function withRole<T extends RoleInput>(u: T, ctx: z.RefinementCtx, required: boolean) {
  const r = roleOf(u);
  if (typeof r === 'string') ctx.addIssue({ code: 'custom', message: r, path: ['role'] });
  else if (r === undefined && required) ctx.addIssue({ code: 'custom', message: 'give role (admin, operator; writer/reader with tenant) or memberships', path: ['role'] });
  const { role: _r, tenant: _t, memberships: _m, ...rest } = u;
  return { ...rest, assign: typeof r === 'string' ? undefined : r };
}

export const createUserBody = z
  .strictObject({ username, password: z.string().min(8, 'at least 8 characters').max(1024), ...roleFields })
  .transform((u, ctx) => withRole(u, ctx, true));

export const updateUserBody = z
  .strictObject({
    password: z.string().min(8, 'at least 8 characters').max(1024).optional(),
    disabled: z.boolean().optional(),
    ...roleFields,
  })
  .transform((u, ctx) => withRole(u, ctx, false))
  .refine((u) => u.password !== undefined || u.disabled !== undefined || u.assign !== undefined, {
    message: 'nothing to change: give password, disabled, role or memberships',
  });

export const changePasswordBody = z.strictObject({
  current_password: z.string().min(1).max(1024),
  new_password: z.string().min(8, 'at least 8 characters').max(1024),
});

export const createApiKeyBody = z
  .strictObject({
    name: label,
    role: z.enum(API_KEY_ROLES).default('writer'),
    tenant: tenantId.optional(),
  })
  .refine((k) => (k.role === 'service' ? k.tenant === undefined : k.tenant !== undefined), {
    message: 'writer and reader keys need a tenant; service keys have none',
    path: ['tenant'],
  });

export const serviceCredentialBody = z.strictObject({ name: label });

export const tenantFilterQuery = z.object({ tenant: tenantId.optional() });

export const auditQuery = z.object({
  from: instantSchema.optional(),
  to: instantSchema.optional(),
  principal: z.string().max(200).optional(),
  tenant: tenantId.optional(),
  action: z.string().max(100).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  cursor: z.string().regex(/^[0-9]{15}-[0-9a-z]{6}-[0-9a-f]{6}$/, 'a next_cursor from an earlier page').optional(),
});

export const approvalsQuery = z.object({
  status: z.enum(['pending', 'approved', 'rejected', 'expired']).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});
