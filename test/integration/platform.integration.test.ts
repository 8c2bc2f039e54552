// The platform against the real process: health/ready of all seven services,
// the JSON error shapes, request ids in logs, metrics by route template,
// config and port failures, and a slow request surviving SIGTERM.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { adminHeaders, REPO_ROOT, startPlane, type RunningPlane } from '../helpers/control-plane-process.js';

const SERVICES = ['auth-gateway', 'tenant-node', 'operation-node', 'cbo-engine', 'metadata-catalog', 'monitoring', 'query-interpreter'];

function expectErrorShape(body: unknown, code: string, requestId?: string) {
  const err = (body as { error?: Record<string, unknown> }).error;
  assert.ok(err, `expected an error body, got ${JSON.stringify(body)}`);
  assert.equal(err.code, code);
  assert.equal(typeof err.message, 'string');
  assert.equal(typeof err.requestId, 'string');
  if (requestId) assert.equal(err.requestId, requestId);
  assert.ok(!JSON.stringify(body).includes('    at '), 'no stack trace in error bodies');
}

/** Runs src/main.ts to completion and returns its exit code and output. */
function runToExit(env: Record<string, string>, timeoutMs = 30_000): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      cwd: REPO_ROOT,
      env: { PATH: process.env.PATH ?? '', ENV_FILE: '/nonexistent', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`did not exit within ${timeoutMs} ms:\n${output}`));
    }, timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

