// The one place SQL literals and identifiers are rendered. Neither ClickHouse
// 18.16 nor our chdb path gives us server-side parameters that work on both, so
// every value that reaches SQL goes through here. The escapes used are the ones
// both 18.16 and 26.x read back identically (see clickhouse-literal tests).

import { Errors } from '../../platform/errors.js';

export type SqlValue = string | number | bigint | boolean | null | Date;

const NAMED_ESCAPES: Record<string, string> = {
  '\\': '\\\\',
  '\0': '\\0',
  '\n': '\\n',
  '\t': '\\t',
  '\r': '\\r',
  '\b': '\\b',
  '\f': '\\f',
};

// Backslash, both quote characters and every C0 control character. Escaping the
// other quote too is harmless and keeps one escaper for strings and identifiers.
// eslint-disable-next-line no-control-regex
const NEEDS_ESCAPE = /[\\'`\x00-\x1f]/g;

// In /u mode a valid surrogate pair is one code point, so only unpaired halves match.
const LONE_SURROGATE = /\p{Cs}/u;

function escapeChar(ch: string): string {
  const named = NAMED_ESCAPES[ch];
  if (named !== undefined) return named;
  if (ch === "'" || ch === '`') return `\\${ch}`;
  return `\\x${ch.charCodeAt(0).toString(16).padStart(2, '0')}`;
}

function escapeBody(s: string): string {
  // A lone surrogate would be replaced by U+FFFD on the way to UTF-8, so the
  // value read back would silently differ from the one we meant to store.
  if (LONE_SURROGATE.test(s)) throw Errors.badRequest('string contains an unpaired UTF-16 surrogate');
  return s.replace(NEEDS_ESCAPE, escapeChar);
}

/** 'text' with backslash escapes; safe for any well-formed string. */
export function quoteString(s: string): string {
  return `'${escapeBody(s)}'`;
}

/** `name`: always quoted, so reserved words and odd characters are just names. */
export function quoteIdentifier(name: string): string {
  if (name.length === 0) throw Errors.badRequest('SQL identifier must not be empty');
  // A NUL in a name is never legitimate and some layers truncate at it.
  if (name.includes('\0')) throw Errors.badRequest('SQL identifier must not contain NUL');
  return `\`${escapeBody(name)}\``;
}

// Negative numbers are parenthesised: `a-${lit}` would otherwise render as
// `a--5`, and `--` starts a comment.
function signed(text: string): string {
  return text.startsWith('-') ? `(${text})` : text;
}

export function renderLiteral(v: SqlValue): string {
  if (v === null) return 'NULL';
  switch (typeof v) {
    case 'string':
      return quoteString(v);
    case 'number':
      if (!Number.isFinite(v)) throw Errors.badRequest(`number ${String(v)} cannot be used in SQL`);
      return signed(String(v));
    case 'bigint':
      return signed(v.toString());
    case 'boolean':
      // 18.16 has no Bool type; booleans are stored as UInt8 on both engines.
      return v ? '1' : '0';
    default:
      break;
  }
  if (v instanceof Date) {
    const ms = v.getTime();
    if (!Number.isFinite(ms)) throw Errors.badRequest('invalid Date cannot be used in SQL');
    // Milliseconds since the epoch as an Int64 number: 18.16 has no DateTime64.
    return signed(String(ms));
  }
  throw Errors.badRequest(`unsupported SQL value of type ${typeof v}`);
}

/** `(a, b, c)` for IN lists. Empty lists are refused: `IN ()` is not valid SQL. */
export function renderList(values: readonly SqlValue[]): string {
  if (values.length === 0) throw Errors.badRequest('SQL value list must not be empty');
  return `(${values.map(renderLiteral).join(', ')})`;
}

const SETTING_NAME = /^[a-z][a-z0-9_]*$/;

/** ` SETTINGS a = 1, b = 'x'` for settings our code chooses (names checked, values as literals); '' when none. */
export function settingsClause(settings: Readonly<Record<string, string | number>> | undefined): string {
  const entries = Object.entries(settings ?? {});
  if (entries.length === 0) return '';
  return ` SETTINGS ${entries
    .map(([name, value]) => {
      if (!SETTING_NAME.test(name)) throw Errors.internal(new Error(`not a setting name: ${name}`));
      return `${name} = ${typeof value === 'number' ? renderLiteral(value) : quoteString(value)}`;
    })
    .join(', ')}`;
}
