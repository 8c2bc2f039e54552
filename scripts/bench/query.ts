// Query path benchmark on ≥ 1M rows. Prints, in one run:
//  - p50/p99 latency of the full path (parse → bind → optimize → generate →
//    execute) vs the same generated SQL run directly on the engine, in-process
//    (and, for the HTTP figures, on a copy of the data in this process, call
//    for call with the HTTP requests)
//    and over HTTP (POST /query/execute on a real process), and where the time
//    of a point lookup goes (auth, plan, engine, encode, write; Server-Timing);
//  - streaming 1M rows over HTTP as NDJSON and Arrow IPC: rows/s against the
//    engine's own JSONEachRow / ArrowStream rate for the same SQL, in the same
//    run, and time to the first byte;
//  - RSS of the serving process while a slow reader takes 1M rows, and a
//    client that disconnects mid-stream (the engine query stops, the metric counts it);
//  - median q-error of the optimizer's estimates (every plan node, EXPLAIN ANALYZE);
//  - on a skewed table, median and p90 q-error of filtered scans with no
//    statistics, the plane's own and a worker's column-stats (stats-qerror.ts);
//  - partitions pruned.
// Goals (issue 16) are printed next to each figure. Data is written the way
// the applier lays it out (tenant table in ClickHouse, one Parquet part per
// day, catalog entries), but generated inside the engine so loading 1M rows
// takes seconds. Usage: npm run bench:query [-- --rows 1000000 --iterations 200]
import path from 'node:path';
import pino from 'pino';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { Pool, request } from 'undici';
import { CatalogStore, type PartEntry, type TableEntry } from '../../src/catalog/catalog-store.js';
import { StateStore } from '../../src/platform/state-store.js';
import { STREAM_ENGINE_SETTINGS, median } from '../../src/query/executor.js';
import { generateSql } from '../../src/query/sql-generator.js';
import { createClickHouseEngine } from '../../src/storage/clickhouse/create-engine.js';
import { quoteString } from '../../src/storage/clickhouse/sql-literal.js';
import { TenantTableStore } from '../../src/storage/clickhouse/tenant-table-store.js';
import { formatPartName, ParquetSink } from '../../src/storage/parquet/index.js';
import type { ColumnSpec } from '../../src/storage/record-types.js';
import { adminHeaders, startPlane } from '../../test/helpers/control-plane-process.js';
import { CORPUS } from '../../test/helpers/query-corpus.js';
import { loadTenant, makeTenantData } from '../../test/helpers/query-fixture.js';
import { queryPathOver } from '../../test/helpers/query-path.js';
import { benchWorkerStats } from './stats-qerror.js';
import { makeTempDir, removeTempDir } from '../../test/helpers/temp-dir.js';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const ROWS = arg('rows', 1_000_000);
const DAYS = 90;
const ITER = arg('iterations', 200);
const TENANT = 'bench';
/** The 1M-row stream: five columns of every row. */
const STREAM_SQL = 'SELECT data_id, ts_ms, amount, country, user_id FROM events';
const STREAM_RUNS = arg('stream-runs', 3);
const SLOW_READER_MBPS = arg('slow-mbps', 20);
const BASE = Date.UTC(2026, 6, 1);
const DAY = 86_400_000;

const EVENT_COLUMNS: ColumnSpec[] = [
  { name: 'amount', type: 'Float64' },
  { name: 'country', type: 'String' },
  { name: 'paid', type: 'Bool' },
  { name: 'user_id', type: 'String' },
];
const USER_COLUMNS: ColumnSpec[] = [
  { name: 'name', type: 'String' },
  { name: 'age', type: 'Float64' },
];

const day = (d: number) => new Date(BASE + d * DAY).toISOString().slice(0, 10);

