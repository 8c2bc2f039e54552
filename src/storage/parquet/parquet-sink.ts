// The Parquet sink of the applier: one immutable file per (tenant, table, UTC
// date) per applied batch, named by its LSN range.
//
// Idempotence comes from the names: replaying a batch produces the same
// ranges, so the rename replaces the earlier file instead of adding a second.
// Recovery relies on the applier calling removePartsAfter(checkpoint) before
// replaying, which drops files of batches whose checkpoint never advanced
// (their ranges could differ on replay if the batch size changed).
//
// A PartWriter (part-writer.ts) writes each file at a temp name, off the event
// loop: the embedded ClickHouse when this process runs one, parquetjs worker
// threads otherwise; the file is then fsynced, renamed and described here.

import fs from 'node:fs/promises';
import type { Dirent } from 'node:fs';
import path from 'node:path';
import { Errors, isAppError } from '../../platform/errors.js';
import { fsyncDir, publishAtomically, randomSuffix } from './durable-file.js';
import { readPartFooter } from './part-footer.js';
import { formatTempName, isTempName, isValidLsn, parseDateDir } from './part-name.js';
import { isParquetSegment, parquetTableSegments, parquetTenantSegment } from '../physical-names.js';
import { assertName, isInside, parsePartPath, partitionDir, partPath, tableDir } from './part-paths.js';
import type { ParsedPartPath } from './part-paths.js';
import type { EncodeOptions } from './part-encoder.js';
import type { PartSummary } from './part-summary.js';
import { PoolPartWriter, type PartWriter } from './part-writer.js';
import { assertColumns } from './part-schema.js';
import { isValidDate, partitionByUtcDate } from './utc-date.js';
import type { ColumnSpec, StoredRecord, WrittenPart } from './types.js';

export interface ParquetSinkOptions {
  /** PARQUET_DIR. */
  rootDir: string;
  /**
   * Rows per row group. Larger groups compress and scan better; each one is
   * buffered in memory while it is encoded.
   */
  rowGroupRows?: number;
  /** Encoder worker threads of the default (parquetjs) writer (default 1); each encodes one part at a time. */
  workers?: number;
  /** Who writes the files; default: parquetjs on `workers` threads. */
  writer?: PartWriter;
}

/** A part to merge, as the catalog describes it. */
export type MergeInput = Pick<WrittenPart, 'relativePath' | 'date' | 'firstLsn' | 'lastLsn' | 'rows' | 'minTsMs' | 'maxTsMs'>;

/** One UTC date's part written by someone else (see writePartsWith), and what the catalog needs to know of it. */
export interface ExternalPart {
  date: string;
  summary: PartSummary;
  /** Writes the complete file at the given temp path (which does not exist yet), in row groups of `opts.rowGroupRows`. */
  write: (file: string, opts: EncodeOptions) => Promise<void>;
}

interface PartToWrite {
  date: string;
  range: { firstLsn: number; lastLsn: number };
  /** Writes the complete file at the given temp path. */
  write: (file: string) => Promise<PartSummary>;
}

const DEFAULT_ROW_GROUP_ROWS = 32_768;
const DEFAULT_WORKERS = 1;

export class ParquetSink {
  readonly rootDir: string;
  private readonly rowGroupRows: number;
  /** Temp files of writes in progress, which the stale-temp sweep must not touch. */
  private readonly inFlightTemps = new Set<string>();
  private readonly writer: PartWriter;

  constructor(opts: ParquetSinkOptions) {
    if (!opts.rootDir) throw Errors.validation('ParquetSink needs a rootDir');
    this.rootDir = path.resolve(opts.rootDir);
    this.rowGroupRows = opts.rowGroupRows ?? DEFAULT_ROW_GROUP_ROWS;
    if (!Number.isSafeInteger(this.rowGroupRows) || this.rowGroupRows < 1) {
      throw Errors.validation('rowGroupRows must be a positive integer', { rowGroupRows: this.rowGroupRows });
    }
    const workers = opts.workers ?? DEFAULT_WORKERS;
    if (!Number.isSafeInteger(workers) || workers < 1) {
      throw Errors.validation('workers must be a positive integer', { workers });
    }
    this.writer = opts.writer ?? new PoolPartWriter(workers);
  }

  /**
   * Stops the writer (the default one's workers terminate: writes still
   * running fail with storage_failure, later ones too). Listing and deleting
   * keep working. Idempotent.
   */
  close(): Promise<void> {
    return this.writer.close();
  }

