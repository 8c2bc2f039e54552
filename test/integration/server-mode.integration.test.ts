// The whole data path on a ClickHouse server (Debian's clickhouse-server 18.16)
// instead of the embedded engine: scripts/e2e against a process started with
// CLICKHOUSE_URL, then the rows counted on the server itself.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startClickHouseServer } from '../helpers/clickhouse-server.js';
import { startPlane } from '../helpers/control-plane-process.js';
import { runE2e } from '../helpers/e2e-runner.js';
import { BASE_DATABASE_TABLES } from '../../src/storage/clickhouse/legacy-layout-migration.js';

test('the data path and scripts/e2e work against a ClickHouse server', async (t) => {
  const server = await startClickHouseServer();
  if ('skipped' in server) {
    console.log(`skipped: ${server.skipped}`);
    t.skip(server.skipped);
    return;
  }
  const plane = await startPlane({ env: { CLICKHOUSE_URL: server.url, CLICKHOUSE_DATABASE: 'cp_server_mode' } });
  try {
    const { code, output, failed } = await runE2e(plane);
    assert.deepEqual(failed, []);
    assert.equal(code, 0, output);
    // Count on the server directly: the e2e tenant's events table, in that tenant's own database, holds its 4 rows once.
    const res = await fetch(`${server.url}/?query=${encodeURIComponent("SELECT database, name FROM system.tables WHERE name = 'events' FORMAT JSONEachRow")}`);
    const text = await res.text();
    const tables = text
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { database: string; name: string })
      .filter((t) => t.database.startsWith('cp_server_mode__'));
    assert.equal(tables.length, 1, `tables on the server: ${text}`);
    const { database } = tables[0]!;
    // The base database keeps no tenant tables: only the product's own (the query log).
    const inBase = await (await fetch(`${server.url}/?query=${encodeURIComponent("SELECT name FROM system.tables WHERE database = 'cp_server_mode' FORMAT JSONEachRow")}`)).text();
    const baseTables = inBase.trim().split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { name: string }).name);
    assert.deepEqual(baseTables.filter((name) => !BASE_DATABASE_TABLES.has(name)), [], `tables in the base database: ${inBase}`);
    const count = await (await fetch(`${server.url}/?query=${encodeURIComponent(`SELECT count() AS n, uniqExact(data_id) AS u FROM \`${database}\`.events FORMAT JSONEachRow`)}`)).text();
    assert.deepEqual(JSON.parse(count), { n: '4', u: '4' });
  } finally {
    await plane.cleanup();
    await server.stop();
  }
});
