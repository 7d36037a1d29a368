/**
 * Entry point: a process running only the step worker (render and send once), with the
 * outbox relay and the reconciler, configured from the environment like every command:
 * `node bin/run-ts.js workers/steps.ts [--reconcile-every <seconds>]` is
 * `campaign work --only steps`.
 */
import { runCli } from '../src/cli/main.ts';

await runCli([...process.argv.slice(0, 2), 'work', '--only', 'steps', ...process.argv.slice(2)]);
