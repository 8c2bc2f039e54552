// A short run of scripts/crash-test: SIGKILL the real process under 64
// concurrent clients, restart, and count every acknowledged id in both sinks.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runCrashTest } from '../../scripts/crash-test/crash-test.js';

test('acknowledged records survive SIGKILL exactly once in ClickHouse and Parquet', async () => {
  const r = await runCrashTest({ cycles: 3, clients: 64, minUptimeMs: 300, maxUptimeMs: 1500, log: (l) => console.log(l) });
  console.log(JSON.stringify(r));
  assert.ok(r.acknowledged > 1000, `enough load to mean something (acknowledged ${r.acknowledged})`);
  assert.equal(r.lostClickHouse, 0, 'lost in ClickHouse');
  assert.equal(r.lostParquet, 0, 'lost in Parquet');
  assert.equal(r.duplicatedClickHouse, 0, 'duplicated in ClickHouse');
  assert.equal(r.duplicatedParquet, 0, 'duplicated in Parquet');
});
