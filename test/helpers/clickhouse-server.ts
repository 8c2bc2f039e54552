// Starts a throwaway ClickHouse server (Debian ships 18.16) for integration
// tests: its own temp dir, its own free ports, no system config touched. When no
// binary is installed the caller gets { skipped } and reports it instead of
// failing, so the suite still runs on machines without a server.

import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  findServerBinary,
  freePorts,
  NO_SERVER_BINARY,
  prepareServerDir,
  serverConfigXml,
  spawnServer,
  usersXml,
} from './clickhouse-process.js';
import { removeTempDir } from './temp-dir.js';

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

export async function startClickHouseServer(): Promise<StartResult> {
  if (!findServerBinary()) return { skipped: NO_SERVER_BINARY };
  const dir = await mkdtemp(path.join(os.tmpdir(), 'ch-server-test-'));
  const [httpPort, tcpPort] = (await freePorts(2)) as [number, number];
  await prepareServerDir(dir, serverConfigXml({ dir, httpPort, tcpPort }), usersXml());
  return launch(dir, httpPort, tcpPort);
}

/** Starts a server again on a killed one's data dir and ports (same URL, same data). */
export async function restartClickHouseServer(prev: RunningClickHouseServer): Promise<RunningClickHouseServer> {
  return launch(prev.dir, prev.httpPort, prev.tcpPort);
}

async function launch(dir: string, httpPort: number, tcpPort: number): Promise<RunningClickHouseServer> {
  const found = findServerBinary();
  if (!found) throw new Error(NO_SERVER_BINARY);
  let proc;
  try {
    proc = await spawnServer(found, dir, httpPort);
  } catch (err) {
    removeTempDir(dir);
    throw err;
  }
  return {
    url: proc.url,
    dir,
    httpPort,
    tcpPort,
    async stop() {
      await proc.stop();
      removeTempDir(dir);
    },
    kill: () => proc.kill(),
  };
}