describe('all seven services in one process', () => {
  let plane: RunningPlane;
  before(async () => {
    plane = await startPlane({ env: { BODY_LIMIT_BYTES: '65536' } });
  });
  after(async () => plane?.cleanup());

  test('every service answers /health with its shape and /ready with 200', async () => {
    assert.deepEqual(Object.keys(plane.ports).sort(), [...SERVICES].sort());
    for (const service of SERVICES) {
      const health = await fetch(plane.url(service, '/health'));
      assert.equal(health.status, 200);
      const body = (await health.json()) as Record<string, unknown>;
      assert.equal(body.status, 'ok');
      assert.equal(body.service, service);
      assert.equal(typeof body.version, 'string');
      assert.equal(typeof body.uptimeSeconds, 'number');
      const ready = await fetch(plane.url(service, '/ready'));
      assert.equal(ready.status, 200, `${service} /ready`);
    }
  });

  test('404 and 405 are JSON errors; 405 carries Allow', async () => {
    const notFound = await fetch(plane.url('monitoring', '/no/such/route'));
    assert.equal(notFound.status, 404);
    expectErrorShape(await notFound.json(), 'not_found');
    const wrongMethod = await fetch(plane.url('monitoring', '/metrics'), { method: 'DELETE' });
    assert.equal(wrongMethod.status, 405);
    assert.match(wrongMethod.headers.get('allow') ?? '', /GET/);
    expectErrorShape(await wrongMethod.json(), 'method_not_allowed');
  });

  test('malformed JSON is 400, oversized is 413, wrong type is 415, bad tenant is 400', async () => {
    const url = plane.url('tenant-node', '/data');
    const headers = { ...(await adminHeaders(plane)), 'content-type': 'application/json', 'x-tenant-id': 'acme' };
    const malformed = await fetch(url, { method: 'POST', headers, body: '{"data_id": "a", ' });
    assert.equal(malformed.status, 400);
    expectErrorShape(await malformed.json(), 'invalid_json');
    const huge = await fetch(url, { method: 'POST', headers, body: JSON.stringify({ data_id: 'x', payload: { s: 'y'.repeat(70_000) } }) });
    assert.equal(huge.status, 413);
    expectErrorShape(await huge.json(), 'payload_too_large');
    const csv = await fetch(url, { method: 'POST', headers: { ...headers, 'content-type': 'text/csv' }, body: 'a,b' });
    assert.equal(csv.status, 415);
    expectErrorShape(await csv.json(), 'unsupported_media_type');
    const badTenant = await fetch(url, { method: 'POST', headers: { ...headers, 'x-tenant-id': '../etc' }, body: '{"data_id":"a","payload":{}}' });
    assert.equal(badTenant.status, 400);
    expectErrorShape(await badTenant.json(), 'invalid_tenant_id');
    // The process is still serving.
    assert.equal((await fetch(plane.url('tenant-node', '/health'))).status, 200);
  });

  test('X-Request-Id is echoed, generated when absent, and appears in the logs', async () => {
    const res = await fetch(plane.url('tenant-node', '/nope'), { headers: { 'x-request-id': 'req-platform-test-1' } });
    assert.equal(res.headers.get('x-request-id'), 'req-platform-test-1');
    expectErrorShape(await res.json(), 'not_found', 'req-platform-test-1');
    const generated = await fetch(plane.url('tenant-node', '/health'));
    assert.match(generated.headers.get('x-request-id') ?? '', /^[0-9a-f-]{36}$/);
    const hostile = await fetch(plane.url('tenant-node', '/health'), { headers: { 'x-request-id': 'bad id with spaces' } });
    assert.notEqual(hostile.headers.get('x-request-id'), 'bad id with spaces');
    const logs = await fetch(plane.url('monitoring', '/logs?requestId=req-platform-test-1'), { headers: await adminHeaders(plane) });
    const { entries } = (await logs.json()) as { entries: Array<Record<string, unknown>> };
    assert.ok(entries.length >= 1, 'the request left a log line');
    assert.ok(entries.every((e) => e.requestId === 'req-platform-test-1'));
    assert.equal(entries[0]!.service, 'tenant-node');
  });

  test('metrics are labelled by route template, never by raw path', async () => {
    const admin = await adminHeaders(plane);
    await fetch(plane.url('tenant-node', '/data?table=events&data_id=abc'), { headers: { ...admin, 'x-tenant-id': 'acme' } });
    await fetch(plane.url('monitoring', '/some/random/path/12345'));
    const text = await (await fetch(plane.url('monitoring', '/metrics'), { headers: admin })).text();
    assert.match(text, /^# TYPE http_requests_total counter$/m);
    assert.match(text, /^# TYPE http_request_duration_seconds histogram$/m);
    assert.match(text, /http_requests_total\{service="tenant-node",route="\/data",method="GET",status="200"\} \d+/);
    // Error answers carry their error code (rules tell an expected 503 such as not_fresh from a fault by it).
    assert.match(text, /http_requests_total\{service="monitoring",route="unmatched",method="GET",status="404",code="not_found"\} \d+/);
    assert.doesNotMatch(text, /random\/path/);
    assert.match(text, /^process_resident_memory_bytes \d+/m);
  });
});

describe('boot failures', () => {
  test('an invalid config value exits non-zero naming the key', async () => {
    const { code, output } = await runToExit({ TENANT_NODE_PORT: 'eighty', DATA_DIR: '/tmp/never-created-by-test' });
    assert.equal(code, 1);
    assert.match(output, /TENANT_NODE_PORT/);
  });

  test('production refuses the development JWT secret', async () => {
    const { code, output } = await runToExit({ ENVIRONMENT: 'production', DATA_DIR: '/tmp/never-created-by-test' });
    assert.equal(code, 1);
    assert.match(output, /JWT_SECRET/);
  });

  test('a port already in use exits non-zero naming the port', async () => {
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      const { code, output } = await runToExit({ SERVICES: 'monitoring', MONITORING_PORT: String(port), HOST: '127.0.0.1', DATA_DIR: '/tmp/never-created-by-test' });
      assert.equal(code, 1);
      assert.match(output, new RegExp(`port ${port}`));
    } finally {
      blocker.close();
    }
  });
});

describe('subsets and readiness', () => {
  test('SERVICES boots only the named services', async () => {
    const plane = await startPlane({ env: { SERVICES: 'monitoring,query-interpreter' }, authGateway: false });
    try {
      assert.deepEqual(Object.keys(plane.ports).sort(), ['monitoring', 'query-interpreter']);
      assert.equal((await fetch(plane.url('monitoring', '/health'))).status, 200);
    } finally {
      await plane.cleanup();
    }
  });

  test('/ready is 503 while ClickHouse is unreachable, /health still 200, ingest still durable', async () => {
    const plane = await startPlane({
      env: { SERVICES: 'tenant-node,monitoring,auth-gateway', CLICKHOUSE_URL: 'http://127.0.0.1:9', CLICKHOUSE_TIMEOUT_MS: '500' },
      waitForReady: false,
    });
    try {
      let ready: Response | undefined;
      for (let i = 0; i < 100; i++) {
        ready = await fetch(plane.url('tenant-node', '/ready'));
        const body = (await ready.clone().json()) as { checks: Record<string, string> };
        if (body.checks.wal === 'open') break;
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.equal(ready!.status, 503);
      const body = (await ready!.json()) as { status: string; checks: Record<string, string> };
      assert.equal(body.status, 'not_ready');
      assert.match(body.checks.clickhouse ?? '', /pending|failed/);
      assert.equal((await fetch(plane.url('tenant-node', '/health'))).status, 200);
      // The gateway needs no ClickHouse: it turns ready on its own.
      for (let i = 0; i < 100 && (await fetch(plane.url('auth-gateway', '/ready'))).status !== 200; i++) await new Promise((r) => setTimeout(r, 100));
      const ingest = await fetch(plane.url('tenant-node', '/data'), {
        method: 'POST',
        headers: { ...(await adminHeaders(plane)), 'content-type': 'application/json', 'x-tenant-id': 'acme' },
        body: JSON.stringify({ data_id: 'while-ch-down', payload: { n: 1 } }),
      });
      assert.equal(ingest.status, 201, 'the WAL path does not need ClickHouse');
    } finally {
      await plane.cleanup();
    }
  });
});

describe('SIGTERM', () => {
  test('a slow request in flight during SIGTERM still completes, then the process exits 0', async () => {
    const plane = await startPlane({ env: { SERVICES: 'tenant-node,auth-gateway' } });
    try {
      const { authorization } = await adminHeaders(plane);
      const body = JSON.stringify([{ data_id: 'slow-1', payload: { n: 1 } }, { data_id: 'slow-2', payload: { n: 2 } }]);
      const half = Math.floor(body.length / 2);
      const response = new Promise<{ status: number; text: string }>((resolve, reject) => {
        const socket = net.connect(plane.ports['tenant-node']!, '127.0.0.1');
        let raw = '';
        socket.on('data', (c) => (raw += c.toString()));
        socket.on('end', () => {
          const status = Number(/^HTTP\/1\.1 (\d+)/.exec(raw)?.[1]);
          resolve({ status, text: raw.slice(raw.indexOf('\r\n\r\n') + 4) });
        });
        socket.on('error', reject);
        socket.write(
          `POST /data HTTP/1.1\r\nHost: x\r\nAuthorization: ${authorization}\r\nContent-Type: application/json\r\nX-Tenant-Id: acme\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n` +
            body.slice(0, half),
        );
        setTimeout(() => {
          plane.child.kill('SIGTERM');
          setTimeout(() => socket.write(body.slice(half)), 500);
        }, 200);
      });
      const res = await response;
      assert.equal(res.status, 201, `slow request answered: ${res.text}`);
      assert.equal(JSON.parse(res.text.trim().split('\r\n').pop() ?? res.text).accepted, 2);
      assert.equal(await plane.exited, 0);
      assert.match(plane.logs(), /"phase":"http-drain"/);
    } finally {
      await plane.cleanup();
    }
  });
});
