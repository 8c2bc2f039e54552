// The parts of running a throwaway clickhouse-server that the single-server
// helper (clickhouse-server.ts) and the cluster helper (clickhouse-cluster.ts)
// share: finding the binary, free ports, the config files and the process
// itself (start, wait for /ping, SIGTERM or SIGKILL). Nothing here touches a
// system config or a directory outside the OS temp dir.

import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants as fsConstants } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import path from 'node:path';

const READY_TIMEOUT_MS = 60_000;

export interface ServerBinary {
  bin: string;
  /** argv prefix that makes the binary act as a server (`clickhouse server`). */
  args: string[];
}

/** The installed server binary, or undefined (callers skip with a printed reason). */
export function findServerBinary(): ServerBinary | undefined {
  const candidates: ServerBinary[] = [];
  const fromEnv = process.env.CLICKHOUSE_SERVER_BIN;
  if (fromEnv) candidates.push({ bin: fromEnv, args: [] });
  // Debian installs the server under sbin, which is often not on a user's PATH.
  candidates.push(
    { bin: '/usr/bin/clickhouse-server', args: [] },
    { bin: '/usr/sbin/clickhouse-server', args: [] },
    { bin: '/usr/bin/clickhouse', args: ['server'] },
    { bin: '/usr/local/bin/clickhouse', args: ['server'] },
  );
  for (const c of candidates) {
    try {
      accessSync(c.bin, fsConstants.X_OK);
      return c;
    } catch {
      // try the next one
    }
  }
  return undefined;
}

export const NO_SERVER_BINARY = 'no clickhouse-server binary (set CLICKHOUSE_SERVER_BIN or install clickhouse-server)';

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** `count` distinct free loopback ports (the OS may hand the same one out twice in a row). */
export async function freePorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < count) ports.add(await freePort());
  return [...ports];
}

export interface ServerConfigOptions {
  dir: string;
  httpPort: number;
  tcpPort: number;
  /** Bytes for the mark and the uncompressed cache each (the single server keeps 64 MiB). */
  cacheBytes?: number;
  /** More top-level XML elements (cluster nodes: remote_servers, zookeeper, macros, …). */
  extraXml?: string;
  /** server.log level (default warning). */
  logLevel?: string;
}

export function serverConfigXml(o: ServerConfigOptions): string {
  const cache = o.cacheBytes ?? 64 * 1024 * 1024;
  // <yandex> is the root both old (18.x) and new (<clickhouse>-era) servers accept.
  return `<?xml version="1.0"?>
<yandex>
  <logger>
    <level>${o.logLevel ?? 'warning'}</level>
    <log>${o.dir}/log/server.log</log>
    <errorlog>${o.dir}/log/server.err.log</errorlog>
    <console>0</console>
  </logger>
  <listen_host>127.0.0.1</listen_host>
  <http_port>${o.httpPort}</http_port>
  <tcp_port>${o.tcpPort}</tcp_port>
  <path>${o.dir}/data/</path>
  <tmp_path>${o.dir}/tmp/</tmp_path>
  <user_files_path>${o.dir}/user_files/</user_files_path>
  <format_schema_path>${o.dir}/format_schemas/</format_schema_path>
  <users_config>${o.dir}/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <mark_cache_size>${cache}</mark_cache_size>
  <uncompressed_cache_size>${cache}</uncompressed_cache_size>
  <max_concurrent_queries>50</max_concurrent_queries>
  <timezone>UTC</timezone>
${o.extraXml ?? ''}</yandex>
`;
}

