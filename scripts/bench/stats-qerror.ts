// Estimates of filtered scans on a skewed table, three ways side by side:
// with no statistics (the optimizer's defaults), with the control plane's own
// statistics (distinct count, nulls, min/max: uniform assumptions), and with
// those plus a worker's column-stats result (most common values, equi-depth
// histograms) computed by the reference Python worker from a sample, as the
// column-stats job does. Prints each query's q-error, then median and p90 of
// each. Part of `npm run bench:query` (its own section), or alone:
//   node --import tsx scripts/bench/stats-qerror.ts [--rows 200000]
import { spawn } from 'node:child_process';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import pino, { type Logger } from 'pino';
import { CatalogStore, type TableEntry } from '../../src/catalog/catalog-store.js';
import { columnStatsResult, CatalogColumnStatsSink } from '../../src/catalog/column-stats-sink.js';
import { StateStore } from '../../src/platform/state-store.js';
import { CboConfigStore } from '../../src/query/cbo/cbo-config.js';
import { optimize } from '../../src/query/cbo/optimizer.js';
import { ColumnStatsStore, type TableStats } from '../../src/query/column-stats.js';
import { QueryPlanner } from '../../src/query/query-planner.js';
import { toApiRecord } from '../../src/records/record-reader.js';
import type { ClickHouseEngine } from '../../src/storage/clickhouse/clickhouse-engine.js';
import { createClickHouseEngine } from '../../src/storage/clickhouse/create-engine.js';
import { TenantTableStore } from '../../src/storage/clickhouse/tenant-table-store.js';
import type { ColumnSpec } from '../../src/storage/record-types.js';
import { REPO_ROOT } from '../../test/helpers/control-plane-process.js';
import { makeTempDir, removeTempDir } from '../../test/helpers/temp-dir.js';

const TENANT = 'skewed';
const TABLE = 'events';
const SAMPLE_ROWS = 10_000;
const COLUMNS: ColumnSpec[] = [
  { name: 'country', type: 'String' },
  { name: 'amount', type: 'Float64' },
  { name: 'status', type: 'String' },
  { name: 'paid', type: 'Bool' },
];

export interface StatsBenchDeps {
  engine: ClickHouseEngine;
  tables: TenantTableStore;
  catalog: CatalogStore;
  logger: Logger;
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};
const qError = (est: number, actual: number) => Math.max(Math.max(est, 1) / Math.max(actual, 1), Math.max(actual, 1) / Math.max(est, 1));

