// Config is read once at boot: .env (never overriding the real environment),
// validated by the schema, checked for unsafe production defaults, shaped into
// slices and frozen. Nothing else in the code reads process.env.
import path from 'node:path';
import { config as loadDotenv } from 'dotenv';
import { DEV_ADMIN_PASSWORD, DEV_JWT_SECRET, envSchema, REFUSED_WORKER_URL_KEYS, type ApprovalAction, type Env, type ServiceId } from './schema.js';

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

export interface AppConfig {
  environment: Env['ENVIRONMENT'];
  version: string;
  host: string;
  services: readonly ServiceId[];
  ports: Readonly<Record<ServiceId, number>>;
  paths: { dataDir: string; statePath: string; walDir: string; parquetDir: string; chdbPath: string };
  clickhouse: {
    /** The first of `urls`: the one server outside cluster mode. */
    url?: string;
    urls: readonly string[];
    database: string;
    username?: string;
    password?: string;
    timeoutMs: number;
    /** Present only in cluster mode (CLICKHOUSE_CLUSTER set). */
    cluster?: ClickHouseClusterConfig;
  };
  wal: { segmentBytes: number; skipCorrupt: boolean };
  applier: { batchRecords: number; intervalMs: number };
  compaction: { intervalMs: number; minParts: number; maxRows: number };
  retention: { intervalMs: number };
  ingest: { maxRecordsPerRequest: number; rowsPerSecond: number; burstRows: number; maxPendingRows: number; maxPendingBytes: number };
  http: { bodyLimitBytes: number; shutdownTimeoutMs: number };
  query: { timeoutMs: number; maxTimeoutMs: number; maxConcurrentPerTenant: number; maxJsonRows: number; statsRefreshMs: number; freshnessWaitMs: number };
  queryLog: { retentionDays: number; flushIntervalMs: number; bufferEntries: number };
  log: { level: Env['LOG_LEVEL']; bufferEntries: number };
  monitoring: {
    sampleIntervalMs: number;
    alerts: {
      evalIntervalMs: number;
      forMs: number;
      walLagRecords: number;
      applierLagSeconds: number;
      applierStallSeconds: number;
      errorRatio: number;
      diskFreeRatio: number;
      /** Cluster mode: a replica's replication queue, and its delay, above which an alert fires. */
      replicaQueueSize: number;
      replicaDelaySeconds: number;
      rulesFile?: string;
    };
    delivery: {
      alertmanagerUrls: readonly string[];
      webhook?: { url: string; secret: string };
      /** How often a firing (or recently resolved) alert is sent again. */
      resendDelayMs: number;
      timeoutMs: number;
      queueSize: number;
      maxAttempts: number;
    };
  };
  auth: {
    jwtSecret: string;
    adminUsername: string;
    adminPassword: string;
    accessTokenTtlSeconds: number;
    refreshTokenTtlSeconds: number;
    apiKeyCacheSeconds: number;
    login: { maxFailuresPerUser: number; maxFailuresPerIp: number; lockoutSeconds: number; maxLockoutSeconds: number; windowSeconds: number };
    sessionPruneIntervalMs: number;
    /** Destructive operations that wait for a second admin, and how long such a request stays open. */
    approvals: { requiredFor: readonly ApprovalAction[]; ttlSeconds: number };
  };
  tracing: { otlpEndpoint?: string; serviceName: string };
  workers: {
    distributedMode: boolean;
    urls: Readonly<Record<ServiceId, readonly string[]>>;
    timeoutMs: number;
    retries: number;
    healthIntervalMs: number;
    breakerFailures: number;
    breakerOpenMs: number;
    heartbeatTtlMs: number;
    jobLeaseMs: number;
    jobMaxAttempts: number;
  };
}

export interface ClickHouseClusterConfig {
  /** The cluster's name in the servers' remote_servers. */
  name: string;
  /** Replicas an insert must reach; 'majority' is resolved from system.clusters at start. */
  insertQuorum: number | 'majority';
  /** The Distributed tables' sharding key expression. */
  shardingKey: string;
  /** ZooKeeper path the replicated tables register under. */
  zkPathPrefix: string;
  /** How often every replica's status is read. */
  statusIntervalMs: number;
}

