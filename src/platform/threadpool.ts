// libuv's threadpool runs every fs call (the WAL's write and fdatasync among
// them), every LevelDB operation and every embedded ClickHouse query of this
// process. With the default 4 threads, a ClickHouse insert, a Parquet write and
// a LevelDB batch of the applier hold three of them for hundreds of
// milliseconds, and acknowledgements then wait behind work that has nothing to
// do with them. libuv sizes the pool from UV_THREADPOOL_SIZE once, before any
// of our code runs (tsx's loader already uses it), so it cannot be set from
// here: `npm start` sets it, and boot warns when it is missing or small.

export const RECOMMENDED_THREADPOOL_SIZE = 16;

/** The pool size libuv took from the environment this process started with. */
export function threadpoolSize(env: NodeJS.ProcessEnv = process.env): number {
  const n = Number(env.UV_THREADPOOL_SIZE);
  // libuv's own rules: unset or below 1 means 4, and it caps at 1024.
  return Number.isInteger(n) && n >= 1 ? Math.min(n, 1024) : 4;
}
