// A real Prometheus Alertmanager (Debian package prometheus-alertmanager) for
// tests: a free port, a temp dir holding its config and storage, clustering off.
// When the binary is missing the caller gets { skipped } and says so.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { makeTempDir, removeTempDir } from './temp-dir.js';

const BINARIES = ['/usr/bin/prometheus-alertmanager', '/usr/local/bin/alertmanager', '/usr/bin/alertmanager'];

export interface AmAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  status: { state: string };
}

export interface RunningAlertmanager {
  url: string;
  /** GET /api/v2/alerts: the alerts Alertmanager holds as active (resolved ones are left out). */
  alerts(): Promise<AmAlert[]>;
  logs(): string;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => resolve(typeof addr === 'object' && addr ? addr.port : 0));
    });
  });
}

// Alerts go nowhere further: the test reads them back through the API.
const CONFIG = `route:
  receiver: blackhole
  group_wait: 1s
receivers:
  - name: blackhole
`;

export async function startAlertmanager(): Promise<RunningAlertmanager | { skipped: string }> {
  const bin = BINARIES.find((b) => existsSync(b));
  if (!bin) return { skipped: 'prometheus-alertmanager is not installed (Debian package prometheus-alertmanager)' };
  const dir = makeTempDir('alertmanager');
  writeFileSync(path.join(dir, 'alertmanager.yml'), CONFIG);
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const child: ChildProcess = spawn(
      bin,
      [`--config.file=${path.join(dir, 'alertmanager.yml')}`, `--storage.path=${path.join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--cluster.listen-address='],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    child.stdout!.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    const deadline = Date.now() + 20_000;
    let ready = false;
    while (!ready && Date.now() < deadline && child.exitCode === null && child.signalCode === null) {
      ready = (await fetch(`${url}/-/ready`).catch(() => undefined))?.status === 200;
      if (!ready) await new Promise((r) => setTimeout(r, 100));
    }
    if (!ready) {
      child.kill('SIGKILL');
      await exited;
      // Someone took the port between our probe and its bind: try another.
      if (attempt < 2 && /address already in use/.test(output)) continue;
      removeTempDir(dir);
      throw new Error(`alertmanager did not become ready:\n${output.slice(-3000)}`);
    }
    return {
      url,
      logs: () => output,
      async alerts() {
        const res = await fetch(`${url}/api/v2/alerts`);
        if (res.status !== 200) throw new Error(`GET /api/v2/alerts: ${res.status} ${await res.text()}`);
        return (await res.json()) as AmAlert[];
      },
      async stop() {
        const running = () => child.exitCode === null && child.signalCode === null;
        if (running()) {
          child.kill('SIGTERM');
          await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
          if (running()) child.kill('SIGKILL');
          await exited;
        }
        removeTempDir(dir);
      },
    };
  }
}
