// Alert delivery without the process: when the notifier sends (Prometheus'
// resend and lease rules, on a fake clock), and the per-receiver queue against
// real HTTP servers that refuse connections, never answer, fail then recover,
// or hang while alerts pile up. Enqueueing must never wait for any of them.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import pino from 'pino';
import { Registry } from 'prom-client';
import { Agent } from 'undici';
import type { AlertStatus } from '../../src/monitoring/alert-engine.js';
import { AlertNotifier, type OutgoingAlert } from '../../src/monitoring/alert-notifier.js';
import { alertmanagerSend, receiverTarget, webhookSend } from '../../src/monitoring/alert-receivers.js';
import { DeliveryMetrics } from '../../src/monitoring/delivery-metrics.js';
import { DeliveryQueue } from '../../src/monitoring/delivery-queue.js';
import { signWebhook, verifyWebhookSignature } from '../../src/monitoring/webhook-signature.js';

const silent = pino({ level: 'silent' });

function status(state: AlertStatus['state'], since: number, value: number | null = 9): AlertStatus {
  return {
    name: 'wal_lag',
    summary: 'WAL lag',
    severity: 'warning',
    state,
    since: new Date(since).toISOString(),
    activeAt: state === 'inactive' ? null : new Date(since).toISOString(),
    value,
    op: '>',
    threshold: 5,
    forMs: 0,
    lastEvaluatedAt: new Date(since).toISOString(),
    labels: { alertname: 'wal_lag', severity: 'warning', service: 'tenant-node' },
  };
}

test('notifier: pending is never sent; firing is sent at once and every resend delay with a lease of 4 intervals; resolved at once, then kept for the retention', () => {
  const sent: OutgoingAlert[][] = [];
  const n = new AlertNotifier([{ enqueue: (a) => sent.push([...a]) }], { resendDelayMs: 1000, evalIntervalMs: 200, resolvedRetentionMs: 5000 });
  assert.deepEqual(n.observe([status('pending', 0)], 0), []);

  const fired = n.observe([status('firing', 100)], 100);
  assert.equal(fired.length, 1);
  assert.equal(fired[0]!.status, 'firing');
  assert.deepEqual(fired[0]!.labels, { alertname: 'wal_lag', severity: 'warning', service: 'tenant-node' });
  assert.deepEqual(fired[0]!.annotations, { summary: 'WAL lag', description: 'wal_lag: value 9, fires when > 5', value: '9', threshold: '5' });
  assert.equal(fired[0]!.startsAt, new Date(100).toISOString());
  assert.equal(fired[0]!.endsAt, new Date(100 + 4 * 1000).toISOString(), 'lease: 4 × max(eval interval, resend delay)');
  assert.equal(sent.length, 1, 'enqueued to the sink');

  assert.deepEqual(n.observe([status('firing', 100)], 300), [], 'not before the resend delay');
  const again = n.observe([status('firing', 100, 12)], 1100);
  assert.equal(again.length, 1);
  assert.equal(again[0]!.startsAt, new Date(100).toISOString(), 'same alert, same startsAt');
  assert.equal(again[0]!.endsAt, new Date(1100 + 4000).toISOString(), 'the lease moves on');
  assert.equal(again[0]!.annotations.value, '12');

  const resolved = n.observe([status('inactive', 1250, 1)], 1300);
  assert.equal(resolved.length, 1, 'a resolution is sent at once, whatever the resend delay');
  assert.equal(resolved[0]!.status, 'resolved');
  assert.equal(resolved[0]!.endsAt, new Date(1250).toISOString(), 'endsAt = when it resolved');
  assert.equal(resolved[0]!.key, fired[0]!.key, 'same identity as the firing alert');
  assert.deepEqual(n.observe([status('inactive', 1250, 1)], 1500), []);
  assert.equal(n.observe([status('inactive', 1250, 1)], 2300)[0]?.status, 'resolved', 're-sent in case the first was lost');
  assert.deepEqual(n.observe([status('inactive', 1250, 1)], 7000), [], 'forgotten after the retention');
  assert.deepEqual(n.observe([status('inactive', 1250, 1)], 9000), []);

  const refired = n.observe([status('firing', 9100)], 9100);
  assert.equal(refired[0]!.startsAt, new Date(9100).toISOString(), 'firing again is a new alert');
});

