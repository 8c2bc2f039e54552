import { z } from 'zod';
import { API_KEY_ROLES, USER_ROLES } from '../../platform/auth/principal.js';
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

export const createUserBody = z
  .strictObject({
    username,
    password: z.string().min(8, 'at least 8 characters').max(1024),
    role: z.enum(USER_ROLES),
    tenant: tenantId.optional(),
  })
  .refine((u) => (u.role === 'admin' ? u.tenant === undefined : u.tenant !== undefined), {
    message: 'writer and reader need a tenant; admin has none',
    path: ['tenant'],
  });

export const updateUserBody = z
  .strictObject({
    password: z.string().min(8, 'at least 8 characters').max(1024).optional(),
    disabled: z.boolean().optional(),
  })
  .refine((u) => u.password !== undefined || u.disabled !== undefined, { message: 'nothing to change: give password and/or disabled' });

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
