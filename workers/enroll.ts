/**
 * Entry point: a process running only the enrollment worker (with the outbox relay and
 * the reconciler), configured from the environment like every command:
 * `node bin/run-ts.js workers/enroll.ts [--reconcile-every <seconds>]` is
 * `campaign work --only enroll`.
 */
import { runCli } from '../src/cli/main.ts';

await runCli([...process.argv.slice(0, 2), 'work', '--only', 'enroll', ...process.argv.slice(2)]);
