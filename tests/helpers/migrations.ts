/**
 * A Postgres database migrated up to just before one migration, for the tests of what that
 * migration does to rows already stored: `before()` applies every migration older than it,
 * the test stores rows, `after()` applies the rest.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { drizzle } from 'drizzle-orm/node-postgres';
import { migrate as migratePg } from 'drizzle-orm/node-postgres/migrator';
import pg from 'pg';
import { openDatabase, type Database } from '../../src/db/client.ts';
import { MIGRATIONS_FOLDER } from '../../src/db/migrate.ts';
import { ADMIN_URL } from './db.ts';

export interface DatabaseBeforeMigration {
  database: Database;
  /** Applies every migration older than the one named. */
  before(): Promise<void>;
  /** Applies the rest, the one named first. */
  after(): Promise<void>;
  drop(): Promise<void>;
}

/** A fresh database and a copy of the migrations whose journal stops before `tag` (which must exist, and not first). */
export async function databaseBeforeMigration(tag: string): Promise<DatabaseBeforeMigration> {
  const name = `t_mig_${Date.now().toString(36)}_${Math.floor(Math.random() * 1e6)}`;
  await admin(`create database ${name}`);
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  const database = await openDatabase({ databaseUrl: url.toString(), poolSize: 2 });
  const older = mkdtempSync(join(tmpdir(), 'migrations-'));
  cpSync(MIGRATIONS_FOLDER, older, { recursive: true });
  const journal = JSON.parse(readFileSync(join(older, 'meta/_journal.json'), 'utf8')) as { entries: { tag: string }[] };
  const at = journal.entries.findIndex((e) => e.tag === tag);
  if (at < 1) throw new Error(`no migration ${tag} after the first in ${MIGRATIONS_FOLDER}`);
  journal.entries = journal.entries.slice(0, at);
  writeFileSync(join(older, 'meta/_journal.json'), JSON.stringify(journal));
  const migrateWith = (folder: string) =>
    migratePg(drizzle((database.db as unknown as { $client: pg.Pool }).$client), { migrationsFolder: folder });
  return {
    database,
    before: () => migrateWith(older),
    after: () => migrateWith(MIGRATIONS_FOLDER),
    drop: async () => {
      await database.close();
      await admin(`drop database if exists ${name} with (force)`);
      rmSync(older, { recursive: true, force: true });
    },
  };
}

async function admin(statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: ADMIN_URL });
  await client.connect();
  await client.query(statement).finally(() => client.end());
}
