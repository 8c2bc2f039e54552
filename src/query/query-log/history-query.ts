// The query string of GET /query/history and the dashboard's history view
// (one schema for both, so they accept and refuse the same values), its
// paging cursor, and how a stored row is shown to whom: the query text only
// to the tenant's own users and admins, the normalized text to everyone.
import { z } from 'zod';
import { TENANT_ID_PATTERN } from '../../platform/http/tenant-id.js';
import { Errors } from '../../platform/errors.js';
import type { QueryLogRow, QueryLogSort } from '../../storage/clickhouse/query-log-table.js';

export const HISTORY_STATES = ['finished', 'failed', 'cancelled', 'timeout'] as const;
export const MAX_HISTORY_LIMIT = 500;

/** Epoch milliseconds or an ISO-8601 timestamp with an offset. */
const instant = z.union([
  z.string().regex(/^\d{1,15}$/, 'epoch milliseconds or ISO-8601').transform(Number),
  z.iso.datetime({ offset: true }).transform((s) => Date.parse(s)),
]);

export const historyQuery = z
  .strictObject({
    from: instant.optional().describe('queries that ended at or after (epoch ms or ISO-8601)'),
    to: instant.optional().describe('queries that ended before (epoch ms or ISO-8601)'),
    tenant: z.string().regex(TENANT_ID_PATTERN, 'must match ^[a-z0-9][a-z0-9_-]{0,62}$').optional().describe('admins and operators: one tenant; a member sees its own tenant only'),
    principal: z.string().min(1).max(200).optional().describe('who ran it, e.g. user:alice or apiKey:<id>'),
    state: z
      .string()
      .max(100)
      .transform((v, ctx) => {
        const states = v.split(',').map((s) => s.trim()).filter(Boolean);
        for (const s of states) {
          if (!(HISTORY_STATES as readonly string[]).includes(s)) ctx.addIssue({ code: 'custom', message: `unknown state '${s}'; known: ${HISTORY_STATES.join(', ')}` });
        }
        return [...new Set(states)];
      })
      .optional()
      .describe(`comma-separated: ${HISTORY_STATES.join(', ')}`),
    minElapsedMs: z.coerce.number().finite().min(0).max(1e9).optional().describe('only queries that ran at least this long'),
    hash: z.string().regex(/^\d{1,20}$/, 'an unsigned 64-bit decimal').optional().describe('normalized query hash: every run of one query shape'),
    sort: z.enum(['newest', 'slowest']).default('newest'),
    limit: z.coerce.number().int().min(1).max(MAX_HISTORY_LIMIT).default(50),
    cursor: z.string().max(512).optional().describe('nextCursor of the previous page'),
  })
  .refine((q) => q.from === undefined || q.to === undefined || q.from < q.to, { message: 'from must be before to', path: ['from'] });

export type HistoryQuery = z.infer<typeof historyQuery>;

/** Where the previous page ended: its sort and the last row's sort key and id. */
export interface HistoryCursor {
  sort: QueryLogSort;
  key: number;
  id: string;
}

export function encodeCursor(c: HistoryCursor): string {
  return Buffer.from(JSON.stringify([c.sort, c.key, c.id])).toString('base64url');
}

/** The cursor, or a 400 naming it: a cursor is only ever one we made, for the same sort. */
export function decodeCursor(raw: string, sort: QueryLogSort): HistoryCursor {
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8'));
  } catch {
    throw Errors.validation('cursor is not one this server gave out', { field: 'cursor' });
  }
  if (!Array.isArray(v) || v.length !== 3 || (v[0] !== 'newest' && v[0] !== 'slowest') || typeof v[1] !== 'number' || !Number.isFinite(v[1]) || v[1] < 0 || typeof v[2] !== 'string' || v[2].length > 64) {
    throw Errors.validation('cursor is not one this server gave out', { field: 'cursor' });
  }
  if (v[0] !== sort) throw Errors.validation(`cursor belongs to sort=${v[0]}, not sort=${sort}`, { field: 'cursor' });
  return { sort, key: v[1], id: v[2] };
}

/** Whom an entry is shown to: the query text and error message only where `seesText`. */
export interface HistoryViewer {
  seesText: boolean;
}

export interface HistoryEntry {
  queryId: string;
  tenant: string;
  principal: string;
  role: string;
  state: string;
  kind: string;
  /** The text as sent (cut at 64 KiB with a marker); null for operators. */
  query: string | null;
  queryBytes: number;
  queryTruncated: boolean;
  normalizedQuery: string;
  normalizedQueryHash: string;
  rows: number;
  bytes: number;
  elapsedMs: number;
  startedAt: string;
  endedAt: string;
  errorCode: string | null;
  /** The error message; null for operators (it may quote the query's values). */
  error: string | null;
  client: { via: string; format: string; userAgent: string | null };
}

export function entryOf(r: QueryLogRow, viewer: HistoryViewer): HistoryEntry {
  return {
    queryId: r.query_id,
    tenant: r.tenant,
    principal: r.principal,
    role: r.role,
    state: r.state,
    kind: r.kind,
    query: viewer.seesText ? r.query : null,
    queryBytes: r.query_bytes,
    queryTruncated: r.query_truncated === 1,
    normalizedQuery: r.normalized_query,
    normalizedQueryHash: r.normalized_query_hash,
    rows: r.rows,
    bytes: r.bytes,
    elapsedMs: r.elapsed_ms,
    startedAt: new Date(r.start_ms).toISOString(),
    endedAt: new Date(r.end_ms).toISOString(),
    errorCode: r.error_code || null,
    error: viewer.seesText ? r.error || null : null,
    client: { via: r.via, format: r.format, userAgent: r.user_agent || null },
  };
}
