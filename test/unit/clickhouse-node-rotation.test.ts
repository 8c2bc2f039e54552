import assert from 'node:assert/strict';
import { test } from 'node:test';
import { NodeRotation } from '../../src/storage/clickhouse/node-rotation.js';

function rotation(quarantineMs = 1000) {
  let t = 10_000;
  const clock = { now: () => t, advance: (ms: number) => (t += ms) };
  const r = new NodeRotation(['a', 'b', 'c'].map((url) => ({ url, node: url })), quarantineMs, clock.now);
  return { r, clock };
}

test('nodes are used in turn: each call starts at the next node and still lists every node', () => {
  const { r } = rotation();
  assert.deepEqual(r.order(), ['a', 'b', 'c']);
  assert.deepEqual(r.order(), ['b', 'c', 'a']);
  assert.deepEqual(r.order(), ['c', 'a', 'b']);
  assert.deepEqual(r.order(), ['a', 'b', 'c']);
});

test('a quarantined node goes last until its quarantine ends, then takes its turn again', () => {
  const { r, clock } = rotation(1000);
  r.quarantine('a', 'connect ECONNREFUSED');
  assert.deepEqual(r.order(), ['b', 'c', 'a']);
  assert.deepEqual(r.order(), ['b', 'c', 'a']);
  assert.deepEqual(r.standings()[0], { url: 'a', state: 'quarantined', quarantinedUntilMs: 11_000, lastError: 'connect ECONNREFUSED', lastErrorAtMs: 10_000 });
  clock.advance(1000);
  assert.deepEqual(r.order(), ['c', 'a', 'b']);
  // Released, but the last error stays visible for the status page.
  assert.deepEqual(r.standings()[0], { url: 'a', state: 'up', lastError: 'connect ECONNREFUSED', lastErrorAtMs: 10_000 });
});

test('with every node quarantined all are still tried, soonest released first', () => {
  const { r, clock } = rotation(1000);
  r.quarantine('b', 'x');
  clock.advance(10);
  r.quarantine('c', 'x');
  clock.advance(10);
  r.quarantine('a', 'x');
  assert.deepEqual(r.order(), ['b', 'c', 'a']);
  r.release('a');
  assert.deepEqual(r.order()[0], 'a');
  assert.equal(r.standings().find((s) => s.url === 'a')?.state, 'up');
});

test('an empty rotation or a foreign node is a programming error', () => {
  assert.throws(() => new NodeRotation([], 1000));
  const { r } = rotation();
  assert.throws(() => r.quarantine('z', 'x'), /not part of this rotation/);
});

test('a held node takes no calls, answered or not, until released; held nodes are tried only when no other node is left', () => {
  const { r, clock } = rotation(1000);
  r.hold('b', 'missed a column');
  assert.equal(r.isHeld('b'), true);
  assert.deepEqual(r.order(), ['a', 'c']);
  assert.deepEqual(r.order(), ['c', 'a']);
  // A held node that also failed is still quarantined, and its hold outlives the quarantine.
  r.quarantine('b', 'ECONNREFUSED');
  assert.equal(r.isQuarantined('b'), true);
  clock.advance(1000);
  assert.equal(r.isQuarantined('b'), false);
  assert.ok(!r.order().includes('b'));
  assert.equal(r.standings().find((s) => s.url === 'b')?.held, 'missed a column');
  // A quarantined free node is still preferred over a held one.
  r.quarantine('a', 'x');
  r.quarantine('c', 'x');
  assert.deepEqual(r.order().sort(), ['a', 'c']);
  r.hold('a', 'x');
  r.hold('c', 'x');
  assert.deepEqual(r.order().sort(), ['a', 'b', 'c'], 'all held: better to try them than to fail');
  r.unhold('b');
  assert.deepEqual(r.order(), ['b']);
  assert.equal(r.standings().find((s) => s.url === 'b')?.held, undefined);
});
