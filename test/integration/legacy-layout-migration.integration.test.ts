// Data dirs of the old naming (every tenant table in the base database as
// `<tenant>__<table>`) on the embedded engine and on clickhouse-server:
// migrateLegacyLayout itself (moved, ambiguous, unknown, both layouts present,
// nothing moved on a refusal), then the real process: rows written before are
// found under the new names after a start that logs each move, and a data dir
// whose old table two tenants shared makes the process refuse to start with a
// message that names the table and what to do.
//
// The old layout is made the way it looked: tables created by the store, then
// renamed to `<base>.<tenant>__<table>` and the tenant databases dropped.
import assert from 'node:assert/strict';
import path from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { CatalogStore, type TableEntry } from '../../src/catalog/catalog-store.js';
import { StateStore } from '../../src/platform/state-store.js';
import type { ClickHouseEngine } from '../../src/storage/clickhouse/clickhouse-engine.js';
import { createClickHouseEngine } from '../../src/storage/clickhouse/create-engine.js';
import { BASE_DATABASE_TABLES, LegacyLayoutError, migrateLegacyLayout } from '../../src/storage/clickhouse/legacy-layout-migration.js';
import { quoteIdentifier } from '../../src/storage/clickhouse/sql-literal.js';
import { TenantTableStore, type StoredRecord } from '../../src/storage/clickhouse/tenant-table-store.js';
import { clickhouseLocation, legacyClickHouseTable, type TableRef } from '../../src/storage/physical-names.js';
import { startClickHouseServer } from '../helpers/clickhouse-server.js';
import { startPlane, tenantKeyHeaders, type RunningPlane } from '../helpers/control-plane-process.js';
import { makeTempDir, removeTempDir } from '../helpers/temp-dir.js';

const TS = Date.UTC(2026, 0, 15);

function captureLogger(): { logger: pino.Logger; lines: () => Array<Record<string, unknown>> } {
  const out: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      out.push(chunk.toString());
      done();
    },
  });
  return { logger: pino({ level: 'info' }, sink), lines: () => out.join('').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>) };
}

function entry(ref: TableRef): TableEntry {
  return { ...ref, columns: [{ name: 'n', type: 'Int64' }], rowCount: 0, bytes: 0, partitions: 0, minTsMs: null, maxTsMs: null, createdAt: 0, updatedAt: 0 };
}

const records = (ref: TableRef, n: number): StoredRecord[] =>
  Array.from({ length: n }, (_, i) => ({ dataId: `id-${i}`, tsMs: TS + i, lsn: i + 1, payload: { n: i, owner: `${ref.tenant}/${ref.table}` } }));

/** Moves (tenant, table)'s table to its old name in the base database; drops the tenant database once empty. */
async function toOldName(engine: ClickHouseEngine, ref: TableRef, oldName = legacyClickHouseTable(ref.tenant, ref.table)): Promise<void> {
  const loc = clickhouseLocation(engine.database, ref.tenant, ref.table);
  await engine.exec(`RENAME TABLE ${quoteIdentifier(loc.database)}.${quoteIdentifier(loc.table)} TO ${quoteIdentifier(engine.database)}.${quoteIdentifier(oldName)}`);
  const left = await engine.query(`SELECT name FROM system.tables WHERE database = '${loc.database}'`);
  if (left.length === 0) await engine.exec(`DROP DATABASE ${quoteIdentifier(loc.database)}`);
}

async function baseTables(engine: ClickHouseEngine): Promise<string[]> {
  // The product's own tables (the query log) live there too; they are not old tenant tables.
  return (await engine.query<{ name: string }>(`SELECT name FROM system.tables WHERE database = '${engine.database}' ORDER BY name`)).map((r) => r.name).filter((n) => !BASE_DATABASE_TABLES.has(n));
}

