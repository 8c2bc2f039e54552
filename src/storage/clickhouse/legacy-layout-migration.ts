// Start-up migration of ClickHouse tables named the old way. Before
// physical-names.ts, every tenant table lived in the base database as
// `<tenant>__<table>`, a name two (tenant, table) pairs could share. Now each
// tenant has its own database. On start, after the engine opens and before the
// applier writes anything, every old-named table in the base database is
// either moved to its new place with RENAME TABLE (both 18.16 and current
// servers rename across databases), one log line per table, or boot is
// refused with a message naming the table and what to do. Nothing is moved
// unless every old table can be: the operator sees all problems at once.
//
// The catalog decides how an old name splits: the name must be the old name of
// exactly one catalogued (tenant, table). Two entries mean the old naming
// merged two tenants' tables (their rows may be mixed, whose is whose cannot be
// known here); none means the table is not ours to move.
import type { Logger } from 'pino';
import { clickhouseLocation, legacyClickHouseTable, parquetTableDir, QUERY_LOG_LOCAL_TABLE, QUERY_LOG_TABLE, type ClickHouseLocation, type TableRef } from '../physical-names.js';
import type { ClickHouseEngine } from './clickhouse-engine.js';
import { quoteIdentifier, quoteString } from './sql-literal.js';

/** Tables the product itself keeps in the base database; never tenant tables. */
export const BASE_DATABASE_TABLES: ReadonlySet<string> = new Set<string>([QUERY_LOG_TABLE, QUERY_LOG_LOCAL_TABLE]);

// Every old tenant table name contains the old separator; nothing else in the base database is considered.
const LEGACY_SEPARATOR = '__';

export interface LegacyLayoutDeps {
  engine: ClickHouseEngine;
  /** Every (tenant, table) the catalog knows. */
  catalogTables: () => Promise<readonly TableRef[]>;
  logger: Logger;
}

export interface MigratedTable extends TableRef {
  from: ClickHouseLocation;
  to: ClickHouseLocation;
}

/** Boot must not go on: old-layout tables that cannot be migrated safely. Not retried. */
export class LegacyLayoutError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(
      `refusing to start: ${problems.length} ClickHouse table(s) of the old naming cannot be migrated to one database per tenant; nothing was moved.\n` +
        problems.map((p) => ` - ${p}`).join('\n'),
    );
    this.name = 'LegacyLayoutError';
  }
}

/** Moves every old-named table of the base database to its tenant's database, or throws LegacyLayoutError. */
export async function migrateLegacyLayout(deps: LegacyLayoutDeps): Promise<MigratedTable[]> {
  const { engine } = deps;
  const base = engine.database;
  const rows = await engine.query<{ name: string }>(`SELECT name FROM system.tables WHERE database = ${quoteString(base)} ORDER BY name`);
  const legacy = rows.map((r) => r.name).filter((name) => name.includes(LEGACY_SEPARATOR) && !BASE_DATABASE_TABLES.has(name));
  if (legacy.length === 0) return [];

  const owners = new Map<string, TableRef[]>();
  for (const t of await deps.catalogTables()) {
    const name = legacyClickHouseTable(t.tenant, t.table);
    owners.set(name, [...(owners.get(name) ?? []), { tenant: t.tenant, table: t.table }]);
  }

  const plan: MigratedTable[] = [];
  const problems: string[] = [];
  for (const name of legacy) {
    const from = { database: base, table: name };
    const candidates = owners.get(name) ?? [];
    if (candidates.length === 0) {
      problems.push(
        `${show(from)} is named like an old tenant table (<tenant>__<table>) but no catalogued tenant table has that name, so whose rows it holds is unknown. ` +
          `If it is left over, drop it (DROP TABLE ${sql(from)}) or move it to another database, then start again.`,
      );
      continue;
    }
    if (candidates.length > 1) {
      problems.push(
        `${show(from)} is the old name of ${candidates.length} catalogued tables (${candidates.map((c) => `tenant '${c.tenant}' table '${c.table}'`).join(', ')}): ` +
          `the old naming stored them in this one table, so its rows may be mixed and cannot be split by name. ` +
          `Move it out of the base database (RENAME TABLE ${sql(from)} TO <another database>.${quoteIdentifier(name)}), ` +
          `restore each tenant's rows from its Parquet files (${candidates.map((c) => `PARQUET_DIR/${parquetTableDir(c.tenant, c.table)}`).join(', ')}) if they are needed in ClickHouse, then start again.`,
      );
      continue;
    }
    const ref = candidates[0]!;
    const to = clickhouseLocation(base, ref.tenant, ref.table);
    if (await tableExists(engine, to)) {
      problems.push(
        `${show(from)} (old naming) and ${show(to)} (new naming) both hold tenant '${ref.tenant}' table '${ref.table}'. ` +
          `Keep one: merge the rows you need into ${sql(to)} and drop ${sql(from)}, then start again.`,
      );
      continue;
    }
    plan.push({ ...ref, from, to });
  }
  if (problems.length > 0) throw new LegacyLayoutError(problems);

  for (const m of plan) {
    await engine.exec(`CREATE DATABASE IF NOT EXISTS ${quoteIdentifier(m.to.database)}`);
    await engine.exec(`RENAME TABLE ${sql(m.from)} TO ${sql(m.to)}`);
    deps.logger.info({ tenant: m.tenant, table: m.table, from: show(m.from), to: show(m.to) }, 'migrated ClickHouse table from the old naming to its tenant database');
  }
  return plan;
}

async function tableExists(engine: ClickHouseEngine, loc: ClickHouseLocation): Promise<boolean> {
  const rows = await engine.query(`SELECT 1 AS x FROM system.tables WHERE database = ${quoteString(loc.database)} AND name = ${quoteString(loc.table)}`);
  return rows.length > 0;
}

function sql(loc: ClickHouseLocation): string {
  return `${quoteIdentifier(loc.database)}.${quoteIdentifier(loc.table)}`;
}

function show(loc: ClickHouseLocation): string {
  return `table ${sql(loc)}`;
}
