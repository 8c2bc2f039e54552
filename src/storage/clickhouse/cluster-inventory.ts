// What one node holds of the product's tables, read in three queries (its
// databases, replicated tables with their CREATE statements, and columns), and
// the small parsers cluster mode needs: a replicated table's generation from
// its CREATE statement, and a ZooKeeper column list.
import { Errors } from '../../platform/errors.js';
import { parseReplicatedTablePath, type ClickHouseLocation } from '../physical-names.js';
import type { ServerEngine } from './server-engine.js';
import { quoteString } from './sql-literal.js';

/** What one node holds in the product's databases. */
export interface NodeInventory {
  databases: Set<string>;
  /** `<db>.<table>` → CREATE statement, for local (replicated) tables. */
  localTables: Map<string, string>;
  /** `<db>.<table>` → column name → ClickHouse type. */
  columns: Map<string, Map<string, string>>;
}

/** The generation of `local` on a node, when it holds that table as this product made it (under `zkPathPrefix`). */
export function generationIn(inv: NodeInventory, local: ClickHouseLocation, zkPathPrefix: string): string | undefined {
  const create = inv.localTables.get(`${local.database}.${local.table}`);
  if (create === undefined) return undefined;
  const path = /ReplicatedReplacingMergeTree\('((?:[^'\\]|\\.)*)'/.exec(create)?.[1];
  const parsed = path === undefined ? undefined : parseReplicatedTablePath(zkPathPrefix, path);
  // A table of ours under another prefix or of another shape: not one this product made, so treated as absent.
  return parsed && parsed.database === local.database && parsed.table === local.table ? parsed.generation : undefined;
}

/** `columns format version: 1\nN columns:\n`a` T\n…` → ['`a` T', …] (the definitions, as CREATE takes them). */
export function parseZooKeeperColumns(value: string): string[] {
  const lines = value.split('\n');
  const start = lines.findIndex((l) => /^\d+ columns:$/.test(l));
  if (start < 0) throw Errors.storageFailure(`unreadable column list in ZooKeeper: ${value.slice(0, 200)}`);
  return lines.slice(start + 1).filter((l) => l.length > 0);
}

/** Promoted column names of a ZooKeeper column list. */
export function zooKeeperColumnNames(value: string): string[] {
  return parseZooKeeperColumns(value).flatMap((def) => {
    const m = /^`((?:[^`\\]|\\.)*)`/.exec(def);
    return m ? [m[1]!] : [];
  });
}

/** Orders generations by creation time (their base-36 suffix). */
export function compareGenerations(a: string, b: string): number {
  return parseInt(a.slice(1), 36) - parseInt(b.slice(1), 36);
}


export async function columnsOf(e: ServerEngine, loc: ClickHouseLocation): Promise<Map<string, string>> {
  const rows = await e.query<{ name: string; type: string }>(
    `SELECT name, type FROM system.columns WHERE database = ${quoteString(loc.database)} AND table = ${quoteString(loc.table)}`,
  );
  return new Map(rows.map((r) => [r.name, r.type]));
}

/** The product's databases on one node (all of them, or only `databases`), with local tables and columns. */
export async function readInventory(e: ServerEngine, base: string, databases?: readonly string[]): Promise<NodeInventory> {
  const ours = (column: string) =>
    databases
      ? `${column} IN (${databases.map(quoteString).join(', ')})`
      : `(${prefixed(column, `${base}__`)} OR ${prefixed(column, `${base}_local__`)})`;
  const [dbs, tables, columns] = await Promise.all([
    e.query<{ name: string }>(`SELECT name FROM system.databases WHERE ${ours('name')}`),
    e.query<{ database: string; name: string; q: string }>(
      `SELECT database, name, create_table_query AS q FROM system.tables WHERE ${ours('database')} AND engine = 'ReplicatedReplacingMergeTree'`,
    ),
    e.query<{ database: string; table: string; name: string; type: string }>(`SELECT database, table, name, type FROM system.columns WHERE ${ours('database')}`),
  ]);
  const inv: NodeInventory = { databases: new Set(dbs.map((d) => d.name)), localTables: new Map(), columns: new Map() };
  for (const t of tables) inv.localTables.set(`${t.database}.${t.name}`, t.q);
  for (const c of columns) {
    const k = `${c.database}.${c.table}`;
    let cols = inv.columns.get(k);
    if (!cols) inv.columns.set(k, (cols = new Map()));
    cols.set(c.name, c.type);
  }
  return inv;
}

// substring() counts bytes, hence byteLength (18.16 has no startsWith).
function prefixed(column: string, prefix: string): string {
  return `substring(${column}, 1, ${Buffer.byteLength(prefix)}) = ${quoteString(prefix)}`;
}
