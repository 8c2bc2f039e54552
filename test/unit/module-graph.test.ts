// The module graph on its own (synthetic modules) and the control plane's
// declared graph for every SERVICES subset.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import pino from 'pino';
import { ModuleGraph, ModuleGraphError, resolveModules, type ModuleSpec } from '../../src/boot/module-graph.js';
import { declareModules } from '../../src/boot/modules.js';
import { parseConfig } from '../../src/platform/config/load-config.js';
import { SERVICE_IDS } from '../../src/platform/config/schema.js';
import { HealthBoard } from '../../src/platform/health-board.js';
import { createMetrics } from '../../src/platform/metrics/registry.js';
import { LogBuffer } from '../../src/platform/log-buffer.js';
import type { Readiness } from '../../src/platform/readiness.js';

function spec(name: string, needs: string[], events: string[] = [], opts: Partial<ModuleSpec> = {}): ModuleSpec {
  return {
    name,
    needs,
    start: async (deps) => {
      events.push(`start ${name} <- ${Object.keys(deps).sort().join(',')}`);
      await new Promise((r) => setTimeout(r, 1));
      return name.toUpperCase();
    },
    stop: async () => {
      events.push(`stop ${name}`);
    },
    ...opts,
  };
}

test('targets pull in exactly their dependencies, dependencies first', () => {
  const specs = [spec('a', []), spec('b', ['a']), spec('c', ['b']), spec('d', ['a']), spec('unused', [])];
  const order = resolveModules(specs, ['c', 'd']);
  assert.deepEqual(new Set(order), new Set(['a', 'b', 'c', 'd']));
  for (const s of specs.filter((x) => order.includes(x.name))) {
    for (const n of s.needs) assert.ok(order.indexOf(n) < order.indexOf(s.name), `${n} before ${s.name}`);
  }
});

test('an unknown target, an undeclared need and a cycle are clear errors naming the modules', () => {
  assert.throws(() => resolveModules([spec('a', [])], ['nope']), (e: unknown) => e instanceof ModuleGraphError && /unknown module nope/.test(e.message));
  assert.throws(() => resolveModules([spec('a', ['ghost'])], ['a']), /module a needs ghost, which no module declares/);
  assert.throws(() => resolveModules([spec('a', ['b']), spec('b', ['c']), spec('c', ['a'])], ['a']), /dependency cycle: a -> b -> c -> a/);
});

test('start hands each module only what it needs; stop runs in reverse, dependents first', async () => {
  const events: string[] = [];
  const graph = new ModuleGraph([spec('store', [], events), spec('cache', ['store'], events), spec('api', ['cache', 'store'], events)], ['api']);
  await graph.start();
  assert.deepEqual(events, ['start store <- ', 'start cache <- store', 'start api <- cache,store']);
  assert.equal(await graph.valueOf('api'), 'API');
  assert.ok(graph.allOpen(['store', 'cache', 'api']));
  assert.deepEqual(graph.closure('api'), ['store', 'cache', 'api']);
  events.length = 0;
  assert.equal(await graph.stop(1000), true);
  assert.deepEqual(events, ['stop api', 'stop cache', 'stop store']);
  assert.equal(graph.health('store').state, 'closed');
});

test('a failed start is reported and its dependents never start; stop still releases what started', async () => {
  const events: string[] = [];
  const graph = new ModuleGraph(
    [spec('store', [], events), spec('broken', ['store'], events, { start: () => Promise.reject(new Error('disk on fire')) }), spec('api', ['broken'], events)],
    ['api'],
  );
  await assert.rejects(graph.start(), /disk on fire/);
  assert.equal(graph.health('broken').state, 'failed');
  assert.equal(graph.health('broken').detail, 'disk on fire');
  assert.equal(graph.health('api').state, 'pending');
  assert.ok(!events.some((e) => e.startsWith('start api')));
  await graph.stop(1000);
  assert.ok(events.includes('stop store'));
});

test('a module that overruns its stop timeout is reported and its dependencies stop anyway', async () => {
  const events: string[] = [];
  const graph = new ModuleGraph([spec('store', [], events), spec('slow', ['store'], events, { stop: () => new Promise(() => {}), stopTimeoutMs: 20 })], ['slow']);
  await graph.start();
  const reports: string[] = [];
  assert.equal(await graph.stop(1000, (r) => reports.push(`${r.module}:${r.outcome}`)), false);
  assert.deepEqual(reports, ['slow:timeout', 'store:stopped']);
});

test('health of a started module comes from the module itself', async () => {
  let connected = false;
  const graph = new ModuleGraph([{ name: 'engine', needs: [], start: () => 'e', health: () => (connected ? { state: 'open' } : { state: 'pending', detail: 'connecting' }) }], ['engine']);
  assert.equal(graph.health('engine').state, 'pending');
  await graph.start();
  assert.deepEqual(graph.health('engine'), { state: 'pending', detail: 'connecting' });
  connected = true;
  assert.ok(graph.allOpen(['engine']));
});

test('every SERVICES subset resolves over the declared modules, and each service needs what its routes use', () => {
  const config = parseConfig({ ENVIRONMENT: 'test', ENV_FILE: '/nonexistent/.env' });
  const readiness: Readiness = { isOpen: () => true, dependenciesOpen: () => true, isDraining: false, report: () => ({}) };
  const logger = pino({ level: 'silent' });
  const specs = declareModules(
    { config, startedAt: Date.now(), readiness, healthBoard: new HealthBoard(readiness) },
    { logger, lifecycle: logger, logBuffer: new LogBuffer(10), metrics: createMetrics(), tracing: { enabled: false, shutdown: async () => {} } },
  );
  const ids = [...SERVICE_IDS];
  for (let mask = 1; mask < 1 << ids.length; mask++) {
    const subset = ids.filter((_, i) => mask & (1 << i));
    const order = resolveModules(specs, subset);
    for (const s of subset) assert.ok(order.includes(s));
  }
  const closure = (service: string) => new Set(resolveModules(specs, [service]));
  // The defect this graph fixes: the CBO plans from the catalog, so booting it opens the catalog.
  assert.ok(closure('cbo-engine').has('planner') && closure('cbo-engine').has('catalog'));
  // Planning alone never opens the WAL: a CBO or interpreter process does not replay or apply it.
  for (const s of ['cbo-engine', 'query-interpreter', 'auth-gateway', 'monitoring']) {
    assert.ok(!closure(s).has('wal') && !closure(s).has('applier'), `${s} must not open the WAL`);
  }
  for (const s of ids) assert.ok(closure(s).has('auth'), `${s} authenticates its routes`);
});

test('a used module comes along only when another target needs it, and then starts first and stops last', async () => {
  const events: string[] = [];
  const specs = [spec('data', [], events), spec('gateway', [], events, { uses: ['data'] }), spec('node', ['data'], events)];
  assert.deepEqual(resolveModules(specs, ['gateway']), ['gateway']);
  const alone = new ModuleGraph(specs, ['gateway']);
  await alone.start();
  assert.deepEqual(events, ['start gateway <- ']);
  assert.equal(alone.health('data').state, 'absent');
  events.length = 0;
  const both = new ModuleGraph(specs, ['gateway', 'node']);
  await both.start();
  assert.ok(events.indexOf('start data <- ') < events.indexOf('start gateway <- data'), events.join('; '));
  // Using is not needing: the gateway's readiness does not count the data module.
  assert.deepEqual(both.closure('gateway'), ['gateway']);
  events.length = 0;
  await both.stop(1000);
  assert.ok(events.indexOf('stop gateway') < events.indexOf('stop data'), events.join('; '));
});