test('notifier: a rule that resolves and fires again within the retention is a new alert at once', () => {
  const n = new AlertNotifier([], { resendDelayMs: 60_000, evalIntervalMs: 1000 });
  n.observe([status('firing', 0)], 0);
  assert.equal(n.observe([status('inactive', 500)], 500)[0]?.status, 'resolved');
  const again = n.observe([status('firing', 900)], 900);
  assert.equal(again[0]?.status, 'firing');
  assert.equal(again[0]?.startsAt, new Date(900).toISOString());
});

// ---- the queue against real servers ----

interface TestServer {
  url: string;
  received: Array<{ path: string; headers: http.IncomingHttpHeaders; body: string; at: number }>;
  close(): Promise<void>;
}

async function server(answer: (n: number, req: http.IncomingMessage, res: http.ServerResponse) => void): Promise<TestServer> {
  const received: TestServer['received'] = [];
  const sockets = new Set<import('node:net').Socket>();
  const s = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      received.push({ path: req.url ?? '', headers: req.headers, body, at: Date.now() });
      answer(received.length, req, res);
    });
  });
  s.on('connection', (c) => {
    sockets.add(c);
    c.on('close', () => sockets.delete(c));
  });
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(s.address() as AddressInfo).port}`,
    received,
    close: async () => {
      for (const c of sockets) c.destroy();
      await new Promise((r) => s.close(r));
    },
  };
}

/** A port nothing listens on: connections are refused. */
async function refusingUrl(): Promise<string> {
  const s = http.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return `http://127.0.0.1:${port}`;
}

function alert(name: string, endsAt = '2030-01-01T00:00:00.000Z', status: OutgoingAlert['status'] = 'firing'): OutgoingAlert {
  return { key: name, status, labels: { alertname: name }, annotations: { summary: name }, startsAt: '2029-01-01T00:00:00.000Z', endsAt };
}

async function counter(registry: Registry, name: string, labels: Record<string, string>): Promise<number> {
  const m = await registry.getSingleMetric(name)!.get();
  return m.values.filter((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x)).reduce((a, v) => a + v.value, 0);
}

function queueOf(kind: 'alertmanager' | 'webhook', url: string, opts: { timeoutMs?: number; maxAttempts?: number; capacity?: number; backoffBaseMs?: number } = {}) {
  const registry = new Registry();
  const agent = new Agent({ connectTimeout: opts.timeoutMs ?? 2000 });
  const target = receiverTarget(kind, url);
  const send = kind === 'alertmanager' ? alertmanagerSend(agent, target) : webhookSend(agent, target, 'webhook-secret-0123456789');
  const q = new DeliveryQueue(
    target.name,
    send,
    { capacity: opts.capacity ?? 100, maxAttempts: opts.maxAttempts ?? 5, timeoutMs: opts.timeoutMs ?? 2000, backoffBaseMs: opts.backoffBaseMs ?? 50, backoffMaxMs: 400 },
    new DeliveryMetrics(registry),
    silent,
  );
  return { q, registry, name: target.name, close: async () => {
    await q.stop();
    await agent.destroy();
  } };
}

test('alertmanager: POST /api/v2/alerts under the URL’s path, basic auth from the URL, the postableAlert body', async () => {
  const am = await server((_n, _req, res) => res.writeHead(200).end());
  const { q, registry, name, close } = queueOf('alertmanager', `${am.url.replace('http://', 'http://ops:s%3Acret@')}/am/`);
  try {
    assert.equal(name, `alertmanager:${new URL(am.url).host}`, 'the receiver label has no credentials or path');
    q.enqueue([alert('a'), alert('b')]);
    assert.ok(await q.drained(5000));
    assert.equal(am.received.length, 1, 'one batch');
    const [r] = am.received;
    assert.equal(r!.path, '/am/api/v2/alerts');
    assert.equal(r!.headers['content-type'], 'application/json');
    assert.equal(r!.headers.authorization, `Basic ${Buffer.from('ops:s:cret').toString('base64')}`);
    assert.deepEqual(JSON.parse(r!.body), [
      { labels: { alertname: 'a' }, annotations: { summary: 'a' }, startsAt: '2029-01-01T00:00:00.000Z', endsAt: '2030-01-01T00:00:00.000Z' },
      { labels: { alertname: 'b' }, annotations: { summary: 'b' }, startsAt: '2029-01-01T00:00:00.000Z', endsAt: '2030-01-01T00:00:00.000Z' },
    ]);
    assert.equal(await counter(registry, 'alert_deliveries_total', { outcome: 'success' }), 1);
    assert.equal(await counter(registry, 'alert_delivery_queue_depth', {}), 0);
  } finally {
    await close();
    await am.close();
  }
});

