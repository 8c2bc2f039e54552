// The one description of every configuration key: its type, its default and
// what it means. `.env.example` is checked against this list by a unit test.
import { z } from 'zod';

export const SERVICE_IDS = [
  'auth-gateway',
  'tenant-node',
  'operation-node',
  'cbo-engine',
  'metadata-catalog',
  'monitoring',
  'query-interpreter',
] as const;
export type ServiceId = (typeof SERVICE_IDS)[number];

/**
 * The services with routes remote workers may serve (src/workers/designated-routes.ts
 * designates them; a unit test keeps both lists the same). Only their *_URL
 * setting names workers; the other services' are refused at boot.
 */
export const WORKER_ROUTE_SERVICES = ['query-interpreter'] as const satisfies readonly ServiceId[];

/**
 * *_URL settings of services without routes for workers: every answer of those
 * services comes from state this process holds (the WAL, the catalog, the
 * statistics, the sessions), so no worker can give it. Accepting them would
 * promise forwarding that never happens; parseConfig refuses them instead.
 */
export const REFUSED_WORKER_URL_KEYS = {
  AUTH_GATEWAY_URL: 'auth-gateway',
  TENANT_NODE_URL: 'tenant-node',
  OPERATION_NODE_URL: 'operation-node',
  CBO_ENGINE_URL: 'cbo-engine',
  METADATA_CATALOG_URL: 'metadata-catalog',
  MONITORING_URL: 'monitoring',
} as const satisfies Record<string, Exclude<ServiceId, (typeof WORKER_ROUTE_SERVICES)[number]>>;

/** Destructive operations that APPROVAL_REQUIRED_FOR may put behind a second admin's approval. */
export const APPROVAL_ACTIONS = ['retention-sweep', 'tenant-delete', 'retention-change'] as const;
export type ApprovalAction = (typeof APPROVAL_ACTIONS)[number];

const port = (fallback: number) => z.coerce.number().int().min(0).max(65535).default(fallback);
const positiveInt = (fallback: number) => z.coerce.number().int().positive().default(fallback);
const bool = (fallback: boolean) =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no'])
    .default(fallback ? 'true' : 'false')
    .transform((v) => v === 'true' || v === '1' || v === 'yes');
const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim()));
const workerUrls = optionalString.transform((v, ctx) => {
  if (v === undefined) return [] as string[];
  const urls = v.split(',').map((s) => s.trim()).filter(Boolean);
  for (const u of urls) {
    if (!/^https?:\/\/[^\s/]+/.test(u)) ctx.addIssue({ code: 'custom', message: `not an http(s) URL: ${u}` });
  }
  return urls;
});

/**
 * An http(s) URL that `new URL` accepts, without query or fragment (a path
 * prefix is kept). The value is never echoed: it may carry credentials.
 */
const deliveryUrl = (v: string, ctx: z.RefinementCtx, key: string): boolean => {
  let u: URL;
  try {
    u = new URL(v);
  } catch {
    ctx.addIssue({ code: 'custom', message: `${key}: not a valid URL` });
    return false;
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') ctx.addIssue({ code: 'custom', message: `${key}: must be http:// or https://, not ${u.protocol}` });
  else if (u.search || u.hash) ctx.addIssue({ code: 'custom', message: `${key}: must not have a query or fragment` });
  else return true;
  return false;
};
const alertmanagerUrls = optionalString.transform((v, ctx) => {
  if (v === undefined) return [] as string[];
  const urls = v.split(',').map((s) => s.trim()).filter(Boolean);
  urls.forEach((u, i) => deliveryUrl(u, ctx, `URL #${i + 1}`));
  return urls;
});
const webhookUrl = optionalString.transform((v, ctx) => (v === undefined || !deliveryUrl(v, ctx, 'URL') ? undefined : v));
// CLICKHOUSE_URL: one server, or (cluster mode) several nodes of one cluster.
const clickhouseUrls = optionalString.transform((v, ctx) => {
  if (v === undefined) return [] as string[];
  const urls = v.split(',').map((s) => s.trim()).filter(Boolean);
  for (const u of urls) {
    if (!/^https?:\/\/[^\s/,]+/.test(u)) ctx.addIssue({ code: 'custom', message: `not an http(s) URL: ${u}` });
  }
  if (new Set(urls).size !== urls.length) ctx.addIssue({ code: 'custom', message: 'names the same server twice' });
  return urls;
});
// A name as it appears in the servers' <remote_servers> (an XML element name).
const clusterName = optionalString.refine((v) => v === undefined || /^[A-Za-z_][A-Za-z0-9_.-]{0,127}$/.test(v), {
  message: 'must be the cluster name from the servers\' remote_servers (letters, digits, _ . -)',
});
const insertQuorum = optionalString.transform((v, ctx) => {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 64) {
    ctx.addIssue({ code: 'custom', message: 'must be a whole number of replicas (1..64), or empty for a majority of each shard' });
  }
  return n;
});
// Goes verbatim into CREATE TABLE … ENGINE = Distributed(…, <key>): no quotes,
// semicolons or comments (`--`), balanced parentheses, so it cannot end the statement.
const shardingKey = optionalString.refine((v) => v === undefined || (v.length <= 200 && /^[A-Za-z0-9_(), +*%-]+$/.test(v) && !v.includes('--') && balanced(v)), {
  message: 'must be a ClickHouse expression over the table\'s columns, e.g. murmurHash3_32(data_id) (letters, digits, _ ( ) , + - * %)',
});
const zkPathPrefix = optionalString.refine((v) => v === undefined || (/^(\/[A-Za-z0-9_.-]+)+$/.test(v) && !/\/\.\.?(\/|$)/.test(v)), {
  message: 'must be an absolute ZooKeeper path such as /clickhouse/control_plane (segments of letters, digits, _ . -)',
});

