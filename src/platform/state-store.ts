// The shared state store: one LevelDB database, one sublevel per concern, each
// with JSON values. Opened once at boot and closed at shutdown.
import { mkdir } from 'node:fs/promises';
import { ClassicLevel } from 'classic-level';
import type { AbstractSublevel } from 'abstract-level';

export const SUBLEVELS = ['tenants', 'users', 'sessions', 'apiKeys', 'catalog', 'queries', 'workers', 'jobs', 'ingest', 'meta'] as const;
export type SublevelName = (typeof SUBLEVELS)[number];

export type JsonSublevel<V = unknown> = AbstractSublevel<ClassicLevel<string, unknown>, string | Buffer | Uint8Array, string, V>;

export class StateStore {
  // Sublevel objects are not free to build; one per name, reused.
  private readonly sublevels = new Map<SublevelName, JsonSublevel<unknown>>();

  private constructor(
    readonly path: string,
    private readonly db: ClassicLevel<string, unknown>,
  ) {}

  static async open(path: string): Promise<StateStore> {
    await mkdir(path, { recursive: true });
    const db = new ClassicLevel<string, unknown>(path, { valueEncoding: 'json' });
    await db.open();
    return new StateStore(path, db);
  }

  /** A typed view of one concern's keyspace. */
  sublevel<V>(name: SublevelName): JsonSublevel<V> {
    let sub = this.sublevels.get(name);
    if (!sub) {
      sub = this.db.sublevel<string, unknown>(name, { valueEncoding: 'json' }) as unknown as JsonSublevel<unknown>;
      this.sublevels.set(name, sub);
    }
    return sub as unknown as JsonSublevel<V>;
  }

  /** Atomic writes across sublevels (e.g. catalog + checkpoint in one step). */
  batch(): ReturnType<ClassicLevel<string, unknown>['batch']> {
    return this.db.batch();
  }

  get isOpen(): boolean {
    return this.db.status === 'open';
  }

  async close(): Promise<void> {
    if (this.db.status === 'open' || this.db.status === 'opening') await this.db.close();
  }
}
