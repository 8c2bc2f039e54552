// What a query ran, as the query log and the console keep it: the client's
// text (bounded, with a marker when cut) and its normalized form, literals
// replaced by `?`, with a 64-bit hash of it: ClickHouse's normalized_query_hash
// idea, so "the same query with other values" groups under one hash and an
// operator can be shown the shape of a query without the tenant's values.
//
// SQL is normalized from our own lexer's tokens (comments are gone, so nothing
// a comment holds reaches the log's normalized text); the DSL by walking its
// JSON: names (table, column, function, operator) stay, every other value is
// `?`. Text that does not lex has no shape to show: its normalized form says so.
import { createHash } from 'node:crypto';
import type { QueryInput } from './query-planner.js';
import { RESERVED } from './sql-parser.js';
import { tokenize, type Token } from './sql-lexer.js';

/** Longest query text kept, in UTF-8 bytes (the marker included). */
export const MAX_QUERY_TEXT_BYTES = 64 * 1024;

export interface QueryStatement {
  kind: 'sql' | 'dsl';
  /** SQL text, or the DSL as JSON; cut to MAX_QUERY_TEXT_BYTES with a marker. */
  text: string;
  /** UTF-8 bytes of the whole text as received. */
  textBytes: number;
  truncated: boolean;
  /** Literals replaced by `?` (bounded like text). */
  normalized: string;
  /** 64-bit hash of the normalized text, as a decimal string (ClickHouse UInt64). */
  normalizedHash: string;
}

/** The statement of a query input, or undefined when it has neither SQL nor DSL. */
export function statementOf(input: QueryInput): QueryStatement | undefined {
  if (typeof input.sql === 'string') return buildStatement('sql', input.sql, normalizeSql(input.sql));
  if (input.dsl !== undefined) {
    let text: string;
    try {
      text = JSON.stringify(input.dsl) ?? 'null';
    } catch {
      text = '(DSL that is not JSON)';
    }
    return buildStatement('dsl', text, normalizeDsl(input.dsl));
  }
  return undefined;
}

function buildStatement(kind: QueryStatement['kind'], raw: string, normalizedRaw: string): QueryStatement {
  const text = boundText(raw);
  const normalized = boundText(normalizedRaw).text;
  return { kind, text: text.text, textBytes: text.bytes, truncated: text.truncated, normalized, normalizedHash: hashOf(normalizedRaw) };
}

/** 64 bits of SHA-256 as an unsigned decimal: stable across processes and versions. */
export function hashOf(normalized: string): string {
  return createHash('sha256').update(normalized).digest().readBigUInt64BE(0).toString();
}

// In /u mode a valid surrogate pair is one code point: only unpaired halves match.
const LONE_SURROGATE = /\p{Cs}/gu;

/**
 * The text cut to `maxBytes` UTF-8 bytes at a character boundary, ending in a
 * marker that says how long it was; lone surrogates (which JSON allows and
 * UTF-8 cannot hold) become U+FFFD.
 */
export function boundText(raw: string, maxBytes = MAX_QUERY_TEXT_BYTES): { text: string; bytes: number; truncated: boolean } {
  const clean = raw.replace(LONE_SURROGATE, '\uFFFD');
  const bytes = Buffer.byteLength(clean, 'utf8');
  if (bytes <= maxBytes) return { text: clean, bytes, truncated: false };
  const marker = ` … [truncated: ${bytes} bytes in all]`;
  const room = Math.max(0, maxBytes - Buffer.byteLength(marker, 'utf8'));
  // Cut the bytes, then drop a partial character at the end (a decoder would turn it into U+FFFD).
  let head = Buffer.from(clean, 'utf8').subarray(0, room).toString('utf8');
  if (head.endsWith('\uFFFD') && !clean.startsWith(head)) head = head.slice(0, -1);
  return { text: head + marker, bytes, truncated: true };
}

// ── SQL ──────────────────────────────────────────────────────────────────────

/** No space before these; none after OPEN_TIGHT. */
const CLOSE_TIGHT = new Set([',', ')', '.', ';']);
const OPEN_TIGHT = new Set(['(', '.']);
/** After these a `-` is a sign, not a subtraction. */
const SIGN_CONTEXT = new Set(['(', ',', '=', '!=', '<', '>', '<=', '>=', '+', '-', '*', '/', '%', '||']);

