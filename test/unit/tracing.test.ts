import assert from 'node:assert/strict';
import { test } from 'node:test';
import { outgoingTraceHeaders, startTracing, traceIdOf } from '../../src/platform/tracing.js';

const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

test('with export off, an incoming traceparent is read and passed on unchanged; garbage is not', async () => {
  const tracing = await startTracing({ serviceName: 't', version: '0' });
  try {
    assert.equal(tracing.enabled, false);
    assert.equal(traceIdOf({ traceparent: TRACEPARENT }), '4bf92f3577b34da6a3ce929d0e0e4736');
    assert.deepEqual(outgoingTraceHeaders({ traceparent: TRACEPARENT }), { traceparent: TRACEPARENT });
    for (const bad of ['00-zz-00f067aa0ba902b7-01', '00-00000000000000000000000000000000-00f067aa0ba902b7-01', 'x'.repeat(55)]) {
      assert.equal(traceIdOf({ traceparent: bad }), undefined, bad);
      assert.deepEqual(outgoingTraceHeaders({ traceparent: bad }), {});
    }
    assert.deepEqual(outgoingTraceHeaders(), {}, 'no trace outside a request');
  } finally {
    await tracing.shutdown();
  }
});