function balanced(expr: string): boolean {
  let depth = 0;
  for (const ch of expr) {
    if (ch === '(') depth++;
    else if (ch === ')' && --depth < 0) return false;
  }
  return depth === 0;
}

export const DEV_JWT_SECRET = 'dev-only-secret-change-me-dev-only-secret';
export const DEV_ADMIN_PASSWORD = 'admin-dev-password';

export const envSchema = z.object({
  ENVIRONMENT: z.enum(['development', 'test', 'production']).default('development'),
  HOST: z.string().min(1).default('127.0.0.1'),
  SERVICES: z
    .string()
    .default(SERVICE_IDS.join(','))
    .transform((v, ctx) => {
      const ids = v.split(',').map((s) => s.trim()).filter(Boolean);
      for (const id of ids) {
        if (!(SERVICE_IDS as readonly string[]).includes(id)) {
          ctx.addIssue({ code: 'custom', message: `unknown service '${id}'; known: ${SERVICE_IDS.join(', ')}` });
        }
      }
      if (ids.length === 0) ctx.addIssue({ code: 'custom', message: 'names no service' });
      return [...new Set(ids)] as ServiceId[];
    }),
  AUTH_GATEWAY_PORT: port(8090),
  TENANT_NODE_PORT: port(8000),
  OPERATION_NODE_PORT: port(8081),
  CBO_ENGINE_PORT: port(8082),
  METADATA_CATALOG_PORT: port(8083),
  MONITORING_PORT: port(8084),
  QUERY_INTERPRETER_PORT: port(8085),

  DATA_DIR: z.string().min(1).default('./data'),
  STATE_PATH: optionalString,
  WAL_DIR: optionalString,
  PARQUET_DIR: optionalString,
  CHDB_PATH: optionalString,
  CLICKHOUSE_URL: clickhouseUrls,
  // The base database; each tenant gets `<base>__<tenant>` (src/storage/physical-names.ts). At most
  // 48 characters, so that name stays a valid file name in ClickHouse's data dir for every tenant id.
  CLICKHOUSE_DATABASE: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,47}$/, 'must match ^[A-Za-z_][A-Za-z0-9_]{0,47}$').default('control_plane'),
  CLICKHOUSE_USER: optionalString,
  CLICKHOUSE_PASSWORD: optionalString,
  CLICKHOUSE_TIMEOUT_MS: positiveInt(30_000),
  CLICKHOUSE_CLUSTER: clusterName,
  CLICKHOUSE_INSERT_QUORUM: insertQuorum,
  CLICKHOUSE_SHARDING_KEY: shardingKey,
  CLICKHOUSE_ZK_PATH_PREFIX: zkPathPrefix,
  // Cluster mode: how often every replica's status is read (metrics, alerts, dashboard).
  CLICKHOUSE_STATUS_INTERVAL_MS: positiveInt(10_000),

  WAL_SEGMENT_BYTES: positiveInt(64 * 1024 * 1024),
  WAL_SKIP_CORRUPT: bool(false),
  APPLIER_BATCH_RECORDS: positiveInt(50_000),
  APPLIER_INTERVAL_MS: positiveInt(200),
  COMPACTION_INTERVAL_MS: positiveInt(60_000),
  RETENTION_INTERVAL_MS: positiveInt(3_600_000),
  COMPACTION_MIN_PARTS: z.coerce.number().int().min(2).default(8),
  COMPACTION_MAX_ROWS: positiveInt(1_000_000),
  INGEST_MAX_RECORDS: positiveInt(100_000),
  INGEST_ROWS_PER_SECOND: positiveInt(50_000),
  INGEST_BURST_ROWS: positiveInt(100_000),
  INGEST_MAX_PENDING_ROWS: positiveInt(2_000_000),
  INGEST_MAX_PENDING_BYTES: positiveInt(256 * 1024 * 1024),
  BODY_LIMIT_BYTES: positiveInt(16 * 1024 * 1024),
  SHUTDOWN_TIMEOUT_MS: positiveInt(10_000),

  QUERY_TIMEOUT_MS: positiveInt(30_000),
  QUERY_MAX_TIMEOUT_MS: positiveInt(300_000),
  QUERY_MAX_CONCURRENT_PER_TENANT: positiveInt(8),
  QUERY_MAX_JSON_ROWS: positiveInt(100_000),
  QUERY_FRESHNESS_WAIT_MS: z.coerce.number().int().nonnegative().default(10_000),
  COLUMN_STATS_REFRESH_MS: positiveInt(5_000),
  // The query log (query_log in the base database): days kept, how often buffered entries are
  // written, and how many may wait while ClickHouse is unavailable before new ones are dropped.
  QUERY_LOG_RETENTION_DAYS: z.coerce.number().int().min(1).max(3650).default(30),
  QUERY_LOG_FLUSH_INTERVAL_MS: positiveInt(1000),
  QUERY_LOG_BUFFER_ENTRIES: positiveInt(10_000),

  LOG_LEVEL: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
  LOG_BUFFER_ENTRIES: positiveInt(2000),

  MONITORING_SAMPLE_INTERVAL_MS: positiveInt(1000),
  ALERT_EVAL_INTERVAL_MS: positiveInt(5000),
  ALERT_FOR_MS: z.coerce.number().int().nonnegative().default(30_000),
  ALERT_WAL_LAG_RECORDS: z.coerce.number().nonnegative().default(100_000),
  ALERT_APPLIER_LAG_SECONDS: z.coerce.number().nonnegative().default(120),
  ALERT_APPLIER_STALL_SECONDS: z.coerce.number().nonnegative().default(60),
  ALERT_ERROR_RATIO: z.coerce.number().min(0).max(1).default(0.05),
  ALERT_DISK_FREE_RATIO: z.coerce.number().min(0).max(1).default(0.1),
  ALERT_REPLICA_QUEUE_SIZE: z.coerce.number().nonnegative().default(100),
  ALERT_REPLICA_DELAY_SECONDS: z.coerce.number().nonnegative().default(60),
  ALERT_RULES_FILE: optionalString,
  ALERTMANAGER_URL: alertmanagerUrls,
  ALERT_WEBHOOK_URL: webhookUrl,
  ALERT_WEBHOOK_SECRET: optionalString,
  ALERT_RESEND_DELAY_MS: positiveInt(60_000),
  ALERT_DELIVERY_TIMEOUT_MS: positiveInt(10_000),
  ALERT_DELIVERY_QUEUE_SIZE: positiveInt(10_000),
  ALERT_DELIVERY_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(100).default(6),

  JWT_SECRET: z.string().min(1).default(DEV_JWT_SECRET),
  ADMIN_USERNAME: z.string().min(1).default('admin'),
  ADMIN_PASSWORD: z.string().min(1).default(DEV_ADMIN_PASSWORD),
  ACCESS_TOKEN_TTL_SECONDS: z.coerce.number().int().min(30).max(86_400).default(900),
  REFRESH_TOKEN_TTL_SECONDS: positiveInt(7 * 24 * 3600),
  API_KEY_CACHE_SECONDS: z.coerce.number().int().min(0).max(3600).default(60),
  LOGIN_MAX_FAILURES: positiveInt(5),
  LOGIN_IP_MAX_FAILURES: positiveInt(50),
  LOGIN_LOCKOUT_SECONDS: positiveInt(30),
  SESSION_PRUNE_INTERVAL_MS: positiveInt(600_000),
  APPROVAL_REQUIRED_FOR: z
    .string()
    .default('')
    .transform((v, ctx) => {
      const actions = v.split(',').map((s) => s.trim()).filter(Boolean);
      for (const a of actions) {
        if (!(APPROVAL_ACTIONS as readonly string[]).includes(a)) {
          ctx.addIssue({ code: 'custom', message: `unknown operation '${a}'; known: ${APPROVAL_ACTIONS.join(', ')}` });
        }
      }
      return [...new Set(actions)] as ApprovalAction[];
    }),
  APPROVAL_TTL_SECONDS: z.coerce.number().int().min(1).max(30 * 86_400).default(86_400),

  OTEL_EXPORTER_OTLP_ENDPOINT: optionalString,
  OTEL_SERVICE_NAME: z.string().min(1).default('storage-control-plane'),

  DISTRIBUTED_MODE: bool(false),
  QUERY_INTERPRETER_URL: workerUrls,
  WORKER_TIMEOUT_MS: positiveInt(5000),
  WORKER_RETRIES: z.coerce.number().int().min(0).max(5).default(1),
  WORKER_HEALTH_INTERVAL_MS: positiveInt(2000),
  WORKER_BREAKER_FAILURES: positiveInt(5),
  WORKER_BREAKER_OPEN_MS: positiveInt(5000),
  WORKER_HEARTBEAT_TTL_MS: positiveInt(15_000),
  JOB_LEASE_MS: positiveInt(30_000),
  JOB_MAX_ATTEMPTS: positiveInt(5),
});

export type Env = z.infer<typeof envSchema>;
