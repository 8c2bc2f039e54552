// The one place a physical name is derived from (tenant, table): ClickHouse
// databases and tables, Parquet directories, state-store keys, the in-memory
// keys that stand for a tenant table and tenant metric label values. Nothing else concatenates tenant or table
// into a name; every function here has an inverse, and the property test
// (test/unit/physical-names.test.ts) checks both directions.
//
// Why: joining with a separator that may occur inside the parts is not
// injective. `${tenant}__${table}` made tenant `acme__x` table `y` and tenant
// `acme` table `x__y` one ClickHouse table, so one tenant read and merged the
// other's rows.
//
// The component encoding is the identity on today's id alphabet [a-z0-9_-], so
// existing Parquet directories and LevelDB keys keep their names; any other
// UTF-16 code unit (NUL, '/', '.', upper case, the escape itself, lone
// surrogates...) becomes `~` and four lower-case hex digits. The output uses
// only [a-z0-9_~-]: no path separator, never `.` or `..`, no glob or SQL quote
// character, no NUL, nothing that differs only in case. Names are composed
// structurally, never by a separator that a component could contain:
//  - ClickHouse: one database per tenant, `<base>__<ench(tenant)>` (a fixed
//    prefix, so the tail alone decides the tenant), holding `<ench(table)>`,
//    where ench is enc unless that is too long for ClickHouse (see below); in
//    cluster mode also `<base>_local__<ench(tenant)>` for the replicated tables;
//  - Parquet: `<enc(tenant)>/<enc(table)>` below PARQUET_DIR;
//  - state-store keys: `<tag>\0<enc(c1)>\0<enc(c2)>…[\0<tail>]`, where encoded
//    components never contain NUL and only the last (free-form) part is raw.
// This module only builds and parses names; SQL quoting stays in
// clickhouse/sql-literal.ts and file-system checks in parquet/part-paths.ts.
import { Errors } from '../platform/errors.js';

export interface TableRef {
  tenant: string;
  table: string;
}

/** A tenant table in ClickHouse, unquoted (quote with sql-literal's quoteIdentifier). */
export interface ClickHouseLocation {
  database: string;
  table: string;
}

const ESCAPE = '~';
const KEY_SEP = '\u0000';
const IDENTITY = /^[a-z0-9_-]$/;
const ALL_IDENTITY = /^[a-z0-9_-]*$/;
const ENCODED = /^(?:[a-z0-9_-]|~[0-9a-f]{4})+$/;
const TENANT_DB_SEP = '__';

// ClickHouse names files after databases and tables with every byte outside
// [A-Za-z0-9_] written as %XX (so '-' costs 3 bytes), and current versions
// name a dropped table `metadata_dropped/<db>.<table>.<uuid>.sql.detached`
// within the 255-byte file-name limit: the escaped database and table names
// together may not exceed 204 bytes (computeMaxTableNameLength). 200 keeps a
// margin. With a base of at most 48 characters (the config allows no more),
// every id of today's alphabet fits: a component whose identity name would
// take more than CLICKHOUSE_COMPONENT_BYTES is packed instead (ench below).
export const MAX_CLICKHOUSE_QUALIFIED_FILE_BYTES = 200;
const CLICKHOUSE_COMPONENT_BYTES = 68;
export const MAX_PARQUET_SEGMENT_BYTES = 255;

// ── components ───────────────────────────────────────────────────────────────

/** Injective and reversible for every string; the identity on [a-z0-9_-]*. */
export function encodeComponent(value: string): string {
  // Every id today: the applier derives a key per row, so this path stays cheap.
  if (ALL_IDENTITY.test(value)) return value;
  let out = '';
  for (let i = 0; i < value.length; i++) {
    const ch = value[i]!;
    out += IDENTITY.test(ch) ? ch : `${ESCAPE}${value.charCodeAt(i).toString(16).padStart(4, '0')}`;
  }
  return out;
}

/**
 * The inverse of encodeComponent, or undefined for anything it never produces
 * (empty, a foreign character, a malformed or needless escape), so a parsed
 * name maps back to exactly one component.
 */
