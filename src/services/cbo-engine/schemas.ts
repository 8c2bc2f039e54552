// Request bodies of the CBO Engine's routes.
import { costWeightsSchema } from '../../query/cbo/cost-model.js';

export { queryBody as optimizeBody } from '../../query/request-schemas.js';

/** PUT /optimize/config: some weights, each validated; unknown keys are a 400. */
export const weightsPatchBody = costWeightsSchema.partial().strict();
