import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CircuitBreaker, type BreakerState } from '../../src/workers/circuit-breaker.js';

test('opens after consecutive failures, half-opens after the open time, one trial at a time', () => {
  let now = 1000;
  const changes: BreakerState[] = [];
  const b = new CircuitBreaker({ failureThreshold: 3, openMs: 500, now: () => now }, (s) => changes.push(s));
  b.onFailure();
  b.onFailure();
  b.onSuccess(); // a success resets the count
  b.onFailure();
  b.onFailure();
  assert.equal(b.state, 'closed');
  b.onFailure();
  assert.equal(b.state, 'open');
  assert.equal(b.tryAcquire(), false);
  now += 499;
  assert.equal(b.allows, false);
  now += 1;
  assert.equal(b.state, 'half-open');
  assert.equal(b.tryAcquire(), true);
  assert.equal(b.tryAcquire(), false, 'only one trial');
  b.onFailure(); // failed trial: open again for a full period
  assert.equal(b.state, 'open');
  now += 500;
  assert.equal(b.tryAcquire(), true);
  b.onSuccess();
  assert.equal(b.state, 'closed');
  assert.deepEqual(changes, ['open', 'open', 'closed']);
});

test('a released trial slot can be taken again', () => {
  let now = 0;
  const b = new CircuitBreaker({ failureThreshold: 1, openMs: 10, now: () => now });
  b.onFailure();
  now = 10;
  assert.equal(b.tryAcquire(), true);
  b.release();
  assert.equal(b.tryAcquire(), true);
});
