// Type-aware lint: the rules that matter here are the promise ones (a forgotten await on a
// publish or an ack loses work silently).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', 'data/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }],
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', ignoreRestSiblings: true }],
    },
  },
  {
    // The house's rules: shared/ is used through its one public face, and the two processes never
    // import each other (a worker must not load the gateway's store and its database drivers).
    files: ['gateway/**/*.ts', 'worker/**/*.ts', 'scripts/**/*.ts', 'bench/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [{ regex: '(^|/)shared/(?!index\\.js$)', message: 'Import shared/ through shared/index.js, its public face.' }],
        },
      ],
    },
  },
  {
    files: ['worker/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { regex: '(^|/)shared/(?!index\\.js$)', message: 'Import shared/ through shared/index.js, its public face.' },
            { regex: '(^|/)gateway/', message: 'A worker never imports the gateway (nor its store and database drivers).' },
          ],
          paths: [
            { name: 'pg', message: 'A worker never loads a database driver: workers speak AMQP only.' },
            { name: 'better-sqlite3', message: 'A worker never loads a database driver: workers speak AMQP only.' },
          ],
        },
      ],
    },
  },
  {
    files: ['gateway/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { regex: '(^|/)shared/(?!index\\.js$)', message: 'Import shared/ through shared/index.js, its public face.' },
            { regex: '(^|/)worker/', message: 'The gateway never imports the worker.' },
          ],
        },
      ],
    },
  },
  {
    // What both processes share loads nothing of either, and no database driver.
    files: ['shared/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [{ regex: '(^|/)(gateway|worker)/', message: 'shared/ is what both processes agree on: it imports neither.' }],
          paths: [
            { name: 'pg', message: 'The store lives in the gateway (gateway/store): shared/ loads no database driver.' },
            { name: 'better-sqlite3', message: 'The store lives in the gateway (gateway/store): shared/ loads no database driver.' },
          ],
        },
      ],
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: { globals: { process: 'readonly', console: 'readonly' } },
  },
);
