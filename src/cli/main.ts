/**
 * The `campaign` command line. Each sub-command lives in ./commands and receives the
 * parsed config; this file only wires them and turns known errors into one clear line.
 */
import { Command, CommanderError } from 'commander';
import { loadConfig, type Config } from '../config.ts';
import { registerCodes } from './commands/codes.ts';
import { registerDb } from './commands/db.ts';
import { registerDemo } from './commands/demo.ts';
import { registerImport } from './commands/import.ts';
import { registerRecs } from './commands/recs.ts';
import { registerReport } from './commands/report.ts';
import { registerSequences } from './commands/sequences.ts';
import { registerServe } from './commands/serve.ts';
import { registerTemplates } from './commands/templates.ts';
import { registerWork } from './commands/work.ts';
import { ConfigError, FileError, UserError } from '../errors.ts';
import type { ConfigSource } from './options.ts';

export function buildProgram(config: ConfigSource): Command {
  const program = new Command('campaign')
    .description('Post-purchase email campaigns: cross-sell and upsell sequences with honest revenue statistics.')
    .showHelpAfterError()
    .exitOverride();
  registerDb(program, config);
  registerImport(program, config);
  registerServe(program, config);
  registerDemo(program, config);
  registerTemplates(program, config);
  registerRecs(program, config);
  registerSequences(program, config);
  registerWork(program, config);
  registerReport(program, config);
  registerCodes(program, config);
  return program;
}

/**
 * Runs the command line on `argv` (node's shape: the first two entries are the program).
 * A problem the user can fix prints one line and exits 2; anything else is a bug and throws.
 */
export async function runCli(argv: string[]): Promise<void> {
  let cached: Config | undefined;
  const program = buildProgram(() => (cached ??= loadConfig()));
  try {
    await program.parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) process.exit(error.exitCode);
    if (error instanceof ConfigError || error instanceof UserError || error instanceof FileError) {
      process.stderr.write(`campaign: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
}
