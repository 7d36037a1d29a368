// ESLint flat config: typescript-eslint's type-checked rules plus the few that catch real bugs
// in a codebase of queues, database transactions and HTTP handlers (a promise nobody awaits
// is a job lost or a transaction committed half-way). Formatting is Prettier's job:
// eslint-config-prettier comes last so no rule here ever argues with it.
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import prettier from 'eslint-config-prettier';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default defineConfig(
  {
    ignores: [
      'node_modules/',
      'drizzle/', // migrations written by drizzle-kit (SQL and meta JSON)
      '.data/',
      'coverage/',
      'dist/',
      'screenshots/',
      '.scratch/',
      'docs/images/',
    ],
  },

  js.configs.recommended,
  tseslint.configs.recommendedTypeChecked,

  {
    languageOptions: {
      ecmaVersion: 2023,
      sourceType: 'module',
      globals: { ...globals.node },
      parserOptions: {
        projectService: true,
        tsconfigRootDir: import.meta.dirname,
      },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // A promise left floating loses its error and its ordering (a job added after the
      // transaction that should have contained it, an unhandled rejection that kills a worker).
      '@typescript-eslint/no-floating-promises': 'error',
      // An async function passed where a void callback is expected (event emitters, Fastify
      // hooks, Array.forEach) has its rejection swallowed.
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/no-unnecessary-type-assertion': 'error',
      // A new message status or event kind must be handled everywhere the union is switched on.
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      // `return promise` inside try/catch skips the catch and the finally's ordering (a
      // connection released before the query settles); elsewhere returning it bare is fine.
      '@typescript-eslint/return-await': ['error', 'in-try-catch'],
      eqeqeq: ['error', 'always', { null: 'ignore' }], // `x == null` is the one idiom for null-or-undefined
      // Output goes through the logger (pino) or the CLI's own writers; console only where a CLI prints.
      'no-console': 'error',
      // dependency-cruiser 17 reads `import X, { type T } from 'm'` as a type-only import (it ignores
      // the default binding), so the import rules that allow types would miss the value import.
      'no-restricted-syntax': [
        'error',
        {
          selector: "ImportDeclaration[importKind='value']:has(ImportDefaultSpecifier):has(ImportSpecifier[importKind='type'])",
          message: 'Import the types in a separate `import type { … }`: dependency-cruiser reads this form as type-only.',
        },
      ],
      // Off: an async function without `await` is how Fastify plugins and promise-returning
      // interface stubs are written; it changes no behaviour, and the promise rules above
      // catch the promises that matter.
      '@typescript-eslint/require-await': 'off',
      // A `let` assigned once, after a closure that reads it was made (a late-bound callback
      // target), cannot be a `const`.
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
      // Unused names are usually leftovers; a leading underscore marks one kept on purpose.
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none', ignoreRestSiblings: true },
      ],
    },
  },

  {
    // Plain JavaScript (this file, bin/*.js): no types to check.
    files: ['**/*.js', '**/*.cjs', '**/*.mjs'],
    extends: [tseslint.configs.disableTypeChecked],
  },
  {
    // The dashboard's one browser script (it draws the charts with Chart.js, loaded before it).
    files: ['src/dashboard/assets/**/*.js'],
    languageOptions: { sourceType: 'script', globals: { ...globals.browser, Chart: 'readonly' } },
  },
  {
    // dependency-cruiser's config is CommonJS.
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: { ...globals.node } },
  },

  {
    // Settings are read from the environment once, by src/config.ts; everything else gets
    // them passed down (README: "nothing else in the codebase reads process.env").
    files: ['src/**', 'workers/**'],
    ignores: ['src/config.ts'],
    rules: {
      'no-restricted-properties': [
        'error',
        { object: 'process', property: 'env', message: 'Read settings through loadConfig() in src/config.ts and pass them down.' },
      ],
    },
  },
  {
    // The core is pure: no process state at all (argv, cwd, env, exit, stdout).
    files: ['src/core/**'],
    rules: {
      'no-restricted-globals': ['error', { name: 'process', message: 'src/core is pure: take what it needs as an argument.' }],
    },
  },

  {
    // Command-line programs: printing to the terminal is what they are for.
    files: ['src/cli/**', 'bin/**', 'bench/**', 'scripts/**'],
    rules: { 'no-console': 'off' },
  },

  {
    // Tests read response bodies through `inject().json()` and raw rows, which are `any`:
    // the assertions that follow check their shape, so casts would prove nothing.
    // Every other rule (the promise rules above all) stays on for tests.
    files: ['tests/**'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
    },
  },

  prettier,
);
