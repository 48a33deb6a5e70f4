// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import prettier from 'eslint-config-prettier';

const nodeBuiltins = [
  'fs',
  'fs/promises',
  'path',
  'os',
  'child_process',
  'net',
  'http',
  'https',
  'crypto',
  'stream',
  'util',
  'events',
  'dns',
  'tls',
  'zlib',
  'url',
  'worker_threads',
  'process',
  'timers',
];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', 'tools/go/**', 'bin/**', '.proving-ground/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/explicit-module-boundary-types': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      complexity: ['warn', 12],
      'max-depth': ['warn', 3],
    },
  },
  {
    // Workflow code runs in Temporal's deterministic sandbox: it may import activity *types* only,
    // and nothing that does I/O.
    files: ['src/workflows/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: [
            ...nodeBuiltins.flatMap((name) => [
              { name, message: 'Workflow code must not do I/O.' },
              { name: `node:${name}`, message: 'Workflow code must not do I/O.' },
            ]),
            { name: '@kubernetes/client-node', message: 'Kubernetes calls belong in activities.' },
            { name: 'ssh2', message: 'SSH belongs in activities.' },
            { name: '@temporalio/client', message: 'Use @temporalio/workflow in workflow code.' },
            { name: '@temporalio/worker', message: 'Use @temporalio/workflow in workflow code.' },
            { name: '@temporalio/activity', message: 'Activities are called through proxyActivities.' },
          ],
          patterns: [
            {
              group: ['**/activities', '**/activities/*', '**/activities/**'],
              allowTypeImports: true,
              message: 'Workflow files may import activity types only (import type ...).',
            },
            {
              group: ['**/bridge/**', '**/bridge'],
              message: 'Workflows must not depend on the bridge.',
            },
          ],
        },
      ],
    },
  },
  {
    // The domain layer is pure: no I/O and no outer layer.
    files: ['src/domain/**/*.ts'],
    ignores: ['src/domain/**/*.test.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: [
            // Domain code is bundled into workflows too: no Node built-ins at all.
            ...nodeBuiltins.flatMap((name) => [{ name }, { name: `node:${name}` }]),
            { name: '@kubernetes/client-node', message: 'The domain layer is pure.' },
            { name: 'ssh2', message: 'The domain layer is pure.' },
          ],
          patterns: [{ group: ['**/workflows/**', '**/activities/**', '**/bridge/**', '@temporalio/*'] }],
        },
      ],
    },
  },
  { files: ['**/*.mjs', '**/*.js'], ...tseslint.configs.disableTypeChecked },
  {
    files: ['**/*.test.ts', 'test/**/*.ts', 'bench/**/*.ts', 'scripts/**/*.ts'],
    rules: {
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
  prettier
);