/** A record's shard follows its data_id, so a retried record lands where its first attempt did. */
export const DEFAULT_SHARDING_KEY = 'murmurHash3_32(data_id)';
export const DEFAULT_ZK_PATH_PREFIX = '/clickhouse/control_plane';

const PACKAGE_VERSION = process.env.npm_package_version ?? '0.1.0';

/** Parses a raw environment into AppConfig; throws ConfigError naming every bad key. */
export function parseConfig(raw: NodeJS.ProcessEnv): AppConfig {
  const parsed = envSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => {
      const key = i.path.join('.') || '(root)';
      // Secrets and delivery URLs (which may carry credentials or webhook tokens) are never echoed.
      const value = typeof raw[key] === 'string' && !/SECRET|PASSWORD|ALERTMANAGER_URL|WEBHOOK_URL/.test(key) ? ` (got '${raw[key]}')` : '';
      return `${key}: ${i.message}${value}`;
    });
    throw new ConfigError(problems);
  }
  const env = parsed.data;
  const problems = [...workerUrlProblems(raw), ...productionProblems(env), ...deliveryProblems(env), ...clickhouseProblems(env)];
  if (problems.length > 0) throw new ConfigError(problems);

  const dataDir = path.resolve(env.DATA_DIR);
  const inData = (v: string | undefined, name: string) => path.resolve(v ?? path.join(dataDir, name));
  const cfg: AppConfig = {
    environment: env.ENVIRONMENT,
    version: PACKAGE_VERSION,
    host: env.HOST,
    services: env.SERVICES,
    ports: {
      'auth-gateway': env.AUTH_GATEWAY_PORT,
      'tenant-node': env.TENANT_NODE_PORT,
      'operation-node': env.OPERATION_NODE_PORT,
      'cbo-engine': env.CBO_ENGINE_PORT,
      'metadata-catalog': env.METADATA_CATALOG_PORT,
      monitoring: env.MONITORING_PORT,
      'query-interpreter': env.QUERY_INTERPRETER_PORT,
    },
    paths: {
      dataDir,
      statePath: inData(env.STATE_PATH, 'state'),
      walDir: inData(env.WAL_DIR, 'wal'),
      parquetDir: inData(env.PARQUET_DIR, 'parquet'),
      chdbPath: inData(env.CHDB_PATH, 'chdb'),
    },
    clickhouse: {
      url: env.CLICKHOUSE_URL[0],
      urls: env.CLICKHOUSE_URL,
      database: env.CLICKHOUSE_DATABASE,
      username: env.CLICKHOUSE_USER,
      password: env.CLICKHOUSE_PASSWORD,
      timeoutMs: env.CLICKHOUSE_TIMEOUT_MS,
      ...(env.CLICKHOUSE_CLUSTER !== undefined
        ? {
            cluster: {
              name: env.CLICKHOUSE_CLUSTER,
              insertQuorum: env.CLICKHOUSE_INSERT_QUORUM ?? 'majority',
              shardingKey: env.CLICKHOUSE_SHARDING_KEY ?? DEFAULT_SHARDING_KEY,
              zkPathPrefix: env.CLICKHOUSE_ZK_PATH_PREFIX ?? DEFAULT_ZK_PATH_PREFIX,
              statusIntervalMs: env.CLICKHOUSE_STATUS_INTERVAL_MS,
            },
          }
        : {}),
    },
    wal: { segmentBytes: env.WAL_SEGMENT_BYTES, skipCorrupt: env.WAL_SKIP_CORRUPT },
    applier: { batchRecords: env.APPLIER_BATCH_RECORDS, intervalMs: env.APPLIER_INTERVAL_MS },
    compaction: { intervalMs: env.COMPACTION_INTERVAL_MS, minParts: env.COMPACTION_MIN_PARTS, maxRows: env.COMPACTION_MAX_ROWS },
    retention: { intervalMs: env.RETENTION_INTERVAL_MS },
    ingest: {
      maxRecordsPerRequest: env.INGEST_MAX_RECORDS,
      rowsPerSecond: env.INGEST_ROWS_PER_SECOND,
      burstRows: env.INGEST_BURST_ROWS,
      maxPendingRows: env.INGEST_MAX_PENDING_ROWS,
      maxPendingBytes: env.INGEST_MAX_PENDING_BYTES,
    },
    http: { bodyLimitBytes: env.BODY_LIMIT_BYTES, shutdownTimeoutMs: env.SHUTDOWN_TIMEOUT_MS },
    query: {
      timeoutMs: env.QUERY_TIMEOUT_MS,
      maxTimeoutMs: env.QUERY_MAX_TIMEOUT_MS,
      maxConcurrentPerTenant: env.QUERY_MAX_CONCURRENT_PER_TENANT,
      maxJsonRows: env.QUERY_MAX_JSON_ROWS,
      statsRefreshMs: env.COLUMN_STATS_REFRESH_MS,
      freshnessWaitMs: env.QUERY_FRESHNESS_WAIT_MS,
    },
    queryLog: { retentionDays: env.QUERY_LOG_RETENTION_DAYS, flushIntervalMs: env.QUERY_LOG_FLUSH_INTERVAL_MS, bufferEntries: env.QUERY_LOG_BUFFER_ENTRIES },
    log: { level: env.LOG_LEVEL, bufferEntries: env.LOG_BUFFER_ENTRIES },
    monitoring: {
      sampleIntervalMs: env.MONITORING_SAMPLE_INTERVAL_MS,
      alerts: {
        evalIntervalMs: env.ALERT_EVAL_INTERVAL_MS,
        forMs: env.ALERT_FOR_MS,
        walLagRecords: env.ALERT_WAL_LAG_RECORDS,
        applierLagSeconds: env.ALERT_APPLIER_LAG_SECONDS,
        applierStallSeconds: env.ALERT_APPLIER_STALL_SECONDS,
        errorRatio: env.ALERT_ERROR_RATIO,
        diskFreeRatio: env.ALERT_DISK_FREE_RATIO,
        replicaQueueSize: env.ALERT_REPLICA_QUEUE_SIZE,
        replicaDelaySeconds: env.ALERT_REPLICA_DELAY_SECONDS,
        rulesFile: env.ALERT_RULES_FILE,
      },
      delivery: {
        alertmanagerUrls: env.ALERTMANAGER_URL,
        ...(env.ALERT_WEBHOOK_URL && env.ALERT_WEBHOOK_SECRET ? { webhook: { url: env.ALERT_WEBHOOK_URL, secret: env.ALERT_WEBHOOK_SECRET } } : {}),
        resendDelayMs: env.ALERT_RESEND_DELAY_MS,
        timeoutMs: env.ALERT_DELIVERY_TIMEOUT_MS,
        queueSize: env.ALERT_DELIVERY_QUEUE_SIZE,
        maxAttempts: env.ALERT_DELIVERY_MAX_ATTEMPTS,
      },
    },
    auth: {
      jwtSecret: env.JWT_SECRET,
      adminUsername: env.ADMIN_USERNAME,
      adminPassword: env.ADMIN_PASSWORD,
      accessTokenTtlSeconds: env.ACCESS_TOKEN_TTL_SECONDS,
      refreshTokenTtlSeconds: env.REFRESH_TOKEN_TTL_SECONDS,
      apiKeyCacheSeconds: env.API_KEY_CACHE_SECONDS,
      login: {
        maxFailuresPerUser: env.LOGIN_MAX_FAILURES,
        maxFailuresPerIp: env.LOGIN_IP_MAX_FAILURES,
        lockoutSeconds: env.LOGIN_LOCKOUT_SECONDS,
        maxLockoutSeconds: 3600,
        windowSeconds: 900,
      },
      sessionPruneIntervalMs: env.SESSION_PRUNE_INTERVAL_MS,
      approvals: { requiredFor: env.APPROVAL_REQUIRED_FOR, ttlSeconds: env.APPROVAL_TTL_SECONDS },
    },
    tracing: { otlpEndpoint: env.OTEL_EXPORTER_OTLP_ENDPOINT, serviceName: env.OTEL_SERVICE_NAME },
    workers: {
      distributedMode: env.DISTRIBUTED_MODE,
      urls: {
        'auth-gateway': [],
        'tenant-node': [],
        'operation-node': [],
        'cbo-engine': [],
        'metadata-catalog': [],
        monitoring: [],
        'query-interpreter': env.QUERY_INTERPRETER_URL,
      },
      timeoutMs: env.WORKER_TIMEOUT_MS,
      retries: env.WORKER_RETRIES,
      healthIntervalMs: env.WORKER_HEALTH_INTERVAL_MS,
      breakerFailures: env.WORKER_BREAKER_FAILURES,
      breakerOpenMs: env.WORKER_BREAKER_OPEN_MS,
      heartbeatTtlMs: env.WORKER_HEARTBEAT_TTL_MS,
      jobLeaseMs: env.JOB_LEASE_MS,
      jobMaxAttempts: env.JOB_MAX_ATTEMPTS,
    },
  };
  return deepFreeze(cfg);
}