/** Our SQL and the same query by hand ({E}, {U}: the tenant's tables). */
const QUERIES: Array<{ name: string; sql: string; hand: string }> = [
  { name: 'point lookup', sql: "SELECT data_id, amount FROM events WHERE data_id = 'e4242'", hand: "SELECT data_id, amount FROM {E} WHERE data_id = 'e4242'" },
  { name: 'count one day', sql: `SELECT count() FROM events WHERE date = '${day(40)}'`, hand: `SELECT count() FROM {E} WHERE date = toDate('${day(40)}')` },
  {
    name: 'group by week range',
    sql: `SELECT country, count() AS n, avg(amount) AS a FROM events WHERE ts_ms >= ${BASE + 10 * DAY} AND ts_ms < ${BASE + 17 * DAY} GROUP BY country ORDER BY n DESC`,
    hand: `SELECT country, count() AS n, avg(amount) AS a FROM {E} WHERE ts_ms >= ${BASE + 10 * DAY} AND ts_ms < ${BASE + 17 * DAY} GROUP BY country ORDER BY n DESC`,
  },
  { name: 'top 10', sql: 'SELECT data_id, amount FROM events WHERE paid = true ORDER BY amount DESC, data_id LIMIT 10', hand: 'SELECT data_id, amount FROM {E} WHERE paid = 1 ORDER BY amount DESC, data_id LIMIT 10' },
  { name: 'full aggregate', sql: 'SELECT country, sum(amount), count(DISTINCT user_id) FROM events GROUP BY country', hand: 'SELECT country, sum(amount), uniqExact(user_id) FROM {E} GROUP BY country' },
  {
    name: 'join + group',
    sql: `SELECT u.name, count() AS n FROM events e JOIN users u ON e.user_id = u.data_id WHERE e.date = '${day(5)}' AND u.age > 60 GROUP BY u.name ORDER BY n DESC LIMIT 5`,
    hand: `SELECT name, count() AS n FROM (SELECT user_id FROM {E} WHERE date = toDate('${day(5)}')) AS a ALL INNER JOIN (SELECT data_id AS user_id, name FROM {U} WHERE age > 60) AS b USING user_id GROUP BY name ORDER BY n DESC LIMIT 5`,
  },
];

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}
const f = (x: number, d = 2) => x.toFixed(d);
const loadavg = () => os.loadavg().map((l) => l.toFixed(2)).join(' ');

