// The query log in cluster mode, on ZooKeeper and 2 shards x 2 replicas of
// clickhouse-server 18.16 on loopback: queries are logged and read back
// through GET /query/history; the rows live in query_log_local, each query on
// exactly one shard and on both replicas of it; with a replica down queries
// are still logged, and the replica catches up when it returns; retention
// drops old days on every replica.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startClickHouseCluster, type RunningClickHouseCluster } from '../helpers/clickhouse-cluster.js';
import { NodeClients, waitApplied } from '../helpers/cluster-checks.js';
import { adminHeaders, startPlane, tenantKeyHeaders, type RunningPlane } from '../helpers/control-plane-process.js';
import { send } from '../helpers/http-answer.js';
import { makeTempDir, removeTempDir } from '../helpers/temp-dir.js';
import { eventually } from '../helpers/eventually.js';

const started = await startClickHouseCluster({ shards: 2, replicas: 2, name: 'cp_cluster' });
const skip = 'skipped' in started ? started.skipped : false;
if (skip) console.log(`# query log cluster test skipped: ${skip}`);

const BASE = 'control_plane';

describe('query log in cluster mode', { skip, timeout: 600_000 }, () => {
  let cluster: RunningClickHouseCluster;
  let nodes: NodeClients;
  let plane: RunningPlane;
  let admin: Record<string, string>;
  let writer: Record<string, string>;
  const dataDir = makeTempDir('query-log-cluster');
  const ids: string[] = [];

  const query = async (body: unknown, path = '/query/execute', service = 'operation-node') => {
    const r = await send(plane.url(service, path), { method: 'POST', headers: writer, body });
    return r;
  };
  const logged = async (want: string[]) =>
    eventually(
      'the queries in the history',
      async () => {
        const r = await send(plane.url('operation-node', '/query/history?limit=500'), { headers: admin });
        return r.status === 200 ? (r.body.entries as Array<{ queryId: string; state: string; tenant: string; query: string | null }>) : [];
      },
      (entries) => want.every((id) => entries.some((e) => e.queryId === id)),
    );
  const localIds = async (shard: number, replica: number) =>
    new Set((await (await nodes.on(shard, replica)).query<{ query_id: string }>(`SELECT query_id FROM ${BASE}.query_log_local`)).map((r) => r.query_id));

  before(async () => {
    cluster = started as RunningClickHouseCluster;
    nodes = new NodeClients(cluster);
    plane = await startPlane({
      dataDir,
      env: {
        CLICKHOUSE_URL: cluster.urls.join(','),
        CLICKHOUSE_CLUSTER: 'cp_cluster',
        QUERY_LOG_FLUSH_INTERVAL_MS: '200',
        APPLIER_INTERVAL_MS: '50',
        SERVICES: 'tenant-node,operation-node,monitoring',
        LOG_LEVEL: 'warn',
      },
    });
    admin = await adminHeaders(plane);
    writer = (await tenantKeyHeaders(plane, 'acme')).headers;
    const rows = Array.from({ length: 40 }, (_, i) => ({ data_id: `e${i}`, payload: { country: i % 2 ? 'NL' : 'DE', amount: i } }));
    assert.equal((await send(plane.url('tenant-node', '/data'), { method: 'POST', headers: writer, body: rows })).status, 201);
    await waitApplied(plane, writer);
  });
  after(async () => {
    await plane?.cleanup();
    await nodes?.close();
    await cluster?.stop();
    removeTempDir(dataDir);
  });

  it('logs queries on the cluster: read back through the Distributed table, each on one shard and both its replicas', async () => {
    // Twenty: the query id decides the shard, so both shards get some (all on one: 1 in 2^19).
    for (let i = 0; i < 20; i++) {
      const r = await query({ sql: `SELECT country, count() AS n FROM events WHERE amount > ${i} GROUP BY country` });
      assert.equal(r.status, 200, r.text);
      ids.push(r.body.queryId as string);
    }
    const dsl = await query({ dsl: { table: 'events', filter: { column: 'country', op: 'eq', value: 'NL' }, limit: 5 } }, '/data/execute', 'tenant-node');
    assert.equal(dsl.status, 200, dsl.text);
    ids.push(dsl.body.queryId as string);
    const entries = await logged(ids);
    const first = entries.find((e) => e.queryId === ids[0])!;
    assert.equal(first.state, 'finished');
    assert.equal(first.tenant, 'acme');
    assert.equal(first.query, 'SELECT country, count() AS n FROM events WHERE amount > 0 GROUP BY country');

    // Each query on exactly one shard, and both replicas of that shard agree (replication).
    const perShard = await eventually(
      'both replicas of each shard to hold the same entries',
      async () => {
        const out: Array<Set<string>> = [];
        for (const shard of [1, 2]) {
          const [a, b] = [await localIds(shard, 1), await localIds(shard, 2)];
          if ([...a].sort().join() !== [...b].sort().join()) throw new Error(`shard ${shard}: replicas differ (${a.size} vs ${b.size})`);
          out.push(a);
        }
        return out;
      },
      (sets) => ids.every((id) => sets.some((s) => s.has(id))),
    );
    for (const id of ids) assert.equal(perShard.filter((s) => s.has(id)).length, 1, `${id} on exactly one shard`);
    assert.ok(perShard.every((s) => s.size > 0), `the query id spreads entries over both shards: ${perShard.map((s) => s.size).join(' + ')}`);
  });

  it('a replica down: queries are still logged and read; the replica catches up when it returns', async () => {
    await cluster.killReplica(1, 2);
    const during: string[] = [];
    for (let i = 0; i < 6; i++) {
      const r = await query({ sql: `SELECT count() AS n FROM events WHERE amount >= ${i}` });
      assert.equal(r.status, 200, r.text);
      during.push(r.body.queryId as string);
    }
    await logged(during);
    await cluster.restartReplica(1, 2);
    await eventually(
      'the returned replica to hold what its shard took while it was down',
      async () => [await localIds(1, 1), await localIds(1, 2)] as const,
      ([a, b]) => a.size > 0 && [...a].sort().join() === [...b].sort().join(),
      120_000,
    );
  });

  it('retention drops old days on every replica', async () => {
    const old = Date.now() - 40 * 86_400_000;
    const day = new Date(old).toISOString().slice(0, 10);
    const row = (i: number) =>
      JSON.stringify({ date: day, end_ms: old, start_ms: old, query_id: `old-${i}`, tenant: 'acme', principal: 'user:x', role: 'reader', state: 'finished', kind: 'sql', via: 'operation-node', format: 'json', query: 'SELECT 1', query_bytes: 8, query_truncated: 0, normalized_query: 'SELECT ?', normalized_query_hash: '1', rows: 1, bytes: 0, elapsed_ms: 1, error_code: '', error: '', user_agent: '' });
    // Written as the control plane writes them: through the Distributed table.
    await (await nodes.on(1, 1)).exec(`INSERT INTO ${BASE}.query_log FORMAT JSONEachRow\n${[0, 1, 2, 3].map(row).join('\n')}\n`, { settings: { insert_distributed_sync: 1 } });
    const oldOn = async (shard: number, replica: number) =>
      Number((await (await nodes.on(shard, replica)).query<{ n: string }>(`SELECT count() AS n FROM ${BASE}.query_log_local WHERE date = '${day}'`))[0]?.n ?? 0);
    await eventually('the old rows on their replicas', async () => (await oldOn(1, 1)) + (await oldOn(2, 1)), (n) => n === 4);
    // The retention pass runs at start and every RETENTION_INTERVAL_MS: restart the plane to run it now.
    await plane.stop('SIGTERM');
    plane = await startPlane({
      dataDir,
      env: { CLICKHOUSE_URL: cluster.urls.join(','), CLICKHOUSE_CLUSTER: 'cp_cluster', SERVICES: 'tenant-node,operation-node,monitoring', LOG_LEVEL: 'warn' },
    });
    admin = await adminHeaders(plane);
    await eventually('every replica to drop the old day', async () => [await oldOn(1, 1), await oldOn(1, 2), await oldOn(2, 1), await oldOn(2, 2)], (c) => c.every((n) => n === 0));
    // Recent entries stay.
    await logged(ids);
  });
});