/** A *_URL of a service no worker can serve would be a silent no-op: refused, saying what to do instead. */
function workerUrlProblems(raw: NodeJS.ProcessEnv): string[] {
  const problems: string[] = [];
  for (const [key, service] of Object.entries(REFUSED_WORKER_URL_KEYS)) {
    if ((raw[key] ?? '').trim() === '') continue;
    problems.push(
      `${key}: ${service} has no routes that remote workers serve (its answers come from state this process holds), so no request would ever go there; ` +
        'remove it. Only QUERY_INTERPRETER_URL names workers (POST /parse/sql); a worker that only takes jobs needs no URL setting: it registers itself',
    );
  }
  return problems;
}

/** Defaults that are fine on a laptop and dangerous in production. */
function productionProblems(env: Env): string[] {
  if (env.ENVIRONMENT !== 'production') return [];
  const problems: string[] = [];
  if (env.JWT_SECRET === DEV_JWT_SECRET || env.JWT_SECRET.length < 32 || new Set(env.JWT_SECRET).size < 10) {
    problems.push('JWT_SECRET: production needs a random secret of at least 32 characters (not the development default)');
  }
  if (env.ADMIN_PASSWORD === DEV_ADMIN_PASSWORD || env.ADMIN_PASSWORD.length < 12) {
    problems.push('ADMIN_PASSWORD: production needs an admin password of at least 12 characters (not the development default)');
  }
  return problems;
}

