// The whole data path on a ClickHouse server (Debian's clickhouse-server 18.16)
// instead of the embedded engine: scripts/e2e against a process started with
// CLICKHOUSE_URL, then the rows counted on the server itself.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startClickHouseServer } from '../helpers/clickhouse-server.js';
import { startPlane } from '../helpers/control-plane-process.js';
import { runE2e } from '../helpers/e2e-runner.js';

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
    // Count on the server directly: the e2e tenant's events table holds its 4 rows once.
    const res = await fetch(`${server.url}/?query=${encodeURIComponent("SELECT name FROM system.tables WHERE database = 'cp_server_mode' FORMAT JSONEachRow")}`);
    const text = await res.text();
    assert.match(text, /__events/, `tables on the server: ${text}`);
    const table = /"name":"([^"]+__events)"/.exec(text)![1]!;
    const count = await (await fetch(`${server.url}/?query=${encodeURIComponent(`SELECT count() AS n, uniqExact(data_id) AS u FROM cp_server_mode.\`${table}\` FORMAT JSONEachRow`)}`)).text();
    assert.deepEqual(JSON.parse(count), { n: '4', u: '4' });
  } finally {
    await plane.cleanup();
    await server.stop();
  }
});
