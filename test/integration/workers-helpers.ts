// Helpers of the remote-worker integration tests: the reference Python worker
// as a child process, free ports, a service API key, polling.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { adminHeaders, REPO_ROOT, type RunningPlane } from '../helpers/control-plane-process.js';

export interface RunningWorker {
  child: ChildProcess;
  port: number;
  url: string;
  logs(): string;
  exited: Promise<number | string>;
  kill(signal?: NodeJS.Signals): Promise<number | string>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export async function startWorker(args: string[], env: Record<string, string> = {}): Promise<RunningWorker> {
  const child = spawn('python3', ['services/worker.py', ...args], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')));
  child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /"port": (\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    void exited.then((code) => reject(new Error(`worker exited (${code}) before listening:\n${output}`)));
    setTimeout(() => reject(new Error(`worker did not listen within 10 s:\n${output}`)), 10_000).unref();
  });
  return {
    child,
    port,
    url: `http://127.0.0.1:${port}`,
    logs: () => output,
    exited,
    async kill(signal = 'SIGKILL') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

/** A fresh API key with role service: the worker's WORKER_TOKEN. Empty env when auth is not enforced. */
export async function serviceToken(plane: RunningPlane): Promise<Record<string, string>> {
  const admin = await adminHeaders(plane);
  if (!admin.authorization) return {};
  const res = await fetch(plane.url('auth-gateway', '/admin/api-keys'), {
    method: 'POST',
    headers: { ...admin, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'test worker', role: 'service' }),
  });
  const text = await res.text();
  if (res.status !== 201) throw new Error(`create service key: ${res.status} ${text}`);
  return { WORKER_TOKEN: (JSON.parse(text) as { key: string }).key };
}

export async function waitFor<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 10_000, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export interface WorkerListing {
  workers: { id: string; service: string; status: string; url: string }[];
  forwarding: Record<string, { id: string; url: string; healthy: boolean; circuit: string; unsupported?: Record<string, string> }[]>;
}

export async function listWorkers(plane: RunningPlane): Promise<WorkerListing> {
  const res = await fetch(plane.url('operation-node', '/workers'), { headers: await adminHeaders(plane) });
  if (res.status !== 200) throw new Error(`GET /workers: ${res.status} ${await res.text()}`);
  return (await res.json()) as WorkerListing;
}

/** One sample of a metric from the monitoring service's /metrics. */
export async function metricValue(plane: RunningPlane, name: string, labels: Record<string, string>): Promise<number | undefined> {
  const res = await fetch(plane.url('monitoring', '/metrics'), { headers: await adminHeaders(plane) });
  const text = await res.text();
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) return Number(line.split(' ').pop());
  }
  return undefined;
}
