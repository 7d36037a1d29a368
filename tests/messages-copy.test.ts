/**
 * Each email carries its enrollment's version, arm and enrollment time (migration 0030): the
 * migration fills them in on the emails already stored, and its trigger on every email
 * inserted afterwards, whoever inserts it. The report's funnel reads them (its equality with
 * the join it replaced is checked by tests/report-rollup.test.ts).
 */
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryRows, type Database } from '../src/db/client.ts';
import { databaseBeforeMigration, type DatabaseBeforeMigration } from './helpers/migrations.ts';
import { Rows } from './helpers/rows.ts';

const COPY_MIGRATION = '0030_messages_enrollment_copy';

interface Copied {
  id: number;
  sequence_version_id: number;
  arm: string;
  enrolled_at: Date;
  e_version: number;
  e_arm: string;
  e_enrolled_at: Date;
}

describe('the enrollment copied onto each email (migration 0030)', () => {
  let migrating: DatabaseBeforeMigration;
  let database: Database;
  beforeAll(async () => {
    migrating = await databaseBeforeMigration(COPY_MIGRATION);
    database = migrating.database;
  });
  afterAll(() => migrating?.drop());

  it('fills in the emails already stored, then every email inserted, from its enrollment', async () => {
    await migrating.before();
    const db = database.db;
    await db.execute(sql`insert into sequences (id, name, status) values ('s', 'S', 'active')`);
    const versions = await queryRows<{ id: number }>(
      db,
      sql`insert into sequence_versions (sequence_id, version, content_hash, yaml, definition) values ('s', 1, 'h1', '', '{}'::jsonb), ('s', 2, 'h2', '', '{}'::jsonb) returning id`,
    );
    const rows = new Rows(db);
    const enroll = async (version: number, arm: string, at: string) =>
      rows.enrolledArm({ sequence: 's', version, arm, count: 2, at: () => at, preSpend: () => 0 });
    const old = [
      await enroll(versions[0]!.id, 'a', '2026-03-01T10:00:00Z'),
      await enroll(versions[1]!.id, 'holdout', '2026-03-02T11:00:00Z'),
    ];
    for (const group of old)
      for (const [i, enrollment] of group.enrollments.entries())
        await rows.message(enrollment, group.customers[i]!, 0, '2026-03-03T00:00:00Z');

    await migrating.after();
    const fresh = await enroll(versions[1]!.id, 'b', '2026-03-04T12:30:00Z');
    for (const [i, enrollment] of fresh.enrollments.entries())
      await rows.message(enrollment, fresh.customers[i]!, 0, '2026-03-05T00:00:00Z');

    const copied = await queryRows<Copied>(
      db,
      sql`select m.id, m.sequence_version_id, m.arm, m.enrolled_at, e.sequence_version_id as e_version, e.arm as e_arm, e.enrolled_at as e_enrolled_at
          from messages m join enrollments e on e.id = m.enrollment_id order by m.id`,
    );
    expect(copied).toHaveLength(6);
    for (const m of copied) {
      expect([m.sequence_version_id, m.arm, new Date(m.enrolled_at).toISOString()]).toEqual([
        m.e_version,
        m.e_arm,
        new Date(m.e_enrolled_at).toISOString(),
      ]);
    }
    expect(copied.map((m) => m.arm)).toEqual(['a', 'a', 'holdout', 'holdout', 'b', 'b']);
    // The columns admit no email without its enrollment's copy.
    const nullable = await queryRows<{ column_name: string; is_nullable: string }>(
      db,
      sql`select column_name, is_nullable from information_schema.columns
          where table_name = 'messages' and column_name in ('sequence_version_id', 'arm', 'enrolled_at') order by column_name`,
    );
    expect(nullable).toEqual([
      { column_name: 'arm', is_nullable: 'NO' },
      { column_name: 'enrolled_at', is_nullable: 'NO' },
      { column_name: 'sequence_version_id', is_nullable: 'NO' },
    ]);
  });
});