/** The worker's column-stats computation (services/column_stats.py) on NDJSON records. */
async function workerStats(ndjson: string, tableRows: number): Promise<unknown> {
  const child = spawn('python3', ['services/worker.py', '--column-stats-from', '-', '--table-rows', String(tableRows)], { cwd: REPO_ROOT, stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  child.stdin.end(ndjson);
  const code = await exited;
  if (code !== 0) throw new Error(`python3 services/worker.py --column-stats-from exited ${code}`);
  return JSON.parse(out);
}

/** Loads the skewed table, samples it as a column-stats job does, and prints the q-errors of three kinds of estimates. */
export async function benchWorkerStats(deps: StatsBenchDeps, rows: number): Promise<void> {
  const { engine, tables, catalog } = deps;
  console.log(`\n## estimates on a skewed table (${rows.toLocaleString()} rows): no statistics vs the plane's vs with a worker's (sample of ${SAMPLE_ROWS.toLocaleString()})`);
  await tables.ensureTable(TENANT, TABLE, COLUMNS);
  const name = tables.tableName(TENANT, TABLE);
  // u1..u4: independent uniforms in [0, 1) from one hash per row. country: 40 values, Zipf-like (the first
  // takes 29 %); amount: exponential with a long tail; status: 90/8/2 %; paid: 95 % true.
  const u = (k: number) => `((sipHash64(number, ${k}) % 1000000) / 1000000.)`;
  await engine.exec(
    `INSERT INTO ${name} (data_id, ts_ms, date, lsn, payload, country, amount, status, paid) ` +
      `SELECT concat('s', toString(number)), toInt64(1780000000000 + number * 1000) AS t, toDate(toDateTime(intDiv(t, 1000), 'UTC')), number + 1, ` +
      // The payload JSON holds the fields as ingest keeps them: it is what a worker's sample reads.
      `concat('{"country":"', c, '","amount":', toString(a), ',"status":"', s, '","paid":', if(p = 1, 'true', 'false'), '}'), ` +
      `concat('c', toString(toUInt32(floor(40 * pow(${u(1)}, 3))))) AS c, ` +
      `round(-log(1 - ${u(2)}) * 20 * if(${u(3)} < 0.01, 100, 1), 2) AS a, ` +
      `multiIf(${u(4)} < 0.9, 'ok', ${u(4)} < 0.98, 'retry', 'failed') AS s, ` +
      `toUInt8(${u(5)} < 0.95) AS p ` +
      `FROM numbers(${rows})`,
  );
  const now = Date.now();
  const entry: TableEntry = { tenant: TENANT, table: TABLE, columns: COLUMNS, rowCount: rows, bytes: 0, partitions: 0, minTsMs: 1_780_000_000_000, maxTsMs: 1_780_000_000_000 + (rows - 1) * 1000, createdAt: now, updatedAt: now };
  await catalog.commitBatch({ tables: [entry], parts: [], checkpoint: 1 });

  const queries = [
    ...['c0', 'c1', 'c3', 'c10', 'c25', 'c39'].map((c) => `country = '${c}'`),
    "country IN ('c0', 'c1')",
    "country IN ('c20', 'c30', 'c38')",
    "country != 'c0'",
    ...[1, 5, 20, 60, 200, 1000].map((x) => `amount < ${x}`),
    'amount >= 100',
    'amount BETWEEN 10 AND 30',
    "status = 'ok'",
    "status = 'retry'",
    "status = 'failed'",
    "status != 'ok'",
    'paid = false',
    "country = 'c0' AND status = 'failed'",
  ].map((where) => `SELECT data_id FROM ${TABLE} WHERE ${where}`);

  // Three sets of statistics for the same table.
  const columnStats = new ColumnStatsStore({ catalog: () => catalog, engine: () => engine, tables: () => tables, logger: deps.logger });
  const own = await columnStats.refresh(entry);
  const sample = await tables.sample(TENANT, TABLE, SAMPLE_ROWS);
  const t0 = performance.now();
  const result = columnStatsResult.parse(await workerStats(sample.map((r) => JSON.stringify(toApiRecord(r))).join('\n'), rows));
  const workerMs = performance.now() - t0;
  await new CatalogColumnStatsSink(catalog).write(TENANT, TABLE, { ...result, at: Date.now() });
  columnStats.forgetWorkerStats(TENANT, TABLE);
  const withWorker = await columnStats.get(TENANT, TABLE);
  const modes: Array<[string, TableStats | undefined]> = [
    ['no stats', undefined],
    ["plane's", own],
    ['+ worker', withWorker],
  ];

  const planner = new QueryPlanner({ catalog: () => catalog, columnStats, config: new CboConfigStore(() => catalog), engineKind: () => engine.kind });
  const weights = (await new CboConfigStore(() => catalog).get()).weights;
  const errors: number[][] = modes.map(() => []);
  console.log(`worker statistics of ${sample.length.toLocaleString()} sampled rows computed in ${(workerMs / 1000).toFixed(2)} s (python3, incl. start)`);
  console.log(`${'filter'.padEnd(38)} | ${'actual'.padStart(7)} | ${modes.map(([m]) => `${m} est (q)`.padStart(18)).join(' | ')}`);
  for (const sql of queries) {
    const counted = await engine.query<{ n: string | number }>(`SELECT count() AS n FROM ${name} WHERE ${sql.split(' WHERE ')[1]!.replace(/paid = false/, 'paid = 0')}`);
    const actual = Number(counted[0]?.n ?? 0);
    const { bound } = await planner.bind(TENANT, { sql });
    const cells = modes.map(([, stats], i) => {
      const plan = optimize(bound, { parts: new Map([[0, []]]), stats: new Map([[0, stats]]), engineKind: engine.kind, weights });
      const q = qError(plan.estRows, actual);
      errors[i]!.push(q);
      return `${plan.estRows.toFixed(0).padStart(8)} (${q.toFixed(2).padStart(6)})`.padStart(18);
    });
    console.log(`${sql.split(' WHERE ')[1]!.padEnd(38)} | ${String(actual).padStart(7)} | ${cells.join(' | ')}`);
  }
  const f = (x: number) => x.toFixed(2);
  console.log(`q-error of ${queries.length} filtered scans: ${modes.map(([m], i) => `${m}: median ${f(pct(errors[i]!, 50))}, p90 ${f(pct(errors[i]!, 90))}`).join(' | ')}`);
}

// Alone: its own data dir, embedded engine and state store.
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const i = process.argv.indexOf('--rows');
  const rows = i > 0 ? Number(process.argv[i + 1]) : 200_000;
  const dataDir = makeTempDir('bench-stats');
  const state = await StateStore.open(path.join(dataDir, 'state'));
  const engine = createClickHouseEngine({ dataDir: path.join(dataDir, 'chdb'), database: 'control_plane' });
  await engine.open();
  try {
    await benchWorkerStats({ engine, tables: new TenantTableStore(engine), catalog: new CatalogStore(state), logger: pino({ level: 'silent' }) }, rows);
  } finally {
    await engine.close();
    await state.close();
    removeTempDir(dataDir);
  }
}
