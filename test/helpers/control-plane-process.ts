// Starts the real control plane (`node --import tsx src/main.ts`) as a child
// process on ephemeral ports with its own DATA_DIR, and reads the ports back
// from its "listening" log line.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeTempDir, removeTempDir } from './temp-dir.js';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** Credentials every test plane boots with (ENVIRONMENT=test accepts them); tests sign forged tokens with TEST_JWT_SECRET. */
export const TEST_ADMIN_USERNAME = 'admin';
export const TEST_ADMIN_PASSWORD = 'test-admin-password';
export const TEST_JWT_SECRET = 'test-only-jwt-secret-0123456789-abcdefghij';

export const SERVICE_PORT_ENV: Record<string, string> = {
  'auth-gateway': 'AUTH_GATEWAY_PORT',
  'tenant-node': 'TENANT_NODE_PORT',
  'operation-node': 'OPERATION_NODE_PORT',
  'cbo-engine': 'CBO_ENGINE_PORT',
  'metadata-catalog': 'METADATA_CATALOG_PORT',
  monitoring: 'MONITORING_PORT',
  'query-interpreter': 'QUERY_INTERPRETER_PORT',
};

export interface RunningPlane {
  child: ChildProcess;
  /** The node process of the control plane (behind npm when started via npm). */
  pid: number;
  dataDir: string;
  ports: Record<string, number>;
  url(service: string, pathAndQuery: string): string;
  logs(): string;
  /** Waits until every service (or the ones named) answers /ready with 200. */
  waitReady(timeoutMs?: number, services?: string[]): Promise<void>;
  /** Resolves with the exit code (or signal name). */
  exited: Promise<number | string>;
  stop(signal?: NodeJS.Signals): Promise<number | string>;
  cleanup(): Promise<void>;
}

export interface StartOptions {
  env?: Record<string, string>;
  dataDir?: string;
  /** Keep the data dir on cleanup (for restart tests that own it). */
  keepDataDir?: boolean;
  waitForReady?: boolean;
  /** Extra node flags, e.g. --cpu-prof for profiling runs. */
  nodeArgs?: string[];
  /**
   * A SERVICES subset gets the auth-gateway added (so adminHeaders can log in)
   * unless this is false.
   */
  authGateway?: boolean;
  /**
   * How to start it: the TypeScript sources under tsx (default, what tests run),
   * or `npm start` as a user does (the compiled dist/, built first if stale), in
   * its own process group so signals reach the node process behind npm.
   */
  via?: 'tsx' | 'npm-start';
}

export async function startPlane(opts: StartOptions = {}): Promise<RunningPlane> {
  const dataDir = opts.dataDir ?? makeTempDir('cp-test');
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '/tmp',
    ENVIRONMENT: 'test',
    HOST: '127.0.0.1',
    DATA_DIR: dataDir,
    LOG_LEVEL: 'info',
    // As `npm start` runs it (src/platform/threadpool.ts).
    UV_THREADPOOL_SIZE: '16',
    ENV_FILE: '/nonexistent/.env',
    ADMIN_USERNAME: TEST_ADMIN_USERNAME,
    ADMIN_PASSWORD: TEST_ADMIN_PASSWORD,
    JWT_SECRET: TEST_JWT_SECRET,
    ...Object.fromEntries(Object.values(SERVICE_PORT_ENV).map((k) => [k, '0'])),
    ...opts.env,
  };
  if (env.SERVICES !== undefined && opts.authGateway !== false && !env.SERVICES.split(',').map((x) => x.trim()).includes('auth-gateway')) {
    env.SERVICES = `${env.SERVICES},auth-gateway`;
  }
  const viaNpm = opts.via === 'npm-start';
  const child = viaNpm
    ? spawn('npm', ['start', '--silent'], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true })
    : // The young generation npm start gives it (package.json).
      spawn(process.execPath, [...(opts.nodeArgs ?? []), '--max-semi-space-size=64', '--import', 'tsx', 'src/main.ts'], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const signal = (sig: NodeJS.Signals) => (viaNpm ? process.kill(-child.pid!, sig) : child.kill(sig));
  let output = '';
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')));
  let pid = child.pid!;
  const ports = await new Promise<Record<string, number>>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      for (const line of output.split('\n')) {
        if (!line.includes('"listening"')) continue;
        try {
          const listening = JSON.parse(line) as { ports: Record<string, number>; pid: number };
          pid = listening.pid;
          resolve(listening.ports);
        } catch {
          /* partial line */
        }
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
    void exited.then((code) => reject(new Error(`control plane exited (${code}) before listening:\n${output.slice(-4000)}`)));
    setTimeout(() => reject(new Error(`control plane did not listen within 30 s:\n${output.slice(-4000)}`)), 30_000).unref();
  });
  child.stdout!.removeAllListeners('data');
  child.stdout!.on('data', (c: Buffer) => (output += c.toString()));

  const plane: RunningPlane = {
    child,
    pid,
    dataDir,
    ports,
    exited,
    url: (service, p) => `http://127.0.0.1:${ports[service]}${p}`,
    logs: () => output,
    async waitReady(timeoutMs = 60_000, services = Object.keys(ports)) {
      const deadline = Date.now() + timeoutMs;
      for (const service of services) {
        for (;;) {
          const res = await fetch(plane.url(service, '/ready')).catch(() => undefined);
          if (res?.status === 200) break;
          if (Date.now() > deadline) throw new Error(`${service} not ready within ${timeoutMs} ms:\n${output.slice(-4000)}`);
          await new Promise((r) => setTimeout(r, 50));
        }
      }
    },
    async stop(sig = 'SIGTERM') {
      // Behind npm, npm gets the signal, as from a process manager: it passes it on to the
      // control plane (the start script execs node) and exits with its code.
      if (child.exitCode === null && child.signalCode === null) child.kill(sig);
      return exited;
    },
    async cleanup() {
      if (child.exitCode === null && child.signalCode === null) {
        signal('SIGKILL');
        await exited;
      }
      if (!opts.keepDataDir && !opts.dataDir) removeTempDir(dataDir);
    },
  };
  if (opts.waitForReady !== false) await plane.waitReady();
  return plane;
}