export function decodeComponent(encoded: string): string | undefined {
  if (!ENCODED.test(encoded)) return undefined;
  let out = '';
  for (let i = 0; i < encoded.length; i++) {
    const ch = encoded[i]!;
    if (ch !== ESCAPE) {
      out += ch;
      continue;
    }
    const unit = String.fromCharCode(parseInt(encoded.slice(i + 1, i + 5), 16));
    if (IDENTITY.test(unit)) return undefined;
    out += unit;
    i += 4;
  }
  return out;
}

function component(kind: string, value: string): string {
  if (typeof value !== 'string' || value.length === 0) throw Errors.validation(`${kind} must be a non-empty string`, { [kind]: String(value) });
  return encodeComponent(value);
}

// ── ClickHouse ───────────────────────────────────────────────────────────────

/** Bytes of the file ClickHouse names after `name` (escapeForFileName: [A-Za-z0-9_] kept, other bytes as %XX). */
export function clickhouseFileBytes(name: string): number {
  let n = 0;
  for (const byte of Buffer.from(name, 'utf8')) n += isWordByte(byte) ? 1 : 3;
  return n;
}

function isWordByte(b: number): boolean {
  return (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || b === 0x5f;
}

// Packing: a string of today's alphabet (38 characters) read as a bijective
// base-38 number and written in bijective base 37 over [a-z0-9_], characters
// ClickHouse keeps as one byte in file names: 63 characters become at most 64.
// Bijective numeration maps strings to numbers one to one (no leading-zero
// ambiguity), so the packed form is injective and reversible.
const UNPACKED_DIGITS = 'abcdefghijklmnopqrstuvwxyz0123456789_-';
const PACKED_DIGITS = 'abcdefghijklmnopqrstuvwxyz0123456789_';
// Not a hex digit after '~', so never the start of an escape: packed names and enc names are disjoint.
const PACKED_PREFIX = '~p';

function toDigits(n: bigint, digits: string): string {
  const radix = BigInt(digits.length);
  let out = '';
  while (n > 0n) {
    n -= 1n;
    out = digits[Number(n % radix)]! + out;
    n /= radix;
  }
  return out;
}

function fromDigits(s: string, digits: string): bigint | undefined {
  const radix = BigInt(digits.length);
  let n = 0n;
  for (const ch of s) {
    const d = digits.indexOf(ch);
    if (d < 0) return undefined;
    n = n * radix + BigInt(d + 1);
  }
  return n;
}

/** ench: enc, or for a long id of today's alphabet whose enc would not fit ClickHouse, `~p` + its packed form. */
function clickhouseComponent(kind: string, value: string): string {
  const encoded = component(kind, value);
  if (clickhouseFileBytes(encoded) <= CLICKHOUSE_COMPONENT_BYTES || !ALL_IDENTITY.test(value)) return encoded;
  return PACKED_PREFIX + toDigits(fromDigits(value, UNPACKED_DIGITS)!, PACKED_DIGITS);
}

/** The inverse of clickhouseComponent, or undefined for a name it never produces. */
function parseClickHouseComponent(name: string): string | undefined {
  let value: string | undefined;
  if (name.startsWith(PACKED_PREFIX)) {
    const n = fromDigits(name.slice(PACKED_PREFIX.length), PACKED_DIGITS);
    value = n === undefined ? undefined : toDigits(n, UNPACKED_DIGITS);
  } else {
    value = decodeComponent(name);
  }
  // Canonical only: each value has exactly one name.
  return value && clickhouseComponent('name', value) === name ? value : undefined;
}

function checkQualified(loc: ClickHouseLocation, detail: Record<string, string>): ClickHouseLocation {
  if (clickhouseFileBytes(loc.database) + clickhouseFileBytes(loc.table) > MAX_CLICKHOUSE_QUALIFIED_FILE_BYTES) {
    throw Errors.validation(`the ClickHouse names for this ${Object.keys(detail).join(' and ')} would be too long`, detail);
  }
  return loc;
}

function checkBase(base: string): void {
  if (typeof base !== 'string' || base.length === 0 || base.includes(KEY_SEP)) {
    throw Errors.validation('the ClickHouse base database must be a non-empty name without NUL', { base: String(base) });
  }
}

/**
 * The tenant's own database. The base database (CLICKHOUSE_DATABASE) holds only
 * the product's own tables; `<base>__` is a fixed prefix, so two tenants never
 * share a database and no tenant database is the base itself.
 */
export function tenantDatabase(base: string, tenant: string): string {
  checkBase(base);
  const database = `${base}${TENANT_DB_SEP}${clickhouseComponent('tenant', tenant)}`;
  // Room for at least a one-byte table name.
  checkQualified({ database, table: 'x' }, { tenant });
  return database;
}

/** The tenant of a database named by tenantDatabase(base, …), or undefined. */
export function parseTenantDatabase(base: string, database: string): string | undefined {
  const prefix = `${base}${TENANT_DB_SEP}`;
  if (!database.startsWith(prefix)) return undefined;
  return parseClickHouseComponent(database.slice(prefix.length));
}

/** Where (tenant, table) lives in ClickHouse: the tenant's database and the table's name in it. */
export function clickhouseLocation(base: string, tenant: string, table: string): ClickHouseLocation {
  return checkQualified({ database: tenantDatabase(base, tenant), table: clickhouseComponent('table', table) }, { tenant, table });
}

/** The inverse of clickhouseLocation, or undefined for a name it never produces. */
export function parseClickHouseLocation(base: string, loc: ClickHouseLocation): TableRef | undefined {
  const tenant = parseTenantDatabase(base, loc.database);
  const table = parseClickHouseComponent(loc.table);
  return tenant === undefined || table === undefined ? undefined : { tenant, table };
}

// Cluster mode: the tenant database holds Distributed tables (what queries
// name, so the SQL generator does not change) and a sibling database holds the
// replicated tables they read, one per replica. `<base>_local__` and
// `<base>__` differ at the character after the base ('l' against '_'), so no
// local database is a tenant database or the base, for any tenant.
const LOCAL_DB_SEP = '_local__';
// A table's ZooKeeper path ends in a generation, so a table created again
// after a drop (a tenant deleted while a replica was down leaves that
// replica's nodes behind) never meets the old table's replicas or its block
// hashes, which would swallow identical rows as duplicates.
const GENERATION = /^g[0-9a-z]{1,16}$/;

/** Cluster mode: the database of a tenant's replicated local tables. */
export function localDatabase(base: string, tenant: string): string {
  checkBase(base);
  const database = `${base}${LOCAL_DB_SEP}${clickhouseComponent('tenant', tenant)}`;
  checkQualified({ database, table: 'x' }, { tenant });
  return database;
}

/** The tenant of a database named by localDatabase(base, …), or undefined. */
export function parseLocalDatabase(base: string, database: string): string | undefined {
  const prefix = `${base}${LOCAL_DB_SEP}`;
  if (!database.startsWith(prefix)) return undefined;
  return parseClickHouseComponent(database.slice(prefix.length));
}

/** Cluster mode: where the replicated local table of (tenant, table) lives on every replica. */
export function clusterLocalLocation(base: string, tenant: string, table: string): ClickHouseLocation {
  return checkQualified({ database: localDatabase(base, tenant), table: clickhouseComponent('table', table) }, { tenant, table });
}

/** The inverse of clusterLocalLocation, or undefined for a name it never produces. */
export function parseClusterLocalLocation(base: string, loc: ClickHouseLocation): TableRef | undefined {
  const tenant = parseLocalDatabase(base, loc.database);
  const table = parseClickHouseComponent(loc.table);
  return tenant === undefined || table === undefined ? undefined : { tenant, table };
}

/** A new table generation: `g` and the creation time in base 36 (ordered by time, so the newest wins a disagreement). */
export function newTableGeneration(nowMs = Date.now()): string {
  return `g${Math.max(0, Math.floor(nowMs)).toString(36)}`;
}

/**
 * The ZooKeeper path of a replicated local table, `{shard}` left for each
 * server to fill from its macros: `<prefix>/{shard}/<local db>/<table>/<generation>`.
 */
export function replicatedTablePath(prefix: string, loc: ClickHouseLocation, generation: string): string {
  if (!GENERATION.test(generation)) throw Errors.validation('a table generation must look like g<base 36>', { generation });
  return `${prefix}/{shard}/${loc.database}/${loc.table}/${generation}`;
}

/** The location and generation in a path made by replicatedTablePath(prefix, …), or undefined. */
export function parseReplicatedTablePath(prefix: string, zkPath: string): (ClickHouseLocation & { generation: string }) | undefined {
  const head = `${prefix}/{shard}/`;
  if (!zkPath.startsWith(head)) return undefined;
  const parts = zkPath.slice(head.length).split('/');
  if (parts.length !== 3 || !GENERATION.test(parts[2]!)) return undefined;
  return { database: parts[0]!, table: parts[1]!, generation: parts[2]! };
}

/**
 * The name tables had in the base database before this module existed
 * (`<tenant>__<table>`). NOT injective: only the start-up migration uses it, to
 * recognise old tables, and it refuses any name two catalog entries share.
 */
export function legacyClickHouseTable(tenant: string, table: string): string {
  return `${tenant}${TENANT_DB_SEP}${table}`;
}

// ── the product's own tables (base database) ─────────────────────────────────

/**
 * The query log: every query that ended (src/query/query-log). In the base
 * database, which holds no tenant table: its names have no `__`, so they are
 * never an old-layout tenant table either. In cluster mode `query_log` is the
 * Distributed table over `query_log_local`, the replicated table on every replica.
 */
export const QUERY_LOG_TABLE = 'query_log';
export const QUERY_LOG_LOCAL_TABLE = 'query_log_local';

export function queryLogLocation(base: string): ClickHouseLocation {
  checkBase(base);
  return { database: base, table: QUERY_LOG_TABLE };
}

/** Cluster mode: the replicated table behind queryLogLocation. */
export function queryLogLocalLocation(base: string): ClickHouseLocation {
  checkBase(base);
  return { database: base, table: QUERY_LOG_LOCAL_TABLE };
}

/** Cluster mode: the ZooKeeper path of the query log's replicated table, `{shard}` left for each server's macros. */
export function queryLogReplicatedPath(prefix: string, base: string): string {
  const loc = queryLogLocalLocation(base);
  return `${prefix}/{shard}/${loc.database}/${loc.table}`;
}

// ── Parquet ──────────────────────────────────────────────────────────────────

function parquetSegment(kind: string, value: string): string {
  const seg = component(kind, value);
  if (Buffer.byteLength(seg) > MAX_PARQUET_SEGMENT_BYTES) throw Errors.validation(`the Parquet directory name for this ${kind} would be too long`, { [kind]: value });
  return seg;
}

/** The directory of a tenant below PARQUET_DIR. */
export function parquetTenantSegment(tenant: string): string {
  return parquetSegment('tenant', tenant);
}

/** Whether a directory name below PARQUET_DIR (or below a tenant's) is one parquetTableSegments can produce. */
export function isParquetSegment(name: string): boolean {
  return decodeComponent(name) !== undefined;
}

/** The directories of (tenant, table) below PARQUET_DIR: [tenant dir, table dir]. */
export function parquetTableSegments(tenant: string, table: string): [string, string] {
  return [parquetSegment('tenant', tenant), parquetSegment('table', table)];
}

/** `<enc(tenant)>/<enc(table)>`, relative to PARQUET_DIR, with '/' whatever the platform (catalog paths use it). */
export function parquetTableDir(tenant: string, table: string): string {
  return parquetTableSegments(tenant, table).join('/');
}

/** The inverse of parquetTableSegments, or undefined for directories it never produces. */
export function parseParquetTableSegments(tenantSegment: string, tableSegment: string): TableRef | undefined {
  const tenant = decodeComponent(tenantSegment);
  const table = decodeComponent(tableSegment);
  return tenant === undefined || table === undefined ? undefined : { tenant, table };
}

// ── state-store keys ─────────────────────────────────────────────────────────

/** The kinds of state-store key derived from a tenant (and table); the tag leads the key. */
export type StateKeyTag = 'table' | 'part' | 'id' | 'idem' | 'colstats' | 'qstats';

export interface ParsedStateKey {
  tag: string;
  components: string[];
  tail?: string;
}

/**
 * `<tag>\0<enc(c1)>\0…[\0<tail>]`. Encoded components contain no NUL, so the
 * key splits back unambiguously; the tail (a data_id, a file path, a client's
 * key) is kept raw and must come last. For today's ids this is the key the
 * store has always used.
 */
export function stateKey(tag: StateKeyTag, components: readonly string[], tail?: string): string {
  let key: string = tag;
  for (const c of components) key += KEY_SEP + component('key component', c);
  return tail === undefined ? key : key + KEY_SEP + tail;
}

/** The prefix every key of `tag` under these leading components starts with (ends with the separator). */
export function stateKeyPrefix(tag: StateKeyTag, components: readonly string[]): string {
  return stateKey(tag, components) + KEY_SEP;
}

/**
 * Every key of `tag` under these leading components, as a LevelDB range. The
 * upper bound is the prefix with its separator raised by one: LevelDB compares
 * bytes, so no tail (whatever its characters) can sort past it.
 */
export function stateKeyRange(tag: StateKeyTag, components: readonly string[]): { gte: string; lt: string } {
  const key = stateKey(tag, components);
  return { gte: key + KEY_SEP, lt: key + '\u0001' };
}

/** The inverse of stateKey given how many encoded components the key has; undefined if it does not fit. */
export function parseStateKey(key: string, componentCount: number, hasTail: boolean): ParsedStateKey | undefined {
  const fields = key.split(KEY_SEP);
  const expected = 1 + componentCount + (hasTail ? 1 : 0);
  if (fields.length < expected || (!hasTail && fields.length > expected)) return undefined;
  const components: string[] = [];
  for (let i = 1; i <= componentCount; i++) {
    const c = decodeComponent(fields[i]!);
    if (c === undefined) return undefined;
    components.push(c);
  }
  const parsed: ParsedStateKey = { tag: fields[0]!, components };
  // Only the tail may contain the separator; it is everything after the components.
  if (hasTail) parsed.tail = fields.slice(1 + componentCount).join(KEY_SEP);
  return parsed;
}

/** Catalog entry of a tenant table. */
export const catalogTableKey = (tenant: string, table: string) => stateKey('table', [tenant, table]);
/** Prefix of the catalog table entries of one tenant, or of all tenants. */
export const catalogTablePrefix = (tenant?: string) => stateKeyPrefix('table', tenant === undefined ? [] : [tenant]);
/** Catalog entry of a Parquet part. */
export const catalogPartKey = (p: { tenant: string; table: string; date: string; relativePath: string }) =>
  stateKey('part', [p.tenant, p.table, p.date], p.relativePath);
/** Prefix of the catalog part entries of one tenant, or of one of its tables. */
export const catalogPartPrefix = (tenant: string, table?: string) => stateKeyPrefix('part', table === undefined ? [tenant] : [tenant, table]);
/** The applier's id index (`ingest` sublevel): the LSN a data_id was committed under. */
export const idIndexKey = (tenant: string, table: string, dataId: string) => stateKey('id', [tenant, table], dataId);
/** Every id-index key of one tenant table. */
export const idIndexRange = (tenant: string, table: string) => stateKeyRange('id', [tenant, table]);
/** What every id-index key of (tenant, table) starts with: idIndexKey is this plus the data_id, so a hot loop derives the prefix once per table. */
export const idIndexPrefix = (tenant: string, table: string) => stateKeyPrefix('id', [tenant, table]);
/** A tenant's remembered answer to an Idempotency-Key. */
export const idempotencyKey = (tenant: string, clientKey: string) => stateKey('idem', [tenant], clientKey);
/** Every stored Idempotency-Key answer of one tenant. */
export const idempotencyRange = (tenant: string) => stateKeyRange('idem', [tenant]);
/** Column statistics a remote worker posted for a table. */
export const workerColumnStatsKey = (tenant: string, table: string) => stateKey('colstats', [tenant, table]);
/** Column statistics the query path computed for a table. */
export const queryColumnStatsKey = (tenant: string, table: string) => stateKey('qstats', [tenant, table]);

// ── metric labels ────────────────────────────────────────────────────────────

/** The label value shared by tenants past a metric's series cap: not an encoding of any tenant. */
export const OVERFLOW_TENANT_LABEL = '~other';

/** A tenant's metric label value: the id itself today, and never OVERFLOW_TENANT_LABEL (a tenant may be named `other`). */
export function tenantMetricLabel(tenant: string): string {
  return component('tenant', tenant);
}

/** A Map key standing for a tenant table in memory; injective like the state-store keys. */
export function tableRefKey(tenant: string, table: string): string {
  return component('tenant', tenant) + KEY_SEP + component('table', table);
}
