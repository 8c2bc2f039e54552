// The forwarder against real local HTTP servers: retries only where safe,
// timeouts bounded, breaker opening, local fallback signalled.
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, test } from 'node:test';
import express from 'express';
import pino from 'pino';
import { Registry } from 'prom-client';
import { Agent } from 'undici';
import { errorHandler } from '../../src/platform/http/error-handler.js';
import { requestContext } from '../../src/platform/http/request-context.js';
import type { DesignatedRoute } from '../../src/workers/designated-routes.js';
import { ServiceForwarder } from '../../src/workers/forwarder.js';
import { registerWorkerMetrics } from '../../src/workers/metrics.js';

const servers: http.Server[] = [];
const agent = new Agent({ keepAliveTimeout: 1000 });
after(async () => {
  for (const s of servers) s.close();
  await agent.close();
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

const ok: http.RequestListener = (_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
const reset: http.RequestListener = (req) => req.on('data', () => {}).on('end', () => req.socket.destroy());

async function front(urls: string[], route: DesignatedRoute, opts: { timeoutMs?: number; breakerFailures?: number; hasLocal?: boolean } = {}) {
  const fwd = new ServiceForwarder('query-interpreter', urls, {
    agent,
    settings: { timeoutMs: opts.timeoutMs ?? 1000, retries: 1, healthIntervalMs: 60_000, breakerFailures: opts.breakerFailures ?? 100, breakerOpenMs: 60_000 },
    metrics: registerWorkerMetrics(new Registry(), { liveWorkers: () => ({}), openJobs: () => ({}) }),
    logger: pino({ level: 'silent' }),
  });
  const app = express();
  app.use(requestContext(app, pino({ level: 'silent' })));
  app.use(express.json());
  app.post('/x', async (req, res) => {
    if (!(await fwd.forward(req, res, route, opts.hasLocal ?? false))) res.json({ local: true });
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
  return { fwd, call };
}

const route = (idempotent: boolean): DesignatedRoute => ({ service: 'query-interpreter', method: 'post', path: '/x', idempotent, auth: 'authenticated', summary: 'x' });

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

test('a slow worker answers 504 within the timeout; with a local implementation the local one serves', async () => {
  const slow = await upstream((_req, res) => setTimeout(() => ok(_req, res), 2000));
  const f = await front([slow.url], route(true), { timeoutMs: 200 });
  const t0 = Date.now();
  const r = await f.call();
  assert.equal(r.status, 504);
  assert.equal((r.body.error as { code: string }).code, 'upstream_timeout');
  assert.ok(Date.now() - t0 < 1000, `took ${Date.now() - t0} ms`);
  const withLocal = await front([slow.url], route(true), { timeoutMs: 200, hasLocal: true });
  const l = await withLocal.call();
  assert.equal(l.status, 200);
  assert.equal(l.servedBy, 'local');
});

test('the breaker opens after consecutive failures: no more calls reach the worker, health says why', async () => {
  const bad = await upstream((_req, res) => res.writeHead(500).end('{}'));
  const f = await front([bad.url], route(true), { breakerFailures: 3 });
  for (let i = 0; i < 3; i++) assert.equal((await f.call()).status, 502);
  const r = await f.call();
  assert.equal(r.status, 503);
  assert.equal((r.body.error as { code: string }).code, 'upstream_unavailable');
  assert.equal(bad.hits(), 3);
  const health = f.fwd.health();
  assert.equal(health.status, 'degraded');
  assert.match(health.reasons!.join('\n'), /circuit open: HTTP 500/);
});
