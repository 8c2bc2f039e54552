// What one acknowledged ingest request looks like inside the WAL: one WAL
// record per request (one CRC, one JSON encode for a 1,000-row batch), each row
// carrying its table, id, timestamp and payload.

export interface IngestRow {
  table: string;
  dataId: string;
  tsMs: number;
  payload: Record<string, unknown>;
}

export interface IngestBatch {
  tenant: string;
  rows: IngestRow[];
}

/** A row as the WAL entry spells it (short keys: they are written once per row). */
export interface EncodedRow {
  t: string;
  id: string;
  ts: number;
  p: Record<string, unknown>;
}

interface EncodedBatch {
  v: 1;
  tenant: string;
  rows: EncodedRow[];
}

export function encodeBatch(batch: IngestBatch): Buffer {
  const encoded: EncodedBatch = {
    v: 1,
    tenant: batch.tenant,
    rows: batch.rows.map((r) => ({ t: r.table, id: r.dataId, ts: r.tsMs, p: r.payload })),
  };
  return Buffer.from(JSON.stringify(encoded), 'utf8');
}

export function decodeBatch(buf: Buffer): IngestBatch {
  const e = decodeEncodedBatch(buf);
  return { tenant: e.tenant, rows: e.rows.map((r) => ({ table: r.t, dataId: r.id, tsMs: r.ts, payload: r.p })) };
}

/** The entry with its rows as written, for readers that do not keep them (one object fewer per row). */
export function decodeEncodedBatch(buf: Buffer): { tenant: string; rows: EncodedRow[] } {
  const e = JSON.parse(buf.toString('utf8')) as EncodedBatch;
  if (e.v !== 1) throw new Error(`unknown WAL entry version ${String(e.v)}`);
  return e;
}
