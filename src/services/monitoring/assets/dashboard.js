/* global document, window, sessionStorage, fetch, setTimeout, clearTimeout, URLSearchParams */
// The operator dashboard: signs in through POST /dashboard/login, then polls
// /dashboard/api/snapshot and redraws; the query console polls its running
// queries (/dashboard/api/queries, cancel with DELETE) and the query history
// (/dashboard/api/history, slowest first by default). No framework, no network
// beyond this origin; every value goes into the page as text, never as HTML.
'use strict';

const TOKEN_KEY = 'controlPlane.dashboard.token';
const REFRESH_KEY = 'controlPlane.dashboard.refresh';
const EXPIRES_KEY = 'controlPlane.dashboard.expiresAt';
const POLL_MS = 2000;
// The history reads ClickHouse: refreshed less often than the rest, and not while a later page is shown.
const HISTORY_EVERY_MS = 5000;
const HISTORY_PAGE = 50;
const SHOWN_QUERY_CHARS = 400;
const SVG = 'http://www.w3.org/2000/svg';
const COLORS = ['#5aa9ff', '#c58cff', '#3fb97f', '#e7b341'];
const COUNTERS = [
  { key: 'rowsAcknowledged', label: 'Rows acknowledged', fmt: fmtCount },
  { key: 'rowsApplied', label: 'Rows applied', fmt: fmtCount },
  { key: 'ingestRowsPerSecond', label: 'Ingest rows/s', fmt: fmtRate },
  { key: 'walLagRecords', label: 'WAL lag (records)', fmt: fmtCount, alarm: (v) => v > 0 },
  { key: 'applierLagSeconds', label: 'Applier lag', fmt: fmtSeconds, alarm: (v) => v > 5 },
  { key: 'walBytesWritten', label: 'WAL written', fmt: fmtBytes },
  { key: 'requestsPerSecond', label: 'HTTP req/s', fmt: fmtRate },
  { key: 'tenants', label: 'Tenants', fmt: fmtCount },
  { key: 'diskFreeBytes', label: 'Disk free (DATA_DIR)', fmt: fmtBytes },
  { key: 'alertsFiring', label: 'Alerts firing', fmt: fmtCount, alarm: (v) => v > 0 },
  { key: 'approvalsPending', label: 'Approvals pending', fmt: fmtCount, alarm: (v) => v > 0 },
];

const $ = (id) => document.getElementById(id);
let token = sessionStorage.getItem(TOKEN_KEY);
let timer;
let refreshTimer;
let lastSnapshot;
const history = { cursor: null, entries: [], fetchedAt: 0, paged: false, loading: false };

