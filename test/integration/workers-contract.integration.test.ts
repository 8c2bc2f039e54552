// The worker contract: every designated route answers the same through the
// reference Python worker as through the control plane's local implementation,
// for the same valid and invalid inputs: same status, same JSON. Fields that
// legitimately differ are listed per route (LEGITIMATELY_DIFFERENT); headers
// are not part of an answer (X-Served-By says who served it). Inputs the
// control plane refuses before a route runs (no credential, malformed JSON,
// another content type, a body over the limit) never reach a worker and are
// not part of the contract.
//
// Then the same inputs through a control plane in distributed mode: the client
// gets exactly the local answer for every input; valid ones are served by the
// worker, 4xx by the local implementation.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Pool } from 'undici';
import { adminHeaders, startPlane, type RunningPlane } from '../helpers/control-plane-process.js';
import { DESIGNATED_ROUTES, routeKey } from '../../src/workers/designated-routes.js';
import { parseSqlCases, type ContractCase } from './workers-contract-inputs.js';
import { startWorker, type RunningWorker } from './workers-helpers.js';

/** Per designated route: its cases, and the JSON paths whose values may differ between worker and local answers. */
const CONTRACT: Record<string, { cases: () => ContractCase[]; legitimatelyDifferent: string[] }> = {
  // Nothing differs: no timings, no ids (the request id is the caller's X-Request-Id, which both echo).
  'POST /parse/sql': { cases: parseSqlCases, legitimatelyDifferent: [] },
};

let local: RunningPlane;
let distributed: RunningPlane;
let worker: RunningWorker;
let admin: Record<string, string>;
let adminDistributed: Record<string, string>;

before(async () => {
  // Standalone (no control plane to register with): it serves anyone, as a static worker does (X-Served-By: its host:port).
  worker = await startWorker(['--port', '0', '--id', 'contract', '--service', 'query-interpreter', '--capacity', '16']);
  [local, distributed] = await Promise.all([
    startPlane({ env: { LOG_LEVEL: 'warn', SERVICES: 'query-interpreter' } }),
    startPlane({ env: { LOG_LEVEL: 'warn', SERVICES: 'query-interpreter', DISTRIBUTED_MODE: 'true', QUERY_INTERPRETER_URL: worker.url, WORKER_TIMEOUT_MS: '5000' } }),
  ]);
  admin = await adminHeaders(local);
  adminDistributed = await adminHeaders(distributed);
});

after(async () => {
  await worker?.kill('SIGKILL');
  await Promise.all([local?.cleanup(), distributed?.cleanup()]);
});

interface Answer {
  status: number;
  servedBy: string | undefined;
  json: unknown;
  text: string;
}

async function send(pool: Pool, path: string, method: string, c: ContractCase, requestId: string, auth: Record<string, string>): Promise<Answer> {
  const res = await pool.request({
    path,
    method: method.toUpperCase() as 'POST',
    headers: { 'content-type': 'application/json', 'x-request-id': requestId, ...auth },
    body: c.body,
  });
  const text = await res.body.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = `(not JSON) ${text.slice(0, 200)}`;
  }
  const servedBy = res.headers['x-served-by'];
  return { status: res.statusCode, servedBy: typeof servedBy === 'string' ? servedBy : undefined, json, text };
}

/** The answer with the listed paths removed (a.b.c, through arrays). */
function without(json: unknown, paths: readonly string[]): unknown {
  const copy = structuredClone(json);
  for (const p of paths) {
    const drop = (node: unknown, keys: string[]): void => {
      if (node === null || typeof node !== 'object') return;
      if (Array.isArray(node)) return node.forEach((n) => drop(n, keys));
      const [k, ...rest] = keys;
      if (rest.length === 0) delete (node as Record<string, unknown>)[k!];
      else drop((node as Record<string, unknown>)[k!], rest);
    };
    drop(copy, p.split('.'));
  }
  return copy;
}

test('every designated route has contract cases', () => {
  for (const r of DESIGNATED_ROUTES) assert.ok(CONTRACT[routeKey(r.method, r.path)], `no contract cases for ${routeKey(r.method, r.path)}`);
});

for (const r of DESIGNATED_ROUTES) {
  const key = routeKey(r.method, r.path);
  const contract = CONTRACT[key];
  if (!contract) continue;

  test(`${key}: the reference worker answers every input as the local implementation does`, async () => {
    const cases = contract.cases();
    const planPool = new Pool(local.url(r.service, ''), { connections: 4 });
    const workerPool = new Pool(worker.url, { connections: 4 });
    const mismatches: string[] = [];
    let valid = 0;
    try {
      for (const [i, c] of cases.entries()) {
        const rid = `contract-${i}`;
        const [mine, theirs] = await Promise.all([send(planPool, r.path, r.method, c, rid, admin), send(workerPool, r.path, r.method, c, rid, {})]);
        if (mine.status === 200) valid++;
        try {
          assert.equal(theirs.status, mine.status, 'status');
          assert.deepStrictEqual(without(theirs.json, contract.legitimatelyDifferent), without(mine.json, contract.legitimatelyDifferent));
        } catch (err) {
          mismatches.push(`#${i} ${c.name}: ${(err as Error).message.slice(0, 600)}\n  local:  ${mine.text.slice(0, 400)}\n  worker: ${theirs.text.slice(0, 400)}`);
        }
      }
    } finally {
      await planPool.close();
      await workerPool.close();
    }
    assert.deepEqual(mismatches, [], `${mismatches.length} of ${cases.length} inputs answered differently:\n${mismatches.slice(0, 4).join('\n')}`);
    // The inputs cover both sides of the contract.
    assert.ok(valid > 100 && cases.length - valid > 100, `${valid} valid and ${cases.length - valid} refused inputs`);
  });

  test(`${key}: through a control plane in distributed mode, the client gets the local answer for every input`, async () => {
    const cases = contract.cases();
    const localPool = new Pool(local.url(r.service, ''), { connections: 4 });
    const viaPool = new Pool(distributed.url(r.service, ''), { connections: 4 });
    const mismatches: string[] = [];
    const servedBy: Record<string, number> = {};
    try {
      for (const [i, c] of cases.entries()) {
        const rid = `via-${i}`;
        const [mine, via] = await Promise.all([send(localPool, r.path, r.method, c, rid, admin), send(viaPool, r.path, r.method, c, rid, adminDistributed)]);
        // A body its schema refuses never reaches the route (nor a worker): no X-Served-By then.
        const expectBy = mine.status === 200 ? new URL(worker.url).host : via.servedBy === undefined ? undefined : 'local';
        servedBy[`${mine.status === 200 ? '200' : '4xx'} by ${via.servedBy}`] = (servedBy[`${mine.status === 200 ? '200' : '4xx'} by ${via.servedBy}`] ?? 0) + 1;
        try {
          assert.equal(via.status, mine.status, 'status');
          assert.deepStrictEqual(without(via.json, contract.legitimatelyDifferent), without(mine.json, contract.legitimatelyDifferent));
          assert.equal(via.servedBy, expectBy, 'X-Served-By');
        } catch (err) {
          mismatches.push(`#${i} ${c.name}: ${(err as Error).message.slice(0, 800)}\n  local: ${mine.text.slice(0, 300)}\n  via:   ${via.text.slice(0, 300)}`);
        }
      }
    } finally {
      await localPool.close();
      await viaPool.close();
    }
    assert.deepEqual(mismatches, [], `${mismatches.length} of ${cases.length} answers differ from the local ones (${JSON.stringify(servedBy)}):\n${mismatches.slice(0, 4).join('\n')}`);
  });
}
