// What makes a cluster insert exactly once across a kill -9: before the rows
// of a table leave for the cluster, the LSN range they cover and the column
// list they are rendered with are written (synced) to the state store; as
// each chunk is acknowledged by the quorum, so is the count of chunks done.
// After a crash (or a failed batch) the applier starts again from its
// checkpoint; the same range of the same table then yields the same rows, cut
// into the same chunks (chunkStarts is a pure function of them) and rendered
// with the same columns, so the chunk that was in flight is byte for byte the
// block the replicas may already hold, and their block deduplication drops it.
// Chunks already acknowledged are not sent again. An intent is obsolete once
// the applier's checkpoint passes its range (the batch was committed).
import type { StateAccess } from '../../platform/state-store.js';
import { tableRefKey } from '../physical-names.js';
import type { ColumnSpec, StoredRecord } from '../record-types.js';
import { utcDay } from './tenant-table-schema.js';

export interface InsertIntent {
  tenant: string;
  table: string;
  /** First LSN of the rows the intent covers (a table's rows of one applier batch). */
  firstLsn: number;
  /**
   * The rows in consecutive LSN ranges: the first attempt's, then one more
   * each time a retry of the batch met rows past the end (the batch had
   * grown). Each is cut into its own chunks and rendered with the columns the
   * table had when it was first sent (it may have gained more since).
   */
  segments: Array<{ lastLsn: number; columns: ColumnSpec[]; chunks: number }>;
  /** Leading chunks (over all segments) the quorum acknowledged: not sent again. */
  chunksDone: number;
}

// Owned by the cluster table store: the `insertIntents` sublevel (src/catalog/state-layout.ts).
const INTENTS_KEY = 'clickhouse.cluster.insertIntents';
const SUBLEVEL = 'insertIntents';

export class InsertIntents {
  private intents?: Map<string, InsertIntent>;

  constructor(private readonly state: StateAccess) {}

  async get(tenant: string, table: string): Promise<InsertIntent | undefined> {
    return (await this.all()).get(tableRefKey(tenant, table));
  }

  /** Stores (replaces) the table's intent; synced before it returns. */
  async put(intent: InsertIntent): Promise<void> {
    const all = await this.all();
    all.set(tableRefKey(intent.tenant, intent.table), intent);
    await this.save(all);
  }

  async remove(tenant: string, table: string): Promise<void> {
    const all = await this.all();
    if (all.delete(tableRefKey(tenant, table))) await this.save(all);
  }

  /**
   * Forgets intents the checkpoint has passed (their batch was committed) and
   * answers the highest LSN still owed: the next batch must reach it.
   */
  async pruneThrough(checkpointLsn: number): Promise<number | undefined> {
    const all = await this.all();
    let owed: number | undefined;
    let pruned = false;
    for (const [k, intent] of all) {
      const last = intent.segments[intent.segments.length - 1]?.lastLsn ?? 0;
      if (last <= checkpointLsn) {
        all.delete(k);
        pruned = true;
      } else {
        owed = Math.max(owed ?? 0, last);
      }
    }
    if (pruned) await this.save(all);
    return owed;
  }

  private async all(): Promise<Map<string, InsertIntent>> {
    if (!this.intents) {
      const stored = (await this.state.sublevel<Record<string, InsertIntent>>(SUBLEVEL).get(INTENTS_KEY)) ?? {};
      this.intents = new Map(Object.entries(stored));
    }
    return this.intents;
  }

  private save(all: Map<string, InsertIntent>): Promise<void> {
    return this.state.writeBatch([{ type: 'put', sublevel: SUBLEVEL, key: INTENTS_KEY, value: Object.fromEntries(all) }], { sync: true });
  }
}

/**
 * Where each chunk of `records` (LSN order) starts: a new chunk once one holds
 * `maxRows` rows, or before a row whose UTC day would make it span more than
 * `maxDays` days. Each day of a chunk becomes a block on each shard, and a
 * replica remembers only the last 100 blocks of a table for deduplication
 * (replicated_deduplication_window), so maxDays stays within that. Depends on
 * nothing but the rows: the same rows always give the same chunks.
 */
export function chunkStarts(records: readonly StoredRecord[], maxRows: number, maxDays: number): number[] {
  const starts: number[] = [];
  let rows = 0;
  let days = new Set<string>();
  records.forEach((r, i) => {
    const day = utcDay(r.tsMs);
    if (i === 0 || rows >= maxRows || (!days.has(day) && days.size >= maxDays)) {
      starts.push(i);
      rows = 0;
      days = new Set();
    }
    rows++;
    days.add(day);
  });
  return starts;
}
