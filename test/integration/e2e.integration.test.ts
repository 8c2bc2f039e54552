// Runs scripts/e2e against a freshly started real process.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { REPO_ROOT, SERVICE_PORT_ENV, startPlane, TEST_ADMIN_PASSWORD, TEST_ADMIN_USERNAME } from '../helpers/control-plane-process.js';

test('scripts/e2e passes against a running instance', async () => {
  const plane = await startPlane();
  try {
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '',
      BASE_HOST: '127.0.0.1',
      E2E_ADMIN_USERNAME: TEST_ADMIN_USERNAME,
      E2E_ADMIN_PASSWORD: TEST_ADMIN_PASSWORD,
    };
    for (const [service, key] of Object.entries(SERVICE_PORT_ENV)) env[key] = String(plane.ports[service]);
    const { code, output } = await new Promise<{ code: number | null; output: string }>((resolve) => {
      const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/e2e/run.ts'], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.on('data', (c: Buffer) => (out += c.toString()));
      child.stderr.on('data', (c: Buffer) => (out += c.toString()));
      child.on('exit', (c) => resolve({ code: c, output: out }));
    });
    const failed = output.split('\n').filter((l) => l.startsWith('FAIL'));
    assert.deepEqual(failed, []);
    assert.equal(code, 0, output);
    assert.match(output, /e2e: \d+ passed, 0 failed/);
  } finally {
    await plane.cleanup();
  }
});
