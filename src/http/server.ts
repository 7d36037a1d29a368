/**
 * The API server's entry, kept for its callers (`campaign serve`, the demo, the scripts,
 * the benchmarks and the tests): the app itself is composed in ./app.ts.
 */
export { buildServer, type ServerDeps } from './app.ts';
