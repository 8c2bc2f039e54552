// Tracing: an incoming W3C traceparent is accepted (its trace id is on the
// request's log lines and on headers for outgoing calls), and with
// OTEL_EXPORTER_OTLP_ENDPOINT set, spans are exported over OTLP/HTTP to a real
// HTTP collector that this test runs.
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { adminHeaders, startPlane } from '../helpers/control-plane-process.js';

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const TRACEPARENT = `00-${TRACE_ID}-00f067aa0ba902b7-01`;

test('without an endpoint: traceparent accepted, trace id on the log lines', async () => {
  const plane = await startPlane({ env: { SERVICES: 'monitoring' } });
  try {
    await fetch(plane.url('monitoring', '/nowhere'), { headers: { traceparent: TRACEPARENT, 'x-request-id': 'trace-test-1' } });
    const logs = await fetch(plane.url('monitoring', '/logs?requestId=trace-test-1'), { headers: await adminHeaders(plane) });
    const { entries } = (await logs.json()) as { entries: Array<{ traceId?: string }> };
    assert.ok(entries.length > 0);
    assert.equal(entries[0]!.traceId, TRACE_ID);
  } finally {
    await plane.cleanup();
  }
});

test('with OTEL_EXPORTER_OTLP_ENDPOINT: spans reach the collector under the caller’s trace id', async () => {
  const received: Array<{ path: string; body: Buffer }> = [];
  const collector = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ path: req.url ?? '', body: Buffer.concat(chunks) });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((r) => collector.listen(0, '127.0.0.1', r));
  const endpoint = `http://127.0.0.1:${(collector.address() as AddressInfo).port}`;
  const plane = await startPlane({ env: { SERVICES: 'monitoring', OTEL_EXPORTER_OTLP_ENDPOINT: endpoint } });
  try {
    const res = await fetch(plane.url('monitoring', '/health'), { headers: { traceparent: TRACEPARENT } });
    assert.equal(res.status, 200);
    assert.equal(await plane.stop('SIGTERM'), 0, 'shutdown flushes the exporter');
    const traces = received.filter((r) => r.path === '/v1/traces');
    assert.ok(traces.length > 0, `collector got ${received.map((r) => r.path).join(', ') || 'nothing'}`);
    const all = Buffer.concat(traces.map((t) => t.body));
    // OTLP/HTTP JSON carries hex ids; protobuf carries the raw 16 bytes. Accept either encoding.
    assert.ok(all.includes(TRACE_ID) || all.includes(Buffer.from(TRACE_ID, 'hex')), 'the exported span continues the caller’s trace');
  } finally {
    await plane.cleanup();
    collector.close();
  }
});
