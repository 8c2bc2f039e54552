// Turns whatever a ClickHouse driver throws into our error model. Kept apart
// from the adapters so both word their failures the same way.

import { AppError, Errors } from '../../platform/errors.js';

function isAbort(err: unknown): boolean {
  return err instanceof Error && err.name === 'AbortError';
}

/**
 * Aborts surface as the caller's own abort reason (they asked for it); every
 * other failure becomes a storage_failure with the engine's message.
 */
export function toEngineError(err: unknown, what: string, signal?: AbortSignal): unknown {
  if (signal?.aborted) return signal.reason ?? err;
  if (isAbort(err)) return err;
  if (err instanceof AppError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return Errors.storageFailure(`ClickHouse ${what} failed: ${message}`, err);
}

/** Rejects at once when the signal is already aborted, before any engine work. */
export function throwIfAborted(signal?: AbortSignal): void {
  if (signal?.aborted) throw signal.reason ?? new DOMException('This operation was aborted', 'AbortError');
}

// 26.x: "(UNKNOWN_TABLE)" / "(UNKNOWN_DATABASE)"; 18.16: "Code: 60, … doesn't exist" / "Code: 81, …".
// A tenant's database is created with its first table, so before that a read
// meets an unknown database rather than an unknown table: both mean "not yet".
const UNKNOWN_TABLE_OR_DATABASE = /UNKNOWN_TABLE|UNKNOWN_DATABASE|Code: (?:60|81)[,.]/;

/** True when the engine said the table (or its database) does not exist. */
export function isUnknownTableError(err: unknown): boolean {
  return err instanceof Error && UNKNOWN_TABLE_OR_DATABASE.test(err.message);
}
