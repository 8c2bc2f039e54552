// The forwarder against real local HTTP servers: retries only where safe,
// timeouts bounded, breaker opening, and no worker answer reaches the client
// unless it is the route's 200 answer: 4xx, 404/405/501 and misfits are served
// locally, counted, and (but for plain 4xx) not sent to that worker again until
// it registers again.
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, test } from 'node:test';
import express from 'express';
import pino from 'pino';
import { Registry } from 'prom-client';
import { Agent } from 'undici';
import { z } from 'zod';
import { errorHandler } from '../../src/platform/http/error-handler.js';
import { requestContext } from '../../src/platform/http/request-context.js';
import { StateStore } from '../../src/platform/state-store.js';
import type { DesignatedRoute } from '../../src/workers/designated-routes.js';
import { ServiceForwarder } from '../../src/workers/forwarder.js';
import { registerWorkerMetrics } from '../../src/workers/metrics.js';
import { WorkerRegistry } from '../../src/workers/worker-registry.js';
import { makeTempDir, removeTempDir } from '../helpers/temp-dir.js';

const servers: http.Server[] = [];
const agent = new Agent({ keepAliveTimeout: 1000 });
const stores: Array<{ store: StateStore; dir: string }> = [];
after(async () => {
  for (const s of servers) s.close();
  await agent.close();
  for (const { store, dir } of stores) {
    await store.close();
    removeTempDir(dir);
  }
});

