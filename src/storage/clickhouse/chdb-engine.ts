// Embedded ClickHouse via chdb. libchdb binds ONE data directory per process, so
// every ChdbEngine in a process must use the same dir; a second dir is refused
// here with a clear error instead of the addon aborting the engine later.
//
// chdb allows one active stream per Session and a query on that Session kills
// its stream, so each queryStream gets its own short-lived Session on the same
// dir (connections to one dir coexist by design and open in ~1 ms). A Session
// also runs one statement at a time, so the query path's one-call reads take
// Sessions of their own from a small pool instead of queueing behind inserts.

import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { mkdir } from 'node:fs/promises';
import { Session, drainPending } from 'chdb';
import { Errors } from '../../platform/errors.js';
import { ArrowStreamJoiner } from './arrow-stream-joiner.js';
import { ENGINE_SETTINGS, RAW_FORMAT_SETTINGS, type ClickHouseEngine, type QueryOptions, type RawBlock, type RawFormat, type RawQueryOptions } from './clickhouse-engine.js';
import { throwIfAborted, toEngineError } from './engine-errors.js';
import { parseJsonEachRow } from './json-each-row.js';
import { quoteIdentifier, quoteString, settingsClause } from './sql-literal.js';

export interface ChdbEngineOptions {
  dataDir: string;
  database: string;
}

/** Idle reader Sessions kept open; more run at once when needed and are closed after. */
const READER_SESSIONS_KEPT = 4;

// Process-wide: which dir the engine is bound to and how many engines hold it.
let boundDir: string | undefined;
let holders = 0;

const CONNECTION_ARGS: readonly string[] = [
  // Tables must be usable as soon as open() resolves, not loaded in the background.
  '--async_load_databases=0',
  '--async_load_system_database=0',
  ...Object.entries(ENGINE_SETTINGS).map(([k, v]) => `--${k}=${v}`),
];

export class ChdbEngine implements ClickHouseEngine {
  readonly kind = 'embedded' as const;
  readonly database: string;
  private readonly dataDir: string;
  private session: Session | undefined;
  /** Idle Sessions for one-call reads (queryRaw of a small result), so reads never queue behind inserts. */
  private readonly readers = new SessionPool(
    async () => {
      const s = this.newSession();
      await s.queryAsync(`USE ${quoteIdentifier(this.database)}`);
      return s;
    },
    READER_SESSIONS_KEPT,
  );

  constructor(opts: ChdbEngineOptions) {
    this.dataDir = path.resolve(opts.dataDir);
    this.database = opts.database;
  }

  async open(): Promise<void> {
    if (this.session) return;
    if (boundDir !== undefined && boundDir !== this.dataDir) {
      throw Errors.storageFailure(
        `chdb is already bound to ${boundDir} in this process; cannot open a second data dir ${this.dataDir}`,
      );
    }
    await mkdir(this.dataDir, { recursive: true });
    boundDir = this.dataDir;
    holders += 1;
    try {
      this.session = this.newSession();
      await this.session.queryAsync(`CREATE DATABASE IF NOT EXISTS ${quoteIdentifier(this.database)}`);
      // USE is per connection: unqualified names resolve like the server client's `database`.
      await this.session.queryAsync(`USE ${quoteIdentifier(this.database)}`);
    } catch (err) {
      if (this.session) await this.close();
      else this.release();
      throw toEngineError(err, 'open');
    }
  }

  async ping(): Promise<void> {
    await this.query('SELECT 1 AS ok');
  }

  async exec(sql: string, opts: { signal?: AbortSignal } = {}): Promise<void> {
    const session = this.requireSession();
    throwIfAborted(opts.signal);
    const { tagged, stopKill } = this.killOnAbort(sql, opts.signal);
    try {
      await session.queryAsync(tagged, opts.signal ? { signal: opts.signal } : {});
    } catch (err) {
      throw toEngineError(err, 'exec', opts.signal);
    } finally {
      stopKill();
    }
  }

  // queryId has no chdb counterpart; it is accepted so callers need not care.
  async query<T = Record<string, unknown>>(sql: string, opts: QueryOptions = {}): Promise<T[]> {
    const session = this.requireSession();
    throwIfAborted(opts.signal);
    let text: string;
    const { tagged, stopKill } = this.killOnAbort(sql, opts.signal);
    try {
      const res = await session.queryAsync(tagged, { format: 'JSONEachRow', ...(opts.signal ? { signal: opts.signal } : {}) });
      text = res.text();
    } catch (err) {
      throw toEngineError(err, 'query', opts.signal);
    } finally {
      stopKill();
    }
    return parseJsonEachRow<T>(text);
  }

  async *queryStream(sql: string, opts: QueryOptions = {}): AsyncIterable<Record<string, unknown>> {
    this.requireSession();
    throwIfAborted(opts.signal);
    const session = this.newSession();
    try {
      await session.queryAsync(`USE ${quoteIdentifier(this.database)}`);
      const stream = session.queryStream(sql, { format: 'JSONEachRow', ...(opts.signal ? { signal: opts.signal } : {}) });
      try {
        for await (const chunk of stream) {
          // One chunk (~64k rows) at a time; never the whole result.
          for (const row of chunk.rows<Record<string, unknown>>()) yield row;
        }
      } finally {
        // Covers an early break by the consumer: free the native stream now.
        if (!stream.closed) stream.cancel();
      }
    } catch (err) {
      throw toEngineError(err, 'stream', opts.signal);
    } finally {
      session.close();
    }
  }

