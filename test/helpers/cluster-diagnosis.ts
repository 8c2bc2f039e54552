// What the cluster tests print when the live replicas of a shard disagree
// and CLUSTER_TEST_DIAG=1 (clickhouse-cluster.ts then keeps part_log and
// debug logs): every replica's active parts, for each part not on every
// replica the ids it holds and where else those ids are, its part_log
// events, the detached parts, and where the nodes' logs were copied (kept:
// remove them by hand).
import { cp, readdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { quoteIdentifier, quoteString } from '../../src/storage/clickhouse/sql-literal.js';
import { clusterLocalLocation } from '../../src/storage/physical-names.js';
import type { RunningClickHouseCluster } from './clickhouse-cluster.js';
import type { NodeClients, TableOnCluster } from './cluster-checks.js';

export async function diagnoseShard(nodes: NodeClients, cluster: RunningClickHouseCluster, t: TableOnCluster, s: number): Promise<string> {
  const local = clusterLocalLocation(t.base, t.tenant, t.table);
  const localName = `${quoteIdentifier(local.database)}.${quoteIdentifier(local.table)}`;
  const out: string[] = [`# DIAG shard ${s} ${localName}`];
  const live: number[] = [];
  for (let r = 1; r <= (t.replicas ?? cluster.replicas); r++) if (cluster.node(s, r).alive()) live.push(r);
  const parts = new Map<number, Array<{ name: string; rows: string; mt: string }>>();
  for (const r of live) {
    parts.set(
      r,
      await (await nodes.on(s, r)).query(
        `SELECT name, rows, toString(modification_time) AS mt FROM system.parts WHERE database = ${quoteString(local.database)} AND table = ${quoteString(local.table)} AND active ORDER BY name`,
      ),
    );
  }
  const holders = new Map<string, number[]>();
  for (const [r, rows] of parts) for (const p of rows) holders.set(p.name, [...(holders.get(p.name) ?? []), r]);
  const odd = [...holders].filter(([, rs]) => rs.length !== live.length);
  out.push(`parts not on every live replica: ${JSON.stringify(odd)}`);
  for (const r of live) out.push(`replica ${r}: ${parts.get(r)!.length} parts: ${parts.get(r)!.map((p) => `${p.name}(${p.rows},${p.mt})`).join(' ')}`);
  for (const [name, rs] of odd) {
    try {
      const ids = (await (await nodes.on(s, rs[0]!)).query<{ id: string }>(`SELECT data_id AS id FROM ${localName} WHERE _part = ${quoteString(name)}`)).map((x) => x.id);
      out.push(`part ${name} on ${rs.join(',')}: ${ids.length} rows, e.g. ${ids.slice(0, 5).join(' ')}`);
      const list = ids.length > 0 ? ids.map(quoteString).join(',') : "''";
      for (const r of live) {
        const where = await (await nodes.on(s, r)).query(`SELECT _part AS p, count() AS n, min(lsn) AS lsn FROM ${localName} WHERE data_id IN (${list}) GROUP BY _part ORDER BY _part`);
        out.push(`  its ids on replica ${r}: ${JSON.stringify(where)}`);
      }
    } catch (err) {
      out.push(`part ${name}: ${(err as Error).message.slice(0, 300)}`);
    }
    for (const r of live) {
      try {
        const events = await (await nodes.on(s, r)).query(
          `SELECT toString(event_time) AS t, event_type, part_name, rows, error, exception FROM system.part_log WHERE table = ${quoteString(local.table)} AND part_name = ${quoteString(name)} ORDER BY event_time`,
        );
        out.push(`  part_log on ${r}: ${JSON.stringify(events)}`);
      } catch (err) {
        out.push(`  part_log on ${r}: ${(err as Error).message.slice(0, 200)}`);
      }
    }
  }
  // Outside the cluster's temp dir, which stop() removes.
  const dest = path.join(os.tmpdir(), `cluster-diag-${Date.now()}`);
  for (let r = 1; r <= cluster.replicas; r++) {
    const n = cluster.node(s, r);
    await cp(path.join(n.dir, 'log'), path.join(dest, `s${s}r${r}`), { recursive: true }).catch(() => undefined);
    const detached = path.join(n.dir, 'data', 'data', local.database, local.table, 'detached');
    out.push(`detached on ${r}: ${(await readdir(detached).catch(() => [])).join(' ')}`);
  }
  out.push(`logs copied to ${dest}`);
  return out.join('\n');
}
