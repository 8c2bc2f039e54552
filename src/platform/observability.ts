// Logs, metrics and traces of one process, built once at boot: the pino logger
// (with the ring buffer behind GET /logs), the prom-client registry every
// feature registers into, and the OpenTelemetry exporter when configured.
import type { Logger } from 'pino';
import type { AppConfig } from './config/load-config.js';
import type { LogBuffer } from './log-buffer.js';
import { createLogging } from './logger.js';
import { createMetrics, type MetricsSetup } from './metrics/registry.js';
import { startTracing, type Tracing } from './tracing.js';

export interface Observability {
  logger: Logger;
  /** Lifecycle lines (listening, ready, shutdown) that show even when LOG_LEVEL hides request logs. */
  lifecycle: Logger;
  logBuffer: LogBuffer;
  metrics: MetricsSetup;
  tracing: Tracing;
}

export async function startObservability(config: Pick<AppConfig, 'log' | 'version' | 'tracing'>): Promise<Observability> {
  const { logger, buffer } = createLogging({ level: config.log.level, bufferEntries: config.log.bufferEntries, version: config.version });
  const tracing = await startTracing({ ...config.tracing, version: config.version });
  const lifecycle = logger.child({ component: 'lifecycle' }, { level: config.log.level === 'silent' ? 'silent' : 'info' });
  return { logger, lifecycle, logBuffer: buffer, metrics: createMetrics(), tracing };
}
