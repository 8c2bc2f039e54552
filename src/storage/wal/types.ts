// Public shapes of the WAL. The logger is structural (pino-compatible) and hooks
// are plain callbacks so the WAL stays free of the metrics library; the service
// that owns the metrics registry wires them up.

export interface WalLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface WalFsyncEvent {
  /** Seconds spent in the durable write(s) of this group (more than one when the group crossed a rotation). */
  durationSeconds: number;
  records: number;
  bytes: number;
  /** Number of append() calls that shared this flush (the group size). */
  appends: number;
}

export interface WalHooks {
  onFsync?(e: WalFsyncEvent): void;
}

export interface WalOptions {
  dir: string;
  /** Rotate before a segment would exceed this many bytes. Default 64 MiB. */
  segmentBytes?: number;
  /**
   * Operator escape hatch: open despite corruption in the middle of the log,
   * logging each skipped byte range at error level instead of refusing to start.
   */
  skipCorrupt?: boolean;
  logger: WalLogger;
  hooks?: WalHooks;
}

export interface WalEntry {
  lsn: number;
  payload: Buffer;
}

export interface WalReadLimits {
  /** Default 10 000. */
  maxRecords?: number;
  /** Bound on the sum of payload bytes; at least one record is always returned. Default 16 MiB. */
  maxBytes?: number;
}

export interface WalAppendResult {
  firstLsn: number;
  lastLsn: number;
}

export interface WalStats {
  segments: number;
  bytes: number;
  lastLsn: number;
  firstLsn: number;
  fsyncs: number;
  appendedRecords: number;
}
