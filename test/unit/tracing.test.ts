import assert from 'node:assert/strict';
import { test } from 'node:test';
import { outgoingTraceHeaders, startTracing, withServerSpan } from '../../src/platform/tracing.js';

test('an incoming traceparent is propagated on outgoing calls, even with export off', async () => {
  const tracing = await startTracing({ serviceName: 't', version: '0' });
  try {
    assert.equal(tracing.enabled, false);
    const headers = withServerSpan('GET /x', { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' }, (span) => {
      const h = outgoingTraceHeaders();
      span.end();
      return h;
    });
    assert.match(headers.traceparent ?? '', /^00-4bf92f3577b34da6a3ce929d0e0e4736-[0-9a-f]{16}-01$/);
    assert.deepEqual(outgoingTraceHeaders(), {}, 'no trace outside a request');
  } finally {
    await tracing.shutdown();
  }
});
