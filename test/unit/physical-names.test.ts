// Property test of src/storage/physical-names.ts: thousands of (tenant, table)
// pairs, biased toward what broke the old naming (`_`, `-`, `__`, shared
// prefixes, maximum lengths) plus characters outside today's alphabet, must
// map to pairwise distinct names of every kind, and every name must parse back
// to its pair. The PRNG is seeded: a failure names its seed and reproduces.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ClickHouseEngine } from '../../src/storage/clickhouse/clickhouse-engine.js';
import { TenantTableStore } from '../../src/storage/clickhouse/tenant-table-store.js';
import {
  MAX_CLICKHOUSE_QUALIFIED_FILE_BYTES,
  OVERFLOW_TENANT_LABEL,
  catalogPartKey,
  catalogPartPrefix,
  catalogTableKey,
  catalogTablePrefix,
  clickhouseFileBytes,
  clickhouseLocation,
  clusterLocalLocation,
  decodeComponent,
  encodeComponent,
  idIndexKey,
  idempotencyKey,
  legacyClickHouseTable,
  localDatabase,
  newTableGeneration,
  parquetTableDir,
  parquetTableSegments,
  parseClickHouseLocation,
  parseClusterLocalLocation,
  parseLocalDatabase,
  parseParquetTableSegments,
  parseReplicatedTablePath,
  parseStateKey,
  parseTenantDatabase,
  queryColumnStatsKey,
  queryLogLocalLocation,
  queryLogLocation,
  queryLogReplicatedPath,
  replicatedTablePath,
  tableRefKey,
  tenantDatabase,
  tenantMetricLabel,
  workerColumnStatsKey,
} from '../../src/storage/physical-names.js';
import { prng } from '../helpers/seeded-random.js';

const SEED = Number(process.env.PHYSICAL_NAMES_SEED ?? 0x5eed1d5);
const PAIRS = 6000;
const BASE = 'control_plane';
const ID_PATTERN = /^[a-z0-9][a-z0-9_-]{0,62}$/;

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789_-';
// Outside today's alphabet: the escape itself, separators of every kind, NUL,
// upper case, '.', glob and quote characters, non-ASCII, an astral character
// (a surrogate pair) and lone surrogates.
const FOREIGN = ['~', '/', '\\', '.', '\0', '\u0001', 'A', 'Z', ' ', '*', '{', ',', '`', "'", '%', 'é', '\u00ff', '\u4e2d', '😀', '\ud800', '\udfff', '~0061'];
const STEMS = ['acme', 'a', 'x', 'acme_', 'acme-', 'acme__x', 'x__y', 'a_b', 'a-b', '_', '__', '-', 'events', 'e'];