  async writeBatch(
    tenant: string,
    table: string,
    columns: ColumnSpec[],
    records: StoredRecord[],
  ): Promise<WrittenPart[]> {
    assertName('tenant', tenant);
    assertName('table', table);
    assertColumns(columns);
    records.forEach(assertRecord);
    const groups = partitionByUtcDate(records);
    const opts = { rowGroupRows: this.rowGroupRows };
    return this.writeParts(
      [...groups].map(([date, group]) => ({
        date,
        range: { firstLsn: group[0]!.lsn, lastLsn: group[group.length - 1]!.lsn },
        write: (file: string) => this.writer.write(file, columns, group, opts),
      })),
      tenant,
      table,
    );
  }

  /**
   * Parts whose files someone else writes (the embedded engine reading the
   * WAL entries itself): the same temp name, fsync, rename and description as
   * writeBatch's. Each part's file must hold exactly `summary.rows` rows,
   * sorted by LSN; its row count and ts_ms range are checked against the
   * file's footer, so a writer that selected the wrong rows fails the batch
   * instead of leaving a part the catalog miscounts.
   */
  async writePartsWith(tenant: string, table: string, columns: ColumnSpec[], parts: readonly ExternalPart[]): Promise<WrittenPart[]> {
    assertName('tenant', tenant);
    assertName('table', table);
    assertColumns(columns);
    const opts = { rowGroupRows: this.rowGroupRows };
    return this.writeParts(
      parts.map((p) => {
        if (!isValidDate(p.date)) throw Errors.validation('part has no valid date', { date: p.date });
        return {
          date: p.date,
          range: { firstLsn: p.summary.firstLsn, lastLsn: p.summary.lastLsn },
          write: async (file: string) => {
            await p.write(file, opts);
            await checkWritten(file, p.summary, `${tenant}/${table} for ${p.date}`);
            return p.summary;
          },
        };
      }),
      tenant,
      table,
    );
  }

  /**
   * Compaction's merge: the rows of whole parts of one day (`inputs`, their
   * LSN ranges consecutive among the day's parts) in one new part, written
   * like any other (temp name, fsync, rename) and checked against the
   * inputs' row count and time range. The inputs stay; swapping them out of
   * the catalog and deleting them is the caller's.
   */
  async mergeParts(tenant: string, table: string, columns: ColumnSpec[], inputs: readonly MergeInput[]): Promise<WrittenPart> {
    assertName('tenant', tenant);
    assertName('table', table);
    assertColumns(columns);
    const first = inputs[0];
    const last = inputs[inputs.length - 1];
    if (!first || !last || inputs.length < 2) throw Errors.validation('a merge needs at least two parts');
    const files = inputs.map((p, i) => {
      const parsed = parsePartPath(this.rootDir, path.resolve(this.rootDir, p.relativePath));
      if (!parsed || parsed.tenant !== tenant || parsed.table !== table || parsed.date !== first.date) {
        throw Errors.validation('merge inputs must be parts of one table and day', { path: p.relativePath });
      }
      if (i > 0 && p.firstLsn <= inputs[i - 1]!.lastLsn) throw Errors.validation('merge inputs must be in LSN order, not overlapping', { path: p.relativePath });
      return parsed.path;
    });
    const summary: PartSummary = {
      rows: inputs.reduce((n, p) => n + p.rows, 0),
      firstLsn: first.firstLsn,
      lastLsn: last.lastLsn,
      minTsMs: Math.min(...inputs.map((p) => p.minTsMs)),
      maxTsMs: Math.max(...inputs.map((p) => p.maxTsMs)),
    };
    const opts = { rowGroupRows: this.rowGroupRows };
    const [merged] = await this.writeParts(
      [
        {
          date: first.date,
          range: { firstLsn: summary.firstLsn, lastLsn: summary.lastLsn },
          write: async (file: string) => {
            await this.writer.merge(file, columns, files, summary, opts);
            await checkWritten(file, summary, `merge of ${tenant}/${table} for ${first.date}`);
            return summary;
          },
        },
      ],
      tenant,
      table,
    );
    return merged!;
  }

  /**
   * Partitions are written concurrently (a pool with several workers, or the
   * engine, encodes them in parallel); any failure fails the batch, once every
   * write has settled, so none is still running when the batch is retried.
   */
  private async writeParts(parts: PartToWrite[], tenant: string, table: string): Promise<WrittenPart[]> {
    const settled = await Promise.allSettled(parts.map((p) => this.writePart(tenant, table, p)));
    const failed = settled.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
    return settled.map((r) => (r as PromiseFulfilledResult<WrittenPart>).value);
  }

