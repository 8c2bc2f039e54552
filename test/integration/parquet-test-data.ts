// Shared fixtures for the Parquet sink integration tests. Not a test file
// itself (no .test. in the name), so the runner does not pick it up alone.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ColumnSpec, StoredRecord } from '../../src/storage/parquet/index.js';

export const COLUMNS: ColumnSpec[] = [
  { name: 'n', type: 'Int64' },
  { name: 'f', type: 'Float64' },
  { name: 's', type: 'String' },
  { name: 'b', type: 'Bool' },
  { name: 'constructor', type: 'String' }, // must not read Object.prototype
];

const STRINGS = [
  'plain',
  'unicode: héllo wörld — 日本語 — 🚀🧪 — עברית',
  'quotes: "double" and \'single\' and `back`',
  'newlines:\nline2\r\nline3\ttab',
  'backslashes: C:\\path\\to\\file \\n not a newline \\\\',
  'json-looking: {"a":[1,2,{"b":null}]}',
  'sql-looking: \'); DROP TABLE x; --',
  '',
  'nul byte: \u0000 end',
];

const INTS = [0, 1, -1, 42, 2 ** 31, -(2 ** 31) - 1, 2 ** 53 - 1, -(2 ** 53 - 1)];
const FLOATS = [0.1, -2.5, 1e-300, 1.7976931348623157e308, 3.141592653589793, 5e-324, 123456789.125];

export const DAY0 = Date.UTC(2024, 1, 28, 12, 0, 0); // 2024-02-28
export const DAY1 = Date.UTC(2024, 1, 29, 0, 0, 0); // 2024-02-29 (leap day)

/** Deterministic records alternating between two UTC dates. */
export function makeRecords(count: number, firstLsn = 1): StoredRecord[] {
  const records: StoredRecord[] = [];
  for (let i = 0; i < count; i++) {
    const lsn = firstLsn + i;
    const tsMs = (i % 2 === 0 ? DAY0 : DAY1) + (i % 1000) * 37_113;
    const s = STRINGS[i % STRINGS.length]!;
    const payload: Record<string, unknown> = {
      seq: i,
      text: `${s} #${i}`,
      big: INTS[i % INTS.length],
      ratio: FLOATS[i % FLOATS.length],
      flag: i % 3 === 0,
      nothing: null,
      nested: { level1: { arr: [1, 'two', null, { three: 3.5 }], s }, empty: {}, list: [] },
    };
    // Promoted fields: present, null, absent, or of the wrong type.
    switch (i % 5) {
      case 0:
        Object.assign(payload, { n: INTS[i % INTS.length], f: FLOATS[i % FLOATS.length], s, b: i % 2 === 0 });
        break;
      case 1:
        Object.assign(payload, { n: null, f: null, s: null, b: null });
        break;
      case 2:
        break; // absent
      case 3:
        Object.assign(payload, { n: '12', f: 'x', s: 17, b: 'true', constructor: 'ctor' }); // wrong types
        break;
      default:
        Object.assign(payload, { n: -(2 ** 53 - 1), f: -0.5, s: `only-s-${i}`, b: false });
    }
    records.push({ dataId: `id-${i}-${s.slice(0, 12)}`, tsMs, lsn, payload });
  }
  return records;
}

/** What each promoted column should read back as, per the sink's contract. */
export function expectedPromoted(record: StoredRecord): Record<string, unknown> {
  const p = record.payload;
  const pick = (key: string, ok: (v: unknown) => boolean) =>
    Object.hasOwn(p, key) && p[key] !== null && ok(p[key]) ? p[key] : null;
  return {
    n: pick('n', (v) => typeof v === 'number' && Number.isInteger(v)),
    f: pick('f', (v) => typeof v === 'number'),
    s: pick('s', (v) => typeof v === 'string'),
    b: pick('b', (v) => typeof v === 'boolean'),
    constructor: pick('constructor', (v) => typeof v === 'string'),
  };
}

export function makeTempDir(prefix: string): { dir: string; remove: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  return {
    dir,
    remove: () => {
      // Only ever delete what mkdtemp gave us under the OS temp dir.
      if (!dir.startsWith(os.tmpdir() + path.sep)) throw new Error(`refusing to delete ${dir}`);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A SQL string literal for ClickHouse: backslash and quote escaped. */
export function sqlString(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}