async function main() {
  const dataDir = makeTempDir('bench-query');
  const logger = pino({ level: 'silent' });
  console.log(`# query bench: ${ROWS.toLocaleString()} rows over ${DAYS} days, ${ITER} iterations per query, data in ${dataDir}`);
  console.log(`# ${os.cpus().length} CPUs, load average ${loadavg()} (figures need a quiet machine)`);
  const state = await StateStore.open(path.join(dataDir, 'state'));
  const engine = createClickHouseEngine({ dataDir: path.join(dataDir, 'chdb'), database: 'control_plane' });
  await engine.open();
  const tables = new TenantTableStore(engine);
  const catalog = new CatalogStore(state);
  const parquetRoot = path.join(dataDir, 'parquet');

  // ---- load ----
  let t = performance.now();
  await tables.ensureTable(TENANT, 'events', EVENT_COLUMNS);
  await tables.ensureTable(TENANT, 'users', USER_COLUMNS);
  const E = tables.tableName(TENANT, 'events');
  const U = tables.tableName(TENANT, 'users');
  await engine.exec(
    `INSERT INTO ${E} (data_id, ts_ms, date, lsn, payload, amount, country, paid, user_id) ` +
      `SELECT concat('e', toString(number)), toInt64(${BASE} + intDiv(number * ${DAYS * DAY}, ${ROWS})) AS t, toDate(toDateTime(intDiv(t, 1000), 'UTC')), number + 1, ` +
      `concat('{"amount":', toString(number % 997), '}'), toFloat64(number % 997), ['NL','DE','FR','BE','US','ES','IT'][1 + number % 7], toUInt8(number % 3 = 0), concat('u', toString(sipHash64(number) % 5000)) ` +
      `FROM numbers(${ROWS})`,
  );
  await engine.exec(`INSERT INTO ${U} (data_id, ts_ms, date, lsn, payload, name, age) SELECT concat('u', toString(number)), ${BASE}, toDate('${day(0)}'), 1, '{}', concat('user ', toString(number % 500)), toFloat64(18 + number % 70) FROM numbers(5000)`);
  const parts: PartEntry[] = [];
  const byDay = await engine.query<{ d: string; n: string; lo: string; hi: string }>(`SELECT toString(date) AS d, count() AS n, min(ts_ms) AS lo, max(ts_ms) AS hi FROM ${E} GROUP BY date ORDER BY date`);
  for (const r of byDay) {
    const rel = `${TENANT}/events/date=${r.d}/${formatPartName({ firstLsn: 1, lastLsn: 1 })}`;
    await engine.exec(
      `INSERT INTO FUNCTION file(${quoteString(path.join(parquetRoot, rel))}, Parquet) ` +
        `SELECT data_id, ts_ms, toInt64(lsn) AS lsn, payload, amount, country, CAST(paid AS Nullable(Bool)) AS paid, user_id FROM ${E} WHERE date = toDate(${quoteString(r.d)})`,
    );
    parts.push({ tenant: TENANT, table: 'events', date: r.d, relativePath: rel, firstLsn: 1, lastLsn: 1, rows: Number(r.n), bytes: 0, minTsMs: Number(r.lo), maxTsMs: Number(r.hi) });
  }
  const userRel = `${TENANT}/users/date=${day(0)}/${formatPartName({ firstLsn: 1, lastLsn: 1 })}`;
  await engine.exec(`INSERT INTO FUNCTION file(${quoteString(path.join(parquetRoot, userRel))}, Parquet) SELECT data_id, ts_ms, toInt64(lsn) AS lsn, payload, name, age FROM ${U}`);
  parts.push({ tenant: TENANT, table: 'users', date: day(0), relativePath: userRel, firstLsn: 1, lastLsn: 1, rows: 5000, bytes: 0, minTsMs: BASE, maxTsMs: BASE });
  const now = Date.now();
  const entry = (table: string, columns: ColumnSpec[], rows: number, min: number, max: number, n: number): TableEntry => ({ tenant: TENANT, table, columns, rowCount: rows, bytes: 0, partitions: n, minTsMs: min, maxTsMs: max, createdAt: now, updatedAt: now });
  // Checkpoint 1 with parts named 1-1: a plane started on this dir keeps the parts (nothing "after" the checkpoint).
  await catalog.commitBatch({
    tables: [entry('events', EVENT_COLUMNS, ROWS, BASE, parts.at(-2)!.maxTsMs, byDay.length), entry('users', USER_COLUMNS, 5000, BASE, BASE, 1)],
    parts,
    checkpoint: 1,
  });
  // The correctness corpus's data set (tenant acme), for the q-error of its estimates.
  await loadTenant({ tables, parquet: new ParquetSink({ rootDir: parquetRoot }), catalog }, makeTenantData('acme', { events: 3000, users: 60, hostile: false, seed: 1 }));
  const { columnStats, planner, executor } = queryPathOver({ catalog, engine, tables, parquetRoot, logger, maxConcurrentPerTenant: 8, defaultTimeoutMs: 60_000, maxTimeoutMs: 600_000 });
  await columnStats.refreshStale();
  console.log(`loaded in ${f((performance.now() - t) / 1000, 1)} s (ClickHouse table, ${parts.length} Parquet parts, catalog, column stats)`);

  const generated = async (sql: string) => generateSql((await planner.plan(TENANT, { sql })).physical, executor.genContext(TENANT));

  // ---- in-process: full path vs the same generated SQL on the engine ----
  console.log('\n## latency, in-process (ms): full path vs the same generated SQL run directly on the engine');
  console.log('query                  | direct p50 | direct p99 | full p50 | full p99 | added p50 | source');
  const directSql = new Map<string, string>();
  const added: number[] = [];
  for (const q of QUERIES) {
    const sql = (await generated(q.sql)).sql;
    directSql.set(q.name, sql);
    const direct: number[] = [];
    const full: number[] = [];
    const viaExecutor = async () => (await executor.open(TENANT, { sql: q.sql }, { via: 'bench', format: 'json' })).jsonRows(2_000_000);
    for (let i = 0; i < 5; i++) {
      await engine.query(sql);
      await viaExecutor();
    }
    for (let i = 0; i < ITER; i++) {
      let s = performance.now();
      await engine.query(sql);
      direct.push(performance.now() - s);
      s = performance.now();
      await viaExecutor();
      full.push(performance.now() - s);
    }
    const plan = await planner.plan(TENANT, { sql: q.sql });
    const src = plan.physical.tree.op === 'scan' ? plan.physical.tree.source : 'join';
    added.push(pct(full, 50) - pct(direct, 50));
    console.log(`${q.name.padEnd(22)} | ${f(pct(direct, 50)).padStart(10)} | ${f(pct(direct, 99)).padStart(10)} | ${f(pct(full, 50)).padStart(8)} | ${f(pct(full, 99)).padStart(8)} | ${f(pct(full, 50) - pct(direct, 50)).padStart(9)} | ${src}`);
  }
  const planOnly: number[] = [];
  for (let i = 0; i < ITER; i++) {
    const s = performance.now();
    await planner.plan(TENANT, { sql: QUERIES[2]!.sql });
    planOnly.push(performance.now() - s);
  }
  console.log(`median added by the full path in-process: ${f(median(added))} ms; parse+bind+plan alone (cached plan): p50 ${f(pct(planOnly, 50), 3)} ms`);

  // ---- estimates: q-error per plan node, partitions pruned ----
  const qErrors: number[] = [];
  let pruned = 0;
  let total = 0;
  for (const q of QUERIES) {
    const ex = await executor.explain(TENANT, { sql: q.sql }, true);
    for (const e of ex.analyze?.qErrors ?? []) qErrors.push(e.qError);
    pruned += ex.partitions.pruned;
    total += ex.partitions.total;
  }
  console.log(`\n## estimates: median q-error ${f(median(qErrors))} over ${qErrors.length} plan nodes of the bench queries (max ${f(Math.max(...qErrors))}); partitions pruned ${pruned} of ${total} scanned-table partitions`);
  const corpusErrors: number[] = [];
  const byOp = new Map<string, number[]>();
  for (const c of CORPUS) {
    const ex = await executor.explain('acme', c.input, true);
    for (const e of ex.analyze?.qErrors ?? []) {
      corpusErrors.push(e.qError);
      byOp.set(e.op, [...(byOp.get(e.op) ?? []), e.qError]);
    }
  }
  console.log(
    `correctness corpus (${CORPUS.length} queries, 3k rows): median q-error ${f(median(corpusErrors))} over ${corpusErrors.length} plan nodes, p90 ${f(pct(corpusErrors, 90))}, max ${f(Math.max(...corpusErrors))}; by node: ` +
      [...byOp].map(([op, xs]) => `${op} ${f(median(xs))}`).join(', '),
  );

  // ---- estimates on a skewed table: defaults vs the plane's statistics vs a worker's (scripts/bench/stats-qerror.ts) ----
  await benchWorkerStats({ engine, tables, catalog, logger }, Math.min(ROWS, 200_000));

  // The plane's Parquet housekeeping reads part footers written by our own
  // sink; files written by ClickHouse lack its key/value metadata, so the HTTP
  // phase runs on the ClickHouse table alone (parts dropped from the catalog).
  await catalog.commitBatch({ tables: [], parts: [], removedParts: [...parts, ...(await catalog.listParts('acme'))], checkpoint: 1 });

  // ---- the engine's own streaming rate for the same SQL (the baseline of the stream goals) ----
  const streamSql = (await generated(STREAM_SQL)).sql;
  console.log(`\n## streaming ${ROWS.toLocaleString()} rows (${STREAM_SQL})`);
  const engineRate = new Map<string, number>();
  for (const format of ['JSONEachRow', 'ArrowStream'] as const) {
    const runs: Array<{ secs: number; bytes: number }> = [];
    for (let i = 0; i < STREAM_RUNS; i++) {
      const s = performance.now();
      let bytes = 0;
      for await (const b of engine.queryRaw(streamSql, format, { settings: STREAM_ENGINE_SETTINGS })) bytes += b.bytes.length;
      runs.push({ secs: (performance.now() - s) / 1000, bytes });
    }
    const best = runs.reduce((a, b) => (a.secs < b.secs ? a : b));
    engineRate.set(format, ROWS / best.secs);
    console.log(`engine in-process, ${format.padEnd(11)}: ${Math.round(ROWS / best.secs).toLocaleString()} rows/s (${f(best.bytes / 1e6, 1)} MB in ${f(best.secs, 3)} s, best of ${STREAM_RUNS})`);
  }
  await engine.close();
  await state.close();
  const { rm, cp } = await import('node:fs/promises');
  await rm(parquetRoot, { recursive: true, force: true });
  // A copy of the engine's data for this process: the HTTP latency is measured against the same SQL on
  // the engine in process in the same loop, call for call, so both see the machine as it is at that moment.
  await cp(path.join(dataDir, 'chdb'), path.join(dataDir, 'chdb-direct'), { recursive: true });

  // ---- over HTTP on a real process with the same data ----
  console.log('\n## over HTTP (POST /query/execute on a started control plane, same data)');
  t = performance.now();
  // Only the services on the query path (auth for the token, the Operation Node running parse → CBO → execute) and monitoring for /metrics.
  const plane = await startPlane({ dataDir, keepDataDir: true, env: { SERVICES: 'operation-node,monitoring', LOG_LEVEL: 'warn', QUERY_MAX_JSON_ROWS: '2000000' } });
  try {
    const auth = await adminHeaders(plane);
    const url = plane.url('operation-node', '/query/execute');
    // Latency is measured with a keep-alive undici pool, as a service client would call us:
    // global fetch adds about half a millisecond of its own per call (WHATWG streams), which is the client's cost, not ours.
    const pool = new Pool(new URL(url).origin, { connections: 1 });
    const headers = { ...auth, 'x-tenant-id': TENANT, 'content-type': 'application/json', accept: 'application/json' };
    const execute = async (sql: string) => {
      const s = performance.now();
      const res = await pool.request({ path: '/query/execute', method: 'POST', headers, body: JSON.stringify({ sql }) });
      await res.body.arrayBuffer();
      const ms = performance.now() - s;
      if (res.statusCode !== 200) throw new Error(`${sql}: HTTP ${res.statusCode}`);
      return { ms, timing: serverTiming(String(res.headers['server-timing'] ?? '')) };
    };
    const direct = createClickHouseEngine({ dataDir: path.join(dataDir, 'chdb-direct'), database: 'control_plane' });
    await direct.open();
    console.log('query                  | http p50 | http p99 | direct p50 | added p50 | engine in the plane p50 (Server-Timing)');
    const httpAdded: number[] = [];
    const directP50: number[] = [];
    const phases = new Map<string, number[]>();
    for (const q of QUERIES) {
      const lat: number[] = [];
      const inProcess: number[] = [];
      const planeEngine: number[] = [];
      const sql = directSql.get(q.name)!;
      for (let i = 0; i < 5; i++) {
        await direct.query(sql);
        await execute(q.sql);
      }
      for (let i = 0; i < ITER; i++) {
        const s = performance.now();
        await direct.query(sql);
        inProcess.push(performance.now() - s);
        const r = await execute(q.sql);
        lat.push(r.ms);
        planeEngine.push(r.timing.engine ?? 0);
        if (q === QUERIES[0]) {
          for (const [k, v] of Object.entries(r.timing)) phases.set(k, [...(phases.get(k) ?? []), v]);
          phases.set('write', [...(phases.get('write') ?? []), r.ms - (r.timing.total ?? 0)]);
        }
      }
      httpAdded.push(pct(lat, 50) - pct(inProcess, 50));
      directP50.push(pct(inProcess, 50));
      console.log(
        `${q.name.padEnd(22)} | ${f(pct(lat, 50)).padStart(8)} | ${f(pct(lat, 99)).padStart(8)} | ${f(pct(inProcess, 50)).padStart(10)} | ${f(pct(lat, 50) - pct(inProcess, 50)).padStart(9)} | ${f(pct(planeEngine, 50))}`,
      );
    }
    await direct.close();
    const p50 = (k: string) => f(pct(phases.get(k) ?? [0], 50), 3);
    console.log(`median added over HTTP (auth, planning, JSON answer, our HTTP stack): ${f(median(httpAdded))} ms (goal ≤ 2 ms) ${median(httpAdded) <= 2 ? 'MET' : 'NOT MET'}`);
    const floor = await httpFloor(directP50);
    console.log(
      `this machine's floor: a bare node:http server whose handler waits on the thread pool as long as each query's engine adds ${floor.map((x) => f(x)).join(', ')} ms ` +
        `(median ${f(median(floor))}): the round trip and the wake-ups of an idle client and server, which grow with the wait; the plane's own share is about ${f(median(httpAdded) - median(floor))} ms`,
    );
    console.log(
      `point lookup, where the time goes (p50 ms, Server-Timing): auth ${p50('auth')}, wait ${p50('wait')}, plan ${p50('plan')}, engine ${p50('engine')}, encode ${p50('encode')}, ` +
        `write + network + client ${p50('write')} (server total ${p50('total')})`,
    );

    // ---- a slow reader: bounded memory (first, so no earlier stream has grown the heap already) ----
    console.log(`\n## streaming ${ROWS.toLocaleString()} rows over HTTP: a slow reader (${SLOW_READER_MBPS} MB/s), full speed, a client that disconnects`);
    await pool.close();
    // The process's first stream allocates the engine's caches, reader threads and their malloc arenas once
    // (~50 MB whatever the result's size); a short stream of the same query (a tenth of it) does that, so
    // the figures below are what a stream holds. Both are printed.
    const rssCold = rssOf(plane.pid);
    for (const accept of ['application/x-ndjson', 'application/vnd.apache.arrow.stream']) await readStream(url, { ...auth, 'x-tenant-id': TENANT }, `${STREAM_SQL} LIMIT ${ROWS / 10}`, accept);
    console.log(`warm-up (the first ${(ROWS / 10).toLocaleString()} rows in both formats): server RSS ${f(rssCold / 1e6, 0)} → ${f(rssOf(plane.pid) / 1e6, 0)} MB`);
    for (const [label, accept] of [
      ['NDJSON', 'application/x-ndjson'],
      ['Arrow IPC', 'application/vnd.apache.arrow.stream'],
    ] as const) {
      const r = await slowRead(plane.url('operation-node', '/query/execute'), { ...auth, 'x-tenant-id': TENANT }, STREAM_SQL, accept, plane.pid);
      const growth = (r.maxRss - r.rssBefore) / 1e6;
      console.log(
        `${label.padEnd(9)}: ${r.rows.toLocaleString()} rows in ${f(r.secs, 1)} s; server RSS ${f(r.rssBefore / 1e6, 0)} MB before, max ${f(r.maxRss / 1e6, 0)} MB while reading: growth ${f(growth, 1)} MB (goal < 100 MB) ${growth < 100 ? 'MET' : 'NOT MET'}`,
      );
    }
    // ---- streams: rate against the engine's, first byte ----
    const ratios = new Map<string, number>();
    for (const [label, accept, format] of [
      ['NDJSON', 'application/x-ndjson', 'JSONEachRow'],
      ['Arrow IPC', 'application/vnd.apache.arrow.stream', 'ArrowStream'],
    ] as const) {
      const runs: Array<{ secs: number; first: number; bytes: number; rows: number }> = [];
      for (let i = 0; i < STREAM_RUNS; i++) runs.push(await readStream(url, { ...auth, 'x-tenant-id': TENANT }, STREAM_SQL, accept));
      const best = runs.reduce((a, b) => (a.secs < b.secs ? a : b));
      const rate = best.rows / best.secs;
      const ratio = rate / engineRate.get(format)!;
      ratios.set(label, rate);
      const goal = format === 'JSONEachRow' ? 0.7 : 0.5;
      const firstP50 = median(runs.map((r) => r.first));
      console.log(
        `stream ${ROWS.toLocaleString()} rows as ${label.padEnd(9)}: ${Math.round(rate).toLocaleString()} rows/s = ${f(ratio)}× the engine's ${format} (goal ≥ ${goal}×) ${ratio >= goal ? 'MET' : 'NOT MET'}; ` +
          `first byte after ${f(firstP50)} ms (goal < 50 ms) ${firstP50 < 50 ? 'MET' : 'NOT MET'}; ${f(best.bytes / 1e6, 1)} MB in ${f(best.secs, 3)} s, best of ${STREAM_RUNS}` +
          (best.rows !== ROWS ? ` (got ${best.rows} rows!)` : ''),
      );
    }
    const arrowFaster = ratios.get('Arrow IPC')! > ratios.get('NDJSON')!;
    console.log(`Arrow IPC faster than NDJSON: ${arrowFaster ? 'yes' : 'no'} (goal: yes)`);

    // ---- a client that goes away: the engine query stops, the metric counts it ----
    const cut = await disconnectMidStream(plane, { ...auth, 'x-tenant-id': TENANT }, STREAM_SQL);
    console.log(`client gone after ${f(cut.afterMb, 1)} MB: query state ${cut.state} after ${f(cut.stoppedMs, 0)} ms, query_streams_cut_total ${cut.cutBefore} → ${cut.cutAfter}`);
    console.log(`(plane started and measured in ${f((performance.now() - t) / 1000, 1)} s; load average now ${loadavg()})`);
  } finally {
    await plane.cleanup();
    removeTempDir(dataDir);
  }
}

