// Cursor pagination over (lsn, data_id): the cursor is the last row of the
// previous page, base64url-encoded so clients treat it as opaque.
import { Errors } from '../platform/errors.js';

export interface CursorPosition {
  lsn: number;
  dataId: string;
}

export function encodeCursor(pos: CursorPosition): string {
  return Buffer.from(JSON.stringify([pos.lsn, pos.dataId]), 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string): CursorPosition {
  try {
    const v = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(v) && v.length === 2 && Number.isSafeInteger(v[0]) && typeof v[1] === 'string') {
      return { lsn: v[0] as number, dataId: v[1] };
    }
  } catch {
    /* fall through */
  }
  throw Errors.validation('cursor is not valid; pass next_cursor from a previous page unchanged', { field: 'cursor' });
}

// ClickHouse orders String by bytes (UTF-8), so compare the same way here.
function compareIds(a: string, b: string): number {
  return a === b ? 0 : Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

export function isAfter(r: CursorPosition, pos: CursorPosition | undefined): boolean {
  return pos === undefined || r.lsn > pos.lsn || (r.lsn === pos.lsn && compareIds(r.dataId, pos.dataId) > 0);
}

export function compareRows(a: CursorPosition, b: CursorPosition): number {
  return a.lsn - b.lsn || compareIds(a.dataId, b.dataId);
}
