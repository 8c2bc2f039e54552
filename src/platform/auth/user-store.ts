// Users in the `users` sublevel, keyed by username; passwords only as scrypt hashes.
import type { StateStore } from '../state-store.js';
import type { UserRole } from './principal.js';

export interface UserRecord {
  username: string;
  role: UserRole;
  tenant?: string;
  passwordHash: string;
  disabled?: boolean;
  createdAt: number;
  createdBy: string;
}

export type PublicUser = Omit<UserRecord, 'passwordHash'>;

export function publicUser(u: UserRecord): PublicUser {
  const { passwordHash: _hash, ...rest } = u;
  return rest;
}

export class UserStore {
  constructor(private readonly state: () => StateStore) {}

  private get db() {
    return this.state().sublevel<UserRecord>('users');
  }

  async get(username: string): Promise<UserRecord | undefined> {
    return this.db.get(username);
  }

  async put(user: UserRecord): Promise<void> {
    await this.db.put(user.username, user);
  }

  async list(filter: { tenant?: string } = {}): Promise<UserRecord[]> {
    const out: UserRecord[] = [];
    for await (const u of this.db.values()) if (filter.tenant === undefined || u.tenant === filter.tenant) out.push(u);
    return out;
  }
}
