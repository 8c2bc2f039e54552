import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createClickHouseEngine, createClusterEngine } from '../../src/storage/clickhouse/create-engine.js';

test('a URL is a server, none is the embedded engine; cluster mode is every node, held until checked', () => {
  assert.equal(createClickHouseEngine({ url: 'http://a:8123', dataDir: '/tmp/unused', database: 'cp' }).kind, 'server');
  assert.equal(createClickHouseEngine({ dataDir: '/tmp/unused', database: 'cp' }).kind, 'embedded');
  const cluster = createClusterEngine({ urls: ['http://a:8123', 'http://b:8123'], database: 'cp' });
  assert.deepEqual(cluster.nodes.map((n) => n.url), ['http://a:8123', 'http://b:8123']);
  // No node takes calls before the cluster runtime has checked it has every table and column.
  assert.ok(cluster.nodes.every((n) => cluster.isHeld(n.url)));
  assert.throws(() => createClusterEngine({ urls: [], database: 'cp' }), /needs CLICKHOUSE_URL/);
});
