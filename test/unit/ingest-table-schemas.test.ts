// Table schemas at ingest: a request is acknowledged only once the schema of
// every table it writes is in the catalog, including one that a concurrent
// request grew and is still storing (a query sent after the acknowledgement
// binds to the catalog); a failed catalog write is written again by the next
// request; a forgotten table (its tenant deleted) starts a new schema.
// Real LevelDB; the catalog is observed (when its writes finish), not replaced.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { CatalogStore, type TableEntry } from '../../src/catalog/catalog-store.js';
import { TableSchemas } from '../../src/ingest/table-schemas.js';
import type { IngestRow } from '../../src/ingest/wal-entry.js';
import { StateStore } from '../../src/platform/state-store.js';
import { makeTempDir, removeTempDir } from '../helpers/temp-dir.js';

let dir: string;
let state: StateStore;

before(async () => {
  dir = makeTempDir('table-schemas');
  state = await StateStore.open(`${dir}/state`);
});

after(async () => {
  await state?.close();
  if (dir) removeTempDir(dir);
});

/** The catalog, counting finished table writes; `failNext` makes the next one fail. */
class ObservedCatalog extends CatalogStore {
  stored = 0;
  failNext = false;
  override async putTable(entry: TableEntry): Promise<void> {
    if (this.failNext) {
      this.failNext = false;
      throw new Error('disk full');
    }
    await super.putTable(entry);
    this.stored++;
  }
}

const row = (table: string, payload: Record<string, unknown>): IngestRow => ({ table, dataId: `id-${Math.random()}`, tsMs: 0, payload });

test('a request that uses a table another request is still storing waits for that write', async () => {
  const catalog = new ObservedCatalog(state);
  const schemas = new TableSchemas(catalog);
  const grows = schemas.extend('acme', [row('orders', { amount: 1 })]);
  // Same table, no new column: nothing of its own to store, but the table is not in the catalog yet.
  const uses = schemas.extend('acme', [row('orders', { amount: 2 })]).then(async () => ({ stored: catalog.stored, entry: await catalog.getTable('acme', 'orders') }));
  const seen = await uses;
  await grows;
  assert.equal(seen.stored, 1, 'resolved only after the catalog write finished');
  assert.deepEqual(seen.entry?.columns, [{ name: 'amount', type: 'Float64' }]);
});

test('a failed catalog write fails the requests that wait for it, and the next request writes it again', async () => {
  const catalog = new ObservedCatalog(state);
  const schemas = new TableSchemas(catalog);
  catalog.failNext = true;
  await assert.rejects(schemas.extend('acme', [row('refunds', { reason: 'late' })]), /disk full/);
  assert.equal(await catalog.getTable('acme', 'refunds'), undefined);
  await schemas.extend('acme', [row('refunds', { reason: 'broken' })]);
  assert.deepEqual((await catalog.getTable('acme', 'refunds'))?.columns, [{ name: 'reason', type: 'String' }]);
});

test('a forgotten table starts a new schema: the next record may give a field another type, and it is stored', async () => {
  const catalog = new ObservedCatalog(state);
  const schemas = new TableSchemas(catalog);
  await schemas.extend('gone', [row('events', { n: 1 })]);
  await catalog.dropTable('gone', 'events');
  schemas.forget('gone', 'events');
  assert.equal(schemas.entry('gone', 'events'), undefined);
  await schemas.extend('gone', [row('events', { n: 'one' })]);
  assert.deepEqual((await catalog.getTable('gone', 'events'))?.columns, [{ name: 'n', type: 'String' }]);
});
