// Corruption is reported through the shared AppError (code `wal_corrupt`) so the
// boot sequence and error middleware need no WAL-specific type; `details` always
// names the segment file and byte offset so an operator can inspect the bytes.

import { Errors, isAppError, ErrorCode, type AppError } from '../../platform/errors.js';

export interface WalCorruptionDetails {
  file: string;
  offset: number;
  reason: string;
  [key: string]: unknown;
}

export function walCorruption(details: WalCorruptionDetails): AppError {
  return Errors.walCorrupt(`WAL corruption in ${details.file} at byte ${details.offset}: ${details.reason}`, details);
}

export function isWalCorruption(err: unknown): err is AppError & { details: WalCorruptionDetails } {
  return isAppError(err) && err.code === ErrorCode.WalCorrupt;
}
