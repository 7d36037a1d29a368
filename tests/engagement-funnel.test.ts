/**
 * Every sent email has its row in `message_engagement`, carrying the email's version, arm,
 * step and enrollment time and whether it was sent (migration 0032): the migration fills
 * them in for the emails already stored (a row for each sent email without one), its
 * trigger copies them onto every row inserted afterwards, and the settling of a send
 * (`settleSends`) marks the email's row sent. An email not sent (pending, failed) keeps a
 * row with `sent` false when an event names it. The report's funnel counts from these rows
 * (their equality with the raw rows' funnel is checked by tests/report-rollup.test.ts).
 */
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { refreshEngagement } from '../src/analytics/engagement.ts';
import { queryRows, type Database } from '../src/db/client.ts';
import { settleSends } from '../src/store/outcomes.ts';
import { databaseBeforeMigration, type DatabaseBeforeMigration } from './helpers/migrations.ts';
import { Rows } from './helpers/rows.ts';

const MIGRATION = '0032_engagement_funnel';

interface EngagementRow {
  message_id: number;
  sequence_version_id: number | null;
  arm: string | null;
  step: number | null;
  enrolled_at: string | null;
  sent: boolean;
  raw_open: boolean;
}

describe('the funnel columns of message_engagement (migration 0032)', () => {
  let migrating: DatabaseBeforeMigration;
  let database: Database;
  beforeAll(async () => {
    migrating = await databaseBeforeMigration(MIGRATION);
    database = migrating.database;
  });
  afterAll(() => migrating?.drop());

  const engagement = () =>
    queryRows<EngagementRow>(
      database.db,
      sql`select message_id, sequence_version_id, arm, step, enrolled_at::text, sent, raw_open from message_engagement order by message_id`,
    );

  it('fills in the stored emails, copies onto each row inserted, and marks an email sent when its send is settled', async () => {
    await migrating.before();
    const db = database.db;
    await db.execute(sql`insert into sequences (id, name, status) values ('s', 'S', 'active')`);
    const [version] = await queryRows<{ id: number }>(
      db,
      sql`insert into sequence_versions (sequence_id, version, content_hash, yaml, definition) values ('s', 1, 'h1', '', '{}'::jsonb) returning id`,
    );
    const rows = new Rows(db);
    const group = await rows.enrolledArm({
      sequence: 's',
      version: version!.id,
      arm: 'a',
      count: 4,
      at: () => '2026-03-01 10:00:00+00',
      preSpend: () => 0,
    });
    const [c0, c1, c2, c3] = group.customers as [number, number, number, number];
    const [e0, e1, e2, e3] = group.enrollments as [number, number, number, number];
    // Before the migration: a sent email with an open, a sent email without one, a failed email with an open.
    const opened = await rows.message(e0, c0, 0, '2026-03-01T11:00:00Z');
    const quiet = await rows.message(e1, c1, 1, '2026-03-01T11:00:00Z');
    const failed = await rows.message(e2, c2, 0, '2026-03-01T11:00:00Z');
    await db.execute(sql`update messages set state = 'failed', sent_at = null where id = ${failed}`);
    await rows.event(opened, c0, 'open', '2026-03-01T12:00:00Z');
    await rows.event(failed, c2, 'open', '2026-03-01T12:00:00Z');
    // The engagement rows of those events as the refresh of then wrote them (today's refresh
    // keeps tables later migrations add).
    await db.execute(
      sql`insert into message_engagement (message_id, human_open, raw_open) values (${opened}, true, true), (${failed}, true, true)`,
    );

    await migrating.after();
    const copy = (message: number, step: number, sent: boolean, rawOpen: boolean): EngagementRow => ({
      message_id: message,
      sequence_version_id: version!.id,
      arm: 'a',
      step,
      enrolled_at: '2026-03-01 10:00:00+00',
      sent,
      raw_open: rawOpen,
    });
    expect(await engagement()).toEqual([copy(opened, 0, true, true), copy(quiet, 1, true, false), copy(failed, 0, false, true)]);

    // After: an email still pending when an event names it gets its row, not sent; the settle of its send marks it.
    const pending = await rows.message(e3, c3, 0, '2026-03-02T11:00:00Z');
    await db.execute(sql`update messages set state = 'pending', sent_at = null where id = ${pending}`);
    await rows.event(pending, c3, 'open', '2026-03-02T11:00:01Z');
    await refreshEngagement(db);
    expect((await engagement()).at(-1)).toEqual({ ...copy(pending, 0, false, true), enrolled_at: '2026-03-01 10:00:00+00' });
    await db.execute(sql`update messages set state = 'sent', sent_at = '2026-03-02T11:00:00Z' where id = ${pending}`);
    await db.execute(sql`insert into sends_to_roll_up (message_id) values (${pending})`);
    await settleSends(db);
    expect((await engagement()).at(-1)).toEqual(copy(pending, 0, true, true));
    // An email sent and settled before any event names it has its row, its flags false.
    const later = await rows.message(e3, c3, 1, '2026-03-05T11:00:00Z');
    await db.execute(sql`insert into sends_to_roll_up (message_id) values (${later})`);
    await settleSends(db);
    expect((await engagement()).at(-1)).toEqual(copy(later, 1, true, false));
  });
});
