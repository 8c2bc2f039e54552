// Starts the real control plane (`node --import tsx src/main.ts`) as a child
// process on ephemeral ports with its own DATA_DIR, and reads the ports back
// from its "listening" log line.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeTempDir, removeTempDir } from './temp-dir.js';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

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
  dataDir: string;
  ports: Record<string, number>;
  url(service: string, pathAndQuery: string): string;
  logs(): string;
  waitReady(timeoutMs?: number): Promise<void>;
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
    ENV_FILE: '/nonexistent/.env',
    ...Object.fromEntries(Object.values(SERVICE_PORT_ENV).map((k) => [k, '0'])),
    ...opts.env,
  };
  const child = spawn(process.execPath, [...(opts.nodeArgs ?? []), '--import', 'tsx', 'src/main.ts'], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')));
  const ports = await new Promise<Record<string, number>>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      for (const line of output.split('\n')) {
        if (!line.includes('"listening"')) continue;
        try {
          resolve((JSON.parse(line) as { ports: Record<string, number> }).ports);
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
    dataDir,
    ports,
    exited,
    url: (service, p) => `http://127.0.0.1:${ports[service]}${p}`,
    logs: () => output,
    async waitReady(timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      for (const service of Object.keys(ports)) {
        for (;;) {
          const res = await fetch(plane.url(service, '/ready')).catch(() => undefined);
          if (res?.status === 200) break;
          if (Date.now() > deadline) throw new Error(`${service} not ready within ${timeoutMs} ms:\n${output.slice(-4000)}`);
          await new Promise((r) => setTimeout(r, 50));
        }
      }
    },
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
    async cleanup() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await exited;
      }
      if (!opts.keepDataDir && !opts.dataDir) removeTempDir(dataDir);
    },
  };
  if (opts.waitForReady !== false) await plane.waitReady();
  return plane;
}

/**
 * Headers that authenticate a test as the bootstrapped admin (who may act for
 * any tenant). Until the auth gateway enforces credentials this is empty.
 */
export async function adminHeaders(_plane: RunningPlane): Promise<Record<string, string>> {
  return {};
}
