// One contract, run against both engines: embedded chdb (26.x) and a real
// ClickHouse server (Debian's 18.16) started for this file. Anything that
// passes here behaves the same whichever backend a deployment picks.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { AppError, ErrorCode } from '../../src/platform/errors.js';
import type { ClickHouseEngine } from '../../src/storage/clickhouse/clickhouse-engine.js';
import { createClickHouseEngine } from '../../src/storage/clickhouse/create-engine.js';
import { quoteIdentifier, quoteString } from '../../src/storage/clickhouse/sql-literal.js';
import { tableRowLine } from '../../src/storage/clickhouse/tenant-table-schema.js';
import { TenantTableStore, type StoredRecord } from '../../src/storage/clickhouse/tenant-table-store.js';
import { startClickHouseServer } from '../helpers/clickhouse-server.js';
import { HOSTILE_STRINGS } from '../helpers/hostile-strings.js';

const HOSTILE = HOSTILE_STRINGS;

function assertStorageFailure(err: unknown): true {
  assert.ok(err instanceof AppError, `expected AppError, got ${String(err)}`);
  assert.equal(err.code, ErrorCode.StorageFailure);
  assert.ok(err.message.length > 0);
  return true;
}

async function collectRecords(it: AsyncIterable<StoredRecord>): Promise<StoredRecord[]> {
  const out: StoredRecord[] = [];
  for await (const r of it) out.push(r);
  return out;
}

async function collect(it: AsyncIterable<Record<string, unknown>>): Promise<Record<string, unknown>[]> {
  const out: Record<string, unknown>[] = [];
  for await (const r of it) out.push(r);
  return out;
}

