// The query log's writer: batches off the request path, a bounded buffer whose
// overflow is counted, the same batch re-sent after a failure, a batch the
// engine keeps refusing dropped (not one that fails because the engine is
// down), and what is left at stop written or counted. The sink here is an
// in-memory stand-in for the ClickHouse table, which the integration tests use.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import pino from 'pino';
import { Registry } from 'prom-client';
import { QueryLogMetrics } from '../../src/query/query-log/metrics.js';
import { QueryLogWriter, type QueryLogSink } from '../../src/query/query-log/query-log-writer.js';
import type { QueryLogRow } from '../../src/storage/clickhouse/query-log-table.js';

const logger = pino({ level: 'silent' });

function row(i: number): QueryLogRow {
  return {
    date: '2026-01-01',
    end_ms: 1_767_225_600_000 + i,
    start_ms: 1_767_225_600_000,
    query_id: `q${i}`,
    tenant: 't',
    principal: 'user:u',
    role: 'reader',
    state: 'finished',
    kind: 'sql',
    via: 'operation-node',
    format: 'json',
    query: 'SELECT 1',
    query_bytes: 8,
    query_truncated: 0,
    normalized_query: 'SELECT ?',
    normalized_query_hash: '1',
    rows: 1,
    bytes: 0,
    elapsed_ms: 1,
    error_code: '',
    error: '',
    user_agent: '',
  };
}

class MemorySink implements QueryLogSink {
  readonly batches: QueryLogRow[][] = [];
  failing = false;
  refusing = false;
  pingOk = true;
  attempts = 0;
  async insert(rows: readonly QueryLogRow[]): Promise<void> {
    this.attempts++;
    if (this.failing || this.refusing) throw new Error('ClickHouse insert failed');
    this.batches.push([...rows]);
  }
  async ping(): Promise<void> {
    if (!this.pingOk) throw new Error('connection refused');
  }
  get rows(): string[] {
    return this.batches.flat().map((r) => r.query_id);
  }
}

async function metricValue(registry: Registry, name: string, labels: Record<string, string> = {}): Promise<number> {
  const m = (await registry.getMetricsAsJSON()).find((x) => x.name === name);
  const v = m?.values.find((x) => Object.entries(labels).every(([k, l]) => (x.labels as Record<string, string>)[k] === l));
  return Number(v?.value ?? 0);
}

function writer(sink: MemorySink, opts: { maxBuffered?: number; batchRows?: number; ready?: () => boolean; rejectAfterAttempts?: number } = {}) {
  const registry = new Registry();
  const metrics = new QueryLogMetrics(registry, () => w.buffered);
  const w: QueryLogWriter = new QueryLogWriter({
    sink,
    maxBuffered: opts.maxBuffered ?? 100,
    batchRows: opts.batchRows ?? 10,
    flushIntervalMs: 10,
    ready: opts.ready ?? (() => true),
    metrics,
    logger,
    maxBackoffMs: 20,
    rejectAfterAttempts: opts.rejectAfterAttempts ?? 3,
  });
  return { w, registry };
}

test('rows go out in batches of at most batchRows, in order', async () => {
  const sink = new MemorySink();
  const { w, registry } = writer(sink, { batchRows: 4 });
  for (let i = 0; i < 10; i++) assert.equal(w.push(row(i)), true);
  assert.equal(sink.batches.length, 0, 'push never writes itself');
  await w.flush();
  assert.deepEqual(sink.batches.map((b) => b.length), [4, 4, 2]);
  assert.deepEqual(sink.rows, Array.from({ length: 10 }, (_, i) => `q${i}`));
  assert.equal(w.buffered, 0);
  assert.equal(await metricValue(registry, 'query_log_entries_written_total'), 10);
  assert.equal(await metricValue(registry, 'query_log_buffer_entries'), 0);
});

test('the timer writes what is buffered; nothing is sent before the engine is ready', async () => {
  const sink = new MemorySink();
  let ready = false;
  const { w } = writer(sink, { ready: () => ready });
  w.start();
  w.push(row(1));
  await new Promise((r) => setTimeout(r, 60));
  assert.equal(sink.attempts, 0, 'not ready: the row waits');
  ready = true;
  for (let i = 0; i < 100 && sink.rows.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual(sink.rows, ['q1']);
  await w.stop(100);
});

test('while ClickHouse is down rows wait, the same batch is re-sent, and the overflow is dropped and counted', async () => {
  const sink = new MemorySink();
  sink.failing = true;
  sink.pingOk = false;
  const { w, registry } = writer(sink, { maxBuffered: 25, batchRows: 10, rejectAfterAttempts: 2 });
  for (let i = 0; i < 30; i++) w.push(row(i));
  assert.equal(w.buffered, 25);
  assert.equal(await metricValue(registry, 'query_log_entries_dropped_total', { reason: 'buffer_full' }), 5);
  for (let attempt = 0; attempt < 5; attempt++) await w.flush();
  assert.ok(sink.attempts >= 5);
  assert.equal(w.buffered, 25, 'nothing is dropped while the engine does not answer, however often the batch fails');
  assert.equal(await metricValue(registry, 'query_log_write_failures_total'), sink.attempts);
  assert.equal(w.push(row(99)), false, 'a full buffer refuses at once');
  sink.failing = false;
  sink.pingOk = true;
  await w.flush();
  assert.deepEqual(sink.rows, Array.from({ length: 25 }, (_, i) => `q${i}`), 'the oldest rows, once each, in order');
  assert.deepEqual(sink.batches[0]!.map((r) => r.query_id), Array.from({ length: 10 }, (_, i) => `q${i}`), 'the failed batch went again unchanged');
});

test('a batch the engine keeps refusing while it answers is dropped, and the log goes on', async () => {
  const sink = new MemorySink();
  const { w, registry } = writer(sink, { batchRows: 5, rejectAfterAttempts: 3 });
  for (let i = 0; i < 5; i++) w.push(row(i));
  sink.refusing = true;
  await w.flush();
  await w.flush();
  assert.equal(w.buffered, 5);
  for (let i = 5; i < 8; i++) w.push(row(i));
  await w.flush();
  // Third failure with the engine answering: that batch goes; the next one is tried in the same flush.
  assert.equal(await metricValue(registry, 'query_log_entries_dropped_total', { reason: 'rejected' }), 5);
  sink.refusing = false;
  await w.flush();
  assert.deepEqual(sink.rows, ['q5', 'q6', 'q7']);
});

test('stop writes what is left, or counts it when it cannot', async () => {
  const ok = new MemorySink();
  const a = writer(ok);
  for (let i = 0; i < 7; i++) a.w.push(row(i));
  await a.w.stop(1000);
  assert.equal(ok.rows.length, 7);
  assert.equal(a.w.push(row(8)), false, 'a stopped writer takes nothing');

  const down = new MemorySink();
  down.failing = true;
  down.pingOk = false;
  const b = writer(down);
  for (let i = 0; i < 7; i++) b.w.push(row(i));
  await b.w.stop(50);
  assert.equal(b.w.buffered, 0);
  assert.equal(await metricValue(b.registry, 'query_log_entries_dropped_total', { reason: 'shutdown' }), 7);
});