function generator(rand: () => number) {
  const int = (n: number) => Math.floor(rand() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
  const piece = (foreign: boolean): string => {
    const r = rand();
    if (foreign && r < 0.15) return pick(FOREIGN);
    if (r < 0.35) return pick(['_', '-', '__', '_-', '-_', '___']);
    if (r < 0.6) return pick(STEMS);
    return ALPHABET[int(ALPHABET.length)]!;
  };
  /** An id of today's alphabet (valid or not as a tenant id), or with foreign characters when `foreign`. */
  const id = (foreign: boolean): string => {
    const r = rand();
    let s = '';
    if (r < 0.08) {
      // Maximum length, mostly separators: the longest names there are.
      s = pick(['a', 'z', '9']);
      while (s.length < 63) s += pick(['-', '_', 'a', '-']);
      return s.slice(0, 63);
    }
    const parts = 1 + int(5);
    for (let i = 0; i < parts; i++) s += piece(foreign);
    return s.slice(0, 1 + int(63)) || 'a';
  };
  return { id, int, pick };
}

interface Pair {
  tenant: string;
  table: string;
}

/** Random pairs plus, for each, the pairs the old naming confused it with (same joined string, other split). */
function pairs(seed: number, foreign: boolean): Pair[] {
  const g = generator(prng(seed));
  const out: Pair[] = [];
  const seen = new Set<string>();
  const add = (p: Pair) => {
    const k = JSON.stringify([p.tenant, p.table]);
    if (seen.has(k) || !fits(p)) return;
    seen.add(k);
    out.push(p);
  };
  add({ tenant: 'acme__x', table: 'y' });
  add({ tenant: 'acme', table: 'x__y' });
  add({ tenant: 'acme_', table: '_x__y' });
  add({ tenant: 'a-b', table: 'events' });
  add({ tenant: 'a_b', table: 'events' });
  add({ tenant: 'a', table: 'b__events' });
  while (out.length < PAIRS) {
    const tenant = g.id(foreign);
    const table = g.id(foreign);
    add({ tenant, table });
    // Every other split of `${tenant}__${table}` at a `__`: exactly what collided before.
    const joined = legacyClickHouseTable(tenant, table);
    for (let i = joined.indexOf('__'); i > 0 && i < joined.length - 2; i = joined.indexOf('__', i + 1)) {
      if (g.int(3) === 0) add({ tenant: joined.slice(0, i), table: joined.slice(i + 2) });
    }
    // Shared prefixes.
    if (g.int(4) === 0) add({ tenant: tenant + g.pick(['_', '-', '__', 'x']), table });
    if (g.int(4) === 0) add({ tenant, table: table + g.pick(['_', '-', '__', 'x']) });
  }
  return out;
}

/**
 * Ids are at most 63 characters, and a name too long for ClickHouse or the file
 * system is refused (tested below), so the properties are over the pairs that fit.
 */
function fits(p: Pair): boolean {
  if (p.tenant.length > 63 || p.table.length > 63) return false;
  try {
    clickhouseLocation(BASE, p.tenant, p.table);
    clusterLocalLocation(BASE, p.tenant, p.table);
    parquetTableDir(p.tenant, p.table);
    return true;
  } catch (err) {
    if (err instanceof Error && /too long/.test(err.message)) return false;
    throw err;
  }
}

/** Asserts `name` is injective over `items`: no two distinct items get the same name. */
function assertInjective<T>(kind: string, items: readonly T[], name: (x: T) => string): void {
  const owner = new Map<string, T>();
  for (const x of items) {
    const n = name(x);
    const prev = owner.get(n);
    if (prev !== undefined) assert.fail(`${kind}: ${JSON.stringify(prev)} and ${JSON.stringify(x)} both map to ${JSON.stringify(n)} (seed ${SEED})`);
    owner.set(n, x);
  }
}

const NAME_KINDS: Array<[string, (p: Pair) => string]> = [
  ['ClickHouse location', (p) => JSON.stringify(clickhouseLocation(BASE, p.tenant, p.table))],
  ['cluster local location', (p) => JSON.stringify(clusterLocalLocation(BASE, p.tenant, p.table))],
  ['Parquet table dir', (p) => parquetTableDir(p.tenant, p.table)],
  ['catalog table key', (p) => catalogTableKey(p.tenant, p.table)],
  ['catalog part key', (p) => catalogPartKey({ ...p, date: '2026-01-02', relativePath: `${parquetTableDir(p.tenant, p.table)}/date=2026-01-02/part-1.parquet` })],
  ['id index key', (p) => idIndexKey(p.tenant, p.table, 'same-data-id')],
  ['worker column stats key', (p) => workerColumnStatsKey(p.tenant, p.table)],
  ['query column stats key', (p) => queryColumnStatsKey(p.tenant, p.table)],
  ['in-memory table key', (p) => tableRefKey(p.tenant, p.table)],
];

describe('physical names', () => {
  for (const foreign of [false, true]) {
    const label = foreign ? 'ids with characters outside today’s alphabet' : 'ids of today’s alphabet';
    const ps = pairs(SEED + (foreign ? 1 : 0), foreign);

    it(`never map two pairs to one name, of any kind (${label})`, () => {
      assert.ok(ps.length >= PAIRS, `${ps.length} pairs`);
      for (const [kind, name] of NAME_KINDS) assertInjective(kind, ps, name);
      const tenants = [...new Set(ps.map((p) => p.tenant))];
      assertInjective('tenant database', tenants, (t) => tenantDatabase(BASE, t));
      // Cluster mode: tenant databases (Distributed tables) and local databases (replicated tables) share one namespace.
      assertInjective('tenant or local database', [...tenants.map((t) => ['tenant', t]), ...tenants.map((t) => ['local', t])], ([kind, t]) =>
        kind === 'tenant' ? tenantDatabase(BASE, t!) : localDatabase(BASE, t!),
      );
      assertInjective('idempotency key', tenants, (t) => idempotencyKey(t, 'same-client-key'));
      assertInjective('metric label', [...tenants, 'other'], tenantMetricLabel);
      for (const t of [...tenants, 'other']) assert.notEqual(tenantMetricLabel(t), OVERFLOW_TENANT_LABEL);
      for (const t of tenants) assert.notEqual(tenantDatabase(BASE, t), BASE);
      // The compact ClickHouse form of long dashed ids is among them, not only readable names.
      const packed = ps.filter((p) => clickhouseLocation(BASE, p.tenant, p.table).table.startsWith('~p')).length;
      assert.ok(packed > 50, `${packed} packed table names`);
    });

    it(`parse every name back to its pair (${label})`, () => {
      for (const p of ps) {
        for (const c of [p.tenant, p.table]) assert.equal(decodeComponent(encodeComponent(c)), c);
        const loc = clickhouseLocation(BASE, p.tenant, p.table);
        assert.deepEqual(parseClickHouseLocation(BASE, loc), p);
        assert.equal(parseTenantDatabase(BASE, loc.database), p.tenant);
        const local = clusterLocalLocation(BASE, p.tenant, p.table);
        assert.deepEqual(parseClusterLocalLocation(BASE, local), p);
        assert.equal(parseLocalDatabase(BASE, local.database), p.tenant);
        // Neither kind of database parses as the other.
        assert.equal(parseLocalDatabase(BASE, loc.database), undefined);
        assert.equal(parseTenantDatabase(BASE, local.database), undefined);
        assert.deepEqual(parseReplicatedTablePath('/clickhouse/cp', replicatedTablePath('/clickhouse/cp', local, 'g1a2b')), { ...local, generation: 'g1a2b' });
        const [tenantDir, tableDir] = parquetTableSegments(p.tenant, p.table);
        assert.deepEqual(parseParquetTableSegments(tenantDir, tableDir), p);
        assert.deepEqual(parseStateKey(catalogTableKey(p.tenant, p.table), 2, false), { tag: 'table', components: [p.tenant, p.table] });
        // The raw tail may hold anything, the separator included.
        const dataId = 'id\0with/any~thing';
        assert.deepEqual(parseStateKey(idIndexKey(p.tenant, p.table, dataId), 2, true), { tag: 'id', components: [p.tenant, p.table], tail: dataId });
        assert.deepEqual(parseStateKey(idempotencyKey(p.tenant, 'k'), 1, true), { tag: 'idem', components: [p.tenant], tail: 'k' });
      }
    });

    it(`keep every tenant’s listing prefix to its own keys (${label})`, () => {
      // Catalog listings are prefix scans: one tenant's prefix must never cover another's keys.
      const byTenant = new Map<string, Pair[]>();
      for (const p of ps) byTenant.set(p.tenant, [...(byTenant.get(p.tenant) ?? []), p]);
      const tenants = [...byTenant.keys()];
      const g = generator(prng(SEED + 7));
      for (let i = 0; i < 20_000; i++) {
        const a = g.pick(tenants);
        const p = g.pick(ps);
        const part = { ...p, date: '2026-01-02', relativePath: 'x' };
        assert.equal(catalogTableKey(p.tenant, p.table).startsWith(catalogTablePrefix(a)), p.tenant === a, `${a} vs ${JSON.stringify(p)}`);
        assert.equal(catalogPartKey(part).startsWith(catalogPartPrefix(a)), p.tenant === a, `${a} vs ${JSON.stringify(p)}`);
        const q = g.pick(byTenant.get(a)!);
        assert.equal(catalogPartKey(part).startsWith(catalogPartPrefix(q.tenant, q.table)), p.tenant === q.tenant && p.table === q.table);
      }
    });

    it(`produce only safe characters (${label})`, () => {
      for (const p of ps) {
        for (const seg of parquetTableSegments(p.tenant, p.table)) {
          assert.match(seg, /^[a-z0-9_~-]+$/);
          assert.ok(seg !== '.' && seg !== '..');
        }
        const loc = clickhouseLocation(BASE, p.tenant, p.table);
        assert.match(loc.table, /^[a-z0-9_~-]+$/);
        assert.match(loc.database, /^control_plane__[a-z0-9_~-]+$/);
        const local = clusterLocalLocation(BASE, p.tenant, p.table);
        assert.match(local.database, /^control_plane_local__[a-z0-9_~-]+$/);
        assert.equal(local.table, loc.table);
      }
    });
  }

  it('is the identity on today’s alphabet, so existing directories and keys stay valid', () => {
    const g = generator(prng(SEED + 3));
    for (let i = 0; i < 2000; i++) {
      const tenant = g.id(false);
      const table = g.id(false);
      assert.equal(encodeComponent(tenant), tenant);
      assert.equal(parquetTableDir(tenant, table), `${tenant}/${table}`);
      assert.equal(catalogTableKey(tenant, table), `table\0${tenant}\0${table}`);
      assert.equal(catalogPartKey({ tenant, table, date: '2026-01-02', relativePath: 'r/p' }), `part\0${tenant}\0${table}\u00002026-01-02\0r/p`);
      assert.equal(catalogTablePrefix(tenant), `table\0${tenant}\0`);
      assert.equal(catalogTablePrefix(), 'table\0');
      assert.equal(catalogPartPrefix(tenant, table), `part\0${tenant}\0${table}\0`);
      assert.equal(idIndexKey(tenant, table, 'd'), `id\0${tenant}\0${table}\0d`);
      assert.equal(idempotencyKey(tenant, 'k'), `idem\0${tenant}\0k`);
      assert.equal(workerColumnStatsKey(tenant, table), `colstats\0${tenant}\0${table}`);
      assert.equal(queryColumnStatsKey(tenant, table), `qstats\0${tenant}\0${table}`);
    }
  });

  it('shows why the old naming leaked: it joins colliding pairs into one name', () => {
    assert.equal(legacyClickHouseTable('acme__x', 'y'), legacyClickHouseTable('acme', 'x__y'));
    assert.notDeepEqual(clickhouseLocation(BASE, 'acme__x', 'y'), clickhouseLocation(BASE, 'acme', 'x__y'));
    assert.deepEqual(clickhouseLocation(BASE, 'acme', 'x__y'), { database: 'control_plane__acme', table: 'x__y' });
  });

  it('names a replicated table’s ZooKeeper path by shard macro, local table and generation, and parses it back', () => {
    const local = clusterLocalLocation(BASE, 'acme', 'events');
    assert.deepEqual(local, { database: 'control_plane_local__acme', table: 'events' });
    const g = newTableGeneration(Date.UTC(2026, 0, 1));
    assert.match(g, /^g[0-9a-z]+$/);
    assert.ok(newTableGeneration(Date.UTC(2026, 0, 2)) > g, 'a later generation sorts after an earlier one');
    const zk = replicatedTablePath('/clickhouse/control_plane', local, g);
    assert.equal(zk, `/clickhouse/control_plane/{shard}/control_plane_local__acme/events/${g}`);
    assert.deepEqual(parseReplicatedTablePath('/clickhouse/control_plane', zk), { ...local, generation: g });
    assert.equal(parseReplicatedTablePath('/clickhouse/other', zk), undefined);
    assert.equal(parseReplicatedTablePath('/clickhouse/control_plane', '/clickhouse/control_plane/{shard}/db/t'), undefined);
    assert.throws(() => replicatedTablePath('/x', local, '../g1'), /generation/);
    assert.equal(parseLocalDatabase(BASE, 'control_plane__acme'), undefined);
    assert.equal(parseLocalDatabase(BASE, 'control_plane_local__~pab'), undefined);
  });

  it('decodes only what it encodes', () => {
    for (const bad of ['', 'A', '~', '~00', '~0061', '~002F', '~zzzz', 'a.b', 'a/b', '~002e~', 'a\0b', 'é', '~pab']) {
      assert.equal(decodeComponent(bad), undefined, JSON.stringify(bad));
    }
    // A packed name of an id short enough to be readable is not canonical.
    assert.equal(parseTenantDatabase(BASE, 'control_plane__~pab'), undefined);
    assert.equal(parseTenantDatabase(BASE, 'control_plane__~p-'), undefined);
    assert.equal(decodeComponent('~002e~002e'), '..');
    assert.equal(encodeComponent('~'), '~007e');
    assert.equal(parseTenantDatabase(BASE, 'control_plane'), undefined);
    assert.equal(parseTenantDatabase(BASE, 'other__acme'), undefined);
    assert.equal(parseStateKey('table\0acme', 2, false), undefined);
    assert.equal(parseStateKey('table\0acme\0x\0y', 2, false), undefined);
  });

  it('keeps names of every id of today’s alphabet within ClickHouse’s and the file system’s limits', () => {
    // ClickHouse escapes '-' as %2D in file names, and the escaped database and
    // table names together must stay under ~204 bytes: the worst ids are long and dashed.
    const g = generator(prng(SEED + 5));
    const longest = ['a' + '-'.repeat(62), 'a'.repeat(63), 'z' + '_-'.repeat(31), '9' + '-'.repeat(21) + 'a'.repeat(41)];
    for (let i = 0; i < 100; i++) longest.push(`a${g.id(false)}`.slice(0, 63));
    for (const base of [BASE, 'b'.repeat(48)]) {
      for (const tenant of longest) {
        for (const table of longest) {
          const loc = clickhouseLocation(base, tenant, table);
          assert.ok(clickhouseFileBytes(loc.database) + clickhouseFileBytes(loc.table) <= MAX_CLICKHOUSE_QUALIFIED_FILE_BYTES, JSON.stringify(loc));
          assert.ok(Buffer.byteLength(loc.database) + Buffer.byteLength(loc.table) <= 200, JSON.stringify(loc));
          assert.deepEqual(parseClickHouseLocation(base, loc), { tenant, table });
          const local = clusterLocalLocation(base, tenant, table);
          assert.ok(clickhouseFileBytes(local.database) + clickhouseFileBytes(local.table) <= MAX_CLICKHOUSE_QUALIFIED_FILE_BYTES, JSON.stringify(local));
          assert.deepEqual(parseClusterLocalLocation(base, local), { tenant, table });
          for (const seg of parquetTableSegments(tenant, table)) assert.ok(Buffer.byteLength(seg) <= 255);
        }
      }
    }
    // Readable names for ordinary ids; the packed form only where the readable one does not fit.
    assert.deepEqual(clickhouseLocation(BASE, 'acme-corp', 'page-views'), { database: 'control_plane__acme-corp', table: 'page-views' });
    assert.match(clickhouseLocation(BASE, 'a' + '-'.repeat(62), 'events').database, /^control_plane__~p[a-z0-9_]{1,64}$/);
    // Beyond the limits a name is refused, never shortened into a collision.
    assert.throws(() => tenantDatabase(BASE, '😀'.repeat(40)), /too long/);
    assert.throws(() => clickhouseLocation(BASE, 'é'.repeat(20), 'é'.repeat(20)), /too long/);
    assert.throws(() => parquetTableDir('a', '/'.repeat(60)), /too long/);
    assert.throws(() => clickhouseLocation(BASE, '', 'events'), /non-empty/);
  });

  it('gives TenantTableStore the per-tenant database, quoted', () => {
    const store = new TenantTableStore({ database: BASE } as ClickHouseEngine);
    assert.equal(store.tableName('acme__x', 'y'), '`control_plane__acme__x`.`y`');
    assert.equal(store.tableName('acme', 'x__y'), '`control_plane__acme`.`x__y`');
    assert.deepEqual(store.location('a-b', 'events'), { database: 'control_plane__a-b', table: 'events' });
    assert.throws(() => store.tableName('Bad Tenant', 'events'), /must match/);
    const valid = pairs(SEED + 11, false).filter((p) => ID_PATTERN.test(p.tenant) && ID_PATTERN.test(p.table));
    assert.ok(valid.length > 1000, `${valid.length} valid pairs`);
    assertInjective('quoted table name', valid, (p) => store.tableName(p.tenant, p.table));
  });

  it('keeps the query log in the base database, where no tenant table can be', () => {
    assert.deepEqual(queryLogLocation(BASE), { database: BASE, table: 'query_log' });
    assert.deepEqual(queryLogLocalLocation(BASE), { database: BASE, table: 'query_log_local' });
    assert.equal(queryLogReplicatedPath('/clickhouse/control_plane', BASE), `/clickhouse/control_plane/{shard}/${BASE}/query_log_local`);
    for (const loc of [queryLogLocation(BASE), queryLogLocalLocation(BASE)]) {
      assert.equal(parseTenantDatabase(BASE, loc.database), undefined, 'the base database is no tenant database');
      assert.equal(parseLocalDatabase(BASE, loc.database), undefined, 'nor a local one');
      assert.equal(parseClickHouseLocation(BASE, loc), undefined);
    }
    for (const p of pairs(SEED + 13, false).slice(0, 2000)) {
      let dbs: string[];
      try {
        dbs = [clickhouseLocation(BASE, p.tenant, p.table).database, clusterLocalLocation(BASE, p.tenant, p.table).database];
      } catch {
        continue; // too long: refused, never shortened
      }
      for (const db of dbs) assert.notEqual(db, BASE);
    }
  });
});