function contract(name: string, skip: string | false, makeEngine: () => ClickHouseEngine): void {
  describe(`ClickHouse engine contract: ${name}`, { skip }, () => {
    let engine: ClickHouseEngine;
    const db = () => quoteIdentifier(engine.database);

    before(async () => {
      engine = makeEngine();
      await engine.open();
    });
    after(async () => {
      await engine?.close();
    });

    it('opens idempotently and pings', async () => {
      await engine.open();
      await engine.ping();
      const [row] = await engine.query<{ d: string }>('SELECT currentDatabase() AS d');
      assert.equal(row?.d, engine.database);
    });

    it('runs DDL and returns typed rows; 64-bit integers are decimal strings', async () => {
      await engine.exec(`CREATE TABLE IF NOT EXISTS ${db()}.types (k String, n Int32, f Float64) ENGINE = MergeTree ORDER BY k`);
      const rows = await engine.query(
        'SELECT toUInt64(18446744073709551615) AS u64, toInt64(-9223372036854775808) AS i64, ' +
          "toInt32(-5) AS i32, toUInt8(1) AS u8, toFloat64(0.5) AS f, 'x' AS s, count() AS c, toDate('2024-02-29') AS d " +
          'FROM system.one',
      );
      assert.deepEqual(rows, [
        { u64: '18446744073709551615', i64: '-9223372036854775808', i32: -5, u8: 1, f: 0.5, s: 'x', c: '1', d: '2024-02-29' },
      ]);
    });

    it('streams 100k rows in order without buffering the whole result', async () => {
      let n = 0;
      let expected = 0;
      for await (const row of engine.queryStream('SELECT number FROM system.numbers LIMIT 100000')) {
        assert.equal(row.number, String(expected++));
        n++;
      }
      assert.equal(n, 100_000);
    });

    it('stops a stream early on break and stays usable', async () => {
      let n = 0;
      for await (const row of engine.queryStream('SELECT number FROM numbers(1000000)')) {
        void row;
        if (++n === 10) break;
      }
      assert.equal(n, 10);
      assert.deepEqual(await engine.query('SELECT 1 AS x'), [{ x: 1 }]);
    });

    it('a query may run while a stream is open', async () => {
      const it = engine.queryStream('SELECT number FROM numbers(200000)')[Symbol.asyncIterator]();
      const first = await it.next();
      assert.equal(first.value?.number, '0');
      assert.deepEqual(await engine.query('SELECT 2 AS x'), [{ x: 2 }]);
      let n = 1;
      for (let r = await it.next(); !r.done; r = await it.next()) n++;
      assert.equal(n, 200_000);
    });

    it('rejects on abort, for query and stream', async () => {
      const slow = 'SELECT count() AS c FROM numbers(2000000000) WHERE sipHash64(number) % 7 = 1';
      const ac = new AbortController();
      const p = engine.query(slow, { signal: ac.signal });
      setTimeout(() => ac.abort(), 50);
      await assert.rejects(p, (err: Error) => err.name === 'AbortError');

      const pre = AbortSignal.abort();
      await assert.rejects(engine.query('SELECT 1', { signal: pre }), (err: Error) => err.name === 'AbortError');

      const ac2 = new AbortController();
      await assert.rejects(
        (async () => {
          let n = 0;
          for await (const row of engine.queryStream('SELECT number FROM numbers(100000000)', { signal: ac2.signal })) {
            void row;
            if (++n === 1000) ac2.abort();
          }
        })(),
        (err: Error) => err.name === 'AbortError',
      );
      await engine.ping();
    });

    it('turns engine errors into storage failures', async () => {
      await assert.rejects(engine.query('SELEC 1'), assertStorageFailure);
      await assert.rejects(engine.exec('DROP TABLE no_such_db_x.no_such_table'), assertStorageFailure);
      await assert.rejects(collect(engine.queryStream('SELECT * FROM no_such_table_x')), assertStorageFailure);
      await assert.rejects(
        engine.insertJsonLines(`${db()}.types`, JSON.stringify({ k: 'a', n: 'not a number', f: 1 })),
        assertStorageFailure,
      );
      await engine.ping();
    });

    it('inserts JSON lines into a quoted table name', async () => {
      const t = `${db()}.${quoteIdentifier('odd-name`x')}`;
      await engine.exec(`CREATE TABLE IF NOT EXISTS ${t} (k String, v Nullable(Int64), b UInt8) ENGINE = MergeTree ORDER BY k`);
      await engine.insertJsonLines(t, [JSON.stringify({ k: 'a', v: 1, b: 1 }), JSON.stringify({ k: 'b', v: null, b: 0 })].join('\n'));
      await engine.insertJsonLines(t, '');
      assert.deepEqual(await engine.query(`SELECT k, v, b FROM ${t} ORDER BY k`), [
        { k: 'a', v: '1', b: 1 },
        { k: 'b', v: null, b: 0 },
      ]);
      await engine.exec(`DROP TABLE ${t}`);
    });

    it('round-trips hostile strings as literal, inserted value and column name', async () => {
      const t = `${db()}.hostile`;
      await engine.exec(`CREATE TABLE IF NOT EXISTS ${t} (i UInt32, s String) ENGINE = MergeTree ORDER BY i`);
      await engine.insertJsonLines(t, HOSTILE.map((s, i) => JSON.stringify({ i, s })).join('\n'));
      const stored = await engine.query<{ i: number; s: string }>(`SELECT i, s FROM ${t} ORDER BY i`);
      for (const [i, s] of HOSTILE.entries()) {
        const label = JSON.stringify(s.slice(0, 30));
        const [lit] = await engine.query<{ v: string }>(`SELECT ${quoteString(s)} AS v`);
        assert.equal(lit?.v, s, `literal ${label}`);
        assert.equal(stored[i]?.s, s, `inserted ${label}`);
        const [byLiteral] = await engine.query<{ c: string }>(`SELECT count() AS c FROM ${t} WHERE s = ${quoteString(s)}`);
        assert.equal(byLiteral?.c, '1', `WHERE = literal ${label}`);
        if (s.length > 0 && !s.includes('\0')) {
          const [col] = await engine.query(`SELECT 1 AS ${quoteIdentifier(s)}`);
          assert.deepEqual(Object.keys(col ?? {}), [s], `identifier ${label}`);
        }
      }
      await engine.exec(`DROP TABLE ${t}`);
    });

    describe('TenantTableStore', () => {
      let store: TenantTableStore;
      const tenant = 'acme-1';
      const table = 'events';
      const base = Date.UTC(2024, 0, 31, 23, 0, 0);
      const rec = (i: number, extra: Record<string, unknown> = {}): StoredRecord => ({
        dataId: `id-${i}`,
        tsMs: base + i * 3_600_000, // crosses a day and a month boundary
        lsn: 100 + i,
        payload: { n: i, name: `rec ${i}`, ok: i % 2 === 0, ...extra },
      });

      before(async () => {
        store = new TenantTableStore(engine);
        await store.dropTable(tenant, table);
      });

      it('names tables in the tenant’s own database, quoted', () => {
        assert.equal(store.tableName(tenant, table), `${quoteIdentifier(`${engine.database}__acme-1`)}.\`events\``);
        assert.throws(() => store.tableName('Bad Tenant', table), AppError);
      });

      it('reads an unknown table, and a tenant without a database yet, as empty', async () => {
        assert.equal(await store.count(tenant, 'never'), 0);
        assert.deepEqual(await store.read(tenant, 'never', { limit: 10 }), []);
        for (const t of [tenant, 'no-db-yet']) {
          assert.equal(await store.count(t, 'never'), 0);
          assert.equal(await store.countDistinctIds(t, 'never'), 0);
          assert.deepEqual(await store.read(t, 'never', { limit: 10 }), []);
          assert.deepEqual(await collectRecords(store.stream(t, 'never', { limit: 10 })), []);
          assert.deepEqual(await store.existingIds(t, 'never', ['id-1']), new Set());
          await store.dropTable(t, 'never');
        }
      });

      it('keeps pairs apart that the old `tenant__table` naming joined', async () => {
        const cols = [{ name: 'n', type: 'Int64' as const }];
        const pairs = [
          { tenant: 'acme__x', table: 'y' },
          { tenant: 'acme', table: 'x__y' },
          { tenant: 'a-b', table: 'events' },
          { tenant: 'a_b', table: 'events' },
        ];
        // The same data_ids under every pair, each with its own payload.
        const own = (p: (typeof pairs)[number], i: number): StoredRecord => ({ dataId: `same-${i}`, tsMs: base, lsn: 500 + i, payload: { n: i, owner: `${p.tenant}/${p.table}` } });
        for (const p of pairs) await store.dropTable(p.tenant, p.table);
        for (const p of pairs) assert.deepEqual(await store.insertIdempotent(p.tenant, p.table, cols, [own(p, 0), own(p, 1)]), { inserted: 2, skipped: 0 });
        for (const p of pairs) {
          assert.deepEqual(await store.read(p.tenant, p.table, { limit: 10 }), [own(p, 0), own(p, 1)]);
          assert.equal(await store.count(p.tenant, p.table), 2);
        }
        const rows = await engine.query<{ database: string; name: string }>(
          "SELECT database, name FROM system.tables WHERE name IN ('y', 'x__y', 'events') ORDER BY database, name",
        );
        assert.deepEqual(rows.filter((r) => r.database.startsWith(`${engine.database}__`)), [
          { database: `${engine.database}__a-b`, name: 'events' },
          { database: `${engine.database}__a_b`, name: 'events' },
          { database: `${engine.database}__acme`, name: 'x__y' },
          { database: `${engine.database}__acme__x`, name: 'y' },
        ]);
        for (const p of pairs) await store.dropTable(p.tenant, p.table);
      });

      it('creates the longest names on this engine', async () => {
        // '-' is 3 bytes in ClickHouse's file names: 63 dashed characters are the longest names there are,
        // and 22 dashes the most a readable (not packed) name has.
        const longest: Array<[string, string]> = [
          [`a${'-'.repeat(62)}`, `b${'-'.repeat(62)}`],
          [`c${'-'.repeat(22)}`, `d${'-'.repeat(22)}`],
          [`e${'_-'.repeat(31)}`, 'f'.repeat(63)],
        ];
        const r: StoredRecord = { dataId: 'x', tsMs: base, lsn: 1, payload: {} };
        for (const [t, tb] of longest) {
          await store.insertIdempotent(t, tb, [{ name: 'n', type: 'Int64' }], [r]);
          assert.deepEqual(await store.read(t, tb, { limit: 2 }), [r]);
          await store.dropTable(t, tb);
        }
      });

      it('inserts idempotently across overlapping batches and duplicates within a batch', async () => {
        const cols = [{ name: 'n', type: 'Int64' as const }];
        const first = await store.insertIdempotent(tenant, table, cols, [rec(0), rec(1), rec(2), rec(1, { dup: true })]);
        assert.deepEqual(first, { inserted: 3, skipped: 1 });
        const second = await store.insertIdempotent(tenant, table, cols, [rec(1), rec(2), rec(3), rec(4)]);
        assert.deepEqual(second, { inserted: 2, skipped: 2 });
        const replay = await store.insertIdempotent(tenant, table, cols, [rec(0), rec(1), rec(2), rec(3), rec(4)]);
        assert.deepEqual(replay, { inserted: 0, skipped: 5 });
        assert.equal(await store.count(tenant, table), 5);
        assert.equal(await store.countDistinctIds(tenant, table), 5);
        // First occurrence won: the duplicate's extra field never landed.
        const [r1] = await store.read(tenant, table, { dataId: 'id-1', limit: 10 });
        assert.deepEqual(r1, rec(1));
      });

      it('inserts pre-rendered rows and finds the ids a table holds', async () => {
        const cols = [{ name: 'n', type: 'Int64' as const }];
        const lines = 'lines';
        assert.deepEqual(await store.existingIds(tenant, lines, ['id-9']), new Set());
        await store.ensureTable(tenant, lines, cols);
        await store.insertLines(tenant, lines, [rec(9), rec(10)].map((r) => tableRowLine(r, cols)).join('\n'));
        assert.deepEqual(await store.existingIds(tenant, lines, ['id-1', 'id-9', 'id-10', 'id-11']), new Set(['id-9', 'id-10']));
        assert.deepEqual(await store.read(tenant, lines, { limit: 10 }), [rec(9), rec(10)]);
        await store.dropTable(tenant, lines);
      });

      it('evolves the schema by adding columns later', async () => {
        const cols = [
          { name: 'n', type: 'Int64' as const },
          { name: 'name', type: 'String' as const },
          { name: 'ok', type: 'Bool' as const },
          { name: 'score', type: 'Float64' as const },
        ];
        const res = await store.insertIdempotent(tenant, table, cols, [rec(5, { score: 2.5 }), rec(6, { score: 'bad' })]);
        assert.deepEqual(res, { inserted: 2, skipped: 0 });
        // A second store instance (cold cache) sees the same columns.
        await new TenantTableStore(engine).ensureTable(tenant, table, cols);
        const rows = await engine.query(
          `SELECT data_id, n, name, ok, score, date FROM ${store.tableName(tenant, table)} ORDER BY lsn`,
        );
        assert.deepEqual(rows.at(0), { data_id: 'id-0', n: '0', name: null, ok: null, score: null, date: '2024-01-31' });
        assert.deepEqual(rows.at(-2), { data_id: 'id-5', n: '5', name: 'rec 5', ok: 0, score: 2.5, date: '2024-02-01' });
        // A mistyped value becomes NULL in its column; the payload keeps it.
        assert.deepEqual(rows.at(-1), { data_id: 'id-6', n: '6', name: 'rec 6', ok: 1, score: null, date: '2024-02-01' });
        await assert.rejects(store.ensureTable(tenant, table, [{ name: 'n', type: 'String' }]), AppError);
        await assert.rejects(store.ensureTable(tenant, table, [{ name: 'payload', type: 'String' }]), AppError);
      });

      it('reads by data_id, time range and lsn cursor, ordered by lsn', async () => {
        const all = await store.read(tenant, table, { limit: 100 });
        assert.deepEqual(all.map((r) => r.dataId), ['id-0', 'id-1', 'id-2', 'id-3', 'id-4', 'id-5', 'id-6']);
        assert.deepEqual(all[6], rec(6, { score: 'bad' }));
        const range = await store.read(tenant, table, { fromMs: base + 2 * 3_600_000, toMs: base + 5 * 3_600_000, limit: 100 });
        assert.deepEqual(range.map((r) => r.dataId), ['id-2', 'id-3', 'id-4']);
        const page = await store.read(tenant, table, { afterLsn: 103, limit: 2 });
        assert.deepEqual(page.map((r) => r.lsn), [104, 105]);
        const keyset = await store.read(tenant, table, { after: { lsn: 104, dataId: 'id-4' }, limit: 1 });
        assert.deepEqual(keyset.map((r) => r.dataId), ['id-5']);
        const sameLsn = await store.read(tenant, table, { after: { lsn: 104, dataId: 'id-3' }, limit: 1 });
        assert.deepEqual(sameLsn.map((r) => r.dataId), ['id-4']);
        assert.deepEqual(await store.read(tenant, table, { dataId: "'; DROP TABLE x; --", limit: 5 }), []);
      });

      it('stores hostile ids and payloads exactly', async () => {
        const records = HOSTILE.map((s, i) => ({ dataId: s, tsMs: base, lsn: 1000 + i, payload: { s, [s]: i } }));
        const res = await store.insertIdempotent(tenant, 'hostile', [], records);
        assert.equal(res.inserted, HOSTILE.length);
        assert.deepEqual(await store.insertIdempotent(tenant, 'hostile', [], records), { inserted: 0, skipped: HOSTILE.length });
        for (const r of records) {
          assert.deepEqual(await store.read(tenant, 'hostile', { dataId: r.dataId, limit: 2 }), [r]);
        }
        await store.dropTable(tenant, 'hostile');
      });

      it('drops the table', async () => {
        await store.dropTable(tenant, table);
        assert.equal(await store.count(tenant, table), 0);
      });
    });
  });
}

const chdbDir = await mkdtemp(path.join(os.tmpdir(), 'chdb-contract-'));
after(async () => {
  await rm(chdbDir, { recursive: true, force: true });
});
contract('embedded (chdb)', false, () =>
  createClickHouseEngine({ dataDir: chdbDir, database: 'contract_db' }),
);

const server = await startClickHouseServer();
if ('skipped' in server) console.log(`# clickhouse server contract skipped: ${server.skipped}`);
else after(() => server.stop());
contract('server', 'skipped' in server ? server.skipped : false, () =>
  createClickHouseEngine({ url: 'url' in server ? server.url : '', dataDir: chdbDir, database: 'contract-db' }),
);
