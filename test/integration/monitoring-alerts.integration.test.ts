// Alerts for real: the control plane runs against a ClickHouse server, which
// the test SIGKILLs. The applier stalls and WAL lag grows, so `wal_lag` and
// `applier_stalled` go pending then firing; a server restarted on the same data
// dir and port lets the applier catch up, and both resolve.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { restartClickHouseServer, startClickHouseServer, type RunningClickHouseServer } from '../helpers/clickhouse-server.js';
import { adminHeaders, startPlane, type RunningPlane } from '../helpers/control-plane-process.js';

interface Alert {
  name: string;
  state: 'inactive' | 'pending' | 'firing';
  since: string;
  activeAt: string | null;
  value: number | null;
  op: string;
  threshold: number;
}

async function alerts(plane: RunningPlane): Promise<Map<string, Alert>> {
  const res = await fetch(plane.url('monitoring', '/alerts'), { headers: await adminHeaders(plane) });
  assert.equal(res.status, 200);
  const body = (await res.json()) as { alerts: Alert[] };
  return new Map(body.alerts.map((a) => [a.name, a]));
}

async function waitForAlerts(plane: RunningPlane, what: string, ok: (a: Map<string, Alert>) => boolean, seen?: Set<string>, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const current = await alerts(plane);
    for (const a of current.values()) seen?.add(`${a.name}:${a.state}`);
    if (ok(current)) return current;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify([...current.values()])}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const WATCHED = ['wal_lag', 'applier_stalled'];

test('killing the ClickHouse server fires wal_lag and applier_stalled; restarting it resolves them', async (t) => {
  const started = await startClickHouseServer();
  if ('skipped' in started) {
    console.log(`# skipping the alerts test: ${started.skipped}`);
    t.skip(started.skipped);
    return;
  }
  let server: RunningClickHouseServer = started;
  let plane: RunningPlane | undefined;
  try {
    plane = await startPlane({
      env: {
        CLICKHOUSE_URL: server.url,
        CLICKHOUSE_TIMEOUT_MS: '3000',
        ALERT_EVAL_INTERVAL_MS: '200',
        ALERT_FOR_MS: '800',
        ALERT_WAL_LAG_RECORDS: '3',
        ALERT_APPLIER_STALL_SECONDS: '1',
      },
    });
    const headers = { 'content-type': 'application/json', 'x-tenant-id': 'alerting', ...(await adminHeaders(plane)) };
    const ingest = async (id: string) => {
      const res = await fetch(plane!.url('tenant-node', '/data'), { method: 'POST', headers, body: JSON.stringify({ data_id: id, payload: { n: 1 } }) });
      assert.equal(res.status, 201, await res.text());
    };

    // Healthy: data flows and every watched rule is inactive with a value.
    await ingest('before-0');
    await waitForAlerts(plane, 'a quiet start', (a) => WATCHED.every((n) => a.get(n)?.state === 'inactive' && a.get(n)?.value === 0));

    // The sink dies: ingest still acknowledges from the WAL, the applier cannot move it.
    await server.kill();
    const killedAt = Date.now();
    for (let i = 0; i < 6; i++) await ingest(`during-${i}`);
    const seen = new Set<string>();
    const firing = await waitForAlerts(plane, 'wal_lag and applier_stalled firing', (a) => WATCHED.every((n) => a.get(n)?.state === 'firing'), seen);
    for (const name of WATCHED) {
      const a = firing.get(name)!;
      assert.ok(a.value !== null && a.value > a.threshold, `${name}: value ${a.value} above threshold ${a.threshold}`);
      assert.ok(a.activeAt !== null && Date.parse(a.activeAt) >= killedAt - 1000, `${name} became active after the kill`);
      assert.ok(Date.parse(a.since) - Date.parse(a.activeAt!) >= 800, `${name} was pending for ALERT_FOR_MS before firing`);
    }
    assert.ok(seen.has('wal_lag:pending') || seen.has('applier_stalled:pending'), `a rule was seen pending first: ${[...seen].join(', ')}`);

    // Firing alerts are visible in Prometheus form and on the dashboard.
    const metrics = await (await fetch(plane.url('monitoring', '/metrics'), { headers: await adminHeaders(plane) })).text();
    assert.match(metrics, /^alerts_firing\{alertname="wal_lag",severity="warning"\} 1$/m);
    assert.match(metrics, /^alerts_firing\{alertname="applier_stalled",severity="critical"\} 1$/m);
    const snap = (await (await fetch(plane.url('monitoring', '/dashboard/api/snapshot?points=5&logs=0'), { headers: await adminHeaders(plane) })).json()) as {
      counters: { alertsFiring: number };
      services: Array<{ service: string; status: string }>;
    };
    assert.ok(snap.counters.alertsFiring >= 2);
    assert.equal(snap.services.find((s) => s.service === 'tenant-node')?.status, 'degraded', 'the tenant node reports its stalled applier');

    // The sink comes back on the same data dir and port: the applier catches up, alerts resolve.
    server = await restartClickHouseServer(server);
    const restartedAt = Date.now();
    const resolved = await waitForAlerts(plane, 'wal_lag and applier_stalled resolved', (a) => WATCHED.every((n) => a.get(n)?.state === 'inactive'));
    for (const name of WATCHED) {
      assert.ok(Date.parse(resolved.get(name)!.since) >= restartedAt - 500, `${name} resolved after the restart`);
      assert.equal(resolved.get(name)!.activeAt, null);
    }

    // Each transition is logged; the time filter finds them.
    const logs = await fetch(plane.url('monitoring', `/logs?level=info&service=monitoring&since=${new Date(killedAt).toISOString()}&limit=2000`), {
      headers: await adminHeaders(plane),
    });
    const { entries } = (await logs.json()) as { entries: Array<{ msg: string; time: number }> };
    const messages = entries.map((e) => e.msg);
    for (const name of WATCHED) {
      assert.ok(messages.includes(`alert firing: ${name}`), `log says ${name} fired`);
      assert.ok(messages.includes(`alert resolved: ${name}`), `log says ${name} resolved`);
    }
    assert.ok(entries.every((e) => e.time >= killedAt), 'since filters by time');
  } finally {
    await plane?.cleanup();
    await server.stop();
  }
});