/** The webhook is signed or not sent: a URL without a usable secret is refused at boot. */
function deliveryProblems(env: Env): string[] {
  const problems: string[] = [];
  if (env.ALERT_WEBHOOK_URL && !env.ALERT_WEBHOOK_SECRET) problems.push('ALERT_WEBHOOK_SECRET: required when ALERT_WEBHOOK_URL is set (every delivery is HMAC-signed)');
  if (env.ALERT_WEBHOOK_SECRET && env.ALERT_WEBHOOK_SECRET.length < 16) problems.push('ALERT_WEBHOOK_SECRET: at least 16 characters');
  return problems;
}

/**
 * Combinations of ClickHouse keys that cannot work. Without CLICKHOUSE_CLUSTER
 * the cluster keys must stay empty, so a half-configured cluster fails at
 * start instead of quietly writing to one server.
 */
function clickhouseProblems(env: Env): string[] {
  const problems: string[] = [];
  if (env.CLICKHOUSE_CLUSTER !== undefined) {
    if (env.CLICKHOUSE_URL.length === 0) {
      problems.push(
        'CLICKHOUSE_CLUSTER: cluster mode needs CLICKHOUSE_URL (one or more HTTP URLs of the cluster\'s servers); the embedded engine cannot join a cluster',
      );
    }
    return problems;
  }
  if (env.CLICKHOUSE_URL.length > 1) {
    problems.push(
      `CLICKHOUSE_URL: names ${env.CLICKHOUSE_URL.length} servers, but several servers only work as one cluster; set CLICKHOUSE_CLUSTER to its name in the servers' remote_servers, or give one URL`,
    );
  }
  const clusterOnly = ['CLICKHOUSE_INSERT_QUORUM', 'CLICKHOUSE_SHARDING_KEY', 'CLICKHOUSE_ZK_PATH_PREFIX'] as const;
  for (const key of clusterOnly) {
    if (env[key] !== undefined) problems.push(`${key}: only applies in cluster mode; set CLICKHOUSE_CLUSTER or leave ${key} empty`);
  }
  return problems;
}

/** Reads .env (if present) under the real environment, then parses. */
export function loadConfig(envFile = process.env.ENV_FILE ?? '.env'): AppConfig {
  loadDotenv({ path: envFile, quiet: true });
  return parseConfig(process.env);
}

function deepFreeze<T>(obj: T): T {
  if (obj && typeof obj === 'object') {
    for (const v of Object.values(obj)) deepFreeze(v);
    Object.freeze(obj);
  }
  return obj;
}