/** SQL with literals as `?`, keywords upper-cased, one space between tokens; lists of literals collapse to `?..`. */
export function normalizeSql(sql: string): string {
  let tokens: Token[];
  try {
    tokens = tokenize(sql);
  } catch {
    return '(SQL that does not lex)';
  }
  const parts: string[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (t.kind === 'eof') break;
    if (t.kind === 'number' || t.kind === 'string') {
      // A signed number is one literal: fold the sign that precedes it.
      if (parts.at(-1) === '-' && (parts.length === 1 || SIGN_CONTEXT.has(parts.at(-2)!) || isKeyword(parts.at(-2)!))) parts.pop();
      parts.push('?');
      continue;
    }
    // TIMESTAMP '…' and DATE '…' are typed literals; `date` alone is a column.
    const typed = (t.upper === 'TIMESTAMP' || t.upper === 'DATE') && tokens[i + 1]?.kind === 'string';
    if (t.kind === 'ident') parts.push(RESERVED.has(t.upper) || typed ? t.upper : t.text);
    else if (t.kind === 'quoted') parts.push(`"${t.text.replace(/"/g, '""')}"`);
    else parts.push(t.text);
  }
  return render(collapseLists(parts));
}

function isKeyword(part: string): boolean {
  return RESERVED.has(part) && part !== 'NULL' && part !== 'TRUE' && part !== 'FALSE' && part !== 'END';
}

/** `(?, ?, ?)` → `(?..)`: an IN list (or function arguments) of 3 values and one of 300 (or 1) are the same query. */
function collapseLists(parts: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < parts.length; i++) {
    if (parts[i] === '?' && out.at(-1) === '(') {
      let j = i;
      while (parts[j + 1] === ',' && parts[j + 2] === '?') j += 2;
      if (parts[j + 1] === ')' && (j > i || out.at(-2) === 'IN')) {
        out.push('?..');
        i = j;
        continue;
      }
    }
    out.push(parts[i]!);
  }
  return out;
}

function render(parts: string[]): string {
  let out = '';
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i]!;
    const prev = parts[i - 1];
    const tight =
      i === 0 ||
      CLOSE_TIGHT.has(p) ||
      OPEN_TIGHT.has(prev!) ||
      // A function call: name(…) — not a keyword followed by a parenthesis (IN (…), ON (…)).
      (p === '(' && prev !== undefined && !RESERVED.has(prev) && /^[A-Za-z_"]/.test(prev));
    out += tight ? p : ` ${p}`;
  }
  return out;
}

// ── DSL ──────────────────────────────────────────────────────────────────────

/** Keys of the DSL (src/query/dsl.ts); any other key is shown as `?` (it may be anything a client sent). */
const DSL_KEYS = new Set(['table', 'select', 'filter', 'groupBy', 'aggregations', 'orderBy', 'limit', 'offset', 'column', 'op', 'value', 'and', 'or', 'not', 'fn', 'as', 'direction']);
/** Keys whose values are names, not the tenant's values: kept. */
const NAME_KEYS = new Set(['table', 'select', 'groupBy', 'column', 'op', 'fn', 'as', 'direction']);
const MAX_NAME = 128;
const MAX_DEPTH = 64;

/** The DSL as canonical JSON (keys sorted), names kept and every other value `?`; lists of values `?..`. */
export function normalizeDsl(dsl: unknown): string {
  return JSON.stringify(shape(dsl, false, 0)) ?? 'null';
}

function shape(v: unknown, isName: boolean, depth: number): unknown {
  if (depth > MAX_DEPTH) return '?';
  if (Array.isArray(v)) {
    if (!isName && v.length > 0 && v.every((x) => x === null || typeof x !== 'object')) return '?..';
    return v.map((x) => shape(x, isName, depth + 1));
  }
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(v).sort()) {
      const known = DSL_KEYS.has(key);
      out[known ? key : '?'] = shape((v as Record<string, unknown>)[key], known && NAME_KEYS.has(key), depth + 1);
    }
    return out;
  }
  if (isName && typeof v === 'string' && v.length <= MAX_NAME) return v;
  return '?';
}
