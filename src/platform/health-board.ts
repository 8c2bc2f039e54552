// Health of every service booted in this process, in one place: the monitoring
// service and the dashboard read it instead of calling each port over HTTP.
import type { ServiceId } from './config/schema.js';
import type { Readiness } from './readiness.js';
import type { HealthReport, ServiceModule } from './service.js';

export interface ServiceHealth extends HealthReport {
  service: ServiceId;
  ready: boolean;
  port: number;
  checks: Record<string, string>;
}

export class HealthBoard {
  private readonly entries = new Map<ServiceId, { module?: ServiceModule; port: number }>();

  constructor(private readonly readiness: Readiness) {}

  /** A service's port answers (its routes may not be built yet). */
  listening(service: ServiceId, port: number): void {
    this.entries.set(service, { ...this.entries.get(service), port });
  }

  /** A service was built: its health and readiness count from now on. */
  built(module: ServiceModule): void {
    const entry = this.entries.get(module.id);
    if (entry) entry.module = module;
  }

  snapshot(): ServiceHealth[] {
    return [...this.entries].map(([service, { module, port }]) => {
      const extra = module?.health?.() ?? { status: 'ok' as const };
      return {
        service,
        status: extra.status,
        reasons: extra.reasons,
        ready: module !== undefined && this.readiness.isOpen(module.dependencies),
        port,
        checks: this.readiness.report(module?.modules ?? []),
      };
    });
  }
}