/** users.xml: the passwordless loopback `default` user; `profileXml` adds settings to its profile. */
export function usersXml(profileXml = '<max_memory_usage>2000000000</max_memory_usage>'): string {
  return `<?xml version="1.0"?>
<yandex>
  <profiles>
    <default>
      ${profileXml}
    </default>
  </profiles>
  <users>
    <default>
      <password></password>
      <networks>
        <ip>127.0.0.1</ip>
        <ip>::1</ip>
      </networks>
      <profile>default</profile>
      <quota>default</quota>
    </default>
  </users>
  <quotas>
    <default>
      <interval>
        <duration>3600</duration>
        <queries>0</queries>
        <errors>0</errors>
        <result_rows>0</result_rows>
        <read_rows>0</read_rows>
        <execution_time>0</execution_time>
      </interval>
    </default>
  </quotas>
</yandex>
`;
}

/** Creates the sub-directories a server config above points into. */
export async function prepareServerDir(dir: string, config: string, users: string): Promise<void> {
  for (const sub of ['data', 'tmp', 'user_files', 'format_schemas', 'log']) {
    await mkdir(path.join(dir, sub), { recursive: true });
  }
  await writeFile(path.join(dir, 'config.xml'), config);
  await writeFile(path.join(dir, 'users.xml'), users);
}

/** A started server process; its data dir belongs to the caller. */
export interface ServerProcess {
  readonly url: string;
  /** SIGTERM (SIGKILL after 10 s); resolves once it has exited. */
  stop(): Promise<void>;
  /** SIGKILL; resolves once it has exited. The data dir stays. */
  kill(): Promise<void>;
  alive(): boolean;
}

/**
 * Starts the server on `dir/config.xml` and waits until /ping answers. On
 * failure the process is stopped and the error carries the server's own log.
 */
export async function spawnServer(found: ServerBinary, dir: string, httpPort: number): Promise<ServerProcess> {
  const configPath = path.join(dir, 'config.xml');
  // cwd is the temp dir so nothing the server writes relative to it lands in the repo.
  const child = spawn(found.bin, [...found.args, `--config-file=${configPath}`], {
    cwd: dir,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (b: Buffer) => {
    stderr = (stderr + b.toString('utf8')).slice(-4000);
  });
  const url = `http://127.0.0.1:${httpPort}`;
  const handle: ServerProcess = { url, ...supervise(child) };
  try {
    await waitForPing(url, child, dir);
  } catch (err) {
    await handle.stop();
    throw new Error(`${(err as Error).message}\nstderr: ${stderr}`, { cause: err });
  }
  return handle;
}

async function waitForPing(url: string, child: ChildProcess, dir: string): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      const log = await readFile(path.join(dir, 'log', 'server.err.log'), 'utf8').catch(() => '');
      throw new Error(`clickhouse-server exited early (${child.exitCode ?? child.signalCode}): ${log.slice(-2000)}`);
    }
    try {
      const res = await fetch(`${url}/ping`, { signal: AbortSignal.timeout(1000) });
      if (res.ok && (await res.text()).trim() === 'Ok.') return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`clickhouse-server did not answer /ping within ${READY_TIMEOUT_MS} ms`);
}

/** Signals a child and waits for its exit; SIGTERM escalates to SIGKILL after 10 s. */
/** A spawned test server's lifecycle: stop, kill, alive; killed anyway if the test process exits first. */
export interface Supervised {
  stop(): Promise<void>;
  kill(): Promise<void>;
  alive(): boolean;
}

export function supervise(child: ChildProcess): Supervised {
  // Safety net: a test process that exits without stop() must not leave a server behind.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const end = async (signal: 'SIGTERM' | 'SIGKILL') => {
    await stopChild(child, signal);
    process.removeListener('exit', killOnExit);
  };
  return { stop: () => end('SIGTERM'), kill: () => end('SIGKILL'), alive: () => child.exitCode === null && child.signalCode === null };
}

export async function stopChild(child: ChildProcess, signal: 'SIGTERM' | 'SIGKILL'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill(signal);
  const killTimer = signal === 'SIGTERM' ? setTimeout(() => child.kill('SIGKILL'), 10_000) : undefined;
  await exited;
  clearTimeout(killTimer);
}
