// Runs scripts/e2e against a freshly started real process.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startPlane } from '../helpers/control-plane-process.js';
import { runE2e } from '../helpers/e2e-runner.js';

test('scripts/e2e passes against a running instance', async () => {
  const plane = await startPlane();
  try {
    const { code, output, failed } = await runE2e(plane);
    assert.deepEqual(failed, []);
    assert.equal(code, 0, output);
    assert.match(output, /e2e: \d+ passed, 0 failed/);
  } finally {
    await plane.cleanup();
  }
});
