// Metrics the monitoring feature adds to the shared registry: alert states (like
// Prometheus' ALERTS series) and free disk under DATA_DIR. Values are read at
// scrape time.
import { Gauge, type Registry } from 'prom-client';
import type { AlertEngine } from './alert-engine.js';
import type { DiskProbe } from './disk-probe.js';

export interface MonitoringMetricSources {
  alerts: () => AlertEngine | undefined;
  disk: DiskProbe;
}

export function registerMonitoringMetrics(registry: Registry, sources: MonitoringMetricSources): void {
  new Gauge({
    name: 'alerts_firing',
    help: 'Alert rules currently firing (1) or not (0), by rule name and severity',
    labelNames: ['alertname', 'severity'],
    registers: [registry],
    collect() {
      for (const a of sources.alerts()?.list() ?? []) this.set({ alertname: a.name, severity: a.severity }, a.state === 'firing' ? 1 : 0);
    },
  });
  new Gauge({
    name: 'data_dir_free_bytes',
    help: 'Bytes available to the process on the file system holding DATA_DIR',
    registers: [registry],
    collect() {
      const u = sources.disk.usage;
      if (u) this.set(u.freeBytes);
    },
  });
  new Gauge({
    name: 'data_dir_size_bytes',
    help: 'Size in bytes of the file system holding DATA_DIR',
    registers: [registry],
    collect() {
      const u = sources.disk.usage;
      if (u) this.set(u.sizeBytes);
    },
  });
  new Gauge({
    name: 'data_dir_free_ratio',
    help: 'Share (0-1) of the file system holding DATA_DIR still available',
    registers: [registry],
    collect() {
      const u = sources.disk.usage;
      if (u) this.set(u.freeRatio);
    },
  });
  new Gauge({
    name: 'state_store_disk_bytes',
    help: 'Bytes the state store (LevelDB under STATE_PATH: sessions, users, catalog, jobs…) takes on disk',
    registers: [registry],
    collect() {
      const b = sources.disk.stateStoreBytes;
      if (b !== undefined) this.set(b);
    },
  });
}
