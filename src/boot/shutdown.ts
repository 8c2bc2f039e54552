// Shutdown in one place: the first SIGTERM/SIGINT starts an orderly stop, a
// second one forces the exit. Every phase is bounded by a timeout.
import type { Logger } from 'pino';

export interface ShutdownPhase {
  name: string;
  timeoutMs: number;
  run(): Promise<unknown>;
}

export async function runPhases(phases: ShutdownPhase[], log: Logger): Promise<boolean> {
  let clean = true;
  for (const phase of phases) {
    const started = Date.now();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), phase.timeoutMs);
    });
    try {
      const outcome = await Promise.race([phase.run().then(() => 'done' as const), timeout]);
      if (outcome === 'timeout') {
        clean = false;
        log.warn({ phase: phase.name, timeoutMs: phase.timeoutMs }, 'shutdown phase timed out');
      } else {
        log.info({ phase: phase.name, ms: Date.now() - started }, 'shutdown phase done');
      }
    } catch (err) {
      clean = false;
      log.error({ phase: phase.name, err }, 'shutdown phase failed');
    } finally {
      clearTimeout(timer);
    }
  }
  return clean;
}

export function onTerminationSignals(log: Logger, stop: (signal: string) => Promise<void>): void {
  let stopping = false;
  const handler = (signal: NodeJS.Signals) => {
    if (stopping) {
      log.warn({ signal }, 'second signal: forcing exit');
      process.exit(1);
    }
    stopping = true;
    log.info({ signal }, 'shutting down');
    void stop(signal);
  };
  process.on('SIGTERM', handler);
  process.on('SIGINT', handler);
}
