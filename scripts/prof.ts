import { Pool } from 'undici';
import { startPlane } from '../test/helpers/control-plane-process.js';
const plane = await startPlane({ env: { SERVICES: 'tenant-node,monitoring', LOG_LEVEL: 'warn', INGEST_ROWS_PER_SECOND: '100000000', INGEST_BURST_ROWS: '100000000' }, nodeArgs: ['--cpu-prof', '--cpu-prof-dir=/tmp/prof'] });
const origin = `http://127.0.0.1:${plane.ports['tenant-node']}`;
const pool = new Pool(origin, { connections: 64 });
let n = 0;
const deadline = Date.now() + 5000;
await Promise.all(Array.from({ length: 64 }, async (_, w) => { for (let s = 0; Date.now() < deadline; s++) {
  const r = await pool.request({ origin, path: '/data', method: 'POST', headers: { 'content-type': 'application/json', 'x-tenant-id': 'bench' }, body: JSON.stringify({ data_id: `x${w}-${s}`, payload: { a: s, user: 'u' + s, amount: s * 1.5 } }) });
  await r.body.text(); n++; } }));
console.log('req/s', n / 5);
await pool.close(); await plane.stop('SIGTERM'); await plane.cleanup();
