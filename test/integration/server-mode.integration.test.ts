// The whole data path on a ClickHouse server (Debian's clickhouse-server 18.16)
// instead of the embedded engine: scripts/e2e against a process started with
// CLICKHOUSE_URL, then the rows counted on the server itself.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { startClickHouseServer } from '../helpers/clickhouse-server.js';
import { REPO_ROOT, SERVICE_PORT_ENV, startPlane } from '../helpers/control-plane-process.js';

test('the data path and scripts/e2e work against a ClickHouse server', async (t) => {
  const server = await startClickHouseServer();
  if ('skipped' in server) {
    console.log(`skipped: ${server.skipped}`);
    t.skip(server.skipped);
    return;
  }
  const plane = await startPlane({ env: { CLICKHOUSE_URL: server.url, CLICKHOUSE_DATABASE: 'cp_server_mode' } });
  try {
    const env: Record<string, string> = { PATH: process.env.PATH ?? '', BASE_HOST: '127.0.0.1' };
    for (const [service, key] of Object.entries(SERVICE_PORT_ENV)) env[key] = String(plane.ports[service]);
    const { code, output } = await new Promise<{ code: number | null; output: string }>((resolve) => {
      const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/e2e/run.ts'], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.on('data', (c: Buffer) => (out += c.toString()));
      child.stderr.on('data', (c: Buffer) => (out += c.toString()));
      child.on('exit', (c) => resolve({ code: c, output: out }));
    });
    assert.deepEqual(output.split('\n').filter((l) => l.startsWith('FAIL')), []);
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
