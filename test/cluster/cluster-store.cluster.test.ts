// The cluster table store on its own, against ZooKeeper and 2 shards x 3
// replicas of clickhouse-server 18.16: what makes an insert exactly once
// without an existing-id lookup (the identical block, deduplicated by the
// replicas, whichever node it goes through and however often it is re-sent),
// and queries through the Distributed tables answering like the same data on
// one server (the query correctness corpus).
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { Registry } from 'prom-client';
import { CatalogStore } from '../../src/catalog/catalog-store.js';
import { StateStore } from '../../src/platform/state-store.js';
import { QueryExecutor } from '../../src/query/executor.js';
import type { ClickHouseEngine } from '../../src/storage/clickhouse/clickhouse-engine.js';
import { InsertIntents } from '../../src/storage/clickhouse/cluster-insert-intents.js';
import { ClickHouseCluster } from '../../src/storage/clickhouse/cluster-runtime.js';
import { ClusterTableStore } from '../../src/storage/clickhouse/cluster-table-store.js';
import { createClusterEngine } from '../../src/storage/clickhouse/create-engine.js';
import { ServerEngine } from '../../src/storage/clickhouse/server-engine.js';
import { TenantTableStore } from '../../src/storage/clickhouse/tenant-table-store.js';
import type { TenantTables } from '../../src/storage/clickhouse/tenant-tables.js';
import { ParquetSink } from '../../src/storage/parquet/index.js';
import type { ColumnSpec, StoredRecord } from '../../src/storage/record-types.js';
import { startClickHouseCluster, type RunningClickHouseCluster } from '../helpers/clickhouse-cluster.js';
import { startClickHouseServer } from '../helpers/clickhouse-server.js';
import { checkExactlyOnce, NodeClients } from '../helpers/cluster-checks.js';
import { CORPUS, normalizeRows } from '../helpers/query-corpus.js';
import { loadTenant, makeTenantData } from '../helpers/query-fixture.js';
import { queryPathOver } from '../helpers/query-path.js';

const started = await startClickHouseCluster({ shards: 2, replicas: 3, name: 'cp_cluster' });
const skip = 'skipped' in started ? started.skipped : false;
if (skip) console.log(`# cluster store tests skipped: ${skip}`);

const BASE = 'store_test';
const logger = pino({ level: 'silent' });
const COLUMNS: ColumnSpec[] = [{ name: 'amount', type: 'Float64' }];

function records(from: number, to: number, extra?: (i: number) => Record<string, unknown>): StoredRecord[] {
  const day = Date.UTC(2026, 2, 1);
  // Several rows share an LSN (one WAL entry holds a request's records), over three days.
  return Array.from({ length: to - from }, (_, k) => {
    const i = from + k;
    return { dataId: `r${i}`, tsMs: day + (i % 3) * 86_400_000 + i, lsn: 1 + Math.floor(i / 4), payload: { amount: i / 2, ...extra?.(i) } };
  });
}

