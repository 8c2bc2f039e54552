// Alert delivery for real: the control plane process, a real Prometheus
// Alertmanager, a webhook receiver that checks every signature, and two dead
// receivers listed next to them (one refuses connections, one accepts and never
// answers). A rule over one tenant's ingest rate (ALERT_RULES_FILE) fires while
// the test ingests and resolves when it stops: Alertmanager shows it, then
// drops it; the webhook gets both, signed. The dead receivers cost nothing but
// their failure counters. A SIGKILLed plane's alert expires in Alertmanager on
// its own (the endsAt lease). Bad delivery settings stop the boot with a clear
// error (the other cases are in test/unit/config.test.ts).
import assert from 'node:assert/strict';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startAlertmanager, type AmAlert, type RunningAlertmanager } from '../helpers/alertmanager.js';
import { adminHeaders, startPlane, tenantKeyHeaders, type RunningPlane } from '../helpers/control-plane-process.js';
import { makeTempDir, removeTempDir } from '../helpers/temp-dir.js';

const SECRET = 'integration-webhook-secret-42';
const RULE = 'alerted_ingest';
const TENANT = 'alerted';
const PROMTOOL = ['/usr/bin/promtool', '/usr/local/bin/promtool'].find((p) => existsSync(p));

interface HookDelivery {
  alerts: Array<{ status: string; labels: Record<string, string>; annotations: Record<string, string>; startsAt: string; endsAt: string }>;
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function listen(handler: http.RequestListener): Promise<{ url: string; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const s = http.createServer(handler);
  s.on('connection', (c) => {
    sockets.add(c);
    c.on('close', () => sockets.delete(c));
  });
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(s.address() as AddressInfo).port}`,
    close: async () => {
      for (const c of sockets) c.destroy();
      await new Promise((r) => s.close(r));
    },
  };
}

describe('alert delivery to Alertmanager and a signed webhook', () => {
  let am: RunningAlertmanager | undefined;
  let skipped: string | undefined;
  let plane: RunningPlane | undefined;
  let dir: string;
  const hookDeliveries: HookDelivery[] = [];
  let badSignatures = 0;
  let hook: Awaited<ReturnType<typeof listen>>;
  let blackHole: Awaited<ReturnType<typeof listen>>;
  let refusing: string;

  before(async () => {
    const started = await startAlertmanager();
    if ('skipped' in started) {
      skipped = started.skipped;
      return;
    }
    am = started;
    dir = makeTempDir('alert-delivery');
    hook = await listen((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const raw = Buffer.concat(chunks);
        // Verified the way a receiver in any language would, not with our own helper.
        const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(String(req.headers['x-alert-signature']));
        const expected = m ? createHmac('sha256', SECRET).update(`${m[1]}.`).update(raw).digest() : undefined;
        const fresh = m ? Math.abs(Date.now() / 1000 - Number(m[1])) < 300 : false;
        if (!m || !expected || !fresh || !timingSafeEqual(expected, Buffer.from(m[2]!, 'hex'))) {
          badSignatures++;
          res.writeHead(401).end();
          return;
        }
        hookDeliveries.push(JSON.parse(raw.toString()) as HookDelivery);
        res.writeHead(204).end();
      });
    });
    blackHole = await listen(() => undefined);
    const closed = await listen(() => undefined);
    refusing = closed.url;
    await closed.close();

    const rulesFile = path.join(dir, 'rules.json');
    writeFileSync(
      rulesFile,
      JSON.stringify([
        {
          name: RULE,
          summary: 'Tenant alerted is ingesting',
          severity: 'critical',
          expr: { kind: 'rate', metric: 'ingest_rows_total', labels: { tenant: TENANT }, windowSec: 2 },
          op: '>',
          threshold: 0,
          labels: { service: 'tenant-node' },
        },
      ]),
    );
    plane = await startPlane({
      env: {
        ALERTMANAGER_URL: `${am.url},${blackHole.url},${refusing}`,
        ALERT_WEBHOOK_URL: `${hook.url}/hooks/alerts`,
        ALERT_WEBHOOK_SECRET: SECRET,
        ALERT_RULES_FILE: rulesFile,
        ALERT_EVAL_INTERVAL_MS: '200',
        ALERT_FOR_MS: '400',
        ALERT_RESEND_DELAY_MS: '500',
        ALERT_DELIVERY_TIMEOUT_MS: '1000',
      },
    });
  });
  after(async () => {
    await plane?.cleanup();
    await am?.stop();
    await hook?.close();
    await blackHole?.close();
    if (dir) removeTempDir(dir);
  });

  const ours = async () => (await am!.alerts()).find((a) => a.labels.alertname === RULE);

  /** Ingests a row every 100 ms until the returned stop() is called. */
  function keepIngesting(p: RunningPlane): () => Promise<void> {
    let running = true;
    let n = 0;
    const loop = (async () => {
      const headers = { 'content-type': 'application/json', 'x-tenant-id': TENANT, ...(await adminHeaders(p)) };
      while (running) {
        const res = await fetch(p.url('tenant-node', '/data'), { method: 'POST', headers, body: JSON.stringify({ data_id: `r${n++}`, payload: { n } }) }).catch(() => undefined);
        await res?.body?.cancel();
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    return async () => {
      running = false;
      await loop;
    };
  }

  test('a firing rule reaches Alertmanager and the webhook with its labels, annotations and a renewed endsAt lease', async (t) => {
    if (skipped) {
      console.log(`# skipping alert delivery tests: ${skipped}`);
      t.skip(skipped);
      return;
    }
    const stop = keepIngesting(plane!);
    let first: AmAlert;
    try {
      first = await until('the alert in Alertmanager', ours);
      const now = Date.now();
      assert.deepEqual(first.labels, { alertname: RULE, severity: 'critical', service: 'tenant-node', tenant: TENANT });
      assert.equal(first.annotations.summary, 'Tenant alerted is ingesting');
      assert.equal(first.annotations.threshold, '0');
      assert.ok(Number(first.annotations.value) > 0, `value annotation ${first.annotations.value}`);
      assert.equal(first.status.state, 'active');
      assert.ok(Date.parse(first.startsAt) <= now);
      const lease = Date.parse(first.endsAt) - now;
      // 4 × max(200 ms eval, 500 ms resend) = 2 s after the send it came with.
      assert.ok(lease > 0 && lease <= 2500, `endsAt is a short lease ahead (${lease} ms)`);

      // Re-sent every 500 ms while firing: the lease moves on, startsAt stays.
      const renewed = await until('a renewed lease', async () => {
        const a = await ours();
        return a && Date.parse(a.endsAt) > Date.parse(first.endsAt) ? a : undefined;
      }, 10_000);
      assert.equal(renewed.startsAt, first.startsAt);

      const fromHook = await until('the webhook firing delivery', async () =>
        hookDeliveries.flatMap((d) => d.alerts).find((a) => a.labels.alertname === RULE && a.status === 'firing'),
      );
      assert.deepEqual(fromHook.labels, first.labels);
      assert.equal(fromHook.startsAt, first.startsAt);

      // The dead receivers fail on their own queues; requests and evaluation carry on.
      const t0 = performance.now();
      const res = await fetch(plane!.url('monitoring', '/alerts'), { headers: await adminHeaders(plane!) });
      assert.ok(performance.now() - t0 < 1000, 'GET /alerts answers promptly');
      const body = (await res.json()) as { alerts: Array<{ name: string; state: string; labels: Record<string, string> }>; delivery: Array<{ receiver: string; consecutiveFailures: number; lastError?: string }> };
      assert.equal(body.alerts.find((a) => a.name === RULE)?.state, 'firing');
      assert.equal(body.alerts.find((a) => a.name === RULE)?.labels.tenant, TENANT);
      const byReceiver = new Map(body.delivery.map((d) => [d.receiver, d]));
      assert.equal(byReceiver.size, 4, JSON.stringify(body.delivery));
      assert.equal(byReceiver.get(`alertmanager:${new URL(am!.url).host}`)?.consecutiveFailures, 0);
      assert.equal(byReceiver.get(`webhook:${new URL(hook.url).host}`)?.consecutiveFailures, 0);
      const refusedStatus = await until('the refusing receiver to fail', async () => {
        const r = await fetch(plane!.url('monitoring', '/alerts'), { headers: await adminHeaders(plane!) });
        const d = ((await r.json()) as typeof body).delivery.find((x) => x.receiver === `alertmanager:${new URL(refusing).host}`);
        return d && d.consecutiveFailures > 0 ? d : undefined;
      });
      assert.match(refusedStatus.lastError ?? '', /ECONNREFUSED/);

      const metrics = await until('failed deliveries to the black hole', async () => {
        const text = await (await fetch(plane!.url('monitoring', '/metrics'), { headers: await adminHeaders(plane!) })).text();
        return new RegExp(`^alert_deliveries_total\\{receiver="alertmanager:${new URL(blackHole.url).host}",outcome="failed"\\} [1-9]`, 'm').test(text) ? text : undefined;
      }, 15_000);
      assert.match(metrics, new RegExp(`^alert_deliveries_total\\{receiver="alertmanager:${new URL(am!.url).host}",outcome="success"\\} [1-9]`, 'm'));
      assert.match(metrics, new RegExp(`^alert_deliveries_total\\{receiver="alertmanager:${new URL(refusing).host}",outcome="failed"\\} [1-9]`, 'm'));
      assert.match(metrics, /^alert_delivery_queue_depth\{receiver="webhook:[^"]+"\} \d+/m);
    } finally {
      await stop();
    }

    // Ingest stops: the rate drops to 0 over its 2 s window, the rule resolves, Alertmanager lets go.
    await until('the alert to leave Alertmanager', async () => ((await ours()) ? undefined : true));
    const resolved = await until('the webhook resolved delivery', async () =>
      hookDeliveries.flatMap((d) => d.alerts).find((a) => a.labels.alertname === RULE && a.status === 'resolved'),
    );
    assert.ok(Date.parse(resolved.endsAt) <= Date.now(), 'a resolved alert ends in the past');
    assert.equal(resolved.startsAt, first.startsAt);
    assert.equal(badSignatures, 0, 'every webhook delivery carried a valid, fresh signature');
  });

  test('GET /alerts/rules.yml serves the defaults and the configured rule as a rule file promtool accepts', async (t) => {
    if (skipped) {
      t.skip(skipped);
      return;
    }
    const url = plane!.url('monitoring', '/alerts/rules.yml');
    assert.equal((await fetch(url)).status, 401, 'needs a credential');
    const writer = await tenantKeyHeaders(plane!, 'rules-reader');
    assert.equal((await fetch(url, { headers: writer.headers })).status, 403, 'a tenant key may not read it');
    const res = await fetch(url, { headers: await adminHeaders(plane!) });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^application\/yaml/);
    const text = await res.text();
    assert.match(text, /- alert: "alerted_ingest"\n {8}expr: "sum\(rate\(ingest_rows_total\{tenant=\\"alerted\\"\}\[2s\]\)\) > 0"\n {8}for: "400ms"/);
    assert.match(text, /- alert: "wal_lag"/);
    assert.match(text, /interval: "200ms"/);
    if (!PROMTOOL) {
      console.log('# skipping promtool check rules: promtool not installed (Debian package prometheus)');
      return;
    }
    const file = path.join(dir, 'exported.yml');
    writeFileSync(file, text);
    const check = spawnSync(PROMTOOL, ['check', 'rules', file], { encoding: 'utf8' });
    assert.equal(check.status, 0, `promtool check rules:\n${check.stdout}${check.stderr}`);
    assert.match(check.stdout, /SUCCESS: 14 rules found/);
  });

  test('a control plane that dies leaves no alert firing forever: its lease runs out in Alertmanager', async (t) => {
    if (skipped) {
      t.skip(skipped);
      return;
    }
    const stop = keepIngesting(plane!);
    try {
      await until('the alert to fire again', ours);
    } finally {
      await stop();
    }
    await plane!.stop('SIGKILL');
    const killedAt = Date.now();
    const last = await ours();
    assert.ok(last, 'still active right after the kill: nobody resolved it');
    await until('the alert to expire', async () => ((await ours()) ? undefined : true), 15_000);
    const lasted = Date.now() - killedAt;
    assert.ok(lasted <= 2000 + 3000, `gone within the 2 s lease plus Alertmanager's own tick (${lasted} ms)`);
  });
});

describe('bad delivery settings stop the boot with a clear error', () => {
  for (const [env, pattern] of [
    [{ ALERTMANAGER_URL: 'http://am:9093,not a url' }, /ALERTMANAGER_URL: URL #2: not a valid URL/],
    [{ ALERT_WEBHOOK_URL: 'https://hooks.example.com/T0K3N-in-path' }, /ALERT_WEBHOOK_SECRET: required when ALERT_WEBHOOK_URL is set/],
  ] as const) {
    test(`${Object.keys(env).join(' + ')}: ${pattern.source}`, async () => {
      const dataDir = makeTempDir('bad-delivery');
      try {
        await assert.rejects(
          startPlane({ dataDir, env: { ...env } }),
          (err: Error) => {
            assert.match(err.message, /exited \(1\) before listening/);
            assert.match(err.message, pattern);
            assert.doesNotMatch(err.message, /T0K3N/, 'a webhook URL (with its token) is never echoed');
            return true;
          },
        );
      } finally {
        removeTempDir(dataDir);
      }
    });
  }
});
