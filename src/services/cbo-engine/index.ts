import type { ServiceDefinition } from '../../platform/service.js';
import type { PlannerRuntime } from '../../query/query-runtime.js';
import { cboEngineRoutes } from './routes.js';

export interface CboEngineDeps {
  planner: PlannerRuntime;
}

export function createCboEngineService(deps: CboEngineDeps): ServiceDefinition {
  return { id: 'cbo-engine', routes: cboEngineRoutes(deps) };
}
