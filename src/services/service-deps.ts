// What every service factory receives: config, observability and the shared
// resources, built once by the boot sequence. No service imports a singleton.
import type { AuthRuntime } from '../platform/auth/auth-runtime.js';
import type { AppConfig } from '../platform/config/load-config.js';
import type { HealthBoard } from '../platform/health-board.js';
import type { LogBuffer } from '../platform/log-buffer.js';
import type { Logger } from '../platform/logger.js';
import type { MetricsSetup } from '../platform/metrics/registry.js';
import type { Readiness } from '../platform/readiness.js';
import type { SharedResources } from '../platform/resources.js';

export interface ServiceDeps {
  config: AppConfig;
  logger: Logger;
  metrics: MetricsSetup;
  logBuffer: LogBuffer;
  readiness: Readiness;
  resources: SharedResources;
  /** Health of every service in this process (filled in as they start listening). */
  healthBoard: HealthBoard;
  /** Credentials, sessions, API keys, users and tenants (shared by every service's auth guard). */
  auth: AuthRuntime;
  startedAt: number;
}
