/** `campaign db migrate`: applies the committed migrations to the configured database. */
import type { Command } from 'commander';
import type { ConfigSource } from '../options.ts';
import { openConfiguredDatabase } from '../../runtime.ts';

export function registerDb(program: Command, config: ConfigSource): void {
  const db = program.command('db').description('Database schema');
  db.command('migrate')
    .description('apply the migrations in drizzle/ (safe to run again, and from several processes)')
    .action(async () => {
      const database = await openConfiguredDatabase(config(), { migrate: true });
      process.stdout.write(`database at ${database.location} is up to date\n`);
      await database.close();
    });
}
