/**
 * The later flags of the per-enrollment rollup (migration 0034): each row carries its
 * customer's unsubscribe, complaint and bounce flags ORed over it and every later enrollment
 * in the version, so the guardrails read a unit's row alone. Kept by the engagement refresh
 * (the customers whose flags it sets), by a new enrollment (from the next stored one's), and
 * by the rebuild; the migration fills them in. The guardrails from the rollup must be the raw
 * rows' (`rollup: false`). The random mix of tests/report-rollup.test.ts compares the flags
 * kept with the rebuild's after every change.
 */
import { sql } from 'drizzle-orm';
import { afterEach, describe, expect, it } from 'vitest';
import { refreshEngagement } from '../src/analytics/engagement.ts';
import { guardrailCounts } from '../src/analytics/guardrails.ts';
import { queryRows, type Db } from '../src/db/client.ts';
import { insertEnrollments } from '../src/store/enrollments.ts';
import { rebuildOutcomes } from '../src/store/outcomes.ts';
import { DB_KINDS, freshDatabase, type TestDatabase } from './helpers/db.ts';
import { prepareShop } from './helpers/engine.ts';
import { databaseBeforeMigration, type DatabaseBeforeMigration } from './helpers/migrations.ts';
import { Rows } from './helpers/rows.ts';

const DAY = 86_400_000;
const T0 = Date.parse('2026-03-02T10:00:00Z');
const at = (ms: number) => new Date(T0 + ms).toISOString();

const SEQUENCE = `
id: flags
name: Flags
trigger: { event: order_placed }
variants: [{ key: a, weight: 1 }]
measurement_window: 10d
steps:
  - { delay: 1h, template: thank-you }
`;

/** The version's id and one customer enrolled on day 10, sent an email they unsubscribe from. */
async function flaggedLater(db: Db): Promise<{ version: number; customer: number; rows: Rows }> {
  await prepareShop(db, SEQUENCE);
  const [{ id: version } = { id: 0 }] = await queryRows<{ id: number }>(
    db,
    sql`select id from sequence_versions where sequence_id = 'flags'`,
  );
  const rows = new Rows(db);
  const [customer] = (await rows.customers(1)) as [number];
  await enroll(db, rows, version, customer, 10 * DAY);
  const [{ id: enrollment } = { id: 0 }] = await queryRows<{ id: number }>(
    db,
    sql`select id from enrollments where customer_id = ${customer}`,
  );
  const message = await rows.message(enrollment, customer, 0, at(10 * DAY + 3_600_000));
  await db.execute(sql`insert into sends_to_roll_up (message_id) values (${message})`);
  await rows.event(message, customer, 'unsubscribe', at(10 * DAY + 7_200_000));
  return { version, customer, rows };
}

/**
 * Enrolls the customer on an order of theirs `when` after T0, through the engine's own insert
 * (which writes the rollup row), as the engine would at `now` (an order imported late is
 * enrolled at its own time).
 */
async function enroll(db: Db, rows: Rows, version: number, customer: number, when: number, now = when): Promise<void> {
  const [order] = (await rows.orders([{ customer, at: at(when), total: 40 }])) as [number];
  await insertEnrollments(db, [
    {
      customerId: customer,
      sequenceId: 'flags',
      sequenceVersionId: version,
      arm: 'a',
      holdout: false,
      orderId: order,
      dueAt: new Date(T0 + when + 3_600_000),
      now: new Date(T0 + now),
      reenrollAfterDays: 0,
      segment: 'new',
      offered: null,
    },
  ]);
}

const laterFlags = (db: Db) =>
  queryRows<{ enrolled_at: string; unsubscribed: boolean; later_unsubscribed: boolean; first_in_version: boolean }>(
    db,
    sql`select enrolled_at::text, unsubscribed, later_unsubscribed, first_in_version from enrollment_outcomes order by enrolled_at`,
  );

