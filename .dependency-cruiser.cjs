// Import rules of the codebase (src/README.md says which folder may import what; these rules
// are what keeps it true). Run with `npm run deps`.
//
// Paths are relative to the repository root. npm packages are matched by the folder they
// resolve to under node_modules/, Node builtins by the dependency type "core".
// With tsPreCompilationDeps, `import type` dependencies are seen too and carry the dependency
// type "type-only", so a rule can allow types and still forbid values.

/** A package by name, as the path it resolves to. */
const pkg = (...names) => `(^|/)node_modules/(${names.join('|')})/`;

/** Where SQL may be written: the store layer, analytics, migrations, the bulk import and the recs build. */
const sqlAllowed = [
  '^src/db/',
  '^src/store/',
  '^src/analytics/',
  '^src/ingest/store\\.ts$',
  '^src/recs/build\\.ts$',
  '^tests/',
  '^bench/',
  '^drizzle\\.config\\.ts$',
];

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'core-is-pure',
      comment:
        'src/core holds pure functions over plain data, testable without a database, a queue or the file system: ' +
        'it imports only itself, zod, node:crypto and the stdlib-js distributions.',
      severity: 'error',
      from: { path: '^src/core/' },
      to: {
        pathNot: ['^src/core/', pkg('zod', '@stdlib/[^/]+'), '^(node:)?crypto$'],
      },
    },
    {
      name: 'sql-only-in-store-layer',
      comment:
        'No SQL outside the store layer, analytics, migrations and the bulk import/recs build statements: ' +
        'the drizzle/pg/PGlite drivers and the schema are imported only there (and by tests, bench and drizzle.config.ts).',
      severity: 'error',
      from: { pathNot: sqlAllowed },
      to: { path: [pkg('drizzle-orm', 'pg', '@electric-sql/pglite'), '^src/db/schema\\.ts$'] },
    },
    {
      name: 'db-client-values-only-where-sql-is',
      comment:
        'Anyone may take the Db type from src/db/client.ts (import type), but opening or using a connection is for the ' +
        'store layer, analytics, the bulk import/recs build, src/runtime.ts (entry points open the database there), tests and bench.',
      severity: 'error',
      from: { pathNot: [...sqlAllowed.filter((p) => p !== '^drizzle\\.config\\.ts$'), '^src/runtime\\.ts$'] },
      to: { path: '^src/db/client\\.ts$', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'no-importing-workers',
      comment: 'workers/ holds only entry points (a process each); code shared between them belongs in src/.',
      severity: 'error',
      from: {},
      to: { path: '^workers/' },
    },
    {
      name: 'demo-stays-in-demo',
      comment:
        'src/demo is the `npm start` showcase (generated shop, local SMTP inbox, simulated recipients): the engine must ' +
        'not depend on it. Only the demo itself, its command (src/cli/commands/demo.ts), tests and bench import it.',
      severity: 'error',
      from: { pathNot: ['^src/demo/', '^src/cli/commands/demo\\.ts$', '^tests/', '^bench/'] },
      to: { path: '^src/demo/' },
    },
    {
      name: 'dashboard-not-on-http',
      comment: 'The dashboard is mounted by the HTTP server, not built on it: src/dashboard imports nothing from src/http.',
      severity: 'error',
      from: { path: '^src/dashboard/' },
      to: { path: '^src/http/' },
    },
    {
      name: 'http-mounts-dashboard-in-app-only',
      comment: 'Within src/http only app.ts (where the server is assembled) mounts the dashboard; routes do not reach into it.',
      severity: 'error',
      from: { path: '^src/http/', pathNot: '^src/http/app\\.ts$' },
      to: { path: '^src/dashboard/' },
    },
    {
      name: 'fastify-only-in-http-and-dashboard',
      comment: 'The web framework stays at the edge: fastify, its plugins and Bull Board are imported only by src/http and src/dashboard.',
      severity: 'error',
      from: { pathNot: ['^src/http/', '^src/dashboard/', '^tests/', '^bench/'] },
      to: { path: pkg('fastify', '@fastify/[^/]+', 'fastify-[^/]+', '@bull-board/[^/]+') },
    },
    {
      name: 'nodemailer-only-in-mail',
      comment: 'Sending mail goes through the one pooled transport in src/mail (DKIM, pooling); nothing else talks nodemailer.',
      severity: 'error',
      from: { pathNot: '^src/mail/' },
      to: { path: pkg('nodemailer') },
    },
    {
      name: 'bullmq-only-in-queue-layer',
      comment:
        'Queues are defined in src/queue and used by the processors (src/engine), the outbox relay (src/outbox) and the ' +
        'worker entry points; the rest of the engine does not know jobs exist. Tests and bench may drive queues directly.',
      severity: 'error',
      from: { pathNot: ['^src/queue/', '^src/engine/', '^src/outbox/', '^workers/', '^tests/', '^bench/'] },
      to: { path: pkg('bullmq') },
    },
    {
      name: 'cli-is-a-leaf',
      comment: 'src/cli is an entry point: nothing else in src/ imports it (shared code moves down to where it belongs).',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/cli/' },
      to: { path: '^src/cli/' },
    },
    {
      name: 'no-circular',
      comment: 'Circular imports within src/ make load order matter and blur the layers; break the cycle by moving the shared part down.',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^src/', circular: true },
    },
    {
      name: 'config-is-a-leaf',
      comment:
        'src/config.ts is read by every entry point before anything else opens: it imports only src/core, src/errors.ts, zod ' +
        'and node builtins.',
      severity: 'error',
      from: { path: '^src/config\\.ts$' },
      to: { pathNot: ['^src/core/', '^src/errors\\.ts$', pkg('zod')], dependencyTypesNot: ['core'] },
    },
    {
      name: 'store-is-a-leaf',
      comment:
        'src/store is the data access layer: it imports only src/db, src/core, src/errors.ts, itself, drizzle-orm, zod and ' +
        'node builtins, never the engine, queues or HTTP that call it. It may name the types of what it stores (a compiled ' +
        'template), which are erased before run time.',
      severity: 'error',
      from: { path: '^src/store/' },
      to: {
        pathNot: ['^src/db/', '^src/core/', '^src/errors\\.ts$', '^src/store/', pkg('drizzle-orm', 'zod')],
        dependencyTypesNot: ['core', 'type-only'],
      },
    },
    {
      name: 'not-to-dev-dep',
      comment:
        'Production code (src/, workers/) runs after `npm ci --omit=dev`: it must not import a devDependency. Type-only ' +
        'imports are erased before run time and so are allowed (they resolve to @types/* packages).',
      severity: 'error',
      from: { path: '^(src|workers)/' },
      to: { dependencyTypes: ['npm-dev'], dependencyTypesNot: ['type-only'], pathNot: '(^|/)node_modules/@types/' },
    },
    {
      name: 'not-to-unresolvable',
      comment: 'The import points at nothing on disk: a typo, a moved file or a package missing from package.json.',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsConfig: { fileName: 'tsconfig.json' },
    // See `import type` dependencies too (they carry the dependency type "type-only").
    tsPreCompilationDeps: true,
    // node_modules may be a symlink (a worktree sharing a checkout's install): keep the paths under node_modules/.
    preserveSymlinks: true,
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      mainFields: ['module', 'main', 'types', 'typings'],
      extensions: ['.ts', '.js', '.mjs', '.cjs', '.json', '.d.ts'],
    },
    skipAnalysisNotInRules: true,
    reporterOptions: {
      text: { highlightFocused: true },
    },
  },
};
