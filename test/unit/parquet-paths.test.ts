import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { isAppError } from '../../src/platform/errors.js';
import { ParquetSink } from '../../src/storage/parquet/index.js';
import type { StoredRecord } from '../../src/storage/parquet/index.js';
import { parsePartPath, partitionDir } from '../../src/storage/parquet/part-paths.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'parquet-paths-'));
const root = path.join(tmp, 'root');
fs.mkdirSync(root);
after(() => {
  // Refuse to delete anything that is not our own temp dir.
  if (tmp.startsWith(os.tmpdir() + path.sep)) fs.rmSync(tmp, { recursive: true, force: true });
});

const records: StoredRecord[] = [{ dataId: 'a', tsMs: Date.UTC(2024, 0, 1), lsn: 1, payload: { x: 1 } }];
const isValidationError = (err: unknown) => isAppError(err) && err.code === 'validation_failed';

const BAD_NAMES = ['..', '.', '../x', 'a/b', 'a\\b', '', 'A', '-a', '_a', 'a'.repeat(64), 'a\0b', '/etc', 'a b', 'é'];

describe('parquet path safety', () => {
  it('rejects tenant and table names that could escape the root', async () => {
    const sink = new ParquetSink({ rootDir: root });
    for (const bad of BAD_NAMES) {
      await assert.rejects(sink.writeBatch(bad, 'events', [], records), isValidationError, `tenant ${JSON.stringify(bad)}`);
      await assert.rejects(sink.writeBatch('t1', bad, [], records), isValidationError, `table ${JSON.stringify(bad)}`);
      await assert.rejects(sink.listParts(bad), isValidationError);
    }
    assert.deepEqual(fs.readdirSync(root), []);
    assert.deepEqual(fs.readdirSync(tmp), ['root']);
  });

  it('rejects invalid partition dates and keeps paths inside the root', () => {
    assert.throws(() => partitionDir(root, 't1', 'events', '../../x'), isValidationError);
    assert.equal(partitionDir(root, 't1', 'events', '2024-01-01'), path.join(root, 't1', 'events', 'date=2024-01-01'));
  });

  it('rejects promoted column names that are invalid or reserved', async () => {
    const sink = new ParquetSink({ rootDir: root });
    for (const name of ['../x', '1abc', 'a-b', 'payload', 'lsn', 'x'.repeat(65)]) {
      await assert.rejects(sink.writeBatch('t1', 'events', [{ name, type: 'String' }], records), isValidationError, name);
    }
    await assert.rejects(
      sink.writeBatch('t1', 'events', [{ name: 'a', type: 'Int64' }, { name: 'a', type: 'String' }], records),
      isValidationError,
    );
  });

  it('deletePart refuses paths outside the part layout', async () => {
    const sink = new ParquetSink({ rootDir: root });
    const outside = path.join(tmp, 'victim.parquet');
    fs.writeFileSync(outside, 'keep me');
    for (const p of [
      outside,
      '../victim.parquet',
      path.join(root, 't1', 'events', 'date=2024-01-01', '..', '..', '..', '..', 'victim.parquet'),
      path.join(root, 't1', 'events', 'date=2024-01-01', 'notes.txt'),
      path.join(root, 't1', 'events', 'part-00000000000000000001-00000000000000000001.parquet'),
    ]) {
      await assert.rejects(sink.deletePart(p), isValidationError, p);
    }
    assert.equal(fs.readFileSync(outside, 'utf8'), 'keep me');
  });

  it('parsePartPath accepts only <tenant>/<table>/date=<d>/part-…', () => {
    const name = 'part-00000000000000000001-00000000000000000002.parquet';
    assert.deepEqual(parsePartPath(root, path.join(root, 't1', 'events', 'date=2024-01-01', name)), {
      tenant: 't1',
      table: 'events',
      date: '2024-01-01',
      path: path.join(root, 't1', 'events', 'date=2024-01-01', name),
      relativePath: `t1/events/date=2024-01-01/${name}`,
      firstLsn: 1,
      lastLsn: 2,
    });
    assert.equal(parsePartPath(root, path.join(root, 'T1', 'events', 'date=2024-01-01', name)), null);
    assert.equal(parsePartPath(root, path.join(root, 't1', 'events', 'date=2024-02-30', name)), null);
    assert.equal(parsePartPath(root, path.join(tmp, 't1', 'events', 'date=2024-01-01', name)), null);
  });

  it('refuses a tenant directory that is a symlink out of the root', async () => {
    const elsewhere = path.join(tmp, 'elsewhere');
    fs.mkdirSync(elsewhere);
    fs.symlinkSync(elsewhere, path.join(root, 'evil'));
    const sink = new ParquetSink({ rootDir: root });
    await assert.rejects(sink.writeBatch('evil', 'events', [], records), (err: unknown) => isAppError(err) && err.code === 'storage_failure');
    const leftovers = fs.readdirSync(elsewhere, { recursive: true }).map(String).filter((f) => f.endsWith('.parquet'));
    assert.deepEqual(leftovers, []);
  });
});
