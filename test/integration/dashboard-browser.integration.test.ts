// The dashboard in a real browser (Debian's headless Chromium driven by
// playwright-core): signs in, shows the seven services healthy, and its ingest
// chart, counters and tenant table move after the test posts data; a tenant
// delete waiting for a second admin shows among pending approvals and in the
// audit table. The query console: a long query of a tenant shows among running
// queries, one click cancels it (audited), and it reaches the history as
// cancelled, slowest first; a bad filter says why. Saves screenshots to
// test-output/dashboard.png and test-output/dashboard-console.png.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { REPO_ROOT, TEST_ADMIN_PASSWORD, TEST_ADMIN_USERNAME, adminHeaders, startPlane, tenantKeyHeaders, type RunningPlane } from '../helpers/control-plane-process.js';
import { makeTempDir, removeTempDir } from '../helpers/temp-dir.js';

const CHROMIUM = '/usr/bin/chromium';
const SKIP = existsSync(CHROMIUM) ? false : `${CHROMIUM} is missing (Debian package chromium); the dashboard browser test needs it`;
if (SKIP) console.log(`# skipping dashboard browser test: ${SKIP}`);

const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-quic',
  '--no-first-run',
  '--disable-component-update',
  '--disable-sync',
];

async function waitUntil(what: string, condition: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('dashboard in headless Chromium', { skip: SKIP }, () => {
  let plane: RunningPlane;
  let context: BrowserContext;
  let page: Page;
  let profileDir: string;
  const problems: string[] = [];

  before(async () => {
    plane = await startPlane({ env: { MONITORING_SAMPLE_INTERVAL_MS: '500', APPROVAL_REQUIRED_FOR: 'tenant-delete', QUERY_LOG_FLUSH_INTERVAL_MS: '200' } });
    profileDir = makeTempDir('dashboard-chromium');
    context = await chromium.launchPersistentContext(profileDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: { width: 1440, height: 1000 },
    });
    page = context.pages()[0] ?? (await context.newPage());
    page.on('console', (msg) => {
      if (msg.type() === 'error' || msg.type() === 'warning') problems.push(`console ${msg.type()}: ${msg.text()}`);
    });
    page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
    page.on('requestfailed', (req) => problems.push(`request failed: ${req.url()} ${req.failure()?.errorText ?? ''}`));
  });

  /** Opens the dashboard and signs in as the admin through its form. */
  async function signIn(): Promise<void> {
    await page.goto(plane.url('monitoring', '/dashboard'));
    await page.locator('#login-form').waitFor({ state: 'visible' });
    await page.fill('#username', TEST_ADMIN_USERNAME);
    await page.fill('#password', TEST_ADMIN_PASSWORD);
    await page.click('#login-submit');
    await page.locator('#app').waitFor({ state: 'visible' });
  }

  after(async () => {
    await context?.close();
    if (profileDir) removeTempDir(profileDir);
    await plane?.cleanup();
  });

  test('signs in, shows seven healthy services, and moves when data arrives', async () => {
    await signIn();
    // Conditions are polled from here through locators: the page's CSP forbids the eval a
    // string predicate needs, and this project's TypeScript has no DOM types.
    const stored = await page.evaluate("sessionStorage.getItem('controlPlane.dashboard.token')");
    assert.ok(typeof stored === 'string' && stored.length > 20, 'token kept in sessionStorage');

    await waitUntil('seven healthy services', async () => (await page.locator('#services .service[data-status="ok"][data-ready="true"]').count()) === 7);
    const services = await Promise.all((await page.locator('#services .service').all()).map((n) => n.getAttribute('data-service')));
    assert.deepEqual(services.sort(), ['auth-gateway', 'cbo-engine', 'metadata-catalog', 'monitoring', 'operation-node', 'query-interpreter', 'tenant-node']);
    assert.match(await page.textContent('#workers') ?? '', /No remote workers/);
    // Charts are drawn before any data: the query latency chart says so.
    await page.waitForSelector('[data-chart="query-latency"] svg');
    const acknowledgedBefore = Number((await page.getAttribute('#counter-rowsAcknowledged', 'data-value')) || 0);

    const tenant = 'dash-browser';
    const headers = { 'content-type': 'application/json', 'x-tenant-id': tenant, ...(await adminHeaders(plane)) };
    for (let batch = 0; batch < 4; batch++) {
      const records = Array.from({ length: 50 }, (_, i) => ({ data_id: `b${batch}-${i}`, payload: { amount: i, country: i % 2 ? 'NL' : 'DE' } }));
      const res = await fetch(plane.url('tenant-node', '/data'), { method: 'POST', headers, body: JSON.stringify(records) });
      assert.equal(res.status, 201, await res.text());
      await new Promise((r) => setTimeout(r, 250));
    }

    const attr = async (selector: string, name: string) => {
      const node = page.locator(selector);
      return (await node.count()) === 0 ? 0 : Number((await node.first().getAttribute(name)) || 0);
    };
    await waitUntil('counter, ingest chart and tenant table to move', async () =>
      (await attr('#counter-rowsAcknowledged', 'data-value')) >= acknowledgedBefore + 200 &&
      (await attr('[data-chart="ingest-rate"]', 'data-max')) > 0 &&
      (await attr(`#tenants tr[data-tenant="${tenant}"]`, 'data-rows')) === 200,
    );
    // A destructive operation waiting for a second admin is listed, and its request is in the audit table.
    assert.equal((await fetch(plane.url('auth-gateway', '/admin/tenants'), { method: 'POST', headers, body: JSON.stringify({ id: tenant }) })).status, 201);
    const asked = await fetch(plane.url('auth-gateway', `/admin/tenants/${tenant}`), { method: 'DELETE', headers });
    assert.equal(asked.status, 202, await asked.clone().text());
    const { approvalId } = (await asked.json()) as { approvalId: string };
    const pendingRow = page.locator(`#approvals tr[data-approval="${approvalId}"]`);
    await pendingRow.waitFor({ state: 'visible', timeout: 20_000 });
    assert.equal(await pendingRow.getAttribute('data-action'), 'tenant-delete');
    assert.equal(await pendingRow.getAttribute('data-tenant'), tenant);
    assert.match((await pendingRow.textContent()) ?? '', /user:admin/);
    await page.locator('#audit tr[data-audit-action="admin.tenants.delete"][data-outcome="pending"]').first().waitFor({ state: 'visible', timeout: 20_000 });
    assert.ok((await attr('#counter-approvalsPending', 'data-value')) >= 1, 'the pending counter shows it');

    const chart = await page.locator('[data-chart="ingest-rate"] polyline').count();
    assert.ok(chart >= 1, 'the ingest chart draws a line');
    const alerts = await page.locator('#alerts tbody tr').count();
    assert.ok(alerts >= 5, 'the alert rules are listed');
    assert.ok((await page.locator('#logs tbody tr').count()) > 0, 'recent logs are listed');
    assert.doesNotMatch(await page.content(), new RegExp(TEST_ADMIN_PASSWORD), 'the password is nowhere in the page');

    // The applier catches up and the counters say so; then keep a picture.
    await waitUntil('rows applied counter', async () => (await attr('#counter-rowsApplied', 'data-value')) >= 200);
    mkdirSync(path.join(REPO_ROOT, 'test-output'), { recursive: true });
    await page.screenshot({ path: path.join(REPO_ROOT, 'test-output', 'dashboard.png'), fullPage: true });
    assert.deepEqual(problems, [], 'no console errors, page errors or failed requests');

    // Signing out forgets the token and revokes its session at the gateway.
    await page.click('#signout');
    await page.locator('#login-form').waitFor({ state: 'visible' });
    assert.equal(await page.evaluate("sessionStorage.getItem('controlPlane.dashboard.token')"), null);
    await waitUntil('the session to be revoked', async () => (await fetch(plane.url('monitoring', '/alerts'), { headers: { authorization: `Bearer ${stored}` } })).status === 401);
  });
  test('query console: a long query shows running, one click cancels it (audited), the history lists it as cancelled', async () => {
    await signIn();
    // The previous test's sign-out request may have been cut by this navigation: only what happens from here counts.
    problems.length = 0;

    // A tenant with enough rows that a chain of joins runs for minutes on the embedded engine
    // (5 countries x 100 rows each: every join multiplies by 100) unless it is cancelled.
    const tenant = 'dash-console';
    const writer = (await tenantKeyHeaders(plane, tenant)).headers;
    const rows = Array.from({ length: 500 }, (_, i) => ({ data_id: `r${i}`, payload: { country: ['NL', 'DE', 'FR', 'BE', 'US'][i % 5], amount: i } }));
    const json = { 'content-type': 'application/json' };
    assert.equal((await fetch(plane.url('tenant-node', '/data'), { method: 'POST', headers: { ...writer, ...json }, body: JSON.stringify(rows) })).status, 201);
    await waitUntil('rows applied', async () => {
      const r = await fetch(plane.url('operation-node', '/query/execute'), { method: 'POST', headers: { ...writer, ...json }, body: JSON.stringify({ sql: 'SELECT count() AS n FROM events' }) });
      return r.status === 200 && ((await r.json()) as { rows: Array<{ n: number }> }).rows[0]?.n === 500;
    });
    const slow = 'SELECT count() AS n FROM events a JOIN events b ON a.country = b.country JOIN events c ON b.country = c.country JOIN events d ON c.country = d.country JOIN events e ON d.country = e.country';
    const pending = fetch(plane.url('operation-node', '/query/execute'), { method: 'POST', headers: { ...writer, ...json }, body: JSON.stringify({ sql: slow, timeoutMs: 120_000 }) });

    const running = page.locator(`#running tr[data-tenant="${tenant}"]`);
    await running.waitFor({ state: 'visible', timeout: 20_000 });
    const id = await running.getAttribute('data-query-id');
    assert.ok(id);
    assert.match((await running.textContent()) ?? '', /JOIN events b ON a\.country = b\.country/, 'the admin sees the text');
    assert.match(await running.getAttribute('data-owner') ?? '', /^apiKey:/);
    await page.click(`#running button[data-cancel="${id}"]`);
    const answer = await pending;
    assert.equal(answer.status, 409, 'the query was cancelled');
    assert.equal(((await answer.json()) as { error: { code: string } }).error.code, 'query_cancelled');
    await page.locator(`#running tr[data-query-id="${id}"]`).waitFor({ state: 'detached', timeout: 20_000 });

    // The history, slowest first by default, lists it as cancelled; the cancel by someone other than the owner is audited.
    const inHistory = page.locator(`#history tr[data-query-id="${id}"][data-state="cancelled"]`);
    await inHistory.waitFor({ state: 'visible', timeout: 20_000 });
    assert.match((await inHistory.textContent()) ?? '', /query_cancelled/);
    assert.equal(await page.inputValue('#hf-sort'), 'slowest');
    await page.locator('#audit tr[data-audit-action="query.cancel"][data-outcome="success"]').first().waitFor({ state: 'visible', timeout: 20_000 });

    // Filters: only cancelled ones of this tenant; a bad tenant id is refused with the reason shown.
    await page.fill('#hf-tenant', tenant);
    await page.selectOption('#hf-state', 'cancelled');
    await waitUntil('the filtered history', async () => {
      const states = await Promise.all((await page.locator('#history tbody tr[data-state]').all()).map((n) => n.getAttribute('data-state')));
      return states.length >= 1 && states.every((st) => st === 'cancelled');
    });
    const tenants = await Promise.all((await page.locator('#history tbody tr[data-tenant]').all()).map((n) => n.getAttribute('data-tenant')));
    assert.ok(tenants.every((t) => t === tenant));
    await page.fill('#hf-tenant', 'Not A Tenant!');
    await page.click('#hf-apply');
    await waitUntil('the refusal to be shown', async () => /tenant/.test((await page.textContent('#history-error')) ?? ''));
    await page.fill('#hf-tenant', '');
    await page.click('#hf-apply');
    await waitUntil('the error to clear', async () => ((await page.textContent('#history-error')) ?? '') === '');

    mkdirSync(path.join(REPO_ROOT, 'test-output'), { recursive: true });
    await page.locator('#console').screenshot({ path: path.join(REPO_ROOT, 'test-output', 'dashboard-console.png') });
    assert.deepEqual(problems.filter((p) => !/status of 400/.test(p)), [], 'no console errors, page errors or failed requests (but the refused filter)');
  });
});
