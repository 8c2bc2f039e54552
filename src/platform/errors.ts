// One error type for everything we expect to go wrong. Each has a stable string
// code (clients and tests match on it), an HTTP status and whether a retry can
// help. The error middleware is the only place that turns these into responses.

export const ErrorCode = {
  BadRequest: 'bad_request',
  InvalidJson: 'invalid_json',
  InvalidEncoding: 'invalid_encoding',
  ValidationFailed: 'validation_failed',
  InvalidTenantId: 'invalid_tenant_id',
  PayloadTooLarge: 'payload_too_large',
  UnsupportedMediaType: 'unsupported_media_type',
  NotFound: 'not_found',
  MethodNotAllowed: 'method_not_allowed',
  Unauthorized: 'unauthorized',
  Forbidden: 'forbidden',
  RateLimited: 'rate_limited',
  Conflict: 'conflict',
  NotReady: 'not_ready',
  NotFresh: 'not_fresh',
  Backpressure: 'ingest_backpressure',
  ShuttingDown: 'shutting_down',
  UpstreamUnavailable: 'upstream_unavailable',
  UpstreamTimeout: 'upstream_timeout',
  UpstreamFailed: 'upstream_failed',
  StorageFailure: 'storage_failure',
  WalCorrupt: 'wal_corrupt',
  InvalidQuery: 'invalid_query',
  QueryCancelled: 'query_cancelled',
  QueryTimeout: 'query_timeout',
  SelfApproval: 'self_approval',
  ApprovalExpired: 'approval_expired',
  ApprovalDecided: 'approval_decided',
  Internal: 'internal_error',
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export interface AppErrorOptions {
  status: number;
  retriable?: boolean;
  /** Extra machine-readable facts for the client (record index, field, position…). */
  details?: Record<string, unknown>;
  /** Extra response headers, e.g. Retry-After. */
  headers?: Record<string, string>;
  cause?: unknown;
}

/**
 * 503s that describe a state the server is in by design, not a fault: it is
 * starting, draining, waiting for the applier (not_fresh) or pushing back on
 * ingest. The client is told when to retry; they are logged at warn without a
 * stack and left out of the 5xx alert.
 */
const EXPECTED_UNAVAILABLE: ReadonlySet<ErrorCode> = new Set<ErrorCode>([ErrorCode.NotReady, ErrorCode.NotFresh, ErrorCode.ShuttingDown, ErrorCode.Backpressure]);

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly retriable: boolean;
  readonly details: Record<string, unknown> | undefined;
  readonly headers: Record<string, string> | undefined;
  /**
   * Whether a 5xx is the server's fault (logged as an error, counted by the 5xx
   * alert): every 5xx but the expected ones (EXPECTED_UNAVAILABLE).
   */
  readonly serverFault: boolean;

  constructor(code: ErrorCode, message: string, opts: AppErrorOptions) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'AppError';
    this.code = code;
    this.status = opts.status;
    this.retriable = opts.retriable ?? false;
    this.details = opts.details;
    this.headers = opts.headers;
    this.serverFault = opts.status >= 500 && !EXPECTED_UNAVAILABLE.has(code);
  }
}

export function isAppError(err: unknown): err is AppError {
  return err instanceof AppError;
}

