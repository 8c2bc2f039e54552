// Streaming answers against the real process, on the embedded engine and on a
// ClickHouse server: a reader that stops reading holds the engine back (the
// query's row count stops growing, the server's memory stays bounded), and a
// client that goes away mid-stream cancels the query, the engine stops, and
// query_streams_cut_total counts it. The stream is a self-join (5,000 rows →
// 5 million), so a few ingested rows make a result far larger than any buffer.
import assert from 'node:assert/strict';
import { request, type IncomingMessage } from 'node:http';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { startClickHouseServer, type RunningClickHouseServer } from '../helpers/clickhouse-server.js';
import { adminHeaders, startPlane, type RunningPlane } from '../helpers/control-plane-process.js';

const ROWS = 5000;
const COUNTRIES = 5;
const JOIN_ROWS = ROWS * (ROWS / COUNTRIES);
const BIG_SQL = 'SELECT a.data_id AS a_id, b.data_id AS b_id, b.note FROM events a JOIN events b ON a.country = b.country';
const NOTE = 'n'.repeat(120);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function rssOf(pid: number): number {
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;
}

/** `server`: starts the ClickHouse server to run on; without it, the embedded engine. */
function suite(name: string, server?: () => Promise<RunningClickHouseServer | { skipped: string }>) {
  describe(`streams over HTTP: ${name}`, () => {
    let plane: RunningPlane;
    let ch: RunningClickHouseServer | undefined;
    let auth: Record<string, string>;
    let skip: string | undefined;

    before(async () => {
      const s = await server?.();
      if (s && 'skipped' in s) {
        skip = s.skipped;
        return;
      }
      ch = s;
      plane = await startPlane({
        env: { LOG_LEVEL: 'warn', INGEST_ROWS_PER_SECOND: '1000000', INGEST_BURST_ROWS: '1000000', ...(ch ? { CLICKHOUSE_URL: ch.url, CLICKHOUSE_DATABASE: 'cp_streams' } : {}) },
      });
      auth = { ...(await adminHeaders(plane)), 'x-tenant-id': 'streams' };
      const rows = Array.from({ length: ROWS }, (_, i) => ({ data_id: `e${i}`, payload: { country: `C${i % COUNTRIES}`, note: NOTE } }));
      const res = await fetch(plane.url('tenant-node', '/data'), { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify(rows) });
      assert.equal(res.status, 201, await res.text());
      // Read-after-write: this count waits for the applier, so the stream below reads every row.
      const count = await (await execute({ sql: 'SELECT count() AS n FROM events' })).json();
      assert.equal((count as { rows: Array<{ n: number }> }).rows[0]!.n, ROWS);
    });

    after(async () => {
      await plane?.cleanup();
      await ch?.stop();
    });

    const execute = (body: unknown) =>
      fetch(plane.url('operation-node', '/query/execute'), { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify(body) });

    const status = async (id: string) => (await (await fetch(plane.url('operation-node', `/query/status?id=${id}`), { headers: auth })).json()) as { state: string; rows: number; error?: string };

    const cutStreams = async (format: string) => {
      const text = await (await fetch(plane.url('monitoring', '/metrics'), { headers: await adminHeaders(plane) })).text();
      const m = new RegExp(`^query_streams_cut_total\\{via="operation-node",format="${format}"\\} (\\d+)`, 'm').exec(text);
      return Number(m?.[1] ?? 0);
    };

    /** Opens a stream with node:http, so the test decides when (and whether) the body is read. */
    const open = (accept: string) =>
      new Promise<{ res: IncomingMessage; destroy: () => void }>((resolve, reject) => {
        const url = new URL(plane.url('operation-node', '/query/execute'));
        const req = request(url, { method: 'POST', headers: { ...auth, 'content-type': 'application/json', accept } }, (res) => resolve({ res, destroy: () => req.destroy() }));
        req.on('error', (err) => (err.message.includes('socket hang up') || (err as NodeJS.ErrnoException).code === 'ECONNRESET' ? undefined : reject(err)));
        req.end(JSON.stringify({ sql: BIG_SQL }));
      });

    const readBytes = (res: IncomingMessage, n: number) =>
      new Promise<number>((resolve) => {
        let got = 0;
        const onData = (c: Buffer) => {
          got += c.length;
          if (got >= n) {
            res.pause();
            res.off('data', onData);
            resolve(got);
          }
        };
        res.on('data', onData);
        res.resume();
      });

    for (const [format, accept] of [
      ['ndjson', 'application/x-ndjson'],
      ['arrow', 'application/vnd.apache.arrow.stream'],
    ] as const) {
      it(`${format}: a reader that stops holds the engine back; one that goes away stops it and is counted`, async (t) => {
        if (skip) return t.skip(skip);
        const cutBefore = await cutStreams(format);
        const { res, destroy } = await open(accept);
        assert.equal(res.statusCode, 200);
        const id = String(res.headers['x-query-id']);
        assert.match(String(res.headers['x-query-freshness']), /^appliedLsn=\d+, requiredLsn=\d+, waitedMs=[\d.]+$/);
        await readBytes(res, 64 * 1024);
        // Paused: whatever the socket buffers hold, the engine must not run ahead of the reader.
        const rssBefore = rssOf(plane.pid);
        let rssMax = rssBefore;
        const sampler = setInterval(() => (rssMax = Math.max(rssMax, rssOf(plane.pid))), 25);
        await sleep(700);
        const early = await status(id);
        await sleep(800);
        const later = await status(id);
        clearInterval(sampler);
        assert.equal(later.state, 'running');
        assert.equal(later.rows, early.rows, `rows produced while nobody reads: ${early.rows} → ${later.rows}`);
        assert.ok(later.rows < JOIN_ROWS / 10, `the engine ran ahead of a paused reader: ${later.rows} of ${JOIN_ROWS} rows`);
        assert.ok(rssMax - rssBefore < 100e6, `server RSS grew by ${Math.round((rssMax - rssBefore) / 1e6)} MB while the reader was paused`);

        // Reading on (past what kernel socket buffers can hold), the engine follows; then the client goes away mid-stream.
        await readBytes(res, 40 * 1024 * 1024);
        const reading = await status(id);
        assert.ok(reading.rows > later.rows, `reading on lets the engine go on: ${later.rows} → ${reading.rows} rows`);
        destroy();
        let st = await status(id);
        for (let i = 0; i < 100 && st.state === 'running'; i++) {
          await sleep(20);
          st = await status(id);
        }
        assert.equal(st.state, 'cancelled');
        assert.equal(st.error, 'client disconnected');
        assert.ok(st.rows < JOIN_ROWS / 2, `stopped early: ${st.rows} rows`);
        let cut = await cutStreams(format);
        for (let i = 0; i < 50 && cut === cutBefore; i++) {
          await sleep(20);
          cut = await cutStreams(format);
        }
        assert.equal(cut, cutBefore + 1, 'query_streams_cut_total counts the cut stream');
        if (ch) {
          // The server's own process list: the query is gone (KILL QUERY, closed connection).
          const running = async () =>
            (await (await fetch(`${ch!.url}/?query=${encodeURIComponent(`SELECT count() FROM system.processes WHERE query_id = '${id}'`)}`)).text()).trim();
          let n = await running();
          for (let i = 0; i < 100 && n !== '0'; i++) {
            await sleep(50);
            n = await running();
          }
          assert.equal(n, '0', 'the server still runs the query');
        }
        const list = (await (await fetch(plane.url('operation-node', '/query/running'), { headers: auth })).json()) as { count: number };
        assert.equal(list.count, 0);
      });
    }

    it('a whole stream read at full speed holds every row, in both formats', async (t) => {
      if (skip) return t.skip(skip);
      const sql = 'SELECT data_id, country, note FROM events ORDER BY data_id';
      const nd = await fetch(plane.url('operation-node', '/query/execute'), { method: 'POST', headers: { ...auth, 'content-type': 'application/json', accept: 'application/x-ndjson' }, body: JSON.stringify({ sql }) });
      const lines = (await nd.text()).trimEnd().split('\n');
      assert.equal(lines.length, ROWS);
      assert.deepEqual(JSON.parse(lines[0]!), { data_id: 'e0', country: 'C0', note: NOTE });
      const ar = await fetch(plane.url('operation-node', '/query/execute'), { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ sql, format: 'arrow' }) });
      assert.equal(ar.headers.get('content-type'), 'application/vnd.apache.arrow.stream');
      const { tableFromIPC } = await import('apache-arrow');
      const table = tableFromIPC(new Uint8Array(await ar.arrayBuffer()));
      assert.equal(table.numRows, ROWS);
      assert.equal(table.get(ROWS - 1)!.toJSON().data_id, 'e999');
    });
  });
}

suite('embedded engine');
suite('clickhouse-server', () => startClickHouseServer());
