// An HTTP service as a module of the graph: built from the values of the
// modules its routes need, its own background work started with it and
// stopped before anything it needs. Listening is the control plane's part
// (src/boot/control-plane.ts), so a port answers /health during boot.
import type { ServiceId } from '../platform/config/schema.js';
import type { ServiceDefinition } from '../platform/service.js';
import type { ModuleSpec } from './module-graph.js';
import { defineModule, type ModuleName, type ModuleValues } from './module-values.js';

export function serviceModule<N extends ServiceId, const D extends readonly ModuleName[], const U extends readonly ModuleName[] = []>(spec: {
  name: N;
  needs: D;
  uses?: U;
  build(deps: Pick<ModuleValues, D[number]> & Partial<Pick<ModuleValues, U[number]>>): ServiceDefinition;
}): ModuleSpec<ModuleName> {
  return defineModule({
    name: spec.name,
    needs: spec.needs,
    ...(spec.uses ? { uses: spec.uses } : {}),
    start: async (deps) => {
      const service = spec.build(deps);
      await service.start?.();
      return service;
    },
    stop: (service) => service.stop?.(),
  });
}
