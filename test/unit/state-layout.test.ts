// The declared state layout: keys an earlier version kept in shared sublevels
// move to their owners (and a crash part-way loses nothing), and each owner's
// view of the store refuses every sublevel but its own.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import pino from 'pino';
import { migrateStateLayout, OPTIMIZER_WEIGHTS_KEY, STATE_LAYOUT } from '../../src/catalog/state-layout.js';
import { StateStore } from '../../src/platform/state-store.js';
import { makeTempDir, removeTempDir } from '../helpers/temp-dir.js';

const log = pino({ level: 'silent' });

test('an earlier layout moves to its owners: data_id index, idempotency answers, cost weights, auth markers', async () => {
  const dir = makeTempDir('state-layout');
  try {
    // As an earlier version wrote it: no layout, shared sublevels.
    const old = await StateStore.open(dir);
    await old.writeBatch(
      [
        ...Array.from({ length: 25_000 }, (_, i) => ({ type: 'put' as const, sublevel: 'ingest', key: `id\u0000acme\u0000events\u0000d${i}`, value: i + 1 })),
        { type: 'put', sublevel: 'ingest', key: 'idem\u0000acme\u0000k1', value: { accepted: 1, lsn: 7, at: 1 } },
        { type: 'put', sublevel: 'queries', key: 'cbo.config', value: { weights: { clickhouseRowCost: 2 }, version: 3, updatedAt: 1 } },
        { type: 'put', sublevel: 'meta', key: 'auth.adminBootstrap', value: { at: 1, username: 'admin' } },
        { type: 'put', sublevel: 'meta', key: 'applier.checkpoint', value: 42 },
      ],
      { sync: true },
    );
    await old.close();

    const store = await StateStore.open(dir, STATE_LAYOUT);
    await migrateStateLayout(store, log);
    const ids = await store.getMany<number>('dataIds', ['id\u0000acme\u0000events\u0000d0', 'id\u0000acme\u0000events\u0000d24999']);
    assert.deepEqual(ids, [1, 25_000]);
    assert.deepEqual(await store.sublevel('idempotency').get('idem\u0000acme\u0000k1'), { accepted: 1, lsn: 7, at: 1 });
    assert.equal(((await store.sublevel<{ version: number }>('optimizer').get(OPTIMIZER_WEIGHTS_KEY)) as { version: number }).version, 3);
    assert.deepEqual(await store.sublevel('authMeta').get('auth.adminBootstrap'), { at: 1, username: 'admin' });
    // The catalog's own key stays in meta; the moved ones are gone from where they were.
    assert.equal(await store.sublevel('meta').get('applier.checkpoint'), 42);
    assert.equal(await store.sublevel('meta').get('auth.adminBootstrap'), undefined);
    const raw = store.migrationView();
    for (const legacy of ['ingest', 'queries']) {
      let left = 0;
      for await (const _ of raw.sublevel(legacy).keys()) left++;
      assert.equal(left, 0, `${legacy} emptied`);
    }
    // Running it again (a restart) changes nothing.
    await migrateStateLayout(store, log);
    assert.deepEqual(await store.getMany<number>('dataIds', ['id\u0000acme\u0000events\u0000d7']), [8]);
    await store.close();
  } finally {
    removeTempDir(dir);
  }
});

test('each owner sees only its own sublevels; undeclared names are refused', async () => {
  const dir = makeTempDir('state-layout-scope');
  const store = await StateStore.open(dir, STATE_LAYOUT);
  try {
    const auth = store.scoped('auth');
    await auth.sublevel('users').put('alice', { username: 'alice' });
    assert.throws(() => auth.sublevel('catalog'), /auth may not use sublevel catalog \(owned by catalog\)/);
    await assert.rejects(() => auth.writeBatch([{ type: 'put', sublevel: 'dataIds', key: 'k', value: 1 }], { sync: false }), /auth may not use sublevel dataIds/);
    await assert.rejects(() => store.scoped('ingest').getMany('jobs', ['x']), /ingest may not use sublevel jobs \(owned by workers\)/);
    assert.throws(() => store.sublevel('scratch'), /not declared in the state layout/);
    assert.throws(() => store.scoped('nobody'), /no sublevel is owned by nobody/);
    // Every declared sublevel has exactly one owner, and every owner's view opens.
    for (const owner of new Set(Object.values(STATE_LAYOUT))) assert.ok(store.scoped(owner));
  } finally {
    await store.close();
    removeTempDir(dir);
  }
});