function legacyLayout(name: string, skip: string | false, makeEngine: (base: string) => ClickHouseEngine, planeEnv: () => Record<string, string>, dataDir: string): void {
  describe(`old table layout on start: ${name}`, { skip }, () => {
    describe('migrateLegacyLayout', () => {
      let engine: ClickHouseEngine;
      let state: StateStore;
      let catalog: CatalogStore;
      let store: TenantTableStore;
      const stateDir = makeTempDir('legacy-state');

      before(async () => {
        engine = makeEngine('legacy_cases');
        await engine.open();
        state = await StateStore.open(stateDir);
        catalog = new CatalogStore(state);
        store = new TenantTableStore(engine);
      });
      after(async () => {
        await engine?.close();
        await state?.close();
        removeTempDir(stateDir);
      });

      const setUp = async (refs: Array<TableRef & { rows: number }>) => {
        for (const r of refs) {
          // A fresh store: toOldName drops databases behind the back of one that remembers them.
          await new TenantTableStore(engine).insertIdempotent(r.tenant, r.table, entry(r).columns, records(r, r.rows));
          await catalog.putTable(entry(r));
          await toOldName(engine, r);
        }
      };

      it('moves every unambiguous old table to its tenant database, one log line each, rows intact', async () => {
        const refs = [
          { tenant: 'acme', table: 'events', rows: 3 },
          { tenant: 'a-b', table: 'clicks', rows: 2 },
          { tenant: 'acme', table: 'x__y', rows: 4 },
        ];
        await setUp(refs);
        // A table of the product itself (no old separator) is not the migration's business.
        await engine.exec(`CREATE TABLE ${quoteIdentifier(engine.database)}.product_own (x UInt8) ENGINE = Memory`);
        assert.deepEqual(await baseTables(engine), ['a-b__clicks', 'acme__events', 'acme__x__y', 'product_own']);
        const log = captureLogger();
        const moved = await migrateLegacyLayout({ engine, catalogTables: () => catalog.listTables(), logger: log.logger });
        assert.deepEqual(moved.map((m) => [m.tenant, m.table, m.from.table, m.to.database, m.to.table]).sort(), [
          ['a-b', 'clicks', 'a-b__clicks', 'legacy_cases__a-b', 'clicks'],
          ['acme', 'events', 'acme__events', 'legacy_cases__acme', 'events'],
          ['acme', 'x__y', 'acme__x__y', 'legacy_cases__acme', 'x__y'],
        ]);
        assert.deepEqual(await baseTables(engine), ['product_own']);
        const lines = log.lines().filter((l) => String(l.msg).startsWith('migrated ClickHouse table'));
        assert.equal(lines.length, 3);
        for (const r of refs) {
          assert.deepEqual(await store.read(r.tenant, r.table, { limit: 10 }), records(r, r.rows));
          assert.ok(lines.some((l) => l.tenant === r.tenant && l.table === r.table && String(l.from).includes(legacyClickHouseTable(r.tenant, r.table))));
        }
        // A second start finds nothing to do.
        assert.deepEqual(await migrateLegacyLayout({ engine, catalogTables: () => catalog.listTables(), logger: log.logger }), []);
        await engine.exec(`DROP TABLE ${quoteIdentifier(engine.database)}.product_own`);
      });

      it('refuses an old name two catalogued tables share, an unknown one and a table in both layouts, and moves nothing', async () => {
        // (acme__x, y) and (acme, x__y) were one table `acme__x__y`: its rows may be mixed.
        await catalog.putTable(entry({ tenant: 'acme__x', table: 'y' }));
        await setUp([{ tenant: 'globex', table: 'events', rows: 2 }]);
        const ambiguous = { tenant: 'acme', table: 'x__y' };
        await toOldName(engine, ambiguous);
        // Left over by someone: named like a tenant table, but no catalogued table has that name.
        await engine.exec(`CREATE TABLE ${quoteIdentifier(engine.database)}.\`stray__thing\` (x UInt8) ENGINE = Memory`);
        // Both layouts hold (a-b, clicks): the old table was copied back next to the new one.
        await engine.exec(
          `CREATE TABLE ${quoteIdentifier(engine.database)}.\`a-b__clicks\` AS ${quoteIdentifier('legacy_cases__a-b')}.clicks`,
        );
        const before = await baseTables(engine);
        const log = captureLogger();
        const err = await migrateLegacyLayout({ engine, catalogTables: () => catalog.listTables(), logger: log.logger }).then(
          () => assert.fail('expected a refusal'),
          (e: unknown) => e,
        );
        assert.ok(err instanceof LegacyLayoutError, String(err));
        assert.equal(err.problems.length, 3, err.message);
        assert.match(err.message, /refusing to start/);
        assert.match(err.message, /`legacy_cases`\.`acme__x__y` is the old name of 2 catalogued tables \(tenant 'acme' table 'x__y', tenant 'acme__x' table 'y'\)/);
        assert.match(err.message, /PARQUET_DIR\/acme\/x__y, PARQUET_DIR\/acme__x\/y/);
        assert.match(err.message, /`legacy_cases`\.`stray__thing` is named like an old tenant table .* drop it \(DROP TABLE `legacy_cases`\.`stray__thing`\)/);
        assert.match(err.message, /`legacy_cases`\.`a-b__clicks` \(old naming\) and table `legacy_cases__a-b`\.`clicks` \(new naming\) both hold tenant 'a-b' table 'clicks'/);
        // globex's table could have moved, but a refusal moves nothing.
        assert.deepEqual(await baseTables(engine), before);
        assert.ok(before.includes('globex__events'));
        assert.equal(log.lines().length, 0);
      });
    });

    describe('the process', () => {
      const first: Array<TableRef & { rows: number }> = [
        { tenant: 'acme', table: 'events', rows: 4 },
        { tenant: 'globex-1', table: 'clicks', rows: 3 },
      ];
      const colliding: Array<TableRef & { rows: number }> = [
        { tenant: 'acme__x', table: 'y', rows: 2 },
        { tenant: 'acme', table: 'x__y', rows: 5 },
      ];
      let plane: RunningPlane | undefined;
      let keys: Map<string, Record<string, string>>;

      const start = async (opts: { waitForReady?: boolean } = {}) => {
        plane = await startPlane({ dataDir, env: { APPLIER_INTERVAL_MS: '20', ...planeEnv() }, ...opts });
        return plane;
      };
      const stop = async () => {
        if (plane) assert.equal(await plane.stop(), 0, plane.logs().slice(-3000));
        plane = undefined;
      };
      const withEngine = async (fn: (engine: ClickHouseEngine) => Promise<void>) => {
        const engine = makeEngine(planeEnv().CLICKHOUSE_DATABASE ?? 'control_plane');
        await engine.open();
        try {
          await fn(engine);
        } finally {
          await engine.close();
        }
      };
      const ingestAndWait = async (p: RunningPlane, refs: Array<TableRef & { rows: number }>) => {
        keys = keys ?? new Map();
        for (const r of refs) {
          if (!keys.has(r.tenant)) keys.set(r.tenant, (await tenantKeyHeaders(p, r.tenant)).headers);
          const rows = Array.from({ length: r.rows }, (_, i) => ({ data_id: `id-${i}`, timestamp: TS + i, payload: { owner: `${r.tenant}/${r.table}`, n: i } }));
          const res = await fetch(p.url('tenant-node', `/data?table=${r.table}`), { method: 'POST', headers: { ...keys.get(r.tenant)!, 'content-type': 'application/json' }, body: JSON.stringify(rows) });
          assert.equal(res.status, 201, await res.text());
        }
        for (const r of refs) await waitForRows(p, r);
      };
      const waitForRows = async (p: RunningPlane, r: TableRef & { rows: number }) => {
        for (let i = 0; ; i++) {
          const res = await fetch(p.url('operation-node', '/query/execute'), {
            method: 'POST',
            headers: { ...keys.get(r.tenant)!, 'content-type': 'application/json' },
            body: JSON.stringify({ sql: `SELECT count(*) AS c FROM ${r.table} WHERE owner = '${r.tenant}/${r.table}'` }),
          });
          const body = (await res.json()) as { rows?: Array<{ c: number }> };
          if (res.status === 200 && body.rows?.[0]?.c === r.rows) return;
          assert.ok(i < 400, `rows of ${r.tenant}/${r.table} not found: ${res.status} ${JSON.stringify(body)}`);
          await new Promise((res2) => setTimeout(res2, 50));
        }
      };

      after(async () => {
        await plane?.cleanup();
        removeTempDir(dataDir);
      });

      it('migrates an old-layout data dir on start, logs each table, and finds the rows under the new names', async () => {
        await ingestAndWait(await start(), first);
        await stop();
        await withEngine(async (engine) => {
          for (const r of first) await toOldName(engine, r);
          assert.deepEqual(await baseTables(engine), ['acme__events', 'globex-1__clicks']);
        });

        const p = await start();
        for (const r of first) {
          await waitForRows(p, r);
          const res = await fetch(p.url('tenant-node', `/data?table=${r.table}`), { headers: keys.get(r.tenant)! });
          const body = (await res.json()) as { count: number; records: Array<{ payload: { owner: string } }> };
          assert.equal(body.count, r.rows);
          assert.ok(body.records.every((x) => x.payload.owner === `${r.tenant}/${r.table}`));
        }
        const moves = p
          .logs()
          .split('\n')
          .filter((l) => l.includes('migrated ClickHouse table'))
          .map((l) => JSON.parse(l) as Record<string, unknown>);
        assert.deepEqual(moves.map((m) => [m.tenant, m.table]).sort(), [['acme', 'events'], ['globex-1', 'clicks']]);
        // New writes land in the migrated tables.
        await ingestAndWait(p, colliding);
        await stop();
        await withEngine(async (engine) => {
          assert.deepEqual(await baseTables(engine), []);
        });
      });

      it('refuses to start when an old table held two tenants’ rows, naming it and what to do', async () => {
        // The old naming stored both colliding pairs in `acme__x__y`.
        await withEngine(async (engine) => {
          await toOldName(engine, colliding[0]!);
          const loc = clickhouseLocation(engine.database, colliding[1]!.tenant, colliding[1]!.table);
          await engine.exec(`INSERT INTO ${quoteIdentifier(engine.database)}.\`acme__x__y\` SELECT * FROM ${quoteIdentifier(loc.database)}.${quoteIdentifier(loc.table)}`);
          await engine.exec(`DROP TABLE ${quoteIdentifier(loc.database)}.${quoteIdentifier(loc.table)}`);
        });
        const p = await start({ waitForReady: false });
        const code = await p.exited;
        plane = undefined;
        assert.equal(code, 1, p.logs().slice(-3000));
        const base = planeEnv().CLICKHOUSE_DATABASE ?? 'control_plane';
        assert.match(p.logs(), new RegExp(`boot failed: refusing to start: 1 ClickHouse table\\(s\\) of the old naming cannot be migrated`));
        assert.match(p.logs(), new RegExp(`\`${base}\`\\.\`acme__x__y\` is the old name of 2 catalogued tables \\(tenant 'acme' table 'x__y', tenant 'acme__x' table 'y'\\)`));
        assert.match(p.logs(), /Move it out of the base database \(RENAME TABLE/);
        await p.cleanup();
      });
    });
  });
}

// libchdb binds one data dir per process: the module cases and the process share the plane's.
const chdbDataDir = makeTempDir('legacy-layout-chdb');
legacyLayout(
  'embedded (chdb)',
  false,
  (base) => createClickHouseEngine({ dataDir: path.join(chdbDataDir, 'chdb'), database: base }),
  () => ({}),
  chdbDataDir,
);

const server = await startClickHouseServer();
if ('skipped' in server) console.log(`# clickhouse-server legacy layout skipped: ${server.skipped}`);
else after(() => server.stop());
const serverUrl = 'url' in server ? server.url : '';
legacyLayout(
  'clickhouse-server',
  'skipped' in server ? server.skipped : false,
  (base) => createClickHouseEngine({ url: serverUrl, dataDir: '/nonexistent', database: base }),
  () => ({ CLICKHOUSE_URL: serverUrl, CLICKHOUSE_DATABASE: 'cp_legacy' }),
  makeTempDir('legacy-layout-server'),
);
