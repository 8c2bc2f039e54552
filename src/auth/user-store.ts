// Users in the `users` sublevel, keyed by username; passwords only as scrypt hashes.
// A writer/reader user is a member of one or more tenants with a role in each
// (`tenants`); `role` is then the strongest of those, and `tenant` is kept for
// a member of exactly one tenant (how single-tenant users were always stored).
import type { StateAccess } from '../platform/state-store.js';
import { membershipsOf, strongestRole, type Memberships, type UserRole } from '../platform/http/principal.js';

export interface UserRecord {
  username: string;
  role: UserRole;
  tenant?: string;
  tenants?: Memberships;
  passwordHash: string;
  disabled?: boolean;
  createdAt: number;
  createdBy: string;
}

export type PublicUser = Omit<UserRecord, 'passwordHash'>;

export function publicUser(u: UserRecord): PublicUser {
  const { passwordHash: _hash, ...rest } = u;
  return { ...rest, ...(rest.role === 'writer' || rest.role === 'reader' ? { tenants: membershipsOf(rest) } : {}) };
}

/** A non-tenant role, or a role per tenant. */
export type RoleAssignment = { role: 'admin' | 'operator' } | { tenants: Memberships };

/** Sets a user's role fields from memberships (a member) or a non-tenant role; never leaves both. */
export function assignRole(user: UserRecord, to: RoleAssignment): void {
  delete user.tenant;
  delete user.tenants;
  if ('role' in to) {
    user.role = to.role;
    return;
  }
  const ids = Object.keys(to.tenants);
  user.role = strongestRole(to.tenants);
  user.tenants = { ...to.tenants };
  if (ids.length === 1) user.tenant = ids[0];
}

export class UserStore {
  constructor(private readonly state: () => StateAccess) {}

  private get db() {
    return this.state().sublevel<UserRecord>('users');
  }

  async get(username: string): Promise<UserRecord | undefined> {
    return this.db.get(username);
  }

  async put(user: UserRecord): Promise<void> {
    await this.db.put(user.username, user);
  }

  /** All users, or the members of one tenant. */
  async list(filter: { tenant?: string } = {}): Promise<UserRecord[]> {
    const out: UserRecord[] = [];
    for await (const u of this.db.values()) if (filter.tenant === undefined || Object.hasOwn(membershipsOf(u), filter.tenant)) out.push(u);
    return out;
  }
}
