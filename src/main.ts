// Entry point: parse config once, boot, wire signals. Exit codes: 0 after a
// clean drain, 1 for a bad config, a taken port or a failed boot.
import { startControlPlane } from './boot/control-plane.js';
import { ConfigError, loadConfig, type AppConfig } from './platform/config/load-config.js';
import { PortInUseError } from './platform/http/http-server.js';
import { onTerminationSignals } from './boot/shutdown.js';
import { RECOMMENDED_THREADPOOL_SIZE, threadpoolSize } from './platform/threadpool.js';
import pino from 'pino';

const bootLog = pino({ base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.epochTime });

function fail(message: string, err?: unknown): never {
  bootLog.fatal(err ? { err } : {}, message);
  console.error(`fatal: ${message}`);
  process.exit(1);
}

// Anything that escapes every handler is a bug: log it as one JSON line and exit
// non-zero (the WAL makes a restart safe) rather than run on in an unknown state.
process.on('uncaughtException', (err) => fail(`uncaught exception: ${err.message}`, err));
process.on('unhandledRejection', (reason) => fail(`unhandled rejection: ${reason instanceof Error ? reason.message : String(reason)}`, reason));

let config: AppConfig;
try {
  config = loadConfig();
} catch (err) {
  if (err instanceof ConfigError) fail(err.message);
  throw err;
}

if (threadpoolSize() < RECOMMENDED_THREADPOOL_SIZE / 2) {
  bootLog.warn(
    { UV_THREADPOOL_SIZE: threadpoolSize(), recommended: RECOMMENDED_THREADPOOL_SIZE },
    `libuv threadpool is small: WAL fsyncs queue behind ClickHouse and LevelDB work; start with UV_THREADPOOL_SIZE=${RECOMMENDED_THREADPOOL_SIZE} (npm start does)`,
  );
}

try {
  const plane = await startControlPlane(config);
  let stopping = false;
  onTerminationSignals(bootLog, async (signal) => {
    stopping = true;
    const clean = await plane.stop(signal);
    process.exit(clean ? 0 : 1);
  });
  plane.ready.catch((err: unknown) => {
    // A boot cut short by a shutdown is the shutdown's business, not a boot failure.
    if (!stopping) fail(`boot failed: ${err instanceof Error ? err.message : String(err)}`, err);
  });
} catch (err) {
  if (err instanceof PortInUseError) fail(err.message);
  fail(`boot failed: ${err instanceof Error ? err.message : String(err)}`, err);
}