  private async writePart(tenant: string, table: string, part: PartToWrite): Promise<WrittenPart> {
    const { date, range } = part;
    const dir = partitionDir(this.rootDir, tenant, table, date);
    const finalPath = partPath(this.rootDir, tenant, table, date, range);
    await this.ensureDirInsideRoot(dir);

    const tempPath = path.join(dir, formatTempName(path.basename(finalPath), randomSuffix()));
    this.inFlightTemps.add(tempPath);
    let summary: PartSummary | undefined;
    let bytes = 0;
    try {
      await publishAtomically(tempPath, finalPath, async (file) => {
        summary = await part.write(file);
        bytes = (await fs.stat(file)).size;
      });
    } catch (err) {
      throw isAppError(err) ? err : Errors.storageFailure(`cannot write Parquet part ${finalPath}`, err);
    } finally {
      this.inFlightTemps.delete(tempPath);
    }

    return {
      tenant,
      table,
      date,
      path: finalPath,
      relativePath: toRelative(this.rootDir, finalPath),
      ...range,
      rows: summary!.rows,
      bytes,
      minTsMs: summary!.minTsMs,
      maxTsMs: summary!.maxTsMs,
    };
  }

  /**
   * The lexical check in partitionDir cannot see symlinks; a tenant directory
   * replaced by a link to elsewhere must not receive files.
   */
  private async ensureDirInsideRoot(dir: string): Promise<void> {
    await fs.mkdir(dir, { recursive: true });
    const [realRoot, realDir] = await Promise.all([fs.realpath(this.rootDir), fs.realpath(dir)]);
    if (!isInside(realRoot, realDir)) {
      throw Errors.storageFailure(`Parquet partition directory ${dir} resolves outside the Parquet root`);
    }
  }

  /**
   * Deletes parts whose lastLsn > lsn and every temp file that no write of this
   * instance is using. Meant for startup, before replay; returns deleted part paths.
   */
  async removePartsAfter(lsn: number): Promise<string[]> {
    if (!isValidLsn(lsn)) throw Errors.validation('removePartsAfter needs a non-negative safe integer LSN', { lsn });
    const deleted: string[] = [];
    for (const dir of await this.partitionDirs()) {
      let touched = false;
      for (const entry of await readDirIfExists(dir)) {
        if (!entry.isFile()) continue;
        const file = path.join(dir, entry.name);
        if (isTempName(entry.name)) {
          if (this.inFlightTemps.has(file)) continue;
          await fs.rm(file, { force: true });
          touched = true;
          continue;
        }
        const part = parsePartPath(this.rootDir, file);
        if (part && part.lastLsn > lsn) {
          await fs.rm(file, { force: true });
          deleted.push(file);
          touched = true;
        }
      }
      if (touched) await fsyncDir(dir);
    }
    return deleted.sort();
  }

  /** Part files by name only (no footer reads): what recovery needs, and it never trips on a foreign file's footer. */
  async listPartFiles(): Promise<ParsedPartPath[]> {
    const out: ParsedPartPath[] = [];
    for (const dir of await this.partitionDirs(undefined, undefined)) {
      for (const entry of await readDirIfExists(dir)) {
        if (!entry.isFile()) continue;
        const parsed = parsePartPath(this.rootDir, path.join(dir, entry.name));
        if (parsed) out.push(parsed);
      }
    }
    return out;
  }

  async listParts(tenant?: string, table?: string): Promise<WrittenPart[]> {
    if (tenant !== undefined) assertName('tenant', tenant);
    if (table !== undefined) assertName('table', table);
    const parts: WrittenPart[] = [];
    for (const dir of await this.partitionDirs(tenant, table)) {
      for (const entry of await readDirIfExists(dir)) {
        if (!entry.isFile()) continue;
        const parsed = parsePartPath(this.rootDir, path.join(dir, entry.name));
        if (parsed) parts.push(await this.describe(parsed));
      }
    }
    return parts.sort(comparePart);
  }

  async deletePart(partFile: string): Promise<void> {
    const parsed = parsePartPath(this.rootDir, path.resolve(this.rootDir, partFile));
    if (!parsed) throw Errors.validation('not a Parquet part path under the Parquet root', { path: partFile });
    await fs.rm(parsed.path, { force: true });
    try {
      await fsyncDir(path.dirname(parsed.path));
    } catch (err) {
      // The partition directory is gone: the file is gone with it.
      if (!isNotFound(err)) throw err;
    }
  }