  /**
   * The engine's own bytes, one block per chunk, on a short-lived Session of
   * its own (one stream per Session). chdb fetches the next block only when
   * asked, so the consumer's pace is the engine's. ArrowStream blocks each
   * arrive as a whole IPC stream and are joined into one (arrow-stream-joiner.ts).
   * A small JSONEachRow result is one call on the main Session instead (one block).
   */
  async *queryRaw(sql: string, format: RawFormat, opts: RawQueryOptions = {}): AsyncIterable<RawBlock> {
    this.requireSession();
    throwIfAborted(opts.signal);
    const { tagged, stopKill } = this.killOnAbort(`${sql}${settingsClause({ ...opts.settings, ...RAW_FORMAT_SETTINGS[format] })}`, opts.signal);
    if (opts.small && format === 'JSONEachRow') {
      let bytes: Uint8Array;
      // Not the main Session: a Session runs one statement at a time, and the applier's inserts run there.
      const reader = await this.readers.acquire();
      let reusable = false;
      try {
        bytes = (await reader.queryAsync(tagged, { format, ...(opts.signal ? { signal: opts.signal } : {}) })).bytes();
        reusable = true;
      } catch (err) {
        // An aborted call settles before the engine stops: that Session is not idle yet, so it is closed, not reused.
        reusable = !opts.signal?.aborted;
        throw toEngineError(err, 'query', opts.signal);
      } finally {
        stopKill();
        this.readers.release(reader, reusable);
      }
      if (bytes.length > 0) yield { bytes };
      return;
    }
    const session = this.newSession();
    try {
      await session.queryAsync(`USE ${quoteIdentifier(this.database)}`);
      const stream = session.queryStream(tagged, { format, ...(opts.signal ? { signal: opts.signal } : {}) });
      const arrow = format === 'ArrowStream' ? new ArrowStreamJoiner() : undefined;
      try {
        for await (const chunk of stream) {
          const bytes = chunk.raw();
          if (bytes.length > 0) yield { bytes: arrow ? arrow.next(bytes) : bytes, rows: chunk.numRows };
        }
        if (arrow?.started) yield { bytes: arrow.end(), rows: 0 };
      } finally {
        // An early break by the consumer frees the native stream now.
        if (!stream.closed) stream.cancel();
      }
    } catch (err) {
      throw toEngineError(err, 'stream', opts.signal);
    } finally {
      stopKill();
      session.close();
    }
  }

  /**
   * Runs a statement on a short-lived connection of its own. chdb runs one
   * statement at a time per connection, so a long write (a Parquet file, a
   * compaction merge) on the main one would hold up every insert and query
   * queued behind it; on its own connection it runs beside them.
   */
  async execIsolated(sql: string): Promise<void> {
    this.requireSession();
    const session = this.newSession();
    try {
      await session.queryAsync(sql);
    } catch (err) {
      throw toEngineError(err, 'exec');
    } finally {
      session.close();
    }
  }

  async writesFormat(_format: RawFormat): Promise<boolean> {
    return true;
  }

  async insertJsonLines(table: string, lines: string): Promise<void> {
    if (lines.length === 0) return;
    const session = this.requireSession();
    // chdb's insert() only takes unquoted names and our tables contain '-', so
    // the data rides inline after FORMAT, which the parser reads as raw input.
    try {
      await session.queryAsync(`INSERT INTO ${table} FORMAT JSONEachRow\n${lines}\n`);
    } catch (err) {
      throw toEngineError(err, 'insert');
    }
  }

  async close(): Promise<void> {
    const session = this.session;
    if (!session) return;
    this.session = undefined;
    this.readers.close();
    session.close();
    // An aborted query may still be running natively; wait so the dir can be
    // released (and a later open elsewhere does not trip over it).
    await drainPending();
    this.release();
  }

  private release(): void {
    holders -= 1;
    if (holders === 0) boundDir = undefined;
  }

  /**
   * chdb's abort only settles the promise early; the query would keep a core
   * busy (and queue later queries) until done. So an aborted query is tagged
   * with a leading comment and killed by it, as the server would be.
   */
  private killOnAbort(sql: string, signal: AbortSignal | undefined): { tagged: string; stopKill: () => void } {
    if (!signal) return { tagged: sql, stopKill: () => {} };
    const tag = `/* qid:${randomUUID()} */`;
    const onAbort = () => {
      if (!this.session) return;
      // A Session runs one query at a time, so the KILL needs its own.
      const killer = this.newSession();
      killer
        .queryAsync(`KILL QUERY WHERE startsWith(query, ${quoteString(tag)}) ASYNC`)
        .catch(() => {})
        .finally(() => killer.close());
    };
    signal.addEventListener('abort', onAbort, { once: true });
    return { tagged: `${tag}\n${sql}`, stopKill: () => signal.removeEventListener('abort', onAbort) };
  }

  private newSession(): Session {
    return new Session(this.dataDir, { connectionArgs: CONNECTION_ARGS });
  }

  private requireSession(): Session {
    if (!this.session) throw Errors.storageFailure('ClickHouse engine is not open');
    return this.session;
  }
}

/** A few idle Sessions on the engine's dir, taken one per statement and handed back when it is done. */
class SessionPool {
  private readonly idle: Session[] = [];
  private closed = false;

  constructor(
    private readonly open: () => Promise<Session>,
    private readonly keep: number,
  ) {}

  async acquire(): Promise<Session> {
    return this.idle.pop() ?? (await this.open());
  }

  /** `reusable`: the Session has nothing running on it any more. */
  release(session: Session, reusable: boolean): void {
    if (reusable && !this.closed && this.idle.length < this.keep) this.idle.push(session);
    else session.close();
  }

  close(): void {
    this.closed = true;
    for (const s of this.idle.splice(0)) s.close();
  }
}
