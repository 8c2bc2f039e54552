// Flat config: typescript-eslint's recommended rules over all TypeScript
// sources, and the layer graph of src/ (eslint/layer-boundaries.js): who may
// import whom. A new top-level folder must be placed here before it lints.
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';
import layers from './eslint/layer-boundaries.js';

const DOMAIN = ['platform', 'auth', 'storage', 'catalog', 'ingest', 'applier', 'records', 'query', 'monitoring', 'workers'];

export default tseslint.config(
  { ignores: ['node_modules/**', 'data/**', 'dist/**', 'test-output/**', 'services/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'off',
    },
  },
  // Plain Node.js scripts (build, start, this config's rule) run without TypeScript.
  { files: ['**/*.mjs', 'eslint/**/*.js', 'eslint.config.js'], languageOptions: { globals: globals.node } },
  {
    files: ['src/**/*.ts'],
    plugins: { layers },
    rules: {
      'layers/boundaries': [
        'error',
        {
          root: 'src',
          layers: {
            // Infrastructure every layer may use; it knows no domain.
            platform: [],
            // Who may do what, and the record of what they did: users, tenants, sessions, keys, audit, approvals.
            auth: ['platform'],
            // Storage engines, the WAL and Parquet: no ingest, applier, query, workers or services.
            storage: ['platform'],
            catalog: ['platform', 'storage'],
            ingest: ['platform', 'storage', 'catalog'],
            applier: ['platform', 'storage', 'catalog', 'ingest'],
            records: ['platform', 'storage', 'catalog', 'ingest', 'applier'],
            // The query path never calls workers: they call it back.
            query: ['platform', 'storage', 'catalog'],
            monitoring: ['platform'],
            // Workers serve the services; they do not know them.
            workers: ['platform', 'storage', 'catalog', 'records', 'query'],
            services: DOMAIN,
            boot: [...DOMAIN, 'services'],
            main: ['boot', 'platform'],
          },
        },
      ],
    },
  },
);