/**
 * What HTTP itself adds on this machine to a call that waits on another thread for `waitMs`: a bare
 * node:http server (its own process, no framework) whose handler runs crypto.pbkdf2 on the thread pool
 * for about as long, against the same pbkdf2 call in this process, call for call. Per wait, the added p50.
 */
async function httpFloor(waitsMs: number[]): Promise<number[]> {
  const { spawn } = await import('node:child_process');
  const { pbkdf2 } = await import('node:crypto');
  const work = (iterations: number) => new Promise((resolve) => pbkdf2('password', 'salt', iterations, 32, 'sha256', resolve));
  const server = spawn(
    process.execPath,
    [
      '-e',
      `const { pbkdf2 } = require('node:crypto');
       const s = require('node:http').createServer((req, res) => {
         const n = Number(req.url.slice(1));
         req.resume();
         req.on('end', () => pbkdf2('password', 'salt', n, 32, 'sha256', () => { res.setHeader('content-type', 'application/json'); res.end('{"rows":[]}'); }));
       });
       s.listen(0, '127.0.0.1', () => console.log(s.address().port));`,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  try {
    const port = await new Promise<number>((resolve) => server.stdout.once('data', (d: Buffer) => resolve(Number(d.toString().trim()))));
    // Iterations per ms of pbkdf2 here, so each wait matches a query's engine time.
    await work(20_000);
    const s = performance.now();
    await work(50_000);
    const perMs = 50_000 / (performance.now() - s);
    const pool = new Pool(`http://127.0.0.1:${port}`, { connections: 1 });
    const out: number[] = [];
    for (const waitMs of waitsMs) {
      const iterations = Math.max(1, Math.round(waitMs * perMs));
      const inProcess: number[] = [];
      const overHttp: number[] = [];
      for (let i = 0; i < ITER; i++) {
        let t = performance.now();
        await work(iterations);
        inProcess.push(performance.now() - t);
        t = performance.now();
        const res = await pool.request({ path: `/${iterations}`, method: 'POST', body: '{"sql":"SELECT 1"}', headers: { 'content-type': 'application/json' } });
        await res.body.arrayBuffer();
        overHttp.push(performance.now() - t);
      }
      out.push(pct(overHttp, 50) - pct(inProcess, 50));
    }
    await pool.close();
    return out;
  } finally {
    server.kill();
  }
}

/** `auth;dur=0.1, plan;dur=0.2` → { auth: 0.1, plan: 0.2 } */
function serverTiming(header: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const part of header.split(',')) {
    const [name, ...params] = part.trim().split(';');
    const dur = params.find((p) => p.startsWith('dur='));
    if (name && dur) out[name] = Number(dur.slice(4));
  }
  return out;
}

/**
 * Reads a whole stream as fast as it comes: seconds, first byte (ms), bytes, rows. The clock stops at the last
 * byte; the rows are counted after (lines of NDJSON, the Arrow stream's rows read back with apache-arrow), so
 * the client's own parsing, which shares the two cores with the engine, is not charged to the stream.
 */
async function readStream(url: string, auth: Record<string, string>, sql: string, accept: string) {
  const s = performance.now();
  const res = await request(url, { method: 'POST', headers: { ...auth, 'content-type': 'application/json', accept }, body: JSON.stringify({ sql }) });
  if (res.statusCode !== 200) throw new Error(`stream: HTTP ${res.statusCode} ${await res.body.text()}`);
  let first: number | undefined;
  let bytes = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of res.body as AsyncIterable<Buffer>) {
    first ??= performance.now() - s;
    bytes += chunk.length;
    chunks.push(chunk);
  }
  const secs = (performance.now() - s) / 1000;
  return { secs, first: first ?? 0, bytes, rows: await rowsOf(chunks, accept) };
}

