// SIGTERM under load, against the real process: 48 keep-alive clients post
// records back to back (each sending its own X-Request-Id) while one more
// polls /ready. Every request the server read (each has its request log line)
// got a complete answer; what came after got "connection refused", never a
// reset or a connection closed under a request; /ready said "draining"; the
// process exits 0.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Client } from 'undici';
import { startPlane, tenantKeyHeaders } from '../helpers/control-plane-process.js';

interface Outcome {
  requestId: string;
  status?: number;
  error?: string;
}

test('SIGTERM under keep-alive load: every request read gets a full answer, the rest are refused', async () => {
  const plane = await startPlane({ env: { SERVICES: 'auth-gateway,tenant-node', LOG_LEVEL: 'info' } });
  try {
    const { headers } = await tenantKeyHeaders(plane, 'drain');
    const origin = plane.url('tenant-node', '');
    const outcomes: Outcome[] = [];
    const readyAnswers: Array<{ status: number; body: string }> = [];
    let stopAt = Infinity;

    const poster = async (w: number) => {
      const client = new Client(origin, { pipelining: 1 });
      try {
        for (let i = 0; ; i++) {
          const requestId = `w${w}-${i}`;
          try {
            const res = await client.request({
              path: '/data',
              method: 'POST',
              headers: { ...headers, 'content-type': 'application/json', 'x-request-id': requestId },
              body: JSON.stringify({ data_id: requestId, payload: { w, i } }),
            });
            const body = (await res.body.json()) as { accepted?: number; error?: { code: string } };
            outcomes.push({ requestId, status: res.statusCode });
            // A complete answer is a parsed JSON body: an acknowledgement or a JSON error.
            assert.ok(body.accepted === 1 || body.error !== undefined, `${requestId}: ${JSON.stringify(body)}`);
          } catch (err) {
            const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
            outcomes.push({ requestId, error: code });
            if (code === 'ECONNREFUSED' || Date.now() > stopAt + 15_000) return;
          }
        }
      } finally {
        await client.destroy();
      }
    };
    const readyPoller = async () => {
      const client = new Client(origin, { pipelining: 1 });
      try {
        for (;;) {
          try {
            const res = await client.request({ path: '/ready', method: 'GET' });
            readyAnswers.push({ status: res.statusCode, body: await res.body.text() });
          } catch (err) {
            const code = (err as NodeJS.ErrnoException).code;
            readyAnswers.push({ status: 0, body: code ?? String(err) });
            if (code === 'ECONNREFUSED' || Date.now() > stopAt + 15_000) return;
          }
          await new Promise((r) => setTimeout(r, 10));
        }
      } finally {
        await client.destroy();
      }
    };

    const clients = [...Array.from({ length: 48 }, (_, w) => poster(w)), readyPoller()];
    await new Promise((r) => setTimeout(r, 1500));
    stopAt = Date.now();
    const code = await plane.stop('SIGTERM');
    await Promise.all(clients);
    assert.equal(code, 0, `clean exit:\n${plane.logs().slice(-3000)}`);

    const answered = outcomes.filter((o) => o.status !== undefined);
    const failed = outcomes.filter((o) => o.error !== undefined);
    assert.ok(answered.length > 200, `enough load (${answered.length} answers)`);
    const kinds = [...new Set(failed.map((o) => o.error))];
    assert.deepEqual(kinds, ['ECONNREFUSED'], `only refused connections, never a reset: ${JSON.stringify(failed.filter((o) => o.error !== 'ECONNREFUSED').slice(0, 5))}`);
    assert.ok(answered.every((o) => o.status === 201), `every answer an acknowledgement: ${JSON.stringify(answered.filter((o) => o.status !== 201).slice(0, 5))}`);

    // Every request the server read has its log line; each of those got its answer.
    const seen = new Set(answered.map((o) => o.requestId));
    const logged = plane
      .logs()
      .split('\n')
      .filter((l) => l.includes('"route":"/data"'))
      .map((l) => (JSON.parse(l) as { requestId: string }).requestId);
    assert.ok(logged.length > 200, 'request lines logged');
    const unanswered = logged.filter((id) => !seen.has(id));
    assert.deepEqual(unanswered, [], 'read by the server but not answered');

    assert.ok(readyAnswers.some((a) => a.status === 200), 'ready before the signal');
    const draining = readyAnswers.filter((a) => a.status === 503);
    assert.ok(draining.length >= 1, `/ready answered while draining: ${JSON.stringify(readyAnswers.slice(-3))}`);
    for (const a of draining) assert.equal((JSON.parse(a.body) as { status: string }).status, 'draining');
    assert.ok(readyAnswers.filter((a) => a.status === 0).every((a) => a.body === 'ECONNREFUSED'), JSON.stringify(readyAnswers.slice(-3)));
  } finally {
    await plane.cleanup();
  }
});
