// Designated routes and the *_URL settings the config accepts describe the same services.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { REFUSED_WORKER_URL_KEYS, SERVICE_IDS, WORKER_ROUTE_SERVICES } from '../../src/platform/config/schema.js';
import { DESIGNATED_ROUTES } from '../../src/workers/designated-routes.js';

test('the config accepts a *_URL exactly for the services with designated routes, and refuses the others', () => {
  const designated = [...new Set(DESIGNATED_ROUTES.map((r) => r.service))].sort();
  assert.deepEqual([...WORKER_ROUTE_SERVICES].sort(), designated);
  const refused = Object.values(REFUSED_WORKER_URL_KEYS).sort();
  assert.deepEqual(refused, SERVICE_IDS.filter((s) => !designated.includes(s)).sort());
});
