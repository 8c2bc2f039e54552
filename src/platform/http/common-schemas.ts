// Schema pieces several services share, written once.
import { z } from 'zod';
import { TABLE_NAME_PATTERN } from './tenant-id.js';

/** A point in time: epoch milliseconds or an ISO-8601 string, as epoch ms. */
export const instantSchema = z.union([
  z.coerce.number().int().nonnegative(),
  z.string().max(64).transform((s, ctx) => {
    const ms = Date.parse(s);
    if (!Number.isFinite(ms)) {
      ctx.addIssue({ code: 'custom', message: 'must be epoch milliseconds or an ISO-8601 time' });
      return z.NEVER;
    }
    return ms;
  }),
]);

/** A tenant table name. */
export const tableNameSchema = z.string().regex(TABLE_NAME_PATTERN, 'must match ^[a-z0-9][a-z0-9_-]{0,62}$');