function authHeaders() {
  return token ? { authorization: 'Bearer ' + token } : {};
}

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') node.className = v;
    else node.setAttribute(k, String(v));
  }
  for (const c of children) {
    if (c === undefined || c === null) continue;
    node.append(c instanceof window.Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

function svg(tag, attrs, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = text;
  return node;
}

// ---- formatting -----------------------------------------------------------
function fmtCount(v) {
  if (v === null || v === undefined) return '–';
  if (Math.abs(v) >= 1e9) return (v / 1e9).toFixed(2) + ' G';
  if (Math.abs(v) >= 1e6) return (v / 1e6).toFixed(2) + ' M';
  if (Math.abs(v) >= 1e4) return (v / 1e3).toFixed(1) + ' k';
  return String(Math.round(v));
}
function fmtRate(v) {
  if (v === null || v === undefined) return '–';
  return v >= 100 ? fmtCount(v) : v.toFixed(v >= 10 ? 1 : 2);
}
function fmtBytes(v) {
  if (v === null || v === undefined) return '–';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (Math.abs(v) >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return (i === 0 ? String(v) : v.toFixed(1)) + ' ' + units[i];
}
function fmtSeconds(v) {
  if (v === null || v === undefined) return '–';
  if (v === 0) return '0 s';
  if (v < 0.001) return (v * 1e6).toFixed(0) + ' µs';
  if (v < 1) return (v * 1000).toFixed(v < 0.01 ? 2 : 1) + ' ms';
  if (v < 120) return v.toFixed(1) + ' s';
  return (v / 60).toFixed(1) + ' min';
}
function fmtUnit(unit) {
  if (unit === 's') return fmtSeconds;
  if (unit === 'records') return fmtCount;
  return fmtRate;
}
function fmtAxis(v, unit) {
  if (unit === 's') return fmtSeconds(v);
  if (v >= 100) return fmtCount(v);
  return Number.isInteger(v) ? String(v) : v.toFixed(v >= 10 ? 1 : 2);
}
function fmtAgo(iso) {
  const s = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
  if (s < 60) return s + ' s ago';
  if (s < 3600) return Math.round(s / 60) + ' min ago';
  return Math.round(s / 3600) + ' h ago';
}
function fmtTime(ms) {
  const d = new Date(ms);
  const pad = (n, w = 2) => String(n).padStart(w, '0');
  return pad(d.getHours()) + ':' + pad(d.getMinutes()) + ':' + pad(d.getSeconds()) + '.' + pad(d.getMilliseconds(), 3);
}
const LEVEL_NAMES = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' };

// ---- auth -----------------------------------------------------------------
function showLogin(message) {
  clearTimeout(timer);
  clearTimeout(refreshTimer);
  $('app').hidden = true;
  $('signout').hidden = true;
  $('login').hidden = false;
  $('login-error').textContent = message || '';
  setLive('idle', 'signed out');
  $('password').focus();
}

async function login(event) {
  event.preventDefault();
  $('login-error').textContent = '';
  $('login-submit').disabled = true;
  try {
    const res = await fetch('/dashboard/login', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: $('username').value, password: $('password').value }),
    });
    const body = await res.json().catch(() => ({}));
    if (!res.ok) {
      $('login-error').textContent = (body.error && body.error.message) || 'sign-in failed (' + res.status + ')';
      return;
    }
    if (!body.access_token) {
      $('login-error').textContent = 'sign-in answered without a token';
      return;
    }
    keepSession(body);
    $('password').value = '';
    start();
  } catch (err) {
    $('login-error').textContent = 'sign-in failed: ' + err.message;
  } finally {
    $('login-submit').disabled = false;
  }
}

// The tokens as the auth gateway names them: access_token, refresh_token, expires_in (seconds).
function keepSession(s) {
  token = s.access_token;
  sessionStorage.setItem(TOKEN_KEY, token);
  if (s.refresh_token) sessionStorage.setItem(REFRESH_KEY, s.refresh_token);
  if (s.expires_in) sessionStorage.setItem(EXPIRES_KEY, String(Date.now() + s.expires_in * 1000));
  scheduleRefresh();
}

function forgetSession() {
  token = null;
  for (const k of [TOKEN_KEY, REFRESH_KEY, EXPIRES_KEY]) sessionStorage.removeItem(k);
}

// Renew the access token a minute before it expires, so an open dashboard stays signed in.
function scheduleRefresh() {
  clearTimeout(refreshTimer);
  const expiresAt = Number(sessionStorage.getItem(EXPIRES_KEY) || 0);
  if (!expiresAt || !sessionStorage.getItem(REFRESH_KEY)) return;
  refreshTimer = setTimeout(refresh, Math.max(5000, expiresAt - Date.now() - 60_000));
}

async function refresh() {
  try {
    const res = await fetch('/dashboard/refresh', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ refresh_token: sessionStorage.getItem(REFRESH_KEY) }),
    });
    if (res.status === 401 || res.status === 403) {
      forgetSession();
      showLogin('Your session has ended; sign in again.');
      return;
    }
    if (!res.ok) throw new Error('refresh answered ' + res.status);
    keepSession(await res.json());
  } catch {
    // The gateway may be restarting: try again shortly; the current token may still be valid.
    refreshTimer = setTimeout(refresh, 10_000);
  }
}

