// The wire formats the engine writes for us: per-block Arrow IPC streams
// joined into one, SQL shaped to carry the client's names and Arrow types,
// and the JS encoder used where the engine cannot write Arrow.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Field, Int64, Schema, Table, tableFromArrays, tableFromIPC, tableToIPC, Utf8, vectorFromArray } from 'apache-arrow';
import { emptyArrowStream, encodeArrow } from '../../src/query/arrow-encoder.js';
import { arrowWireSql, jsonWireSql } from '../../src/query/wire-sql.js';
import { ARROW_EOS, ArrowStreamJoiner } from '../../src/storage/clickhouse/arrow-stream-joiner.js';

/** One engine block as chdb streams it: a complete IPC stream (schema, batch, end marker). */
const block = (ids: number[], names: string[]) =>
  tableToIPC(new Table({ id: vectorFromArray(ids.map(BigInt), new Int64()), name: vectorFromArray(names, new Utf8()) }), 'stream');

test('joined blocks read back as one stream holding every row, in order', () => {
  const joiner = new ArrowStreamJoiner();
  const parts = [joiner.next(block([1, 2], ['a', 'b'])), joiner.next(block([3], ['c'])), joiner.next(block([4, 5, 6], ['d', 'e', 'f'])), joiner.end()];
  const bytes = Buffer.concat(parts);
  const table = tableFromIPC(bytes);
  assert.equal(table.numRows, 6);
  assert.deepEqual(table.getChild('name')!.toArray(), ['a', 'b', 'c', 'd', 'e', 'f']);
  assert.deepEqual([...table.getChild('id')!.toArray()].map(Number), [1, 2, 3, 4, 5, 6]);
  // Concatenated as they come, a reader stops after the first block: what the joiner is for.
  assert.equal(tableFromIPC(Buffer.concat([block([1], ['a']), block([2], ['b'])])).numRows, 1);
  // One schema, one end marker.
  assert.ok(bytes.subarray(bytes.length - 8).equals(Buffer.from(ARROW_EOS)));
  assert.equal(bytes.indexOf(Buffer.from(ARROW_EOS)), bytes.length - 8);
});

test('a result without rows is its schema and the end marker', () => {
  const joiner = new ArrowStreamJoiner();
  const empty = tableToIPC(new Table(new Schema([new Field('id', new Int64(), true), new Field('name', new Utf8(), true)])), 'stream');
  const table = tableFromIPC(Buffer.concat([joiner.next(empty), joiner.end()]));
  assert.equal(table.numRows, 0);
  assert.deepEqual(table.schema.fields.map((f) => f.name), ['id', 'name']);
});

test('blocks that disagree on the schema, or are not IPC, are refused', () => {
  const joiner = new ArrowStreamJoiner();
  joiner.next(block([1], ['a']));
  const other = tableToIPC(tableFromArrays({ other: Float64Array.from([1]) }), 'stream');
  assert.throws(() => joiner.next(other), /disagree on the schema/);
  assert.throws(() => new ArrowStreamJoiner().next(Buffer.from('{"id":1}\n')), /does not start with an IPC message/);
  assert.throws(() => new ArrowStreamJoiner().next(Buffer.from([0xff, 0xff])), /too short/);
});

test('wire SQL: names the client sees via an outer projection; Arrow casts to the schema types', () => {
  const plain = { sql: 'SELECT `data_id`, `amount` FROM t', renamed: false, columns: [{ name: 'data_id', sqlName: 'data_id', type: 'String' as const }, { name: 'amount', sqlName: 'amount', type: 'Float64' as const }] };
  assert.equal(jsonWireSql(plain), plain.sql, 'nothing to rename: the generated SQL as it is');
  const renamed = { sql: 'SELECT `amount` AS `_o0`, count() AS `n` FROM t GROUP BY `amount`', renamed: true, columns: [{ name: 'country', sqlName: '_o0', type: 'Float64' as const }, { name: 'n', sqlName: 'n', type: 'UInt64' as const }] };
  assert.equal(jsonWireSql(renamed), 'SELECT `_o0` AS `country`, `n` FROM (SELECT `amount` AS `_o0`, count() AS `n` FROM t GROUP BY `amount`)');
  const types = { sql: 'SELECT x FROM t', renamed: false, columns: (['Float64', 'Int64', 'UInt64', 'UInt8', 'Bool', 'String', 'Date', 'DateTime', 'Null'] as const).map((type, i) => ({ name: `c${i}`, sqlName: `c${i}`, type })) };
  assert.equal(
    arrowWireSql(types),
    'SELECT CAST(`c0` AS Nullable(Float64)) AS `c0`, CAST(`c1` AS Nullable(Int64)) AS `c1`, CAST(`c2` AS Nullable(Int64)) AS `c2`, CAST(`c3` AS Nullable(Int32)) AS `c3`, ' +
      'CAST(`c4` AS Nullable(Int32)) AS `c4`, CAST(`c5` AS Nullable(String)) AS `c5`, CAST(`c6` AS Nullable(String)) AS `c6`, CAST(`c7` AS Nullable(String)) AS `c7`, ' +
      'CAST(`c8` AS Nullable(String)) AS `c8` FROM (SELECT x FROM t)',
  );
  const hostile = { sql: 'SELECT 1', renamed: true, columns: [{ name: 'a`b', sqlName: '_o0', type: 'String' as const }] };
  assert.equal(jsonWireSql(hostile), 'SELECT `_o0` AS `a\\`b` FROM (SELECT 1)', 'names are quoted identifiers');
});

test('the JS encoder writes the same schema, batches as given, and an empty result', async () => {
  const columns = [
    { name: 'id', type: 'UInt64' as const },
    { name: 'amount', type: 'Float64' as const },
    { name: 'paid', type: 'Bool' as const },
    { name: 'day', type: 'Date' as const },
  ];
  async function* batches() {
    yield [{ id: 1, amount: 1.5, paid: 1, day: '2026-10-20' }];
    yield [{ id: 2, amount: null, paid: 0, day: '2026-10-21' }, { id: 3, amount: 2, paid: null, day: null }];
  }
  const parts: Uint8Array[] = [];
  for await (const p of encodeArrow(columns, batches())) parts.push(p);
  const table = tableFromIPC(Buffer.concat(parts));
  assert.deepEqual(table.schema.fields.map((f) => [f.name, String(f.type), f.nullable]), [['id', 'Int64', true], ['amount', 'Float64', true], ['paid', 'Int32', true], ['day', 'Utf8', true]]);
  assert.equal(table.numRows, 3);
  assert.equal(table.batches.length, 2);
  assert.deepEqual(table.getChild('amount')!.toArray().length, 3);
  assert.equal(table.get(2)!.toJSON().day, null);
  const empty = tableFromIPC(await emptyArrowStream(columns));
  assert.equal(empty.numRows, 0);
  assert.deepEqual(empty.schema.fields.map((f) => f.name), ['id', 'amount', 'paid', 'day']);
});
