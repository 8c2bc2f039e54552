// Runs scripts/e2e against a freshly started real process in distributed mode,
// so every user path runs: a Python worker registers, serves a forwarded route,
// is killed (fallback), leases and completes a job; nothing is skipped.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startPlane } from '../helpers/control-plane-process.js';
import { runE2e } from '../helpers/e2e-runner.js';

test('scripts/e2e passes against a running instance, every path included', async () => {
  const plane = await startPlane({ env: { DISTRIBUTED_MODE: 'true', WORKER_HEALTH_INTERVAL_MS: '300', WORKER_HEARTBEAT_TTL_MS: '3000' } });
  try {
    const { code, output, failed, skipped } = await runE2e(plane);
    assert.deepEqual(failed, [], output.slice(-3000));
    assert.deepEqual(skipped, []);
    assert.equal(code, 0, output);
    assert.match(output, /e2e: \d+ passed, 0 failed/);
    assert.match(output, /PASS worker: a forwarded POST \/parse\/sql is served by it/);
  } finally {
    await plane.cleanup();
  }
});
