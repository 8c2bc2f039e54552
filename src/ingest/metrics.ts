// Ingest metrics. Per-tenant series are capped: past MAX_TENANT_LABELS distinct
// tenants, the rest share the label "~other" (no tenant's label, see
// physical-names.ts) so cardinality stays bounded.
import { Counter, type Registry } from 'prom-client';
import { OVERFLOW_TENANT_LABEL, tenantMetricLabel } from '../storage/physical-names.js';

export const MAX_TENANT_LABELS = 100;

export class IngestMetrics {
  readonly rows: Counter<'tenant'>;
  readonly requests: Counter<'outcome'>;
  readonly walBytes: Counter;
  readonly walRecords: Counter;
  readonly duplicates: Counter;
  private readonly rowsByTenant = new Map<string, ReturnType<Counter<'tenant'>['labels']>>();
  private acceptedRequests?: ReturnType<Counter<'outcome'>['labels']>;

  constructor(registry: Registry) {
    this.rows = new Counter({ name: 'ingest_rows_total', help: `Rows acknowledged, by tenant (capped; overflow is "${OVERFLOW_TENANT_LABEL}")`, labelNames: ['tenant'], registers: [registry] });
    this.requests = new Counter({ name: 'ingest_requests_total', help: 'Ingest requests by outcome', labelNames: ['outcome'], registers: [registry] });
    this.walBytes = new Counter({ name: 'wal_bytes_written_total', help: 'Bytes appended to the WAL', registers: [registry] });
    this.walRecords = new Counter({ name: 'wal_records_written_total', help: 'Records appended to the WAL', registers: [registry] });
    this.duplicates = new Counter({
      name: 'ingest_duplicate_rows_total',
      help: 'Acknowledged rows whose data_id was already acknowledged (or repeated within their request); they change nothing',
      registers: [registry],
    });
  }

  /** One accepted request of `rows` rows; the labelled children are resolved once, not per request. */
  accepted(tenant: string, rows: number): void {
    let perTenant = this.rowsByTenant.get(tenant);
    if (!perTenant) {
      perTenant = this.rows.labels({ tenant: this.rowsByTenant.size < MAX_TENANT_LABELS ? tenantMetricLabel(tenant) : OVERFLOW_TENANT_LABEL });
      // Past the cap new tenants are not remembered: they all resolve to the overflow label.
      if (this.rowsByTenant.size < MAX_TENANT_LABELS) this.rowsByTenant.set(tenant, perTenant);
    }
    perTenant.inc(rows);
    (this.acceptedRequests ??= this.requests.labels({ outcome: 'accepted' })).inc();
  }
}