async function rowsOf(chunks: Buffer[], accept: string): Promise<number> {
  if (accept.includes('ndjson')) {
    let lines = 0;
    for (const chunk of chunks) for (let at = chunk.indexOf(10); at !== -1; at = chunk.indexOf(10, at + 1)) lines++;
    return lines;
  }
  const { tableFromIPC } = await import('apache-arrow');
  return tableFromIPC(Buffer.concat(chunks)).numRows;
}

function rssOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return kb * 1024;
}

/** Reads a whole stream at SLOW_READER_MBPS, sampling the server's RSS. */
async function slowRead(url: string, auth: Record<string, string>, sql: string, accept: string, pid: number) {
  const rssBefore = rssOf(pid);
  let maxRss = rssBefore;
  const sampler = setInterval(() => (maxRss = Math.max(maxRss, rssOf(pid))), 50);
  const s = performance.now();
  const res = await request(url, { method: 'POST', headers: { ...auth, 'content-type': 'application/json', accept }, body: JSON.stringify({ sql }), highWaterMark: 64 * 1024 });
  let bytes = 0;
  const chunks: Buffer[] = [];
  const perTick = (SLOW_READER_MBPS * 1e6) / 20; // bytes per 50 ms
  let budget = perTick;
  for await (const chunk of res.body as AsyncIterable<Buffer>) {
    bytes += chunk.length;
    chunks.push(chunk);
    budget -= chunk.length;
    while (budget <= 0) {
      await new Promise((r) => setTimeout(r, 50));
      budget += perTick;
    }
  }
  clearInterval(sampler);
  maxRss = Math.max(maxRss, rssOf(pid));
  const secs = (performance.now() - s) / 1000;
  return { secs, bytes, rows: await rowsOf(chunks, accept), rssBefore, maxRss };
}

