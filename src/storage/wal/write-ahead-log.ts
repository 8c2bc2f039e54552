// The write-ahead log: durable, ordered, CRC-checked records in segment files.
// append() acknowledges only once its bytes are on stable storage (segments are
// opened O_DSYNC: one durable write per group); concurrent appends share that
// write through GroupCommitter. Reads and truncation work from an
// in-memory index that only ever describes bytes already made durable.

import { unlink, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';

import { Errors } from '../../platform/errors.js';
import { GroupCommitter } from './group-commit.js';
import { encodeRecord, MAX_PAYLOAD_BYTES } from './record-codec.js';
import { replay } from './replay.js';
import { fsyncDir, openSegmentForAppend, segmentFileName } from './segment-file.js';
import { indexRecord, locate, segmentFirstLsn, segmentLastLsn, type Segment } from './segment-index.js';
import { readExtent } from './segment-reader.js';
import type { WalAppendResult, WalEntry, WalHooks, WalLogger, WalOptions, WalReadLimits, WalStats } from './types.js';

const DEFAULT_SEGMENT_BYTES = 64 * 1024 * 1024;
const DEFAULT_MAX_RECORDS = 10_000;
const DEFAULT_MAX_BYTES = 16 * 1024 * 1024;

interface PendingAppend {
  firstLsn: number;
  records: Buffer[];
  bytes: number;
}

export class WriteAheadLog {
  private readonly committer: GroupCommitter<PendingAppend>;
  /** Oldest first; the last one is always the active segment. */
  private readonly segments: Segment[];
  private active: FileHandle;
  /** Next LSN to hand out; runs ahead of lastLsn by whatever is queued or in flight. */
  private nextLsn: number;
  private durableLsn: number;
  private fsyncCount = 0;
  private appendedRecordCount = 0;
  private closed = false;
  private closing: Promise<void> | undefined;
  // truncateThrough calls run one at a time so two never unlink the same head segment.
  private truncating: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly dir: string,
    private readonly segmentBytes: number,
    private readonly logger: WalLogger,
    private readonly hooks: WalHooks,
    state: { segments: Segment[]; active: FileHandle; nextLsn: number },
  ) {
    this.segments = state.segments;
    this.active = state.active;
    this.nextLsn = state.nextLsn;
    this.durableLsn = state.nextLsn - 1;
    this.committer = new GroupCommitter((batch) => this.flushGroup(batch));
  }

  static async open(opts: WalOptions): Promise<WriteAheadLog> {
    const segmentBytes = opts.segmentBytes ?? DEFAULT_SEGMENT_BYTES;
    if (!Number.isSafeInteger(segmentBytes) || segmentBytes <= 0) {
      throw new RangeError(`segmentBytes must be a positive integer, got ${segmentBytes}`);
    }
    const started = performance.now();
    const state = await replay(opts.dir, opts.skipCorrupt ?? false, opts.logger);
    const wal = new WriteAheadLog(opts.dir, segmentBytes, opts.logger, opts.hooks ?? {}, state);
    opts.logger.info(
      {
        dir: opts.dir,
        segments: state.segments.length,
        firstLsn: wal.firstLsn,
        lastLsn: wal.lastLsn,
        durationMs: Math.round(performance.now() - started),
      },
      'WAL opened',
    );
    return wal;
  }

  /** Highest durable LSN; 0 when the log has never had a record. */
  get lastLsn(): number {
    return this.durableLsn;
  }

  /** Lowest LSN still on disk, or lastLsn + 1 when no record is. */
  get firstLsn(): number {
    for (const seg of this.segments) {
      const first = segmentFirstLsn(seg);
      if (first !== undefined) return first;
    }
    return this.durableLsn + 1;
  }

  /**
   * Append records; LSNs are assigned in call order. Resolves only once every byte
   * is durable. After any write failure the log rejects all appends.
   */
  append(payloads: Buffer[]): Promise<WalAppendResult> {
    if (this.closed) return Promise.reject(Errors.shuttingDown());
    if (this.committer.isFailed) return Promise.reject(this.committer.error);
    if (payloads.length === 0) return Promise.reject(new RangeError('append() needs at least one payload'));
    for (const p of payloads) {
      if (p.length > MAX_PAYLOAD_BYTES) return Promise.reject(Errors.payloadTooLarge(MAX_PAYLOAD_BYTES));
    }
    const firstLsn = this.nextLsn;
    this.nextLsn += payloads.length;
    // Encode (and CRC) now, on the caller's turn, so the flush only writes.
    let bytes = 0;
    const records = payloads.map((p, i) => {
      const rec = encodeRecord(firstLsn + i, p);
      bytes += rec.length;
      return rec;
    });
    const lastLsn = firstLsn + payloads.length - 1;
    return this.committer.submit({ firstLsn, records, bytes }).then(() => ({ firstLsn, lastLsn }));
  }

  /** Durable entries with lsn >= fromLsn, in order, bounded by `limits`; starts at firstLsn if older ones are gone. */
  async read(fromLsn: number, limits: WalReadLimits = {}): Promise<WalEntry[]> {
    if (!Number.isSafeInteger(fromLsn) || fromLsn < 0) throw new RangeError(`fromLsn must be a non-negative integer, got ${fromLsn}`);
    if (this.closed) throw Errors.shuttingDown();
    const maxRecords = limits.maxRecords ?? DEFAULT_MAX_RECORDS;
    const maxBytes = limits.maxBytes ?? DEFAULT_MAX_BYTES;
    const out: WalEntry[] = [];
    let bytes = 0;
    let lsn = Math.max(fromLsn, 1);
    while (out.length < maxRecords && lsn <= this.durableLsn) {
      const start = locate(this.segments, lsn);
      if (!start) break;
      let got: WalEntry[];
      try {
        got = await readExtent(start, { maxRecords, maxBytes, bytesSoFar: bytes, recordsSoFar: out.length });
      } catch (err) {
        // truncateThrough unlinked the segment between locate() and open(): look again.
        if ((err as NodeJS.ErrnoException).code === 'ENOENT' && !this.segments.includes(start.segment)) continue;
        throw err;
      }
      if (got.length === 0) break; // byte budget exhausted
      for (const e of got) {
        out.push(e);
        bytes += e.payload.length;
      }
      lsn = got.at(-1)!.lsn + 1;
    }
    return out;
  }

  /**
   * Delete whole segment files whose records all have LSN <= `lsn`, oldest first,
   * never the active segment. Returns how many files were deleted.
   */
  truncateThrough(lsn: number): Promise<number> {
    if (this.closed) return Promise.reject(Errors.shuttingDown());
    const run = this.truncating.then(() => this.deleteCoveredSegments(lsn));
    this.truncating = run.catch(() => undefined);
    return run;
  }

  stats(): WalStats {
    let bytes = 0;
    for (const seg of this.segments) bytes += seg.size;
    return {
      segments: this.segments.length,
      bytes,
      lastLsn: this.durableLsn,
      firstLsn: this.firstLsn,
      fsyncs: this.fsyncCount,
      appendedRecords: this.appendedRecordCount,
    };
  }

  /** Waits for queued appends to become durable, then releases the file handle. Idempotent. */
  close(): Promise<void> {
    if (!this.closing) {
      this.closed = true;
      this.closing = (async () => {
        await this.committer.idle();
        await this.truncating;
        await this.active.close();
        this.logger.info({ dir: this.dir, lastLsn: this.durableLsn }, 'WAL closed');
      })();
    }
    return this.closing;
  }

  private async deleteCoveredSegments(lsn: number): Promise<number> {
    let deleted = 0;
    try {
      for (;;) {
        const head = this.segments[0];
        if (!head || head === this.segments.at(-1) || segmentLastLsn(head) > lsn) break;
        // Drop from the index first so no new read starts on a file about to vanish.
        this.segments.shift();
        try {
          await unlink(head.path);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        }
        deleted++;
      }
    } finally {
      if (deleted > 0) await fsyncDir(this.dir);
    }
    if (deleted > 0) this.logger.info({ deleted, throughLsn: lsn, firstLsn: this.firstLsn }, 'WAL segments deleted');
    return deleted;
  }

  /** One group: write each segment's share with one durable (O_DSYNC) write, rotating as needed. */
  private async flushGroup(batch: PendingAppend[]): Promise<void> {
    let syncSeconds = 0;
    let records = 0;
    let bytes = 0;
    try {
      let seg = this.segments.at(-1)!;
      let pos = seg.size;
      let chunk: Buffer[] = [];
      let placed: Array<{ lsn: number; offset: number; length: number }> = [];

      const writeChunk = async (): Promise<void> => {
        if (chunk.length === 0) return;
        const data = chunk.length === 1 ? chunk[0]! : Buffer.concat(chunk);
        // The segment is open with O_DSYNC (openSegmentForAppend): a write that returns is durable.
        const t0 = performance.now();
        let written = 0;
        while (written < data.length) {
          const { bytesWritten } = await this.active.write(data, written, data.length - written, seg.size + written);
          written += bytesWritten;
        }
        syncSeconds += (performance.now() - t0) / 1000;
        this.fsyncCount++;
        // Durable now: only at this point may reads see these records.
        for (const r of placed) indexRecord(seg, r.lsn, r.offset, r.length);
        seg.size = pos;
        chunk = [];
        placed = [];
      };

      for (const append of batch) {
        for (let i = 0; i < append.records.length; i++) {
          const rec = append.records[i]!;
          // Rotate if this record would push a non-empty segment over the limit; an
          // oversize record thus lands alone in a fresh segment.
          if (pos > 0 && pos + rec.length > this.segmentBytes) {
            await writeChunk();
            seg = await this.rotate(append.firstLsn + i);
            pos = 0;
          }
          placed.push({ lsn: append.firstLsn + i, offset: pos, length: rec.length });
          chunk.push(rec);
          pos += rec.length;
          records++;
          bytes += rec.length;
        }
      }
      await writeChunk();
    } catch (err) {
      this.logger.error({ err, dir: this.dir }, 'WAL write failed; refusing further appends until restart');
      throw Errors.storageFailure('write-ahead log write failed; the log accepts no more appends until restart', err);
    }

    const last = batch.at(-1)!;
    this.durableLsn = last.firstLsn + last.records.length - 1;
    this.appendedRecordCount += records;
    try {
      this.hooks.onFsync?.({ durationSeconds: syncSeconds, records, bytes, appends: batch.length });
    } catch (err) {
      this.logger.warn({ err }, 'WAL onFsync hook threw');
    }
  }

  /** Start a new segment named after the next LSN; its directory entry is fsynced before use. */
  private async rotate(nextLsn: number): Promise<Segment> {
    const name = segmentFileName(nextLsn);
    const file = path.join(this.dir, name);
    const fh = await openSegmentForAppend(file, 'create');
    try {
      await fsyncDir(this.dir);
    } catch (err) {
      await fh.close();
      throw err;
    }
    const old = this.active;
    this.active = fh;
    const seg: Segment = { name, path: file, baseLsn: nextLsn, size: 0, extents: [] };
    this.segments.push(seg);
    // Every write to the old segment was durable; a close error cannot lose data.
    old.close().catch((err: unknown) => this.logger.warn({ err }, 'closing sealed WAL segment failed'));
    return seg;
  }
}
