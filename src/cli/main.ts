/**
 * The `campaign` command line. Each sub-command lives in ./commands and receives the
 * parsed config; this file only wires them and turns known errors into one clear line.
 */
import { Command, CommanderError } from 'commander';
import { loadConfig, type Config } from '../config.ts';
import { ConfigError, FileError, UserError } from '../errors.ts';
import type { ConfigSource } from './options.ts';

type Register = (program: Command, config: ConfigSource) => void;

/**
 * Each top-level command and where it is registered, loaded only when needed: a command
 * loads its own dependencies (mjml, Fastify, BullMQ, PGlite…) and no one else's, which
 * halves the start-up of most commands. Help and an unknown command load them all.
 */
const COMMANDS: Record<string, () => Promise<Register>> = {
  db: async () => (await import('./commands/db.ts')).registerDb,
  import: async () => (await import('./commands/import.ts')).registerImport,
  serve: async () => (await import('./commands/serve.ts')).registerServe,
  demo: async () => (await import('./commands/demo.ts')).registerDemo,
  templates: async () => (await import('./commands/templates.ts')).registerTemplates,
  recs: async () => (await import('./commands/recs.ts')).registerRecs,
  sequences: async () => (await import('./commands/sequences.ts')).registerSequences,
  work: async () => (await import('./commands/work.ts')).registerWork,
  report: async () => (await import('./commands/report.ts')).registerReport,
  codes: async () => (await import('./commands/codes.ts')).registerCodes,
  customers: async () => (await import('./commands/customers.ts')).registerCustomers,
  webhooks: async () => (await import('./commands/webhooks.ts')).registerWebhooks,
};

/** The program with `only` registered when it names a command, else every command (for help, in the order above). */
export async function buildProgram(config: ConfigSource, only?: string): Promise<Command> {
  const program = new Command('campaign')
    .description('Post-purchase email campaigns: cross-sell and upsell sequences with honest revenue statistics.')
    .showHelpAfterError()
    .exitOverride();
  const names = only !== undefined && only in COMMANDS ? [only] : Object.keys(COMMANDS);
  for (const register of await Promise.all(names.map((name) => COMMANDS[name]!()))) register(program, config);
  return program;
}

/**
 * Runs the command line on `argv` (node's shape: the first two entries are the program) with
 * the config read from `env` (the process's environment when not given), and returns the
 * exit code a known error calls for: a problem the user can fix prints one line and gives 2;
 * anything else is a bug and throws. Undefined when the command ran to its end (it may have
 * set process.exitCode). The tests run commands in their own process through this.
 */
export async function runCommand(argv: string[], env?: Record<string, string | undefined>): Promise<number | undefined> {
  let cached: Config | undefined;
  const program = await buildProgram(() => (cached ??= loadConfig(env)), argv[2]);
  try {
    await program.parseAsync(argv);
    return undefined;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode;
    if (error instanceof ConfigError || error instanceof UserError || error instanceof FileError) {
      process.stderr.write(`campaign: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
}

/** The `campaign` process: runs the command line and exits with the code an error calls for. */
export async function runCli(argv: string[]): Promise<void> {
  const code = await runCommand(argv);
  if (code !== undefined) process.exit(code);
}
