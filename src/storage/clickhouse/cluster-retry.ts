// Retrying cluster statements by what their failure means (cluster-errors.ts):
// a write that may or may not have landed is re-sent unchanged (block
// deduplication and IF NOT EXISTS make that safe), with backoff, until it
// succeeds, fails in a way a retry cannot fix, or runs out of time. The
// caller decides what is safe to repeat by the classes it passes.
import { classifyClusterFailure, type ClusterFailure } from './cluster-errors.js';

/** Failures after which the identical insert, DDL or DROP PARTITION may simply be sent again. */
export const RETRIABLE_WRITE: readonly ClusterFailure[] = ['node-unreachable', 'quorum', 'read-only', 'zookeeper', 'outcome-unknown', 'overloaded'];
/** Failures after which a sequentially consistent read is asked again (another replica may answer). */
export const RETRIABLE_READ: readonly ClusterFailure[] = ['stale-replica', 'node-unreachable', 'outcome-unknown', 'overloaded'];

export interface RetryOptions {
  retriable: readonly ClusterFailure[];
  /** Give up (throw the last failure) once this much time has passed. */
  deadlineMs: number;
  firstDelayMs?: number;
  maxDelayMs?: number;
  /** Told of each failure that will be retried. */
  onRetry?: (kind: ClusterFailure, attempt: number, err: unknown) => void;
  /** Stops waiting early (shutdown); the last failure is thrown. */
  signal?: AbortSignal;
}

export async function withClusterRetry<T>(run: (attempt: number) => Promise<T>, opts: RetryOptions): Promise<T> {
  const deadline = Date.now() + opts.deadlineMs;
  const first = opts.firstDelayMs ?? 100;
  const max = opts.maxDelayMs ?? 2000;
  for (let attempt = 1; ; attempt++) {
    try {
      return await run(attempt);
    } catch (err) {
      const kind = classifyClusterFailure(err);
      if (!opts.retriable.includes(kind) || opts.signal?.aborted) throw err;
      const delay = Math.min(max, first * 2 ** Math.min(attempt - 1, 10));
      if (Date.now() + delay > deadline) throw err;
      opts.onRetry?.(kind, attempt, err);
      await sleep(delay, opts.signal);
    }
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
