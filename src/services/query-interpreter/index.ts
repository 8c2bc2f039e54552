import type { ServiceDefinition } from '../../platform/service.js';
import type { PlannerRuntime } from '../../query/query-runtime.js';
import { queryInterpreterRoutes } from './routes.js';

export interface QueryInterpreterDeps {
  planner: PlannerRuntime;
}

export function createQueryInterpreterService(deps: QueryInterpreterDeps): ServiceDefinition {
  return { id: 'query-interpreter', routes: queryInterpreterRoutes(deps) };
}
