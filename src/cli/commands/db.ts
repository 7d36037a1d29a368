/**
 * `campaign db migrate`: applies the committed migrations to the configured database, then
 * builds the report's per-enrollment rollup if it never was (the migration that adds it
 * cannot: an enrollment's window comes from its version's definition, read in TypeScript).
 */
import type { Command } from 'commander';
import type { ConfigSource } from '../options.ts';
import { openConfiguredDatabase } from '../../runtime.ts';
import { outcomesBuilt, rebuildOutcomes } from '../../store/outcomes.ts';

export function registerDb(program: Command, config: ConfigSource): void {
  const db = program.command('db').description('Database schema');
  db.command('migrate')
    .description("apply the migrations in drizzle/ (safe to run again, and from several processes), and build the report's rollup once")
    .action(async () => {
      const database = await openConfiguredDatabase(config(), { migrate: true });
      try {
        if (!(await outcomesBuilt(database.db))) {
          const built = await rebuildOutcomes(database.db);
          if (built.enrollments > 0) process.stdout.write(`report rollup built: ${built.enrollments} enrollments\n`);
        }
        process.stdout.write(`database at ${database.location} is up to date\n`);
      } finally {
        await database.close();
      }
    });
}