function signOut() {
  if (token) {
    // Revoke the session at the gateway; the page forgets it either way.
    fetch('/dashboard/logout', { method: 'POST', headers: { authorization: 'Bearer ' + token } }).catch(() => undefined);
  }
  forgetSession();
  showLogin('Signed out.');
}

// ---- polling --------------------------------------------------------------
function setLive(state, text) {
  const live = $('live');
  live.dataset.state = state;
  live.textContent = text;
}

function start() {
  $('login').hidden = true;
  $('app').hidden = false;
  $('signout').hidden = false;
  poll();
}

async function poll() {
  clearTimeout(timer);
  try {
    const headers = token ? { authorization: 'Bearer ' + token } : {};
    const res = await fetch('/dashboard/api/snapshot?points=300&logs=60', { headers, cache: 'no-store' });
    if (res.status === 401 || res.status === 403) {
      forgetSession();
      showLogin(res.status === 401 ? 'Your session has expired; sign in again.' : 'This account may not view the dashboard.');
      return;
    }
    if (!res.ok) throw new Error('snapshot answered ' + res.status);
    lastSnapshot = await res.json();
    render(lastSnapshot);
    setLive('live', 'live · ' + fmtTime(Date.parse(lastSnapshot.generatedAt)).slice(0, 8));
    await pollConsole();
  } catch (err) {
    setLive('stale', 'stale: ' + err.message);
  }
  timer = setTimeout(poll, POLL_MS);
}

// ---- rendering ------------------------------------------------------------
function render(s) {
  $('meta').textContent = 'v' + s.version + ' · ' + s.environment + ' · up ' + fmtSeconds(s.uptimeSeconds);
  renderServices(s);
  renderCluster(s.cluster);
  renderCounters(s.counters);
  renderCharts(s.charts);
  renderAlerts(s.alerts);
  renderTenants(s.tenants);
  renderApprovals(s.approvals || []);
  renderAudit(s.audit || []);
  renderLogs(s.logs);
}

function renderServices(s) {
  const healthy = s.services.filter((x) => x.status === 'ok' && x.ready).length;
  $('services-summary').textContent = healthy + ' of ' + s.services.length + ' healthy and ready';
  $('services').replaceChildren(
    ...s.services.map((svc) =>
      el(
        'div',
        { class: 'service', 'data-service': svc.service, 'data-status': svc.status, 'data-ready': svc.ready },
        el('div', { class: 'name' }, svc.service),
        el(
          'div',
          { class: 'facts' },
          el('span', { class: 'badge ' + (svc.status === 'ok' ? 'ok' : svc.status) }, svc.status),
          el('span', {}, svc.ready ? 'ready' : 'not ready'),
          el('span', {}, svc.port === null ? 'not running' : ':' + svc.port),
        ),
        ...(svc.reasons || []).map((r) => el('div', { class: 'reason' }, r)),
      ),
    ),
  );
  $('workers-summary').textContent = s.workers.length ? s.workers.filter((w) => w.up).length + ' of ' + s.workers.length + ' up' : '';
  $('workers').replaceChildren(
    ...(s.workers.length
      ? s.workers.map((w) =>
          el(
            'div',
            { class: 'service', 'data-worker': w.worker, 'data-status': w.up && w.circuit === 'closed' ? 'ok' : w.up ? 'degraded' : 'down' },
            el('div', { class: 'name' }, w.worker),
            el(
              'div',
              { class: 'facts' },
              el('span', { class: 'badge ' + (w.up ? 'ok' : 'down') }, w.up ? 'up' : 'down'),
              el('span', {}, w.service),
              w.circuit === 'closed' ? null : el('span', { class: 'badge ' + (w.circuit === 'open' ? 'bad' : 'warn') }, 'circuit ' + w.circuit),
            ),
          ),
        )
      : [el('div', { class: 'empty' }, 'No remote workers registered (DISTRIBUTED_MODE off or none configured).')]),
  );
}

