// Runs scripts/e2e/run.ts as its own process against a running plane, with the
// plane's ports and the test admin credential, and returns what it printed.
import { spawn } from 'node:child_process';
import { REPO_ROOT, SERVICE_PORT_ENV, TEST_ADMIN_PASSWORD, TEST_ADMIN_USERNAME, type RunningPlane } from './control-plane-process.js';

export async function runE2e(plane: RunningPlane, extraEnv: Record<string, string> = {}): Promise<{ code: number | null; output: string; failed: string[]; skipped: string[] }> {
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    // The script reads the configuration as the server does: no .env of the developer's, the plane's ports.
    ENV_FILE: '/nonexistent/.env',
    BASE_HOST: '127.0.0.1',
    E2E_ADMIN_USERNAME: TEST_ADMIN_USERNAME,
    E2E_ADMIN_PASSWORD: TEST_ADMIN_PASSWORD,
  };
  for (const [service, key] of Object.entries(SERVICE_PORT_ENV)) env[key] = String(plane.ports[service]);
  Object.assign(env, extraEnv);
  const { code, output } = await new Promise<{ code: number | null; output: string }>((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/e2e/run.ts'], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    child.on('exit', (c) => resolve({ code: c, output: out }));
  });
  const lines = output.split('\n');
  return { code, output, failed: lines.filter((l) => l.startsWith('FAIL')), skipped: lines.filter((l) => l.startsWith('SKIP')) };
}
