import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { quoteIdentifier, quoteString, renderList, renderLiteral } from '../../src/storage/clickhouse/sql-literal.js';
import { AppError } from '../../src/platform/errors.js';
import { HOSTILE_STRINGS } from '../helpers/hostile-strings.js';

/** Reads a rendered literal back the way ClickHouse's parser does. */
function unquote(lit: string, q: string): string {
  assert.equal(lit[0], q);
  assert.equal(lit[lit.length - 1], q);
  const body = lit.slice(1, -1);
  let out = '';
  for (let i = 0; i < body.length; i++) {
    const ch = body[i]!;
    // An unescaped quote inside the body would end the literal early.
    assert.notEqual(ch, q, `unescaped ${q} at ${i} in ${lit.slice(0, 80)}`);
    if (ch !== '\\') {
      out += ch;
      continue;
    }
    const next = body[++i]!;
    const simple: Record<string, string> = { '0': '\0', n: '\n', t: '\t', r: '\r', b: '\b', f: '\f' };
    if (next === 'x') {
      out += String.fromCharCode(parseInt(body.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      out += simple[next] ?? next;
    }
  }
  return out;
}

const HOSTILE = HOSTILE_STRINGS;

describe('quoteString', () => {
  for (const s of HOSTILE) {
    it(`round-trips ${JSON.stringify(s.slice(0, 30))}`, () => {
      const lit = quoteString(s);
      assert.equal(unquote(lit, "'"), s);
      // Nothing below 0x20 may appear raw: some layers treat it as a terminator.
      // eslint-disable-next-line no-control-regex
      assert.doesNotMatch(lit, /[\x00-\x1f]/);
    });
  }

  it('uses the short escapes', () => {
    assert.equal(quoteString("a'b\\c\0\n\t\r\b\f\x01"), "'a\\'b\\\\c\\0\\n\\t\\r\\b\\f\\x01'");
  });

  it('passes unicode through unchanged', () => {
    assert.equal(quoteString('é🦆'), "'é🦆'");
  });

  it('rejects an unpaired surrogate instead of corrupting it', () => {
    assert.throws(() => quoteString('a\uD800b'), AppError);
  });
});

describe('quoteIdentifier', () => {
  it('quotes with backticks and escapes backtick and backslash', () => {
    assert.equal(quoteIdentifier('events'), '`events`');
    assert.equal(quoteIdentifier('a`b\\c'), '`a\\`b\\\\c`');
    assert.equal(unquote(quoteIdentifier("x`; DROP TABLE y; --'"), '`'), "x`; DROP TABLE y; --'");
  });

  it('rejects empty and NUL', () => {
    assert.throws(() => quoteIdentifier(''), AppError);
    assert.throws(() => quoteIdentifier('a\0b'), AppError);
  });
});

describe('renderLiteral', () => {
  it('renders each kind', () => {
    assert.equal(renderLiteral(null), 'NULL');
    assert.equal(renderLiteral(42), '42');
    assert.equal(renderLiteral(1.5), '1.5');
    assert.equal(renderLiteral(-7), '(-7)');
    assert.equal(renderLiteral(12345678901234567890n), '12345678901234567890');
    assert.equal(renderLiteral(-3n), '(-3)');
    assert.equal(renderLiteral(true), '1');
    assert.equal(renderLiteral(false), '0');
    assert.equal(renderLiteral(new Date(1700000000123)), '1700000000123');
    assert.equal(renderLiteral("it's"), "'it\\'s'");
  });

  it('never lets a minus sign form a comment', () => {
    assert.doesNotMatch(`a-${renderLiteral(-5)}`, /--/);
  });

  it('refuses non-finite numbers and invalid dates', () => {
    for (const v of [NaN, Infinity, -Infinity]) assert.throws(() => renderLiteral(v), AppError);
    assert.throws(() => renderLiteral(new Date(NaN)), AppError);
  });
});

describe('renderList', () => {
  it('renders a parenthesised list', () => {
    assert.equal(renderList(['a', 1, null, "'"]), "('a', 1, NULL, '\\'')");
  });

  it('refuses an empty list', () => {
    assert.throws(() => renderList([]), AppError);
  });
});
