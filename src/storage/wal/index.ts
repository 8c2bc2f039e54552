// Public surface of the write-ahead log. Everything else in this folder is an
// implementation detail (exported from its own file only for unit tests).

export { WriteAheadLog } from './write-ahead-log.js';
export { isWalCorruption, type WalCorruptionDetails } from './errors.js';
export { crc32c } from './crc32c.js';
export { WalMetrics } from './metrics.js';
export type {
  WalAppendResult,
  WalEntry,
  WalFsyncEvent,
  WalHooks,
  WalLogger,
  WalOptions,
  WalReadLimits,
  WalStats,
} from './types.js';