export interface LoginResult {
  access_token: string;
  refresh_token: string;
  expires_in: number;
  user: { username: string; role: string; tenant?: string };
}

/** POST /auth/login on the plane's auth gateway; throws with the answer unless it is 200. */
export async function login(plane: RunningPlane, username: string, password: string): Promise<LoginResult> {
  if (plane.ports['auth-gateway'] === undefined) {
    throw new Error('logging in needs the auth-gateway service: add it to SERVICES of this plane');
  }
  const res = await fetch(plane.url('auth-gateway', '/auth/login'), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password }),
  });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`login as ${username} answered ${res.status}: ${text}`);
  return JSON.parse(text) as LoginResult;
}

const adminTokens = new WeakMap<RunningPlane, Promise<string>>();

/**
 * Headers that authenticate a test as the bootstrapped admin, who may act for
 * any tenant: spread them into fetch headers next to X-Tenant-Id. One login per
 * plane (the plane must run the auth-gateway service).
 */
export async function adminHeaders(plane: RunningPlane): Promise<Record<string, string>> {
  let token = adminTokens.get(plane);
  if (!token) {
    token = login(plane, TEST_ADMIN_USERNAME, TEST_ADMIN_PASSWORD).then((r) => r.access_token);
    token.catch(() => adminTokens.delete(plane));
    adminTokens.set(plane, token);
  }
  return { authorization: `Bearer ${await token}` };
}

/**
 * Creates a tenant (if new) and an API key for it through the admin API, and
 * returns headers that act as that key: `{authorization, 'x-tenant-id'}`.
 */
export async function tenantKeyHeaders(
  plane: RunningPlane,
  tenant: string,
  opts: { role?: 'writer' | 'reader'; limits?: { ingestRowsPerSecond?: number; ingestBurstRows?: number } } = {},
): Promise<{ key: string; headers: Record<string, string> }> {
  const admin = { ...(await adminHeaders(plane)), 'content-type': 'application/json' };
  const created = await fetch(plane.url('auth-gateway', '/admin/tenants'), {
    method: 'POST',
    headers: admin,
    body: JSON.stringify({ id: tenant, ...(opts.limits ? { limits: opts.limits } : {}) }),
  });
  if (created.status !== 201 && created.status !== 409) throw new Error(`create tenant ${tenant}: ${created.status} ${await created.text()}`);
  const res = await fetch(plane.url('auth-gateway', '/admin/api-keys'), {
    method: 'POST',
    headers: admin,
    body: JSON.stringify({ name: `test ${opts.role ?? 'writer'} of ${tenant}`, tenant, role: opts.role ?? 'writer' }),
  });
  const text = await res.text();
  if (res.status !== 201) throw new Error(`create API key for ${tenant}: ${res.status} ${text}`);
  const { key } = JSON.parse(text) as { key: string };
  return { key, headers: { authorization: `Bearer ${key}`, 'x-tenant-id': tenant } };
}
