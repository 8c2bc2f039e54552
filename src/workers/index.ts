// The remote-worker feature's public face for the rest of the code base.
export { withWorkers, CALLBACK_SERVICE } from './with-workers.js';
export { DESIGNATED_ROUTES } from './designated-routes.js';
export { WorkersRuntime } from './worker-runtime.js';
export { CatalogColumnStatsSink, type ColumnStats, type ColumnStatsSink } from '../catalog/column-stats-sink.js';