test('a refused connection is retried with growing backoff, then the alert is dropped and counted', async () => {
  const { q, registry, close } = queueOf('alertmanager', await refusingUrl(), { maxAttempts: 4, backoffBaseMs: 40 });
  try {
    const t0 = performance.now();
    q.enqueue([alert('a')]);
    assert.ok(performance.now() - t0 < 20, 'enqueue does not wait for the receiver');
    const deadline = Date.now() + 10_000;
    while ((await counter(registry, 'alert_delivery_dropped_total', { reason: 'max_attempts' })) < 1) {
      assert.ok(Date.now() < deadline, `still not dropped: ${JSON.stringify(q.status())}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    const elapsed = performance.now() - t0;
    // Backoff after failures 1..3: 40, 80, 160 ms (±20 %): at least ~220 ms in all.
    assert.ok(elapsed >= 200, `retries backed off (${elapsed.toFixed(0)} ms)`);
    assert.equal(await counter(registry, 'alert_deliveries_total', { outcome: 'failed' }), 4);
    assert.equal(await counter(registry, 'alert_deliveries_total', { outcome: 'success' }), 0);
    assert.match(q.status().lastError ?? '', /ECONNREFUSED/);
    assert.equal(q.status().queued, 0);
  } finally {
    await close();
  }
});

test('a receiver that never answers times out; alerts arriving meanwhile queue up, the newest version of each wins', async () => {
  let hang = true;
  const am = await server((_n, _req, res) => {
    if (!hang) res.writeHead(200).end();
  });
  const { q, registry, close } = queueOf('alertmanager', am.url, { timeoutMs: 300, backoffBaseMs: 20 });
  try {
    q.enqueue([alert('a', '2030-01-01T00:00:00.000Z')]);
    await new Promise((r) => setTimeout(r, 50));
    const t0 = performance.now();
    for (let i = 0; i < 100; i++) q.enqueue([alert('b', `2030-01-01T00:00:${String(i % 60).padStart(2, '0')}.000Z`)]);
    assert.ok(performance.now() - t0 < 50, 'enqueueing while a send hangs is immediate');
    assert.equal(q.status().queued, 1, 'one queued alert for b, replaced 100 times');
    hang = false;
    assert.ok(await q.drained(5000), JSON.stringify(q.status()));
    assert.ok((await counter(registry, 'alert_deliveries_total', { outcome: 'failed' })) >= 1, 'the hung send failed by timeout');
    assert.match(String(q.status().lastError), /timed out|abort/i);
    const delivered = am.received.slice(1).flatMap((r) => JSON.parse(r.body) as Array<{ labels: { alertname: string }; endsAt: string }>);
    assert.deepEqual(delivered.filter((a) => a.labels.alertname === 'b').map((a) => a.endsAt), ['2030-01-01T00:00:39.000Z'], 'only the newest b');
    assert.ok(delivered.some((a) => a.labels.alertname === 'a'), 'a was retried after the timeout');
  } finally {
    await close();
    await am.close();
  }
});

test('503 twice, then accepted: delivered on the third try', async () => {
  const am = await server((n, _req, res) => res.writeHead(n <= 2 ? 503 : 200).end(n <= 2 ? 'overloaded' : ''));
  const { q, registry, close } = queueOf('alertmanager', am.url, { backoffBaseMs: 20 });
  try {
    q.enqueue([alert('a')]);
    assert.ok(await q.drained(5000));
    assert.equal(am.received.length, 3);
    assert.equal(await counter(registry, 'alert_deliveries_total', { outcome: 'failed' }), 2);
    assert.equal(await counter(registry, 'alert_deliveries_total', { outcome: 'success' }), 1);
    assert.ok(am.received[2]!.at - am.received[1]!.at >= am.received[1]!.at - am.received[0]!.at - 5, 'the second wait is not shorter than the first');
    assert.equal(q.status().consecutiveFailures, 0);
  } finally {
    await close();
    await am.close();
  }
});

test('the queue is bounded: beyond its capacity the oldest alerts are dropped and counted', async () => {
  const am = await server(() => undefined); // never answers
  const { q, registry, close } = queueOf('alertmanager', am.url, { capacity: 3, timeoutMs: 5000 });
  try {
    q.enqueue([alert('first')]);
    await new Promise((r) => setTimeout(r, 50)); // in flight, hanging
    q.enqueue(Array.from({ length: 10 }, (_, i) => alert(`n${i}`)));
    assert.equal(q.status().queued, 3);
    assert.equal(await counter(registry, 'alert_delivery_queue_depth', {}), 3);
    assert.equal(await counter(registry, 'alert_delivery_dropped_total', { reason: 'queue_full' }), 7);
  } finally {
    await close();
    await am.close();
  }
});

test('webhook: JSON document signed with HMAC-SHA256 over "<timestamp>.<body>"', async () => {
  const hook = await server((_n, _req, res) => res.writeHead(204).end());
  const { q, close } = queueOf('webhook', `${hook.url}/hooks/alerts`);
  try {
    q.enqueue([alert('a'), alert('b', '2029-01-01T00:05:00.000Z', 'resolved')]);
    assert.ok(await q.drained(5000));
    const [r] = hook.received;
    assert.equal(r!.path, '/hooks/alerts');
    const header = String(r!.headers['x-alert-signature']);
    const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header);
    assert.ok(m, header);
    // Checked independently of the code under test.
    assert.equal(m[2], createHmac('sha256', 'webhook-secret-0123456789').update(`${m[1]}.${r!.body}`).digest('hex'));
    assert.ok(Math.abs(Number(m[1]) - Date.now() / 1000) < 5);
    assert.deepEqual(verifyWebhookSignature('webhook-secret-0123456789', header, r!.body), { ok: true, timestamp: Number(m[1]) });
    const doc = JSON.parse(r!.body) as { version: string; alerts: Array<{ status: string; labels: Record<string, string> }> };
    assert.equal(doc.version, '1');
    assert.deepEqual(doc.alerts.map((a) => [a.labels.alertname, a.status]), [['a', 'firing'], ['b', 'resolved']]);
  } finally {
    await close();
    await hook.close();
  }
});

test('webhook signatures: a changed body, another secret, an old timestamp or garbage fail', () => {
  const secret = 'webhook-secret-0123456789';
  const body = '{"alerts":[]}';
  const now = 1_800_000_000;
  const header = signWebhook(secret, body, now);
  assert.deepEqual(verifyWebhookSignature(secret, header, body, { nowSec: now + 10 }), { ok: true, timestamp: now });
  assert.deepEqual(verifyWebhookSignature(secret, header, '{"alerts":[1]}', { nowSec: now }), { ok: false, reason: 'mismatch' });
  assert.deepEqual(verifyWebhookSignature('another-secret-0123456789', header, body, { nowSec: now }), { ok: false, reason: 'mismatch' });
  assert.deepEqual(verifyWebhookSignature(secret, header, body, { nowSec: now + 301 }), { ok: false, reason: 'stale' });
  // Moving the timestamp to make an old request look fresh breaks the signature.
  assert.deepEqual(verifyWebhookSignature(secret, header.replace(`t=${now}`, `t=${now + 1000}`), body, { nowSec: now + 1000 }), { ok: false, reason: 'mismatch' });
  for (const bad of [undefined, '', 'sha256=abc', `t=${now},v1=xyz`, `v1=${'a'.repeat(64)},t=${now}`]) {
    assert.equal(verifyWebhookSignature(secret, bad, body, { nowSec: now }).ok, false, String(bad));
  }
});
