import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createClickHouseEngine } from '../../src/storage/clickhouse/create-engine.js';

test('cluster mode is refused with a clear message until the data path writes replicated tables', () => {
  assert.throws(
    () => createClickHouseEngine({ url: 'http://a:8123', dataDir: '/tmp/unused', database: 'cp', cluster: 'cp_cluster' }),
    /CLICKHOUSE_CLUSTER=cp_cluster: the data path cannot write to a ClickHouse cluster yet/,
  );
  // Without a cluster nothing changes: a URL is a server, none is the embedded engine.
  assert.equal(createClickHouseEngine({ url: 'http://a:8123', dataDir: '/tmp/unused', database: 'cp' }).kind, 'server');
});