function renderCounters(c) {
  $('counters').replaceChildren(
    ...COUNTERS.map((def) => {
      const v = c[def.key];
      return el(
        'div',
        { class: 'counter' + (def.alarm && v !== null && def.alarm(v) ? ' alarm' : ''), id: 'counter-' + def.key, 'data-value': v === null ? '' : v },
        el('div', { class: 'label' }, def.label),
        el('div', { class: 'value' }, def.fmt(v)),
      );
    }),
  );
}

function niceMax(v) {
  if (!(v > 0)) return 1;
  const p = Math.pow(10, Math.floor(Math.log10(v)));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function renderCharts(charts) {
  const root = $('charts');
  const existing = new Map([...root.children].map((n) => [n.dataset.chart, n]));
  const nodes = charts.map((c) => {
    const node = existing.get(c.id) || el('div', { class: 'chart', 'data-chart': c.id });
    drawChart(node, c);
    return node;
  });
  root.replaceChildren(...nodes);
}

function drawChart(node, c) {
  const fmt = fmtUnit(c.unit);
  const W = 560;
  const H = 150;
  const pad = { l: 52, r: 8, t: 8, b: 20 };
  const all = c.series.flatMap((s) => s.values).filter((v) => v !== null);
  const hasData = all.length > 0;
  const max = niceMax(Math.max(0, ...all));
  const t1 = c.times.length ? c.times[c.times.length - 1] : Date.now();
  // Five minutes once there is that much history; a fresh process shows its first minute.
  const span = Math.min(5 * 60_000, Math.max(60_000, c.times.length ? t1 - c.times[0] : 0));
  const t0 = t1 - span;
  const x = (t) => pad.l + ((t - t0) / span) * (W - pad.l - pad.r);
  const y = (v) => pad.t + (1 - v / max) * (H - pad.t - pad.b);

  const plot = svg('svg', { viewBox: '0 0 ' + W + ' ' + H, preserveAspectRatio: 'none', role: 'img', 'aria-label': c.title });
  for (const f of [0, 0.5, 1]) {
    plot.append(svg('line', { class: 'gridline', x1: pad.l, x2: W - pad.r, y1: y(max * f), y2: y(max * f) }));
    plot.append(svg('text', { class: 'axis', x: pad.l - 6, y: y(max * f) + 3, 'text-anchor': 'end' }, hasData ? fmtAxis(max * f, c.unit) : ''));
  }
  plot.append(svg('text', { class: 'axis', x: pad.l, y: H - 4 }, span >= 120_000 ? '−' + Math.round(span / 60_000) + ' min' : '−' + Math.round(span / 1000) + ' s'));
  plot.append(svg('text', { class: 'axis', x: W - pad.r, y: H - 4, 'text-anchor': 'end' }, 'now'));

  c.series.forEach((s, i) => {
    const color = COLORS[i % COLORS.length];
    // Split at nulls so a gap in the data is a gap in the line.
    let run = [];
    const runs = [];
    s.values.forEach((v, j) => {
      if (v === null || c.times[j] < t0) {
        if (run.length) runs.push(run);
        run = [];
      } else run.push([x(c.times[j]), y(v)]);
    });
    if (run.length) runs.push(run);
    for (const r of runs) {
      const pts = r.map((p) => p[0].toFixed(1) + ',' + p[1].toFixed(1)).join(' ');
      if (i === 0 && r.length > 1) {
        const base = y(0).toFixed(1);
        plot.append(svg('polygon', { class: 'area', fill: color, points: r[0][0].toFixed(1) + ',' + base + ' ' + pts + ' ' + r[r.length - 1][0].toFixed(1) + ',' + base }));
      }
      plot.append(r.length > 1 ? svg('polyline', { class: 'series', stroke: color, points: pts }) : svg('circle', { cx: r[0][0], cy: r[0][1], r: 2, fill: color }));
    }
  });
  if (!hasData) plot.append(svg('text', { class: 'nodata', x: W / 2, y: H / 2, 'text-anchor': 'middle' }, 'no data'));

  const legend = el(
    'div',
    { class: 'legend' },
    ...c.series.map((s, i) => {
      const sw = el('span', { class: 'swatch' });
      sw.style.background = COLORS[i % COLORS.length];
      return el('span', {}, sw, s.label + ' ', el('b', {}, s.latest === null ? '–' : fmt(s.latest)));
    }),
  );
  node.dataset.hasData = String(hasData);
  node.dataset.latest = JSON.stringify(c.series.map((s) => s.latest));
  node.dataset.max = String(hasData ? Math.max(...all) : 0);
  node.replaceChildren(el('div', { class: 'chart-head' }, el('h2', {}, c.title + ' '), legend), plot, el('div', { class: 'muted' }, c.unit));
}

function renderAlerts(alerts) {
  const order = { firing: 0, pending: 1, inactive: 2 };
  const sorted = [...alerts].sort((a, b) => order[a.state] - order[b.state] || a.name.localeCompare(b.name));
  const firing = alerts.filter((a) => a.state === 'firing').length;
  $('alerts-summary').textContent = firing ? firing + ' firing' : 'none firing';
  $('alerts').tBodies[0].replaceChildren(
    ...sorted.map((a) =>
      el(
        'tr',
        { class: a.state, 'data-alert': a.name, 'data-state': a.state },
        el('td', {}, el('div', {}, a.name), el('div', { class: 'rule-summary' }, a.summary)),
        el('td', {}, el('span', { class: 'badge ' + a.state }, a.state), ' ', el('span', { class: 'muted' }, a.severity)),
        el('td', { class: 'num' }, a.value === null ? 'no data' : fmtRate(a.value)),
        el('td', { class: 'num' }, a.op + ' ' + a.threshold),
        el('td', { class: 'muted nowrap' }, fmtAgo(a.since)),
      ),
    ),
  );
}

// Cluster mode only: every shard and replica as the data path last read them.
function renderCluster(cluster) {
  $('cluster-panel').hidden = !cluster;
  if (!cluster) return;
  const replicas = cluster.shards.flatMap((s) => s.replicas);
  $('cluster-summary').textContent =
    cluster.cluster + ' · ' + replicas.filter((r) => r.up).length + ' of ' + replicas.length + ' replicas up · quorum ' + cluster.insertQuorum + ' · ZooKeeper ' + cluster.zooKeeper + ' · ' + fmtAgo(cluster.checkedAt);
  $('cluster').tBodies[0].replaceChildren(
    ...replicas.map((r) =>
      el(
        'tr',
        { 'data-replica': r.shard + '.' + r.replica, 'data-up': String(r.up), class: !r.up || r.readOnly || r.columnsBehind > 2 ? 'firing' : r.inRotation === false ? 'pending' : '' },
        el('td', {}, String(r.shard)),
        el('td', {}, r.name || String(r.replica)),
        el('td', { class: 'nowrap' }, r.host + ':' + r.port),
        el('td', {}, el('span', { class: 'badge ' + (r.up ? 'ok' : 'down') }, r.up ? 'up' : 'down')),
        el('td', {}, r.readOnly ? el('span', { class: 'badge bad' }, 'read-only') : 'no'),
        el('td', { class: 'num' }, fmtCount(r.queueSize)),
        el('td', { class: 'num' }, fmtSeconds(r.absoluteDelaySeconds)),
        el('td', { class: 'num' }, String(r.columnsBehind)),
        el('td', {}, r.inRotation === undefined ? '' : r.inRotation ? 'in rotation' : 'held' + (r.held ? ': ' + r.held : '')),
        el('td', { class: 'rule-summary' }, r.lastError ? r.lastError.slice(0, 200) : ''),
      ),
    ),
  );
}

function renderTenants(tenants) {
  $('tenants-summary').textContent = tenants.length + (tenants.length === 1 ? ' tenant' : ' tenants');
  const body = $('tenants').tBodies[0];
  if (!tenants.length) {
    body.replaceChildren(el('tr', {}, el('td', { colspan: 6, class: 'empty' }, 'No tenant data applied yet.')));
    return;
  }
  body.replaceChildren(
    ...tenants.map((t) =>
      el(
        'tr',
        { 'data-tenant': t.tenant, 'data-rows': t.rows },
        el('td', {}, t.tenant),
        el('td', { class: 'num' }, t.tables),
        el('td', { class: 'num' }, fmtCount(t.rows)),
        el('td', { class: 'num' }, fmtBytes(t.bytes)),
        el('td', { class: 'num' }, t.partitions),
        el('td', { class: 'num' }, fmtRate(t.rowsPerSecond)),
      ),
    ),
  );
}

function fmtUntil(ms) {
  const s = Math.round((ms - Date.now()) / 1000);
  if (s <= 0) return 'expired';
  if (s < 120) return 'in ' + s + ' s';
  if (s < 7200) return 'in ' + Math.round(s / 60) + ' min';
  return 'in ' + Math.round(s / 3600) + ' h';
}

function renderApprovals(approvals) {
  $('approvals-summary').textContent = approvals.length ? approvals.length + ' waiting for a second admin' : 'none pending';
  const body = $('approvals').tBodies[0];
  if (!approvals.length) {
    body.replaceChildren(el('tr', {}, el('td', { colspan: 5, class: 'empty' }, 'No operation is waiting for approval.')));
    return;
  }
  body.replaceChildren(
    ...approvals.map((a) =>
      el(
        'tr',
        { 'data-approval': a.id, 'data-action': a.action, 'data-tenant': a.tenant },
        el('td', {}, el('div', {}, a.action), el('div', { class: 'rule-summary' }, a.summary)),
        el('td', {}, a.tenant),
        el('td', {}, a.requestedBy),
        el('td', { class: 'nowrap' }, fmtUntil(a.expiresAt)),
        el('td', { class: 'muted' }, a.id),
      ),
    ),
  );
}

function renderAudit(entries) {
  $('audit-summary').textContent = entries.length ? 'newest ' + entries.length : 'no entries yet';
  const body = $('audit').tBodies[0];
  if (!entries.length) {
    body.replaceChildren(el('tr', {}, el('td', { colspan: 5, class: 'empty' }, 'Nothing audited yet.')));
    return;
  }
  body.replaceChildren(
    ...entries.map((e) =>
      el(
        'tr',
        { 'data-audit-action': e.action, 'data-outcome': e.outcome },
        el('td', { class: 'nowrap' }, fmtTime(e.atMs)),
        el('td', {}, e.action),
        el('td', {}, el('span', { class: 'badge ' + (e.outcome === 'success' ? 'ok' : e.outcome === 'pending' ? 'warn' : 'bad') }, e.outcome)),
        el('td', {}, e.principal + (e.role ? ' (' + e.role + ')' : '')),
        el('td', { class: 'muted' }, (e.target || '') + (e.tenant && !(e.target || '').includes(e.tenant) ? ' · ' + e.tenant : '')),
      ),
    ),
  );
}

function renderLogs(logs) {
  const min = Number($('log-level').value);
  const rows = logs.filter((e) => e.level >= min).slice(-40).reverse();
  const body = $('logs').tBodies[0];
  if (!rows.length) {
    body.replaceChildren(el('tr', {}, el('td', { colspan: 5, class: 'empty' }, 'No log entries at this level.')));
    return;
  }
  body.replaceChildren(
    ...rows.map((e) => {
      const extra = [e.route && e.method ? e.method + ' ' + e.route : null, e.status, e.alert, e.err && e.err.message].filter((v) => v !== undefined && v !== null);
      return el(
        'tr',
        { class: 'lvl-' + e.level },
        el('td', { class: 'nowrap' }, fmtTime(e.time)),
        el('td', {}, LEVEL_NAMES[e.level] || e.level),
        el('td', {}, e.service || e.component || ''),
        el('td', { class: 'msg' }, (e.msg || '') + (extra.length ? ' · ' + extra.join(' · ') : '')),
        el('td', { class: 'muted' }, e.requestId ? String(e.requestId).slice(0, 8) : ''),
      );
    }),
  );
}

// ---- query console -----------------------------------------------------------
async function pollConsole() {
  try {
    const res = await fetch('/dashboard/api/queries', { headers: authHeaders(), cache: 'no-store' });
    if (res.ok) renderRunning(await res.json());
  } catch {
    // The snapshot's status line already says when the service does not answer.
  }
  if (!history.paged && Date.now() - history.fetchedAt >= HISTORY_EVERY_MS) await loadHistory(false);
}

function shownQuery(q) {
  const text = q.query !== null && q.query !== undefined ? q.query : q.normalizedQuery || '';
  return text.length > SHOWN_QUERY_CHARS ? text.slice(0, SHOWN_QUERY_CHARS) + '…' : text;
}

function queryCell(q) {
  // Operators get the normalized text (literals as ?), shown dimmed; the full text is the cell's title.
  const normalized = q.query === null || q.query === undefined;
  const full = normalized ? q.normalizedQuery || '' : q.query;
  return el('td', { class: 'sql' + (normalized ? ' normalized' : ''), title: full.length > SHOWN_QUERY_CHARS ? full.slice(0, 4000) : undefined }, shownQuery(q));
}

function renderRunning(body) {
  const tbody = $('running').tBodies[0];
  if (!body.available) {
    $('running-summary').textContent = 'not available here';
    tbody.replaceChildren(el('tr', {}, el('td', { colspan: 7, class: 'empty' }, body.reason)));
    return;
  }
  const queries = body.queries;
  $('running-summary').textContent = queries.length ? queries.length + ' running' : 'none running';
  if (!queries.length) {
    tbody.replaceChildren(el('tr', {}, el('td', { colspan: 7, class: 'empty' }, 'No query is running.')));
    return;
  }
  tbody.replaceChildren(
    ...queries.map((q) =>
      el(
        'tr',
        { 'data-query-id': q.id, 'data-tenant': q.tenant, 'data-owner': q.owner || '' },
        el('td', {}, q.tenant),
        el('td', {}, q.owner || '–'),
        queryCell(q),
        el('td', { class: 'num' }, fmtSeconds(q.elapsedMs / 1000)),
        el('td', { class: 'num' }, fmtCount(q.rows)),
        el('td', { class: 'muted' }, q.via),
        el('td', {}, el('button', { type: 'button', class: 'cancel', 'data-cancel': q.id, title: 'Stop this query (audited)' }, 'Cancel')),
      ),
    ),
  );
}

async function cancelQuery(button) {
  const id = button.dataset.cancel;
  button.disabled = true;
  $('cancel-error').textContent = '';
  try {
    const res = await fetch('/dashboard/api/queries/' + encodeURIComponent(id), { method: 'DELETE', headers: authHeaders() });
    if (!res.ok) {
      const body = await res.json().catch(() => ({}));
      $('cancel-error').textContent = 'cancel failed: ' + ((body.error && body.error.message) || res.status);
    }
  } catch (err) {
    $('cancel-error').textContent = 'cancel failed: ' + err.message;
  }
  // The cancelled query leaves the running list and reaches the history once its log entry is written.
  history.fetchedAt = 0;
  await pollConsole();
}

function historyParams() {
  const p = new URLSearchParams();
  const tenant = $('hf-tenant').value.trim();
  const principal = $('hf-principal').value.trim();
  const min = $('hf-min').value.trim();
  const since = $('hf-since').value;
  if (tenant) p.set('tenant', tenant);
  if (principal) p.set('principal', principal);
  if ($('hf-state').value) p.set('state', $('hf-state').value);
  if (min) p.set('minElapsedMs', min);
  if (since) p.set('from', String(Date.now() - Number(since)));
  p.set('sort', $('hf-sort').value);
  p.set('limit', String(HISTORY_PAGE));
  return p;
}

async function loadHistory(more) {
  if (history.loading) return;
  history.loading = true;
  const params = historyParams();
  if (more && history.cursor) params.set('cursor', history.cursor);
  try {
    const res = await fetch('/dashboard/api/history?' + params.toString(), { headers: authHeaders(), cache: 'no-store' });
    const body = await res.json().catch(() => ({}));
    history.fetchedAt = Date.now();
    if (!res.ok) {
      // A filter the server refuses (or ClickHouse not there yet): say why, keep what is shown.
      $('history-error').textContent = (body.error && body.error.message) || 'history answered ' + res.status;
      return;
    }
    $('history-error').textContent = '';
    if (!body.available) {
      history.entries = [];
      history.cursor = null;
      $('history-summary').textContent = 'not available here';
      $('history').tBodies[0].replaceChildren(el('tr', {}, el('td', { colspan: 9, class: 'empty' }, body.reason)));
      $('history-more').hidden = true;
      return;
    }
    history.entries = more ? history.entries.concat(body.entries) : body.entries;
    history.cursor = body.nextCursor;
    history.paged = more;
    renderHistory(body.sort);
  } catch (err) {
    $('history-error').textContent = 'history failed: ' + err.message;
  } finally {
    history.loading = false;
  }
}

function fmtWhen(iso) {
  const ms = Date.parse(iso);
  const d = new Date(ms);
  const today = new Date();
  const sameDay = d.getFullYear() === today.getFullYear() && d.getMonth() === today.getMonth() && d.getDate() === today.getDate();
  return (sameDay ? '' : d.getFullYear() + '-' + String(d.getMonth() + 1).padStart(2, '0') + '-' + String(d.getDate()).padStart(2, '0') + ' ') + fmtTime(ms);
}

function renderHistory(sort) {
  const entries = history.entries;
  $('history-summary').textContent = entries.length ? entries.length + (history.cursor ? '+' : '') + ' · ' + (sort === 'slowest' ? 'slowest first' : 'newest first') : 'no queries match';
  $('history-more').hidden = !history.cursor;
  const tbody = $('history').tBodies[0];
  if (!entries.length) {
    tbody.replaceChildren(el('tr', {}, el('td', { colspan: 9, class: 'empty' }, 'No query in the log matches these filters.')));
    return;
  }
  const badge = { finished: 'ok', failed: 'bad', cancelled: 'warn', timeout: 'bad' };
  tbody.replaceChildren(
    ...entries.map((e) =>
      el(
        'tr',
        { 'data-query-id': e.queryId, 'data-state': e.state, 'data-tenant': e.tenant },
        el('td', { class: 'nowrap' }, fmtWhen(e.endedAt)),
        el('td', {}, e.tenant),
        el('td', {}, e.principal || '–'),
        el('td', {}, el('span', { class: 'badge ' + (badge[e.state] || '') }, e.state === 'timeout' ? 'timed out' : e.state)),
        queryCell(e),
        el('td', { class: 'num' }, fmtSeconds(e.elapsedMs / 1000)),
        el('td', { class: 'num' }, fmtCount(e.rows)),
        el('td', { class: 'num' }, fmtBytes(e.bytes)),
        el('td', { class: 'rule-summary' }, e.errorCode ? e.errorCode + (e.error ? ': ' + e.error.slice(0, 200) : '') : ''),
      ),
    ),
  );
}

document.addEventListener('DOMContentLoaded', () => {
  $('login-form').addEventListener('submit', login);
  $('signout').addEventListener('click', signOut);
  $('log-level').addEventListener('change', () => lastSnapshot && renderLogs(lastSnapshot.logs));
  $('running').addEventListener('click', (event) => {
    const button = event.target.closest('button[data-cancel]');
    if (button) cancelQuery(button);
  });
  $('history-filters').addEventListener('submit', (event) => {
    event.preventDefault();
    history.paged = false;
    loadHistory(false);
  });
  for (const id of ['hf-state', 'hf-since', 'hf-sort']) {
    $(id).addEventListener('change', () => {
      history.paged = false;
      loadHistory(false);
    });
  }
  $('history-more').addEventListener('click', () => loadHistory(true));
  if (token === null) showLogin();
  else {
    scheduleRefresh();
    start();
  }
});
