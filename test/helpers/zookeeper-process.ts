// A throwaway ZooKeeper (Debian's 3.8 package) for the cluster tests, run
// directly on the installed Java: `java -cp zookeeper.jar QuorumPeerMain
// zoo.cfg` with a temp zoo.cfg, a free loopback port and a temp dataDir, so no
// system config or service is touched. The jar's manifest names its
// dependencies (netty, slf4j, …) under /usr/share/java.

import { execFile, spawn } from 'node:child_process';
import { accessSync, constants as fsConstants } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import path from 'node:path';
import { supervise } from './clickhouse-process.js';

const READY_TIMEOUT_MS = 30_000;
const JAR_CANDIDATES = ['/usr/share/java/zookeeper.jar', '/usr/share/zookeeper/zookeeper.jar'];
const JAVA_CANDIDATES = ['/usr/bin/java', '/usr/lib/jvm/default-java/bin/java'];

export interface ZooKeeperBinary {
  java: string;
  jar: string;
}

function firstExecutable(paths: string[], mode: number): string | undefined {
  for (const p of paths) {
    try {
      accessSync(p, mode);
      return p;
    } catch {
      // next
    }
  }
  return undefined;
}

/** Java plus the ZooKeeper jar, or a sentence saying which is missing. */
export function findZooKeeper(): ZooKeeperBinary | { missing: string } {
  const jar = firstExecutable(process.env.ZOOKEEPER_JAR ? [process.env.ZOOKEEPER_JAR] : JAR_CANDIDATES, fsConstants.R_OK);
  if (!jar) return { missing: 'no ZooKeeper jar (install the Debian package zookeeper, or set ZOOKEEPER_JAR)' };
  const java = firstExecutable(JAVA_CANDIDATES, fsConstants.X_OK);
  if (!java) return { missing: 'no java binary for ZooKeeper (install default-jre-headless)' };
  return { java, jar };
}

export interface ZooKeeperProcess {
  readonly port: number;
  stop(): Promise<void>;
  kill(): Promise<void>;
  alive(): boolean;
}

/** Writes zoo.cfg into `dir` (its dataDir is `dir/data`): standalone, loopback only. */
export async function prepareZooKeeperDir(dir: string, port: number): Promise<void> {
  await mkdir(path.join(dir, 'data'), { recursive: true });
  // A short tick lets ClickHouse ask for short sessions (min 2 ticks, max 20),
  // so a killed ZooKeeper is noticed in seconds rather than half a minute.
  const cfg = [
    'tickTime=500',
    'initLimit=10',
    'syncLimit=5',
    `dataDir=${path.join(dir, 'data')}`,
    `clientPort=${port}`,
    'clientPortAddress=127.0.0.1',
    'maxClientCnxns=0',
    'admin.enableServer=false',
    '4lw.commands.whitelist=ruok,srvr,mntr',
    // Keeps the transaction logs of a long test from filling the temp dir.
    'autopurge.purgeInterval=1',
    'autopurge.snapRetainCount=3',
  ];
  await writeFile(path.join(dir, 'zoo.cfg'), cfg.join('\n') + '\n');
}

/** Starts ZooKeeper on a dir made by prepareZooKeeperDir and waits for `ruok` → `imok`. */
export async function spawnZooKeeper(found: ZooKeeperBinary, dir: string, port: number): Promise<ZooKeeperProcess> {
  const child = spawn(
    found.java,
    [
      // Small heap, serial GC, C1 only: ZooKeeper idles in these tests, and the
      // machine's cores belong to the ClickHouse servers.
      '-Xms32m',
      '-Xmx128m',
      '-XX:+UseSerialGC',
      '-XX:TieredStopAtLevel=1',
      '-Dzookeeper.jmx.log4j.disable=true',
      '-cp',
      found.jar,
      'org.apache.zookeeper.server.quorum.QuorumPeerMain',
      path.join(dir, 'zoo.cfg'),
    ],
    { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (b: Buffer) => {
    stderr = (stderr + b.toString('utf8')).slice(-4000);
  });
  const handle: ZooKeeperProcess = { port, ...supervise(child) };
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while ((await fourLetterWord(port, 'ruok').catch(() => '')) !== 'imok') {
    if (!handle.alive() || Date.now() > deadline) {
      await handle.stop();
      throw new Error(`ZooKeeper did not answer ruok on port ${port} within ${READY_TIMEOUT_MS} ms\nstderr: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return handle;
}

/** Sends one of ZooKeeper's four-letter commands and returns its whole answer. */
export function fourLetterWord(port: number, word: 'ruok' | 'srvr' | 'mntr'): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    let answer = '';
    socket.setTimeout(1000, () => socket.destroy(new Error('timeout')));
    socket.on('connect', () => socket.write(word));
    socket.on('data', (b: Buffer) => (answer += b.toString('utf8')));
    socket.on('end', () => resolve(answer));
    socket.on('error', reject);
  });
}

/**
 * Runs one command of ZooKeeper's own CLI (`deleteall /a/b`, `create /a/b`, …)
 * against the server on `port`; resolves with its output, rejects when it
 * fails. For tests that must put ZooKeeper in a state ClickHouse cannot
 * (system.zookeeper is read-only on 18.16).
 */
export function zooKeeperCli(found: ZooKeeperBinary, port: number, args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      found.java,
      ['-Xmx64m', '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1', '-cp', found.jar, 'org.apache.zookeeper.ZooKeeperMain', '-server', `127.0.0.1:${port}`, ...args],
      { timeout: 60_000 },
      (err, stdout, stderr) => {
        // The CLI exits 0 on most failures and says so on stderr.
        const failed = /Node does not exist|NodeExists|Exception|Command not found/i.exec(`${stdout}\n${stderr}`);
        if (err || failed) reject(new Error(`zkCli ${args.join(' ')}: ${err?.message ?? failed![0]}\n${stderr.slice(-2000)}`));
        else resolve(stdout);
      },
    );
  });
}