/** Starts an NDJSON stream, reads a few MB, drops the connection; then: the query's state and the cut-streams metric. */
async function disconnectMidStream(plane: Awaited<ReturnType<typeof startPlane>>, auth: Record<string, string>, sql: string) {
  const admin = await adminHeaders(plane);
  const metric = async () => {
    const text = await (await fetch(plane.url('monitoring', '/metrics'), { headers: admin })).text().catch(() => '');
    return [...text.matchAll(/^query_streams_cut_total\{[^}]*\} (\d+)/gm)].reduce((n, m) => n + Number(m[1]), 0);
  };
  const cutBefore = await metric();
  const ac = new AbortController();
  const res = await request(plane.url('operation-node', '/query/execute'), {
    method: 'POST',
    headers: { ...auth, 'content-type': 'application/json', accept: 'application/x-ndjson' },
    body: JSON.stringify({ sql }),
    signal: ac.signal,
  });
  const id = String(res.headers['x-query-id']);
  let bytes = 0;
  try {
    for await (const chunk of res.body as AsyncIterable<Buffer>) {
      bytes += chunk.length;
      if (bytes > 4e6) {
        ac.abort();
        break;
      }
    }
  } catch {
    // the abort
  }
  const s = performance.now();
  let state = 'running';
  while (state === 'running' && performance.now() - s < 5000) {
    await new Promise((r) => setTimeout(r, 10));
    const st = await fetch(plane.url('operation-node', `/query/status?id=${id}`), { headers: { ...auth } });
    state = ((await st.json()) as { state: string }).state;
  }
  return { afterMb: bytes / 1e6, state, stoppedMs: performance.now() - s, cutBefore, cutAfter: await metric() };
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
