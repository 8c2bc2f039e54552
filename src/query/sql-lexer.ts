// Tokens of the SELECT subset (docs/sql.md). Comments are skipped here, so
// whatever a comment "hides" is simply gone: the parser only ever sees tokens,
// and the SQL that runs is generated from the plan, never from this text.
import { Errors } from '../platform/errors.js';
import type { Pos } from './ast.js';

export type TokenKind = 'ident' | 'quoted' | 'number' | 'string' | 'op' | 'eof';

export interface Token {
  kind: TokenKind;
  /** Identifier text as written (quoted: unescaped), operator text, string value, number text. */
  text: string;
  /** Upper-cased text of a bare identifier, for keyword checks. */
  upper: string;
  pos: Pos;
}

export const MAX_SQL_LENGTH = 64 * 1024;

const OPERATORS = ['<=', '>=', '<>', '!=', '||', '=', '<', '>', '+', '-', '*', '/', '%', '(', ')', ',', '.', ';'];

export function sqlError(message: string, pos: Pos, extra: Record<string, unknown> = {}) {
  return Errors.invalidQuery(`${message} (line ${pos.line}, column ${pos.column})`, {
    line: pos.line,
    column: pos.column,
    ...extra,
  });
}

export function tokenize(sql: string): Token[] {
  if (sql.length > MAX_SQL_LENGTH) throw Errors.invalidQuery(`query text exceeds ${MAX_SQL_LENGTH} characters`);
  const tokens: Token[] = [];
  let i = 0;
  let line = 1;
  let lineStart = 0;
  const pos = (at: number): Pos => ({ line, column: at - lineStart + 1, offset: at });
  const advanceOver = (end: number) => {
    for (let k = i; k < end; k++) {
      if (sql.charCodeAt(k) === 10) {
        line++;
        lineStart = k + 1;
      }
    }
    i = end;
  };

  while (i < sql.length) {
    const ch = sql[i]!;
    if (ch === ' ' || ch === '\t' || ch === '\r' || ch === '\n' || ch === '\f') {
      advanceOver(i + 1);
      continue;
    }
    if (ch === '-' && sql[i + 1] === '-') {
      const nl = sql.indexOf('\n', i);
      advanceOver(nl === -1 ? sql.length : nl);
      continue;
    }
    if (ch === '/' && sql[i + 1] === '*') {
      const end = sql.indexOf('*/', i + 2);
      if (end === -1) throw sqlError('unterminated comment', pos(i));
      advanceOver(end + 2);
      continue;
    }
    const start = pos(i);
    if (/[A-Za-z_]/.test(ch)) {
      let j = i + 1;
      while (j < sql.length && /[A-Za-z0-9_]/.test(sql[j]!)) j++;
      const text = sql.slice(i, j);
      tokens.push({ kind: 'ident', text, upper: text.toUpperCase(), pos: start });
      i = j;
      continue;
    }
    if (/[0-9]/.test(ch) || (ch === '.' && /[0-9]/.test(sql[i + 1] ?? ''))) {
      const m = /^(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?/.exec(sql.slice(i, i + 400));
      const text = m![0];
      if (/[A-Za-z_]/.test(sql[i + text.length] ?? '')) throw sqlError(`malformed number near '${sql.slice(i, i + text.length + 1)}'`, start);
      tokens.push({ kind: 'number', text, upper: text, pos: start });
      i += text.length;
      continue;
    }
    if (ch === "'" || ch === '"' || ch === '`') {
      const { value, end } = readQuoted(sql, i, ch, start);
      tokens.push({ kind: ch === "'" ? 'string' : 'quoted', text: value, upper: value.toUpperCase(), pos: start });
      advanceOver(end);
      continue;
    }
    const op = OPERATORS.find((o) => sql.startsWith(o, i));
    if (op) {
      tokens.push({ kind: 'op', text: op === '<>' ? '!=' : op, upper: op, pos: start });
      i += op.length;
      continue;
    }
    throw sqlError(`unexpected character ${JSON.stringify(ch)}`, start);
  }
  tokens.push({ kind: 'eof', text: '', upper: '', pos: pos(i) });
  return tokens;
}

const ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', '0': '\0', b: '\b', f: '\f', '\\': '\\', "'": "'", '"': '"', '`': '`' };

/** A quoted string or identifier: doubled quote or backslash escapes, as ClickHouse reads them. */
function readQuoted(sql: string, start: number, quote: string, pos: Pos): { value: string; end: number } {
  let out = '';
  let i = start + 1;
  while (i < sql.length) {
    const ch = sql[i]!;
    if (ch === '\\') {
      const next = sql[i + 1];
      if (next === undefined) break;
      const mapped = ESCAPES[next];
      if (mapped === undefined) throw sqlError(`unsupported escape \\${next}`, pos);
      out += mapped;
      i += 2;
      continue;
    }
    if (ch === quote) {
      if (sql[i + 1] === quote) {
        out += quote;
        i += 2;
        continue;
      }
      return { value: out, end: i + 1 };
    }
    out += ch;
    i++;
  }
  throw sqlError(quote === "'" ? 'unterminated string literal' : 'unterminated quoted identifier', pos);
}
