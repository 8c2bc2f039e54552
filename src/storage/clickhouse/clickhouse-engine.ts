// The narrow interface both ClickHouse backends implement: embedded chdb for a
// single node, a ClickHouse server (18.16 and newer) when CLICKHOUSE_URL is set.
// SQL sent through it must parse on both: no query parameters, no DateTime64,
// no ADD COLUMN IF NOT EXISTS; literals come from sql-literal.ts.
//
// Row contract, identical on both engines: rows are parsed JSONEachRow objects;
// 64-bit integers ((U)Int64, and UInt64 results such as count()) arrive as
// decimal *strings* (output_format_json_quote_64bit_integers=1), because a JS
// number cannot hold them exactly. Callers convert where they know the range.
//
// Errors: engine failures reject with AppError storage_failure carrying the
// engine's message; an aborted call rejects with the signal's reason (an
// AbortError) so cancellation is not mistaken for a storage fault.

export type EngineKind = 'embedded' | 'server';

export interface QueryOptions {
  signal?: AbortSignal;
  queryId?: string;
}

/**
 * Formats the engine writes itself for queryRaw. Wire contract, identical on
 * both engines: JSONEachRow has one object per line with 64-bit integers as
 * JSON numbers (all digits); ArrowStream is one uncompressed Arrow IPC stream
 * (schema once, record batches, end-of-stream marker) with strings as Utf8.
 */
export type RawFormat = 'JSONEachRow' | 'ArrowStream';

export interface RawQueryOptions extends QueryOptions {
  /** Query-level settings (e.g. max_block_size); names and values come from our code, never from users. */
  settings?: Readonly<Record<string, string | number>>;
  /**
   * The result is expected to be small: the engine may compute it in one call
   * instead of opening a stream (on chdb a stream costs a connection of its own).
   */
  small?: boolean;
}

/** A piece of a raw result; `rows` when the engine says how many rows it holds. */
export interface RawBlock {
  bytes: Uint8Array;
  rows?: number;
}

export interface ClickHouseEngine {
  readonly kind: EngineKind;
  readonly database: string;
  /** Creates the database if missing; must be called before anything else. */
  open(): Promise<void>;
  ping(): Promise<void>;
  /** Statements without a result (DDL, INSERT … SELECT). */
  exec(sql: string, opts?: { signal?: AbortSignal }): Promise<void>;
  /**
   * The same, on a connection of its own where the engine otherwise runs one
   * statement at a time (embedded); absent where statements already run side
   * by side (a server).
   */
  execIsolated?(sql: string): Promise<void>;
  /** The adapter adds FORMAT JSONEachRow; `sql` must not carry a FORMAT clause. */
  query<T = Record<string, unknown>>(sql: string, opts?: QueryOptions): Promise<T[]>;
  /** Rows one by one; the whole result is never held in memory. */
  queryStream(sql: string, opts?: QueryOptions): AsyncIterable<Record<string, unknown>>;
  /**
   * The result as the engine writes it in `format`, block by block, never held
   * whole: the caller pulls the next block only when it wants it, so a slow
   * consumer slows the engine instead of filling memory. Breaking out of the
   * loop or aborting the signal stops the engine's query.
   */
  queryRaw(sql: string, format: RawFormat, opts?: RawQueryOptions): AsyncIterable<RawBlock>;
  /** Whether this engine can write `format` itself (ClickHouse 18.16 has no ArrowStream). */
  writesFormat(format: RawFormat): Promise<boolean>;
  /**
   * Inserts JSONEachRow rows, one JSON object per line (no trailing newline
   * needed). `table` is already quoted and db-qualified (see quoteIdentifier).
   */
  insertJsonLines(table: string, lines: string): Promise<void>;
  close(): Promise<void>;
}

/** The settings both engines run with, so results look the same on either. */
export const ENGINE_SETTINGS = {
  output_format_json_quote_64bit_integers: 1,
} as const;

/** What queryRaw adds per format so both engines write the same bytes (see RawFormat). */
export const RAW_FORMAT_SETTINGS: Readonly<Record<RawFormat, Readonly<Record<string, string | number>>>> = {
  JSONEachRow: { output_format_json_quote_64bit_integers: 0 },
  ArrowStream: { output_format_arrow_string_as_string: 1, output_format_arrow_compression_method: 'none', output_format_arrow_low_cardinality_as_dictionary: 0 },
};