describe('cluster table store', { skip, timeout: 600_000 }, () => {
  let cluster: RunningClickHouseCluster;
  let nodes: NodeClients;
  let dir: string;
  const opened: Array<{ close(): Promise<void> }> = [];
  let first: Awaited<ReturnType<typeof processView>>;
  const batch = records(0, 252); // whole LSNs (four rows each), as the applier's batches hold whole WAL entries
  const idsOf = (rs: StoredRecord[]) => new Set(rs.map((r) => r.dataId));
  const once = async (acked: Set<string>, base = BASE) => {
    const r = await checkExactlyOnce(nodes, cluster, { base, tenant: 'acme', table: 'events', acked });
    assert.deepEqual([r.lost, r.duplicated, r.found], [0, 0, acked.size], JSON.stringify(r));
  };

  /** A process's view of the cluster: its own engine (nodes in the given order), cluster runtime and state store. */
  async function processView(name: string, urls: readonly string[], base = BASE, catalog = [{ tenant: 'acme', table: 'events' }]) {
    const engine = createClusterEngine({ urls, database: base });
    const runtime = new ClickHouseCluster({
      engine,
      config: { name: 'cp_cluster', insertQuorum: 'majority', shardingKey: 'murmurHash3_32(data_id)', zkPathPrefix: `/clickhouse/${base}`, statusIntervalMs: 60_000 },
      database: base,
      logger,
      registry: new Registry(),
      statusIntervalMs: 60_000,
    });
    await engine.open();
    await runtime.prepare(async () => catalog);
    const state = await StateStore.open(path.join(dir, name));
    const store = (chunkRows: number) =>
      new ClusterTableStore({ engine, schema: runtime.schema, layout: () => runtime.layout, state, requestTimeoutMs: 30_000, logger, chunkRows });
    opened.push({ close: async () => runtime.stop() }, engine, state);
    return { engine, runtime, state, store };
  }

  before(async () => {
    cluster = started as RunningClickHouseCluster;
    nodes = new NodeClients(cluster);
    dir = await mkdtemp(path.join(os.tmpdir(), 'cluster-store-'));
  });
  after(async () => {
    for (const o of opened.reverse()) await o.close();
    await nodes?.close();
    await cluster?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('the same batch applied twice through different nodes, re-sent after a lost acknowledgement, and grown on a retry, is stored once', async () => {
    const a = (first = await processView('a', cluster.urls));
    await a.store(100).insertIdempotent('acme', 'events', COLUMNS, batch);
    const ids = idsOf(batch);
    await once(ids);

    // Another process (no intent of the first), whose engine starts at another node of another shard.
    const rotated = [...cluster.urls.slice(4), ...cluster.urls.slice(0, 4)];
    const b = await processView('b', rotated);
    assert.notEqual(b.engine.nodes[0]!.url, a.engine.nodes[0]!.url);
    await b.store(100).insertIdempotent('acme', 'events', COLUMNS, batch);
    await once(ids);
    b.runtime.stop();

    // A process whose catalog does not name the table (a restored state store) adopts the one every node holds.
    const c = await processView('c', cluster.urls, BASE, []);
    await c.store(100).insertIdempotent('acme', 'events', COLUMNS, batch);
    await once(ids);
    assert.equal(c.runtime.schema.state('acme', 'events')!.generation, a.runtime.schema.state('acme', 'events')!.generation);
    c.runtime.stop();

    // The first process was killed after its chunks landed but before it recorded them: all are sent again.
    const intents = new InsertIntents(a.state);
    const intent = (await intents.get('acme', 'events'))!;
    assert.equal(intent.chunksDone, 3, 'three chunks of at most 100 rows');
    await intents.put({ ...intent, chunksDone: 0 });
    await a.store(100).insertIdempotent('acme', 'events', COLUMNS, batch);
    await once(ids);

    // Killed again before recording, and by the retry the batch has grown and the table gained a column:
    // the old rows go as before (old columns, same chunks), the new ones after them with the new column.
    const again = (await new InsertIntents(a.state).get('acme', 'events'))!;
    await new InsertIntents(a.state).put({ ...again, chunksDone: 1 });
    const grown = [...batch, ...records(252, 400, (i) => ({ color: i % 2 ? 'red' : 'blue' }))];
    const wider: ColumnSpec[] = [...COLUMNS, { name: 'color', type: 'String' }];
    const store = a.store(100);
    await store.ensureTable('acme', 'events', wider);
    await store.insertIdempotent('acme', 'events', wider, grown);
    const all = idsOf(grown);
    await once(all);
    const colored = await a.engine.query<{ n: string }>(`SELECT count() AS n FROM ${store.tableName('acme', 'events')} WHERE color IN ('red', 'blue')`);
    assert.equal(Number(colored[0]!.n), 148);

    // Reads are sequentially consistent and see every row.
    assert.equal(await store.count('acme', 'events'), 400);
    assert.equal((await store.read('acme', 'events', { dataId: 'r399', limit: 10 }))[0]?.payload.color, 'red');
    assert.deepEqual([...(await store.existingIds('acme', 'events', ['r1', 'r399', 'nope']))].sort(), ['r1', 'r399']);
  });

  it('a table dropped while a replica is down and created again starts afresh: the same rows are stored (not taken for the old blocks), and the returning replica drops its old copy', async () => {
    const a = first;
    await cluster.killReplica(2, 3);
    await a.store(100).dropTable('acme', 'events');
    // The down replica keeps the old table's ZooKeeper path alive, block hashes and all; the new table has its own.
    const store = a.store(100);
    await store.ensureTable('acme', 'events', COLUMNS);
    await store.insertIdempotent('acme', 'events', COLUMNS, batch);
    const generation = a.runtime.schema.state('acme', 'events')!.generation;
    await cluster.restartReplica(2, 3);
    const returned = cluster.node(2, 3).url;
    for (let t = Date.now(); a.engine.isHeld(returned); ) {
      assert.ok(Date.now() - t < 90_000, 'the returning replica is brought up to date and back in rotation');
      await new Promise((r) => setTimeout(r, 250));
    }
    await once(idsOf(batch));
    const local = a.runtime.schema.localLocation('acme', 'events');
    const [create] = await (await nodes.on(2, 3)).query<{ q: string }>(`SELECT create_table_query AS q FROM system.tables WHERE database = '${local.database}' AND name = '${local.table}'`);
    assert.match(create!.q, new RegExp(`/${generation}'`), 'the returning replica holds the new table, not its old copy');
  });

  it('stray parts (one ZooKeeper does not list for the replica, or a failed quorum part) are removed by restarting that replica’s table; while they would hold most of a young table’s rows, the replica is held instead', async () => {
    // ZooKeeper is edited by hand to make what 18.16 leaves after an insert that lost ZooKeeper or its quorum.
    const a = first;
    const store = a.store(1000);
    const { schema } = a.runtime;
    await store.ensureTable('acme', 'strays', COLUMNS);
    await store.insertIdempotent('acme', 'strays', COLUMNS, records(0, 60));
    const local = schema.localLocation('acme', 'strays');
    const shardNode = (r: number) => cluster.node(1, r);
    const id = (r: number) => a.runtime.layout.identities.get(shardNode(r).url)!;
    const zkPath = schema.zooKeeperPath(schema.state('acme', 'strays')!, id(1).shardMacro);
    const activeOn = async (r: number) =>
      (
        await (await nodes.on(1, r)).query<{ name: string }>(
          `SELECT name FROM system.parts WHERE database = '${local.database}' AND table = '${local.table}' AND active ORDER BY name`,
        )
      ).map((p) => p.name);
    const detachedOn = (r: number) => readdir(path.join(shardNode(r).dir, 'data', 'data', local.database, local.table, 'detached')).catch(() => [] as string[]);
    const removed = async () => {
      const out: Record<string, number> = {};
      for (const v of (await a.runtime.metrics.strayParts.get()).values) out[String(v.labels.reason)] = (out[String(v.labels.reason)] ?? 0) + v.value;
      return out;
    };
    const young = await activeOn(2);
    assert.equal(young.length, 3, 'one part per day');

    // Replica 2 of shard 1 holds parts ZooKeeper does not list for it: all its rows. SYSTEM RESTART REPLICA would leave
    // its table detached (18.16 refuses a table whose unknown parts hold over half its rows), so it is held, table intact.
    for (const p of young) await cluster.zooKeeperCli('deleteall', `${zkPath}/replicas/${id(2).replica}/parts/${p}`);
    await schema.settle('acme', 'strays');
    assert.ok(a.engine.isHeld(shardNode(2).url), 'the replica is held out of rotation');
    assert.deepEqual(await activeOn(2), young, 'its table stays attached, parts and all');
    assert.deepEqual(await removed(), {});

    // Rows on other days reach it by replication; then its restart is accepted: the reconciler drops the strays and releases it.
    const later = records(60, 400).map((r) => ({ ...r, tsMs: r.tsMs + 10 * 86_400_000 }));
    await store.insertIdempotent('acme', 'strays', COLUMNS, later);
    for (let t = Date.now(); a.engine.isHeld(shardNode(2).url); ) {
      assert.ok(Date.now() - t < 60_000, 'the held replica is restarted and released once its restart is accepted');
      await new Promise((r) => setTimeout(r, 250));
    }
    const left = await activeOn(2);
    for (const p of young) {
      assert.ok(!left.includes(p), `${p} is no longer active on the replica`);
      assert.ok((await detachedOn(2)).includes(`ignored_${p}`), `${p} is detached as ignored_${p}`);
      assert.ok((await activeOn(1)).includes(p), `${p} stays on the other replicas`);
    }
    assert.deepEqual(await removed(), { not_in_zookeeper: 3 });

    // A part the shard marked as a failed quorum part is stray on every replica that holds it.
    const [failed] = (await activeOn(1)).filter((p) => !young.includes(p));
    await cluster.zooKeeperCli('create', `${zkPath}/quorum/failed_parts`).catch(() => undefined); // 18.16 may have made it
    await cluster.zooKeeperCli('create', `${zkPath}/quorum/failed_parts/${failed}`);
    await schema.settle('acme', 'strays');
    for (const r of [1, 2, 3]) {
      assert.ok(!(await activeOn(r)).includes(failed!), `${failed} is no longer active on replica ${r}`);
      assert.ok((await detachedOn(r)).includes(`noquorum_${failed}`), `${failed} is detached as noquorum_${failed} on replica ${r}`);
    }
    assert.deepEqual(await removed(), { not_in_zookeeper: 3, failed_quorum: 3 });
    await store.dropTable('acme', 'strays');
  });

  it('queries through the Distributed tables answer like the same data on one server (query corpus)', async (t) => {
    const single = await startClickHouseServer();
    if ('skipped' in single) {
      t.skip(single.skipped);
      return;
    }
    try {
      const view = await processView('corpus', cluster.urls, 'corpus_test');
      const onCluster = await executorOver(dir, 'cluster', view.engine, view.store(10_000));
      const server = new ServerEngine({ url: single.url, database: 'corpus_test', requestTimeoutMs: 60_000 });
      await server.open();
      opened.push(server);
      const onServer = await executorOver(dir, 'server', server, new TenantTableStore(server));
      const failures: string[] = [];
      for (const c of CORPUS) {
        try {
          const [ours, theirs] = [await run(onCluster, c.input), await run(onServer, c.input)];
          assert.deepEqual(normalizeRows(ours, !!c.ordered), normalizeRows(theirs, !!c.ordered), c.name);
          assert.ok(!JSON.stringify(ours).includes('globex-'), `${c.name}: a row of another tenant`);
        } catch (err) {
          failures.push(`${c.name}: ${err instanceof Error ? err.message : String(err)}`);
        }
      }
      assert.deepEqual(failures, []);
    } finally {
      await single.stop();
    }
  });
});

/** A planner and executor over `tables`, with both tenants of the corpus fixture loaded through it. */
async function executorOver(dir: string, name: string, engine: ClickHouseEngine, tables: TenantTables): Promise<QueryExecutor> {
  const state = await StateStore.open(path.join(dir, `${name}-state`));
  const catalog = new CatalogStore(state);
  const parquet = new ParquetSink({ rootDir: path.join(dir, `${name}-parquet`) });
  await loadTenant({ tables, parquet, catalog }, makeTenantData('acme', { events: 3000, users: 60, hostile: false, seed: 1 }));
  await loadTenant({ tables, parquet, catalog }, makeTenantData('globex', { events: 1500, users: 60, hostile: true, seed: 2 }));
  const { columnStats, config, executor } = queryPathOver({ catalog, engine, tables, parquetRoot: path.join(dir, `${name}-parquet`), logger });
  await columnStats.refreshStale();
  await config.put({ parquetEnabled: false } as never);
  return executor;
}

async function run(executor: QueryExecutor, input: (typeof CORPUS)[number]['input']): Promise<Record<string, unknown>[]> {
  const open = await executor.open('acme', input, { via: 'test', format: 'json' });
  const rows: Record<string, unknown>[] = [];
  for await (const r of open.rows) rows.push(r);
  return rows;
}

