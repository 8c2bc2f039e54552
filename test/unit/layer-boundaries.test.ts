// The lint rule that keeps src/'s layers apart: it must refuse an import
// against the declared direction, a service reaching into another service and
// a folder no layer declares, and accept what the graph allows.
import path from 'node:path';
import { test } from 'node:test';
import { RuleTester } from 'eslint';
import tseslint from 'typescript-eslint';
import layers from '../../eslint/layer-boundaries.js';

const src = (p: string) => path.resolve('src', p);
const options = [{ root: 'src', layers: { platform: [], storage: ['platform'], applier: ['platform', 'storage'], services: ['platform', 'storage', 'applier'] } }];

test('layers/boundaries', () => {
  const tester = new RuleTester({ languageOptions: { parser: tseslint.parser, ecmaVersion: 2022, sourceType: 'module' } });
  tester.run('boundaries', layers.rules.boundaries, {
    valid: [
      { filename: src('applier/applier.ts'), code: "import { x } from '../storage/wal/index.js';", options },
      { filename: src('storage/wal/log.ts'), code: "import { x } from './segment.js'; import { y } from '../../platform/errors.js';", options },
      { filename: src('services/tenant-node/routes.ts'), code: "import { x } from './schemas.js'; import { y } from '../../applier/applier.js';", options },
      { filename: src('storage/x.ts'), code: "import pino from 'pino';", options },
    ],
    invalid: [
      { filename: src('storage/clickhouse/x.ts'), code: "import { a } from '../../applier/applier.js';", options, errors: [{ messageId: 'forbidden' }] },
      { filename: src('platform/x.ts'), code: "export { a } from '../storage/y.js';", options, errors: [{ messageId: 'forbidden' }] },
      { filename: src('services/cbo-engine/routes.ts'), code: "import { h } from '../operation-node/routes.js';", options, errors: [{ messageId: 'otherService' }] },
      { filename: src('elsewhere/x.ts'), code: 'export const a = 1;', options, errors: [{ messageId: 'unknownLayer' }] },
    ],
  });
});
