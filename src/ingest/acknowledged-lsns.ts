// The last LSN acknowledged per (tenant, table): what a query reading that
// table must wait for to see every acknowledged record (read-after-write,
// src/query/freshness.ts). Updated on the acknowledge path and on WAL
// replay: a run of rows of one table costs one map write, and most requests
// write one table.
import { tableRefKey } from '../storage/physical-names.js';

export class AcknowledgedLsns {
  private readonly byTable = new Map<string, number>();

  record(tenant: string, rows: ReadonlyArray<{ table: string }>, lsn: number): void {
    let last: string | undefined;
    for (const r of rows) {
      if (r.table === last) continue;
      last = r.table;
      const key = tableRefKey(tenant, r.table);
      if ((this.byTable.get(key) ?? 0) < lsn) this.byTable.set(key, lsn);
    }
  }

  /** 0 when nothing was acknowledged for the table since start (everything before is in the checkpoint). */
  lastFor(tenant: string, table: string): number {
    return this.byTable.get(tableRefKey(tenant, table)) ?? 0;
  }
}
