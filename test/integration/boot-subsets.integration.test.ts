// Every service booted on its own (with the auth gateway, to sign in): /ready
// turns 200, then every route it serves answers something other than 503
// not_ready or a 5xx, /ready lists the modules the service was built from, and
// SIGTERM stops the process cleanly (exit 0).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SERVICE_IDS } from '../../src/platform/config/schema.js';
import { adminHeaders, startPlane } from '../helpers/control-plane-process.js';

interface OpenApi {
  paths: Record<string, Record<string, { operationId: string; requestBody?: unknown }>>;
}

// Calls that end the caller's own session go last, so the others keep a valid token.
const endsSession = (path: string) => path.endsWith('/logout');

describe('each service booted alone serves every route once ready', () => {
  for (const service of SERVICE_IDS) {
    test(service, async () => {
      const plane = await startPlane({ env: { SERVICES: service } });
      try {
        const ready = await fetch(plane.url(service, '/ready'));
        assert.equal(ready.status, 200);
        const readyBody = (await ready.json()) as { checks: Record<string, string>; needs: string[] };
        assert.equal(readyBody.checks.auth, 'open', 'every service authenticates through the auth module');
        for (const need of readyBody.needs) assert.equal(readyBody.checks[need], 'open', `${need} is open`);

        const headers = { ...(await adminHeaders(plane)), 'x-tenant-id': 'acme', 'content-type': 'application/json' };
        const doc = (await (await fetch(plane.url(service, '/openapi.json'))).json()) as OpenApi;
        const calls = Object.entries(doc.paths)
          .flatMap(([path, methods]) => Object.entries(methods).map(([method, op]) => ({ path, method, op })))
          .sort((a, b) => Number(endsSession(a.path)) - Number(endsSession(b.path)));
        assert.ok(calls.length > 0);
        for (const { path, method, op } of calls) {
          const url = path.replace(/\{id\}/g, '00000000-0000-4000-8000-000000000000').replace(/\{[^}]+\}/g, 'x');
          const res = await fetch(plane.url(service, url), {
            method: method.toUpperCase(),
            headers,
            ...(op.requestBody ? { body: '{}' } : {}),
          });
          const text = await res.text();
          assert.ok(res.status !== 503 && res.status < 500, `${service} ${method.toUpperCase()} ${path} answered ${res.status}: ${text.slice(0, 300)}`);
        }

        assert.equal(await plane.stop('SIGTERM'), 0, `exit code after SIGTERM:\n${plane.logs().slice(-2000)}`);
        assert.match(plane.logs(), /"clean":true,"msg":"stopped"/);
      } finally {
        await plane.cleanup();
      }
    });
  }
});

describe('npm start', () => {
  test('runs the compiled control plane (built when stale): ready, ingests through the applier, serves the dashboard, exits 0 on SIGTERM to npm, leaving no process behind', async () => {
    const plane = await startPlane({ via: 'npm-start' });
    try {
      assert.match(plane.logs(), /"listening"/);
      const headers = { ...(await adminHeaders(plane)), 'x-tenant-id': 'acme', 'content-type': 'application/json' };
      const ingest = await fetch(plane.url('tenant-node', '/data'), { method: 'POST', headers, body: JSON.stringify([{ data_id: 'a', payload: { n: 1 } }, { data_id: 'b', payload: { n: 2 } }]) });
      assert.equal(ingest.status, 201);
      // Applied by the compiled applier.
      let count = 0;
      for (let i = 0; i < 100 && count < 2; i++) {
        const r = await fetch(plane.url('operation-node', '/query/execute'), { method: 'POST', headers, body: JSON.stringify({ sql: 'SELECT count() AS c FROM events' }) });
        if (r.status === 200) count = Number(((await r.json()) as { rows: Array<{ c: number }> }).rows[0]?.c ?? 0);
        if (count < 2) await new Promise((res) => setTimeout(res, 100));
      }
      assert.equal(count, 2);
      const page = await fetch(plane.url('monitoring', '/dashboard'));
      assert.equal(page.status, 200);
      assert.match(await page.text(), /<html/i);
      // SIGTERM to npm, as a process manager sends it: the control plane drains and exits, none left behind.
      assert.equal(await plane.stop('SIGTERM'), 0);
      assert.match(plane.logs(), /"clean":true,"msg":"stopped"/);
      assert.throws(() => process.kill(plane.pid, 0), /ESRCH/, 'the control plane process is gone');
    } finally {
      await plane.cleanup();
    }
  });
});
