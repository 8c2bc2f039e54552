// Defense in depth for file paths. The caller already validated tenant and
// table, but a path built from request data is the one place where a missed
// check becomes a write outside PARQUET_DIR, so every segment is checked
// again here and the result must resolve strictly inside the root. The
// directory names of (tenant, table) come from physical-names.ts.

import path from 'node:path';
import { Errors } from '../../platform/errors.js';
import { parquetTableSegments, parseParquetTableSegments } from '../physical-names.js';
import { formatDateDir, formatPartName, parseDateDir, parsePartName } from './part-name.js';
import type { PartRange } from './part-name.js';
import { isValidDate } from './utc-date.js';

const NAME_RE = /^[a-z0-9][a-z0-9_-]{0,62}$/;

export function isValidName(name: string): boolean {
  return NAME_RE.test(name);
}

export function assertName(kind: 'tenant' | 'table', name: string): void {
  if (typeof name !== 'string' || !NAME_RE.test(name)) {
    throw Errors.validation(`invalid ${kind} name for a Parquet path`, { [kind]: String(name) });
  }
}

/** True when `candidate` (absolute, resolved) is strictly inside `root`. */
export function isInside(root: string, candidate: string): boolean {
  const rel = path.relative(root, candidate);
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
}

/** The directory holding every partition of one tenant table. */
export function tableDir(root: string, tenant: string, table: string): string {
  assertName('tenant', tenant);
  assertName('table', table);
  const dir = path.resolve(root, ...parquetTableSegments(tenant, table));
  if (!isInside(root, dir)) throw Errors.validation('table path escapes the Parquet root', { tenant, table });
  return dir;
}

export function partitionDir(root: string, tenant: string, table: string, date: string): string {
  assertName('tenant', tenant);
  assertName('table', table);
  if (!isValidDate(date)) throw Errors.validation('invalid partition date', { date });
  const dir = path.resolve(root, ...parquetTableSegments(tenant, table), formatDateDir(date));
  if (!isInside(root, dir)) throw Errors.validation('partition path escapes the Parquet root', { tenant, table });
  return dir;
}

export function partPath(root: string, tenant: string, table: string, date: string, range: PartRange): string {
  return path.join(partitionDir(root, tenant, table, date), formatPartName(range));
}

export interface ParsedPartPath extends PartRange {
  tenant: string;
  table: string;
  date: string;
  path: string;
  relativePath: string;
}

/**
 * Parses an absolute (or root-relative) part path back into its parts, or
 * returns null when it is not exactly <root>/<tenant dir>/<table dir>/date=<d>/part-….
 */
export function parsePartPath(root: string, candidate: string): ParsedPartPath | null {
  const abs = path.resolve(root, candidate);
  if (!isInside(root, abs)) return null;
  const segments = path.relative(root, abs).split(path.sep);
  if (segments.length !== 4) return null;
  const [tenantDir, tableDir, dateDir, name] = segments as [string, string, string, string];
  const ref = parseParquetTableSegments(tenantDir, tableDir);
  const date = parseDateDir(dateDir);
  const range = parsePartName(name);
  if (!ref || !isValidName(ref.tenant) || !isValidName(ref.table) || date === null || !isValidDate(date) || range === null) return null;
  return { tenant: ref.tenant, table: ref.table, date, path: abs, relativePath: segments.join('/'), ...range };
}
