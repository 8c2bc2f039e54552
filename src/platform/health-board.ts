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
  private readonly entries = new Map<ServiceId, { module: ServiceModule; port: number }>();

  constructor(private readonly readiness: Readiness) {}

  register(module: ServiceModule, port: number): void {
    this.entries.set(module.id, { module, port });
  }

  snapshot(): ServiceHealth[] {
    return [...this.entries.values()].map(({ module, port }) => {
      const extra = module.health?.() ?? { status: 'ok' as const };
      return {
        service: module.id,
        status: extra.status,
        reasons: extra.reasons,
        ready: this.readiness.isOpen(module.dependencies),
        port,
        checks: this.readiness.report(module.dependencies),
      };
    });
  }
}
