// The bulk path (writeBatch/getMany) goes below abstract-level's public API,
// so it must encode exactly as the sublevels do: each side reads what the
// other wrote, on a real LevelDB on disk, including across a reopen.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { StateStore } from '../../src/platform/state-store.js';
import { HOSTILE_STRINGS } from '../helpers/hostile-strings.js';
import { makeTempDir, removeTempDir } from '../helpers/temp-dir.js';

describe('StateStore bulk writes and reads', () => {
  const dir = makeTempDir('state-bulk');
  let store: StateStore;
  before(async () => {
    store = await StateStore.open(dir);
  });
  after(async () => {
    await store.close();
    removeTempDir(dir);
  });

  const keys = ['plain', 'id\u0000tenant\u0000table\u0000x', ...HOSTILE_STRINGS.filter((s) => s.length > 0 && !/\p{Cs}/u.test(s))];
  const values: unknown[] = [1, 0, -5.5, 'text', { nested: { a: [1, null, 'b'] } }, '', true, [1, 2]];

  it('what writeBatch puts, a sublevel reads; other sublevels do not see it', async () => {
    await store.writeBatch(
      keys.map((key, i) => ({ type: 'put' as const, sublevel: 'ingest' as const, key, value: values[i % values.length] })),
      { sync: true },
    );
    for (const [i, key] of keys.entries()) {
      assert.deepEqual(await store.sublevel('ingest').get(key), values[i % values.length], JSON.stringify(key));
      assert.equal(await store.sublevel('catalog').get(key), undefined);
    }
  });

  it('what a sublevel puts, getMany reads, with undefined for absent keys', async () => {
    await store.sublevel('meta').batch(keys.map((key, i) => ({ type: 'put' as const, key, value: values[(i + 3) % values.length] })));
    const got = await store.getMany('meta', [...keys, 'absent']);
    assert.deepEqual(got, [...keys.map((_, i) => values[(i + 3) % values.length]), undefined]);
    assert.deepEqual(await store.getMany('meta', []), []);
  });

  it('puts and deletes across sublevels land together and survive a reopen', async () => {
    await store.writeBatch(
      [
        { type: 'put', sublevel: 'catalog', key: 'a', value: { rows: 1 } },
        { type: 'del', sublevel: 'meta', key: keys[0]! },
        { type: 'put', sublevel: 'meta', key: 'checkpoint', value: 42 },
      ],
      { sync: true },
    );
    await store.close();
    store = await StateStore.open(dir);
    assert.deepEqual(await store.sublevel('catalog').get('a'), { rows: 1 });
    assert.equal(await store.sublevel('meta').get(keys[0]!), undefined);
    assert.deepEqual(await store.getMany('meta', ['checkpoint', keys[1]!]), [42, values[4 % values.length]]);
  });

  it('a batch larger than a slice is written atomically while the event loop runs', async () => {
    const many = Array.from({ length: 5_000 }, (_, i) => `bulk-${i}`);
    const writing = store.writeBatch(
      many.map((key, i) => ({ type: 'put' as const, sublevel: 'ingest' as const, key, value: i })),
      { sync: false },
    );
    // The write yields between slices; a reader then sees none of the batch yet.
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(await store.getMany('ingest', [many[0]!, many.at(-1)!]), [undefined, undefined]);
    await writing;
    assert.deepEqual(await store.getMany('ingest', [...many, 'absent']), [...many.map((_, i) => i), undefined]);
  });

  it('refuses a put without a value, and writes none of its batch', async () => {
    await assert.rejects(
      store.writeBatch(
        [
          { type: 'put', sublevel: 'meta', key: 'first', value: 1 },
          { type: 'put', sublevel: 'meta', key: 'second', value: undefined },
        ],
        { sync: false },
      ),
      TypeError,
    );
    assert.equal(await store.sublevel('meta').get('first'), undefined);
  });

  it('refuses bulk calls on a closed store instead of writing nowhere', async () => {
    const other = await StateStore.open(makeTempDir('state-bulk-closed'));
    await other.close();
    await assert.rejects(other.writeBatch([{ type: 'put', sublevel: 'meta', key: 'k', value: 1 }], { sync: false }), /closed/);
    await assert.rejects(other.getMany('meta', ['k']), /closed/);
    removeTempDir(other.path);
  });
});