  /**
   * Deletes every file of a tenant table (parts and temps) and its directory,
   * and the tenant's directory with its last table; returns how many part
   * files went. The caller makes sure nothing writes the table meanwhile.
   */
  async dropTable(tenant: string, table: string): Promise<number> {
    const dir = tableDir(this.rootDir, tenant, table);
    let parts = 0;
    for (const d of await this.partitionDirs(tenant, table)) {
      for (const entry of await readDirIfExists(d)) if (entry.isFile() && parsePartPath(this.rootDir, path.join(d, entry.name))) parts++;
    }
    await fs.rm(dir, { recursive: true, force: true });
    const tenantDir = path.dirname(dir);
    try {
      await fs.rmdir(tenantDir);
      await fsyncDir(this.rootDir);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOTEMPTY' || code === 'EEXIST') await fsyncDir(tenantDir);
      else if (code !== 'ENOENT') throw err;
    }
    return parts;
  }

  private async describe(parsed: ParsedPartPath): Promise<WrittenPart> {
    const [stat, footer] = await Promise.all([fs.stat(parsed.path), readPartFooter(parsed.path)]);
    return {
      tenant: parsed.tenant,
      table: parsed.table,
      date: parsed.date,
      path: parsed.path,
      relativePath: parsed.relativePath,
      firstLsn: parsed.firstLsn,
      lastLsn: parsed.lastLsn,
      rows: footer.rows,
      bytes: stat.size,
      minTsMs: footer.minTsMs,
      maxTsMs: footer.maxTsMs,
    };
  }

  /** All <root>/<tenant dir>/<table dir>/date=<d> directories, optionally narrowed (names from physical-names.ts). */
  private async partitionDirs(tenant?: string, table?: string): Promise<string[]> {
    const dirs: string[] = [];
    const tenantDirs = tenant !== undefined ? [parquetTenantSegment(tenant)] : await childDirs(this.rootDir, isParquetSegment);
    for (const t of tenantDirs) {
      const tenantDir = path.join(this.rootDir, t);
      const tableDirs = tenant !== undefined && table !== undefined ? [parquetTableSegments(tenant, table)[1]] : await childDirs(tenantDir, isParquetSegment);
      for (const tb of tableDirs) {
        const tableDir = path.join(tenantDir, tb);
        for (const d of await childDirs(tableDir, (name) => parseDateDir(name) !== null)) dirs.push(path.join(tableDir, d));
      }
    }
    return dirs;
  }
}

/** Fails unless the file's footer holds `summary`'s row count and time range. */
async function checkWritten(file: string, summary: PartSummary, what: string): Promise<void> {
  const footer = await readPartFooter(file);
  const { rows, minTsMs, maxTsMs } = summary;
  if (footer.rows !== rows || footer.minTsMs !== minTsMs || footer.maxTsMs !== maxTsMs) {
    throw Errors.storageFailure(`Parquet part of ${what} does not hold the rows it was written for`, { written: footer, expected: { rows, minTsMs, maxTsMs } });
  }
}

function assertRecord(record: StoredRecord, index: number): void {
  if (typeof record.dataId !== 'string') {
    throw Errors.validation('record dataId must be a string', { index });
  }
  if (!isValidLsn(record.lsn)) {
    throw Errors.validation('record lsn must be a non-negative safe integer', { index, dataId: record.dataId });
  }
  if (record.payload === null || typeof record.payload !== 'object' || Array.isArray(record.payload)) {
    throw Errors.validation('record payload must be a JSON object', { index, dataId: record.dataId });
  }
}

/** Names of the child directories that `fits`; [] if absent. */
async function childDirs(dir: string, fits: (name: string) => boolean): Promise<string[]> {
  const entries = await readDirIfExists(dir);
  return entries
    .filter((e) => e.isDirectory() && fits(e.name))
    .map((e) => e.name)
    .sort();
}

async function readDirIfExists(dir: string): Promise<Dirent[]> {
  try {
    return await fs.readdir(dir, { withFileTypes: true });
  } catch (err) {
    if (isNotFound(err)) return [];
    throw err;
  }
}

function isNotFound(err: unknown): boolean {
  return (err as NodeJS.ErrnoException | null)?.code === 'ENOENT';
}

function toRelative(root: string, file: string): string {
  return path.relative(root, file).split(path.sep).join('/');
}

function comparePart(a: WrittenPart, b: WrittenPart): number {
  return (
    compareStrings(a.tenant, b.tenant) ||
    compareStrings(a.table, b.table) ||
    compareStrings(a.date, b.date) ||
    a.firstLsn - b.firstLsn ||
    a.lastLsn - b.lastLsn
  );
}

// Code-unit order, not locale order: listings must not change with the locale.
function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
