// Measures write throughput and how long the write blocks the main thread's
// event loop (encoding runs on a worker); prints both, asserts only that the
// rows arrived.

import assert from 'node:assert/strict';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { after, it } from 'node:test';
import { ParquetSink } from '../../src/storage/parquet/index.js';
import { COLUMNS, makeRecords, makeTempDir } from './parquet-test-data.js';

const tmp = makeTempDir('parquet-throughput-');
after(() => tmp.remove());

for (const workers of [1, 2]) {
  it(`writes 100k records with ${workers} worker(s) and reports rows/s and event-loop blocking`, async () => {
    const records = makeRecords(100_000);
    const sink = new ParquetSink({ rootDir: path.join(tmp.dir, `parquet-${workers}`), workers });
    try {
      // A first small write starts the worker, so the measurement is of steady state.
      await sink.writeBatch('warmup', 'events', COLUMNS, makeRecords(10));
      const delay = monitorEventLoopDelay({ resolution: 10 });
      delay.enable();
      const started = process.hrtime.bigint();
      const parts = await sink.writeBatch('bench', 'events', COLUMNS, records);
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      delay.disable();
      const rows = parts.reduce((sum, p) => sum + p.rows, 0);
      const bytes = parts.reduce((sum, p) => sum + p.bytes, 0);
      assert.equal(rows, records.length);
      console.log(
        `parquet sink (${workers} worker(s)): ${rows} rows in ${seconds.toFixed(2)} s = ${Math.round(rows / seconds)} rows/s, ` +
          `${(bytes / 1024 / 1024).toFixed(1)} MiB in ${parts.length} files; main event-loop delay ` +
          `max ${(delay.max / 1e6).toFixed(1)} ms, p99 ${(delay.percentile(99) / 1e6).toFixed(1)} ms`,
      );
    } finally {
      await sink.close();
    }
  });
}
