import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  formatDateDir,
  formatPartName,
  formatTempName,
  isTempName,
  parseDateDir,
  parsePartName,
} from '../../src/storage/parquet/part-name.js';

describe('parquet part names', () => {
  it('zero-pads both LSNs to 20 digits', () => {
    assert.equal(formatPartName({ firstLsn: 1, lastLsn: 42 }), 'part-00000000000000000001-00000000000000000042.parquet');
    assert.equal(
      formatPartName({ firstLsn: 0, lastLsn: Number.MAX_SAFE_INTEGER }),
      'part-00000000000000000000-00009007199254740991.parquet',
    );
  });

  it('round-trips through parsePartName', () => {
    for (const range of [
      { firstLsn: 0, lastLsn: 0 },
      { firstLsn: 7, lastLsn: 7 },
      { firstLsn: 123, lastLsn: 98765 },
      { firstLsn: 1, lastLsn: Number.MAX_SAFE_INTEGER },
    ]) {
      assert.deepEqual(parsePartName(formatPartName(range)), range);
    }
  });

  it('sorts lexically in LSN order', () => {
    const names = [[9, 10], [100, 200], [11, 99]].map(([a, b]) => formatPartName({ firstLsn: a!, lastLsn: b! }));
    assert.deepEqual([...names].sort(), [names[0], names[2], names[1]]);
  });

  it('refuses invalid ranges when formatting', () => {
    assert.throws(() => formatPartName({ firstLsn: 5, lastLsn: 4 }), RangeError);
    assert.throws(() => formatPartName({ firstLsn: -1, lastLsn: 4 }), RangeError);
    assert.throws(() => formatPartName({ firstLsn: 1.5, lastLsn: 4 }), RangeError);
    assert.throws(() => formatPartName({ firstLsn: 1, lastLsn: 2 ** 53 }), RangeError);
  });

  it('rejects anything that is not exactly a part name', () => {
    for (const name of [
      'part-1-2.parquet',
      'part-00000000000000000001-00000000000000000002.parquet.tmp',
      '.part-00000000000000000001-00000000000000000002.parquet',
      'part-00000000000000000002-00000000000000000001.parquet', // inverted
      'part-99999999999999999999-99999999999999999999.parquet', // beyond 2^53
      'part-0000000000000000000a-00000000000000000001.parquet',
      'xpart-00000000000000000001-00000000000000000002.parquet',
      '../part-00000000000000000001-00000000000000000002.parquet',
    ]) {
      assert.equal(parsePartName(name), null, name);
    }
  });

  it('recognises temp names, which never parse as parts', () => {
    const part = formatPartName({ firstLsn: 1, lastLsn: 2 });
    const temp = formatTempName(part, 'abc123');
    assert.equal(temp, `.${part}.tmp-abc123`);
    assert.ok(isTempName(temp));
    assert.equal(parsePartName(temp), null);
    assert.ok(!isTempName(part));
    assert.ok(!isTempName('.part-1-2.parquet.tmp-x'));
  });

  it('formats and parses date directories', () => {
    assert.equal(formatDateDir('2024-02-29'), 'date=2024-02-29');
    assert.equal(parseDateDir('date=2024-02-29'), '2024-02-29');
    assert.equal(parseDateDir('date=2024-2-29'), null);
    assert.equal(parseDateDir('2024-02-29'), null);
  });
});
