// Starts a throwaway ClickHouse server (Debian ships 18.16) for integration
// tests: its own temp dir, its own free ports, no system config touched. When no
// binary is installed the caller gets { skipped } and reports it instead of
// failing, so the suite still runs on machines without a server.

import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants as fsConstants } from 'node:fs';
import { mkdtemp, rm, writeFile, mkdir, readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';

export interface RunningClickHouseServer {
  url: string;
  dir: string;
  httpPort: number;
  tcpPort: number;
  stop(): Promise<void>;
  /** SIGKILL, keeping the data dir: a crashed server that `restartClickHouseServer` can bring back. */
  kill(): Promise<void>;
}

export type StartResult = RunningClickHouseServer | { skipped: string };

const READY_TIMEOUT_MS = 30_000;

/** Binary plus the argv prefix that makes it act as a server. */
function findServerBinary(): { bin: string; args: string[] } | undefined {
  const candidates: Array<{ bin: string; args: string[] }> = [];
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

function configXml(dir: string, httpPort: number, tcpPort: number): string {
  // <yandex> is the root both old (18.x) and new (<clickhouse>-era) servers accept.
  return `<?xml version="1.0"?>
<yandex>
  <logger>
    <level>warning</level>
    <log>${dir}/log/server.log</log>
    <errorlog>${dir}/log/server.err.log</errorlog>
    <console>0</console>
  </logger>
  <listen_host>127.0.0.1</listen_host>
  <http_port>${httpPort}</http_port>
  <tcp_port>${tcpPort}</tcp_port>
  <path>${dir}/data/</path>
  <tmp_path>${dir}/tmp/</tmp_path>
  <user_files_path>${dir}/user_files/</user_files_path>
  <format_schema_path>${dir}/format_schemas/</format_schema_path>
  <users_config>${dir}/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <mark_cache_size>67108864</mark_cache_size>
  <uncompressed_cache_size>67108864</uncompressed_cache_size>
  <max_concurrent_queries>50</max_concurrent_queries>
  <timezone>UTC</timezone>
</yandex>
`;
}

const USERS_XML = `<?xml version="1.0"?>
<yandex>
  <profiles>
    <default>
      <max_memory_usage>2000000000</max_memory_usage>
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

/** Refuses anything outside the OS temp dir: this helper deletes recursively. */
async function removeTempDir(dir: string): Promise<void> {
  const tmpRoot = path.resolve(os.tmpdir()) + path.sep;
  const resolved = path.resolve(dir);
  if (!resolved.startsWith(tmpRoot) || resolved.length <= tmpRoot.length) {
    throw new Error(`refusing to delete ${resolved}: not under ${tmpRoot}`);
  }
  await rm(resolved, { recursive: true, force: true });
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

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const killTimer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(killTimer);
}

export async function startClickHouseServer(): Promise<StartResult> {
  const found = findServerBinary();
  if (!found) {
    return { skipped: 'no clickhouse-server binary (set CLICKHOUSE_SERVER_BIN or install clickhouse-server)' };
  }
  const dir = await mkdtemp(path.join(os.tmpdir(), 'ch-server-test-'));
  for (const sub of ['data', 'tmp', 'user_files', 'format_schemas', 'log']) {
    await mkdir(path.join(dir, sub), { recursive: true });
  }
  const httpPort = await freePort();
  let tcpPort = await freePort();
  while (tcpPort === httpPort) tcpPort = await freePort();
  const configPath = path.join(dir, 'config.xml');
  await writeFile(configPath, configXml(dir, httpPort, tcpPort));
  await writeFile(path.join(dir, 'users.xml'), USERS_XML);
  return launch(found, dir, httpPort, tcpPort);
}

/** Starts a server again on a killed one's data dir and ports (same URL, same data). */
export async function restartClickHouseServer(prev: RunningClickHouseServer): Promise<RunningClickHouseServer> {
  const found = findServerBinary();
  if (!found) throw new Error('no clickhouse-server binary');
  return launch(found, prev.dir, prev.httpPort, prev.tcpPort);
}

async function launch(found: { bin: string; args: string[] }, dir: string, httpPort: number, tcpPort: number): Promise<RunningClickHouseServer> {
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
  // Safety net: a test process that exits without stop() must not leave a server behind.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const url = `http://127.0.0.1:${httpPort}`;
  try {
    await waitForPing(url, child, dir);
  } catch (err) {
    await stopChild(child);
    process.removeListener('exit', killOnExit);
    await removeTempDir(dir);
    throw new Error(`${(err as Error).message}\nstderr: ${stderr}`, { cause: err });
  }
  return {
    url,
    dir,
    httpPort,
    tcpPort,
    async stop() {
      await stopChild(child);
      process.removeListener('exit', killOnExit);
      await removeTempDir(dir);
    },
    async kill() {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
        child.kill('SIGKILL');
        await exited;
      }
      process.removeListener('exit', killOnExit);
    },
  };
}