async function upstream(handler: http.RequestListener): Promise<{ url: string; hits: () => number }> {
  let hits = 0;
  const s = http.createServer((req, res) => {
    if (req.url !== '/health') hits++;
    handler(req, res);
  });
  servers.push(s);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(s.address() as AddressInfo).port}`, hits: () => hits };
}

const json = (status: number, body: string, type = 'application/json'): http.RequestListener => (_req, res) => res.writeHead(status, { 'content-type': type }).end(body);
const ok = json(200, '{"ok":true}');
const reset: http.RequestListener = (req) => req.on('data', () => {}).on('end', () => req.socket.destroy());
/** The route's 200 answer, as every test route declares it. */
const ANSWER = z.object({ ok: z.literal(true) }).strict();

async function front(urls: string[], route: DesignatedRoute, opts: { timeoutMs?: number; breakerFailures?: number; registry?: WorkerRegistry } = {}) {
  const registry = new Registry();
  const fwd = new ServiceForwarder('query-interpreter', urls, {
    agent,
    settings: { timeoutMs: opts.timeoutMs ?? 1000, retries: 1, healthIntervalMs: 60_000, breakerFailures: opts.breakerFailures ?? 100, breakerOpenMs: 60_000 },
    metrics: registerWorkerMetrics(registry, { liveWorkers: () => ({}), openJobs: () => ({}) }),
    logger: pino({ level: 'silent' }),
    ...(opts.registry ? { registry: opts.registry } : {}),
  });
  const app = express();
  app.use(requestContext(app, pino({ level: 'silent' })));
  app.use(express.json());
  app.post('/x', async (req, res) => {
    if (!(await fwd.forward(req, res, route, ANSWER))) res.json({ local: true });
  });
  app.use(errorHandler(1024 * 1024));
  const s = http.createServer(app);
  servers.push(s);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
  const call = async () => {
    const res = await fetch(`${base}/x`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"sql":"select 1"}' });
    return { status: res.status, servedBy: res.headers.get('x-served-by'), body: (await res.json()) as Record<string, unknown> };
  };
  const fallbacks = async (reason: string) => {
    const m = (await registry.getSingleMetric('worker_fallback_total')!.get()).values.find((v) => v.labels.reason === reason);
    return m?.value ?? 0;
  };
  return { fwd, call, fallbacks };
}

const route = (idempotent: boolean): DesignatedRoute => ({ service: 'query-interpreter', method: 'post', path: '/x', idempotent });

test('a request that is not idempotent is never sent twice; an idempotent one is retried on another worker', async () => {
  const bad = await upstream(reset);
  const good = await upstream(ok);
  const once = await front([bad.url, good.url], route(false));
  const statuses: number[] = [];
  for (let i = 0; i < 10; i++) statuses.push((await once.call()).status);
  assert.equal(bad.hits() + good.hits(), 10, 'each request reached exactly one worker');
  assert.equal(statuses.filter((s) => s === 502).length, bad.hits());

  const bad2 = await upstream(reset);
  const good2 = await upstream(ok);
  const retried = await front([bad2.url, good2.url], route(true));
  for (let i = 0; i < 10; i++) assert.equal((await retried.call()).status, 200);
  assert.ok(bad2.hits() > 0 && good2.hits() === 10);
});

test('a refused connection is retried even for a request that is not idempotent (nothing was sent)', async () => {
  const good = await upstream(ok);
  const closed = await upstream(ok);
  servers.pop()!.close();
  await new Promise((r) => setTimeout(r, 50));
  const f = await front([closed.url, good.url], route(false));
  for (let i = 0; i < 6; i++) {
    const r = await f.call();
    assert.equal(r.status, 200);
    assert.equal(r.servedBy, new URL(good.url).host);
  }
});

test('a slow worker: the local implementation answers after the timeout; a route that is not idempotent gets 504', async () => {
  const slow = await upstream((req, res) => setTimeout(() => ok(req, res), 2000));
  const local = await front([slow.url], route(true), { timeoutMs: 200 });
  let t0 = Date.now();
  const l = await local.call();
  assert.equal(l.status, 200);
  assert.equal(l.servedBy, 'local');
  assert.ok(Date.now() - t0 < 1000, `took ${Date.now() - t0} ms`);
  assert.equal(await local.fallbacks('timeout'), 1);

  const once = await front([slow.url], route(false), { timeoutMs: 200 });
  t0 = Date.now();
  const r = await once.call();
  assert.equal(r.status, 504);
  assert.equal((r.body.error as { code: string }).code, 'upstream_timeout');
  assert.ok(Date.now() - t0 < 1000, `took ${Date.now() - t0} ms`);
});

test('the breaker opens after consecutive failures: no more calls reach the worker, health says why', async () => {
  const bad = await upstream(json(500, '{}'));
  const f = await front([bad.url], route(true), { breakerFailures: 3 });
  for (let i = 0; i < 3; i++) assert.equal((await f.call()).servedBy, 'local');
  const r = await f.call();
  assert.equal(r.status, 200);
  assert.equal(r.servedBy, 'local');
  assert.equal(bad.hits(), 3);
  assert.equal(await f.fallbacks('http_5xx'), 3);
  assert.equal(await f.fallbacks('no_worker'), 1);
  const health = f.fwd.health();
  assert.equal(health.status, 'degraded');
  assert.match(health.reasons!.join('\n'), /circuit open: HTTP 500/);
});

test('a 404, 405 or 501 is served locally and the route is not sent to that worker again; the breaker stays closed', async () => {
  for (const status of [404, 405, 501]) {
    const none = await upstream(json(status, '{"error":{"code":"not_found","message":"no such route"}}'));
    const good = await upstream(ok);
    const f = await front([none.url, good.url], route(true), { breakerFailures: 1 });
    const served = new Set<string | null>();
    for (let i = 0; i < 8; i++) {
      const r = await f.call();
      assert.equal(r.status, 200, `after HTTP ${status}`);
      served.add(r.servedBy);
    }
    assert.equal(none.hits(), 1, `HTTP ${status}: asked once, then never again`);
    assert.ok(served.has('local') && served.has(new URL(good.url).host), [...served].join(','));
    assert.equal(await f.fallbacks('unsupported'), 1);
    const snap = f.fwd.snapshot().find((e) => e.url === none.url)!;
    assert.equal(snap.circuit, 'closed', 'a worker that answers is alive');
    assert.match(String(snap.unsupported['POST /x']), new RegExp(`HTTP ${status}`));
    assert.match(f.fwd.health().reasons!.join('\n'), /is not sent POST \/x until it registers again/);
  }
});

test('a 200 that does not fit the response schema, another 2xx or a body that is not JSON never reaches the client', async () => {
  const misfits: http.RequestListener[] = [
    json(200, '{"ok":true,"servedBy":"w1"}'), // one field more
    json(200, '{"ok":"yes"}'),
    json(200, 'ok', 'text/plain'),
    json(200, '{"ok":tru'),
    json(201, '{"ok":true}'),
  ];
  for (const handler of misfits) {
    const w = await upstream(handler);
    const f = await front([w.url], route(true));
    for (let i = 0; i < 3; i++) {
      const r = await f.call();
      assert.deepEqual([r.status, r.servedBy, r.body], [200, 'local', { local: true }]);
    }
    assert.equal(w.hits(), 1, 'a worker that answered a misfit is not asked again');
    assert.equal(await f.fallbacks('invalid_answer'), 1);
    assert.equal(await f.fallbacks('no_worker'), 2);
  }
});

test('a 400 from a worker is replaced by the local answer (the worker stays in use); a 401 marks it until it registers again', async () => {
  const bad = await upstream(json(400, '{"error":{"code":"invalid_query","message":"worker words"}}'));
  const f = await front([bad.url], route(true));
  for (let i = 0; i < 3; i++) assert.equal((await f.call()).servedBy, 'local');
  assert.equal(bad.hits(), 3, 'plain bad input does not take the worker out');
  assert.equal(await f.fallbacks('http_4xx'), 3);

  // A registered worker that refuses the forward token (e.g. a restarted process that has not registered again yet).
  const dir = makeTempDir('fwd-registry');
  const store = await StateStore.open(path.join(dir, 'state'));
  stores.push({ store, dir });
  const registry = new WorkerRegistry(() => store, 60_000);
  let token = '';
  const refusing = await upstream((req, res) => {
    if (req.headers.authorization === `Bearer ${token}`) ok(req, res);
    else json(401, '{"error":{"code":"unauthorized","message":"forward token"}}')(req, res);
  });
  const reg = { id: 'w1', service: 'query-interpreter' as const, url: refusing.url, routes: [{ method: 'post', path: '/x' }], jobTypes: [], capacity: 4, version: 't' };
  await registry.register(reg, 'service:test');
  const g = await front([], route(true), { registry });
  for (let i = 0; i < 3; i++) assert.equal((await g.call()).servedBy, 'local');
  assert.equal(refusing.hits(), 1);
  assert.equal(await g.fallbacks('refused'), 1);
  // It registers again: a new forward token, which it now accepts, and it is asked again.
  token = (await registry.register(reg, 'service:test')).forwardToken;
  const back = await g.call();
  assert.deepEqual([back.status, back.servedBy], [200, 'w1']);
  assert.equal(refusing.hits(), 2);
});