describe.each(DB_KINDS)('the later guardrail flags on %s', (kind) => {
  let database: TestDatabase | undefined;
  afterEach(async () => {
    await database?.drop();
    database = undefined;
  });

  it('carry a later enrollment’s unsubscribe to an earlier one, added before or after it, as the raw rows count it', async () => {
    database = await freshDatabase(kind);
    const db = database.db;
    const { version, customer, rows } = await flaggedLater(db);
    await rebuildOutcomes(db);
    await refreshEngagement(db);
    expect(await laterFlags(db)).toEqual([
      { enrolled_at: '2026-03-12 10:00:00+00', unsubscribed: true, later_unsubscribed: true, first_in_version: true },
    ]);
    // An enrollment on an older order of theirs, stored after (the first one over, the order imported on day 20): now the unit, flagged from the later one.
    await db.execute(sql`update enrollments set state = 'completed', next_due_at = null`);
    await enroll(db, rows, version, customer, 2 * DAY, 20 * DAY);
    expect(await laterFlags(db)).toEqual([
      { enrolled_at: '2026-03-04 10:00:00+00', unsubscribed: false, later_unsubscribed: true, first_in_version: true },
      { enrolled_at: '2026-03-12 10:00:00+00', unsubscribed: true, later_unsubscribed: true, first_in_version: false },
    ]);
    const kept = await laterFlags(db);
    await rebuildOutcomes(db);
    expect(await laterFlags(db)).toEqual(kept);
    // The guardrails from the unit's row equal the raw rows'; enrolled from day 5 the unit is the later enrollment, flagged too.
    for (const from of ['-infinity', at(5 * DAY)]) {
      const options = { from, windowMs: 10 * DAY, asOf: new Date(T0 + 30 * DAY) };
      const fromRollup = await guardrailCounts(db, version, { ...options, rollup: true });
      expect(fromRollup).toEqual(await guardrailCounts(db, version, { ...options, rollup: false }));
      expect(fromRollup.get('a')).toEqual({ n: 1, unsubscribes: 1, complaints: 0, bounces: 0 });
    }
    // An unsubscribe read on the earlier enrollment's email changes nothing the unit says, and is its own flag.
    const [{ id: early } = { id: 0 }] = await queryRows<{ id: number }>(
      db,
      sql`select id from enrollments where customer_id = ${customer} order by enrolled_at limit 1`,
    );
    const message = await rows.message(early, customer, 0, at(2 * DAY + 3_600_000));
    await db.execute(sql`insert into sends_to_roll_up (message_id) values (${message})`);
    await rows.event(message, customer, 'bounce', at(2 * DAY + 7_200_000));
    await refreshEngagement(db);
    expect(await queryRows(db, sql`select bounced, later_bounced from enrollment_outcomes order by enrolled_at`)).toEqual([
      { bounced: true, later_bounced: true },
      { bounced: false, later_bounced: false },
    ]);
  });
});

describe('the later flags of migration 0034 for the rows stored before it', () => {
  let migrating: DatabaseBeforeMigration | undefined;
  afterEach(async () => {
    await migrating?.drop();
    migrating = undefined;
  });

  it('are filled in from the rows’ own flags', async () => {
    migrating = await databaseBeforeMigration('0034_guardrail_later_flags');
    await migrating.before();
    const db = migrating.database.db;
    await prepareShop(db, SEQUENCE);
    const [{ id: version } = { id: 0 }] = await queryRows<{ id: number }>(
      db,
      sql`select id from sequence_versions where sequence_id = 'flags'`,
    );
    const rows = new Rows(db);
    const customers = await rows.customers(2);
    const orders = await rows.orders([2, 10, 2, 10].map((day, i) => ({ customer: customers[i >> 1]!, at: at(day * DAY), total: 40 })));
    const enrollments = await rows.enrollments(
      [2, 10, 2, 10].map((day, i) => ({
        customer: customers[i >> 1]!,
        version,
        sequence: 'flags',
        arm: 'a',
        trigger: orders[i]!,
        at: at(day * DAY),
        preSpend: 0,
      })),
    );
    // As the rollup stood: the first customer's later enrollment bounced, the second's earlier one.
    await db.execute(sql`insert into enrollment_outcomes (enrollment_id, sequence_version_id, customer_id, arm, enrolled_at, window_end, pre_spend,
                                                          first_in_version, segment, repeat_buyer, orders, revenue, margin, cogs, uncosted, bounced)
                         select e.id, e.sequence_version_id, e.customer_id, e.arm, e.enrolled_at, e.enrolled_at + interval '10 days', 0,
                                e.id in (${enrollments[0]!}, ${enrollments[2]!}), 'new', false, 0, 0, 0, 0, false, e.id in (${enrollments[1]!}, ${enrollments[2]!})
                         from enrollments e`);
    await migrating.after();
    expect(
      await queryRows(db, sql`select customer_id, bounced, later_bounced from enrollment_outcomes order by customer_id, enrolled_at`),
    ).toEqual([
      { customer_id: customers[0], bounced: false, later_bounced: true },
      { customer_id: customers[0], bounced: true, later_bounced: true },
      { customer_id: customers[1], bounced: true, later_bounced: true },
      { customer_id: customers[1], bounced: false, later_bounced: false },
    ]);
  });
});