/** Factories: the one place a given failure gets its code, status and wording. */
export const Errors = {
  badRequest: (message: string, details?: Record<string, unknown>) =>
    new AppError(ErrorCode.BadRequest, message, { status: 400, details }),
  invalidJson: (message: string) => new AppError(ErrorCode.InvalidJson, `malformed JSON: ${message}`, { status: 400 }),
  /** Text that is not valid UTF-8 (or JSON escapes of lone UTF-16 surrogates, which no UTF-8 text can hold). */
  invalidEncoding: (message: string, details?: Record<string, unknown>) =>
    new AppError(ErrorCode.InvalidEncoding, message, { status: 400, details }),
  validation: (message: string, details?: Record<string, unknown>) =>
    new AppError(ErrorCode.ValidationFailed, message, { status: 400, details }),
  invalidTenantId: () =>
    new AppError(ErrorCode.InvalidTenantId, 'X-Tenant-Id must match ^[a-z0-9][a-z0-9_-]{0,62}$', { status: 400 }),
  payloadTooLarge: (limitBytes: number) =>
    new AppError(ErrorCode.PayloadTooLarge, `request body exceeds the limit of ${limitBytes} bytes`, {
      status: 413,
      details: { limitBytes },
    }),
  unsupportedMediaType: (got: string | undefined, accepted: string[]) =>
    new AppError(
      ErrorCode.UnsupportedMediaType,
      `Content-Type ${got ? `'${got}'` : '(none)'} is not supported; use one of: ${accepted.join(', ')}`,
      { status: 415 },
    ),
  notFound: (what: string) => new AppError(ErrorCode.NotFound, `${what} not found`, { status: 404 }),
  methodNotAllowed: (method: string, path: string, allowed: string[]) =>
    new AppError(ErrorCode.MethodNotAllowed, `${method} is not allowed on ${path}`, {
      status: 405,
      headers: { Allow: allowed.join(', ') },
    }),
  unauthorized: (message = 'a valid credential is required') =>
    new AppError(ErrorCode.Unauthorized, message, { status: 401, headers: { 'WWW-Authenticate': 'Bearer' } }),
  forbidden: (message: string) => new AppError(ErrorCode.Forbidden, message, { status: 403 }),
  rateLimited: (message: string, retryAfterSeconds: number) =>
    new AppError(ErrorCode.RateLimited, message, {
      status: 429,
      retriable: true,
      headers: { 'Retry-After': String(Math.max(1, Math.ceil(retryAfterSeconds))) },
      details: { retryAfterSeconds },
    }),
  conflict: (message: string) => new AppError(ErrorCode.Conflict, message, { status: 409 }),
  notReady: (what: string) =>
    new AppError(ErrorCode.NotReady, `${what} is not ready yet`, { status: 503, retriable: true, headers: { 'Retry-After': '1' } }),
  /** A query waited QUERY_FRESHNESS_WAIT_MS (or its timeout) and the applier had still not applied what it must see. */
  notFresh: (f: { requiredLsn: number; appliedLsn: number; waitedMs: number; lag: { records: number; seconds: number } }) =>
    new AppError(
      ErrorCode.NotFresh,
      `the query must see records through LSN ${f.requiredLsn}, but after waiting ${Math.round(f.waitedMs)} ms the applier has applied through LSN ${f.appliedLsn} ` +
        `(${f.lag.records} records, ${Math.round(f.lag.seconds * 10) / 10} s behind); retry later, or send "consistency": "eventual" to read what is applied now`,
      {
        status: 503,
        retriable: true,
        headers: { 'Retry-After': String(Math.min(30, Math.max(1, Math.ceil(f.lag.seconds)))) },
        details: { requiredLsn: f.requiredLsn, appliedLsn: f.appliedLsn, waitedMs: f.waitedMs, lagRecords: f.lag.records, lagSeconds: f.lag.seconds },
      },
    ),
  shuttingDown: () =>
    new AppError(ErrorCode.ShuttingDown, 'the server is shutting down', { status: 503, retriable: true }),
  storageFailure: (message: string, cause?: unknown) =>
    new AppError(ErrorCode.StorageFailure, message, { status: 503, retriable: true, cause }),
  applierBehind: (pendingRows: number, pendingBytes: number) =>
    new AppError(
      ErrorCode.Backpressure,
      `ingest is paused: ${pendingRows} acknowledged rows (${pendingBytes} bytes) are waiting for the sinks; retry later`,
      { status: 503, retriable: true, headers: { 'Retry-After': '5' }, details: { pendingRows, pendingBytes } },
    ),
  walCorrupt: (message: string, details?: Record<string, unknown>) =>
    new AppError(ErrorCode.WalCorrupt, message, { status: 500, details }),
  /** SQL or DSL that does not parse, names what does not exist, or is not allowed; `details` carries line/column for SQL. */
  invalidQuery: (message: string, details?: Record<string, unknown>) =>
    new AppError(ErrorCode.InvalidQuery, message, { status: 400, details }),
  queryCancelled: (id: string) => new AppError(ErrorCode.QueryCancelled, `query ${id} was cancelled`, { status: 409, details: { queryId: id } }),
  queryTimeout: (id: string, timeoutMs: number) =>
    new AppError(ErrorCode.QueryTimeout, `query ${id} exceeded its timeout of ${timeoutMs} ms and was stopped`, {
      status: 504,
      details: { queryId: id, timeoutMs },
    }),
  /** No remote worker could take a forwarded call and the route has no local implementation (503). */
  upstreamUnavailable: (message: string, details?: Record<string, unknown>) =>
    new AppError(ErrorCode.UpstreamUnavailable, message, { status: 503, retriable: true, headers: { 'Retry-After': '1' }, details }),
  /** A remote worker did not answer within the call timeout (504). */
  upstreamTimeout: (message: string, details?: Record<string, unknown>) =>
    new AppError(ErrorCode.UpstreamTimeout, message, { status: 504, retriable: true, details }),
  /** A remote worker failed the call (connection reset, 5xx) (502). */
  upstreamFailed: (message: string, details?: Record<string, unknown>) =>
    new AppError(ErrorCode.UpstreamFailed, message, { status: 502, retriable: true, details }),
  /** The admin who asked for an operation cannot approve it. */
  selfApproval: (id: string) =>
    new AppError(ErrorCode.SelfApproval, `approval ${id} was requested by you; a different admin must approve or reject it`, { status: 403, details: { approvalId: id } }),
  approvalExpired: (id: string, expiredAt: number) =>
    new AppError(ErrorCode.ApprovalExpired, `approval ${id} expired at ${new Date(expiredAt).toISOString()}; request the operation again`, {
      status: 410,
      details: { approvalId: id, expiredAt },
    }),
  approvalDecided: (id: string, status: string) =>
    new AppError(ErrorCode.ApprovalDecided, `approval ${id} is already ${status}`, { status: 409, details: { approvalId: id, status } }),
  internal: (cause?: unknown) => new AppError(ErrorCode.Internal, 'internal server error', { status: 500, cause }),
};
