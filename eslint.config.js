// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/**
 * Dependencies point inward only: domain <- app <- adapters <- main.ts (docs/architecture.md). The import
 * rules below make a wrong-way import a lint error rather than a code-review remark.
 */
export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.cache/**', 'data/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly', URL: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
      'no-constant-condition': ['error', { checkLoops: false }],
      // A composition root declares a component before the closures that wake it are built.
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
    },
  },
  {
    // A file is a unit a reader can hold, and a factory past ~120 lines wants its parts in their
    // own files (docs/architecture.md). Blank lines and comments do not count.
    files: ['src/**/*.ts'],
    rules: {
      'max-lines': ['error', { max: 400, skipBlankLines: true, skipComments: true }],
      'max-lines-per-function': ['error', { max: 120, skipBlankLines: true, skipComments: true }],
    },
  },
  {
    files: ['src/domain/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^(?!zod$)(?!\\./)',
              message: 'src/domain is pure: it may import zod and other domain modules only (no node:*, no libraries, no adapters).',
            },
          ],
        },
      ],
      'no-restricted-globals': [
        'error',
        { name: 'process', message: 'src/domain does no I/O and reads no environment.' },
        { name: 'setTimeout', message: 'src/domain is synchronous; time is injected.' },
        { name: 'fetch', message: 'src/domain does no I/O.' },
        { name: 'Buffer', message: 'src/domain uses no node:* APIs; use TextEncoder.' },
      ],
      'no-restricted-properties': [
        'error',
        { object: 'Date', property: 'now', message: 'src/domain takes the time as an argument (a Clock in app/).' },
        { object: 'Math', property: 'random', message: 'src/domain takes randomness as an argument (seeded jitter).' },
      ],
    },
  },
  {
    files: ['src/app/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^(\\.\\./)+(adapters|config|commands|composition|simulator|devtools)/|^(\\.\\./)+(main|cli)(\\.js)?$',
              message: 'src/app talks to ports (app/ports.ts), never to adapters or the composition root.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['src/adapters/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^(\\.\\./)+(main|cli)(\\.js)?$|^(\\.\\./)+(commands|composition)/',
              message: 'adapters do not reach back into the composition root or the commands.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['src/config/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^(\\.\\./)+(adapters|app|commands|composition|simulator|devtools)/|^(\\.\\./)+(main|cli)(\\.js)?$',
              message: 'config parses settings; the composition root maps them to components (adapters may import config, never the reverse).',
            },
          ],
        },
      ],
    },
  },
);
