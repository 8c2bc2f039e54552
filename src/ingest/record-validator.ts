// Validates a whole ingest request before anything is written: any invalid
// record rejects the request with its index and field. Types of promoted
// fields are checked against the table's schema (see table-schemas.ts).
import { Errors } from '../platform/errors.js';
import { TABLE_NAME_PATTERN } from '../platform/http/tenant-id.js';
import type { IngestRow } from './wal-entry.js';

export interface ValidationLimits {
  maxRecords: number;
  maxDataIdBytes: number;
}

export const DEFAULT_TABLE = 'events';
const ALLOWED_KEYS = new Set(['data_id', 'payload', 'timestamp', 'table']);
// 1970-01-01 .. 2100-01-01: anything outside is a unit mistake (seconds vs ms, µs).
const MIN_TS = 0;
const MAX_TS = 4_102_444_800_000;
// eslint-disable-next-line no-control-regex
const CONTROL_CHARS = /[\u0000-\u001f\u007f]/;
// With the u flag a surrogate pair is one code point, so this matches lone surrogates only.
const LONE_SURROGATE = /\p{Cs}/u;
// A JSON escape of a surrogate (\uD800-\uDFFF): the only way one reaches a parsed string from UTF-8 text.
const SURROGATE_ESCAPE = /\\u[dD][89abcdefABCDEF]/;

function invalid(index: number, field: string, message: string) {
  return Errors.validation(`record ${index}: ${field} ${message}`, { index, field });
}

function notUnicode(index: number, field: string) {
  return Errors.invalidEncoding(`record ${index}: ${field} holds a lone UTF-16 surrogate (a \\uD800-\\uDFFF escape without its pair), which is not valid Unicode`, {
    index,
    field,
  });
}

function parseTimestamp(value: unknown, index: number, now: number): number {
  if (value === undefined || value === null) return now;
  let ms: number;
  if (typeof value === 'number') ms = value;
  else if (typeof value === 'string' && value.length <= 64) ms = Date.parse(value);
  else throw invalid(index, 'timestamp', 'must be epoch milliseconds or an ISO-8601 string');
  if (!Number.isFinite(ms) || ms < MIN_TS || ms >= MAX_TS) {
    throw invalid(index, 'timestamp', 'must be a valid time between 1970 and 2100 (epoch milliseconds or ISO-8601)');
  }
  return Math.trunc(ms);
}

/**
 * Whether a body's raw text escapes a UTF-16 surrogate. Valid UTF-8 cannot
 * encode one, so only then can a parsed string hold a lone surrogate, which
 * no UTF-8 sink can store (ClickHouse refuses the row, and the applier would
 * retry it forever). Cheap: most bodies hold no \u escape at all.
 */
export function hasSurrogateEscapes(raw: Buffer | string): boolean {
  if (raw.indexOf('\\u') === -1) return false;
  return SURROGATE_ESCAPE.test(typeof raw === 'string' ? raw : raw.toString('latin1'));
}

/** The path of the first string (key or value) in `value` holding a lone surrogate, or undefined. */
function loneSurrogateIn(value: unknown, path: string): string | undefined {
  if (typeof value === 'string') return LONE_SURROGATE.test(value) ? path : undefined;
  if (typeof value !== 'object' || value === null) return undefined;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = loneSurrogateIn(value[i], `${path}[${i}]`);
      if (found) return found;
    }
    return undefined;
  }
  for (const [k, v] of Object.entries(value)) {
    if (LONE_SURROGATE.test(k)) return `${path} (a key)`;
    const found = loneSurrogateIn(v, `${path}.${k}`);
    if (found) return found;
  }
  return undefined;
}

/**
 * Turns the parsed body (object, array, or NDJSON lines) into validated rows.
 * `surrogateEscapes` (see hasSurrogateEscapes) makes it look for lone
 * surrogates in payloads too; data_ids are always checked.
 */
export function validateRecords(
  records: unknown[],
  defaultTable: string,
  limits: ValidationLimits,
  now = Date.now(),
  opts: { surrogateEscapes?: boolean } = {},
): IngestRow[] {
  if (records.length === 0) throw Errors.validation('no records in request');
  if (records.length > limits.maxRecords) {
    throw Errors.validation(`too many records: ${records.length} > ${limits.maxRecords} per request`, { limit: limits.maxRecords });
  }
  const rows: IngestRow[] = new Array(records.length);
  for (let i = 0; i < records.length; i++) {
    const rec = records[i];
    if (typeof rec !== 'object' || rec === null || Array.isArray(rec)) throw invalid(i, 'record', 'must be a JSON object');
    const r = rec as Record<string, unknown>;
    for (const key of Object.keys(r)) if (!ALLOWED_KEYS.has(key)) throw invalid(i, key, 'is not a known field (data_id, payload, timestamp, table)');
    const id = r.data_id;
    if (typeof id !== 'string' || id.length === 0) throw invalid(i, 'data_id', 'must be a non-empty string');
    if (Buffer.byteLength(id) > limits.maxDataIdBytes) throw invalid(i, 'data_id', `must be at most ${limits.maxDataIdBytes} bytes`);
    if (CONTROL_CHARS.test(id)) throw invalid(i, 'data_id', 'must not contain control characters');
    if (LONE_SURROGATE.test(id)) throw notUnicode(i, 'data_id');
    const payload = r.payload;
    if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) throw invalid(i, 'payload', 'must be a JSON object');
    if (opts.surrogateEscapes) {
      const where = loneSurrogateIn(payload, 'payload');
      if (where) throw notUnicode(i, where);
    }
    const table = r.table === undefined ? defaultTable : r.table;
    if (typeof table !== 'string' || !TABLE_NAME_PATTERN.test(table)) throw invalid(i, 'table', 'must match ^[a-z0-9][a-z0-9_-]{0,62}$');
    rows[i] = { table, dataId: id, tsMs: parseTimestamp(r.timestamp, i, now), payload: payload as Record<string, unknown> };
  }
  return rows;
}

/** Splits an NDJSON body into parsed lines, naming the first bad line. */
export function parseNdjson(text: string): unknown[] {
  const out: unknown[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line.length === 0) continue;
    try {
      out.push(JSON.parse(line));
    } catch (err) {
      throw Errors.invalidJson(`NDJSON line ${i + 1}: ${(err as Error).message}`);
    }
  }
  return out;
}
