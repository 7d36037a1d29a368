/**
 * The report's per-step counts (migration 0033): the funnel's from `message_engagement`, the
 * credited orders' from `attributions`, kept as deltas by statement triggers, each
 * attribution's revenue following its order's total. A report as of now reads them, less
 * what cancelled orders and refunds by its as-of take away; it must say what the raw rows
 * say (`rollup: false`), to the cent. And the migration fills them in from the rows stored
 * before it. The random mix of tests/report-rollup.test.ts checks the counts against a
 * recount after every kind of change; this file names each case of the credit.
 */
import { sql } from 'drizzle-orm';
import { afterEach, describe, expect, it } from 'vitest';
import { refreshAttribution } from '../src/analytics/attribution.ts';
import { refreshEngagement } from '../src/analytics/engagement.ts';
import { buildReport, type Report } from '../src/analytics/report.ts';
import { DEFAULT_ATTRIBUTION, attributionKey } from '../src/core/attribution.ts';
import { queryRows, type Db } from '../src/db/client.ts';
import { firstDifference } from '../src/demo/rollup-check.ts';
import { cancelOrders, upsertRefunds } from '../src/ingest/store.ts';
import { rebuildOutcomes } from '../src/store/outcomes.ts';
import { DB_KINDS, freshDatabase, type TestDatabase } from './helpers/db.ts';
import { prepareShop } from './helpers/engine.ts';
import { databaseBeforeMigration, type DatabaseBeforeMigration } from './helpers/migrations.ts';
import { Rows } from './helpers/rows.ts';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const T0 = Date.parse('2026-03-02T10:00:00Z');
const at = (ms: number) => new Date(T0 + ms).toISOString();
const AS_OF = new Date(T0 + 20 * DAY);
const MODEL = attributionKey(DEFAULT_ATTRIBUTION);

const SEQUENCE = `
id: counts
name: Counts
trigger: { event: order_placed }
variants: [{ key: a, weight: 1 }, { key: b, weight: 1 }]
measurement_window: 10d
steps:
  - { delay: 1h, template: thank-you }
`;

/**
 * Six customers enrolled, three per variant, each sent an email (its send waiting to be
 * settled, as the send path leaves it) that they click, then buying two days later for
 * 100, 80, 60 (variant a), 50, 40, 30 (variant b); the orders' ids in that order.
 */
async function sixCredited(db: Db): Promise<{ orders: number[]; messages: number[]; version: number }> {
  const rows = new Rows(db);
  await prepareShop(db, SEQUENCE);
  const [{ id: version } = { id: 0 }] = await queryRows<{ id: number }>(
    db,
    sql`select id from sequence_versions where sequence_id = 'counts'`,
  );
  const customers = await rows.customers(6);
  const triggers = await rows.orders(customers.map((customer) => ({ customer, at: at(0), total: 10 })));
  const enrollments = await rows.enrollments(
    customers.map((customer, i) => ({
      customer,
      sequence: 'counts',
      version,
      arm: i < 3 ? 'a' : 'b',
      trigger: triggers[i]!,
      at: at(0),
      preSpend: 0,
    })),
  );
  const messages: number[] = [];
  for (const [i, customer] of customers.entries()) {
    const message = await rows.message(enrollments[i]!, customer, 0, at(HOUR));
    await db.execute(sql`insert into sends_to_roll_up (message_id) values (${message})`);
    await rows.event(message, customer, 'click', at(2 * HOUR));
    messages.push(message);
  }
  const orders = await rows.orders([100, 80, 60, 50, 40, 30].map((total, i) => ({ customer: customers[i]!, at: at(2 * DAY), total })));
  return { orders, messages, version };
}

const externalId = async (db: Db, id: number) =>
  (await queryRows<{ external_id: string }>(db, sql`select external_id from orders where id = ${id}`))[0]!.external_id;

const credit = (report: Report) =>
  Object.fromEntries(
    report.sequences[0]!.versions[0]!.arms.map((a) => [a.arm, { conversions: a.conversions, revenue: a.attributedRevenue, sent: a.sent }]),
  );

describe.each(DB_KINDS)("the report's per-step counts on %s", (kind) => {
  let database: TestDatabase | undefined;
  afterEach(async () => {
    await database?.drop();
    database = undefined;
  });

  it('credit orders net of the refunds by as-of, not cancelled ones, at their changed totals, as the raw rows do', async () => {
    database = await freshDatabase(kind);
    const db = database.db;
    const { orders } = await sixCredited(db);
    // The rollup built (the sends settled), the orders credited to the clicked emails.
    await rebuildOutcomes(db);
    expect((await refreshAttribution(db, DEFAULT_ATTRIBUTION)).attributed).toBe(6);
    const [o100, o80, , o50, o40, o30] = orders as [number, number, number, number, number, number];
    await upsertRefunds(db, [
      { refund_id: 'r1', order_id: await externalId(db, o100), refunded_at: at(3 * DAY), amount: '30' },
      // More than the order's total: the order nets nothing, never less.
      { refund_id: 'r2', order_id: await externalId(db, o80), refunded_at: at(3 * DAY), amount: '80' },
      { refund_id: 'r3', order_id: await externalId(db, o80), refunded_at: at(4 * DAY), amount: '50' },
    ]);
    // (A refund after as-of sends every figure to the raw rows: see rollupServes in report.ts.)
    // Cancelled through the ingest, which takes its credit away with it.
    await cancelOrders(db, [{ order_id: await externalId(db, o50), cancelled_at: at(3 * DAY) }]);
    await refreshAttribution(db, DEFAULT_ATTRIBUTION);
    await refreshEngagement(db);
    // The shop sends the order again with another total, after the refresh: the credit follows it.
    await db.execute(sql`update orders set total = 45.5 where id = ${o40}`);
    // Cancelled while a refresh credited it (the credit outlives the cancellation, until a
    // refresh reads the order again): counted nowhere. The reports below refresh nothing.
    await db.execute(sql`update orders set cancelled_at = ${at(3 * DAY)}::timestamptz where id = ${o30}`);
    // The two orders changed behind the ingest's back: the per-enrollment rollup rebuilt from them.
    await rebuildOutcomes(db);

    const options = { asOf: AS_OF, attribution: DEFAULT_ATTRIBUTION, minSample: 1, refresh: false };
    const counted = await buildReport(db, options);
    const raw = await buildReport(db, { ...options, rollup: false });
    expect(credit(counted)).toEqual({
      a: { conversions: 3, revenue: 70 + 0 + 60, sent: 3 },
      b: { conversions: 1, revenue: 45.5, sent: 3 },
    });
    expect(firstDifference(counted, raw)).toBeNull();
    // The o30 credit still stored (the race above), the o50 one gone with its cancellation.
    const stored = await queryRows<{ order_id: number }>(
      db,
      sql`select order_id from attributions where model = ${MODEL} order by order_id`,
    );
    expect(stored.map((r) => Number(r.order_id))).toEqual([o100, o80, orders[2], o40, o30]);

    // The report read the counts: a credit added to them shows in it.
    await db.execute(
      sql`insert into credited_counts select ${MODEL}, version_id, 'a', 0, 1, 7 from (select min(id) as version_id from sequence_versions) v`,
    );
    expect(credit(await buildReport(db, options)).a).toEqual({
      conversions: 4,
      revenue: 137,
      sent: 3,
    });
  });

  // Which path serves is decided in TypeScript, the same on both databases: Postgres alone checks it.
  it.skipIf(kind === 'pglite')(
    'are read only when they serve: an order after as-of, or a report of the enrolled from a date, reads the rows',
    async () => {
      database = await freshDatabase(kind);
      const db = database.db;
      await sixCredited(db);
      await rebuildOutcomes(db);
      await refreshAttribution(db, DEFAULT_ATTRIBUTION);
      await refreshEngagement(db);
      // Counts made wrong on purpose: a report that read them would show it.
      await db.execute(sql`insert into credited_counts select ${MODEL}, min(id), 'a', 0, 1, 7 from sequence_versions`);
      await db.execute(sql`insert into funnel_counts select min(id), 'a', 0, 5, 0, 0, 0, 0, 0, 0, 0 from sequence_versions`);
      const before = { asOf: new Date(T0 + DAY + 12 * HOUR), attribution: DEFAULT_ATTRIBUTION, minSample: 1 };
      expect(credit(await buildReport(db, before))).toEqual(credit(await buildReport(db, { ...before, rollup: false })));
      const from = { asOf: AS_OF, attribution: DEFAULT_ATTRIBUTION, minSample: 1, enrolledFrom: new Date(T0 - DAY) };
      expect(credit(await buildReport(db, from))).toEqual({
        a: { conversions: 3, revenue: 240, sent: 3 },
        b: { conversions: 3, revenue: 120, sent: 3 },
      });
    },
  );
});

describe('the counts of migration 0033 for the rows stored before it', () => {
  let migrating: DatabaseBeforeMigration | undefined;
  afterEach(async () => {
    await migrating?.drop();
    migrating = undefined;
  });

  it('are the rows’ own, each credit at its order’s total', async () => {
    migrating = await databaseBeforeMigration('0033_report_counts');
    await migrating.before();
    const db = migrating.database.db;
    const { orders, messages, version } = await sixCredited(db);
    // As the settle and the refresh of then left them: every sent email's engagement row, three clicked, two credits.
    await db.execute(sql`insert into message_engagement (message_id, sent, human_click, raw_click)
                         select id, true, id <= ${messages[2]!}, id <= ${messages[2]!} from messages where id in ${messages}`);
    await db.execute(sql`insert into attributions (order_id, model, message_id, touch, touched_at, revenue)
                         values (${orders[0]!}, ${MODEL}, ${messages[0]!}, 'click', ${at(2 * HOUR)}, 100),
                                (${orders[4]!}, ${MODEL}, ${messages[4]!}, 'click', ${at(2 * HOUR)}, 40)`);
    // An order's total changed after its credit was written.
    await db.execute(sql`update orders set total = 41 where id = ${orders[4]!}`);
    await migrating.after();
    expect(
      await queryRows(
        db,
        sql`select arm, step, sent, human_clicks, raw_opens from funnel_counts where sequence_version_id = ${version} order by arm`,
      ),
    ).toEqual([
      { arm: 'a', step: 0, sent: 3, human_clicks: 3, raw_opens: 0 },
      { arm: 'b', step: 0, sent: 3, human_clicks: 0, raw_opens: 0 },
    ]);
    expect(
      await queryRows(db, sql`select arm, conversions, revenue::text from credited_counts where model = ${MODEL} order by arm`),
    ).toEqual([
      { arm: 'a', conversions: 1, revenue: '100.0000' },
      { arm: 'b', conversions: 1, revenue: '41.0000' },
    ]);
    // From here the triggers keep them: another change of the total follows.
    await db.execute(sql`update orders set total = 42 where id = ${orders[4]!}`);
    expect(await queryRows(db, sql`select sum(revenue)::text as revenue from credited_counts where arm = 'b'`)).toEqual([
      { revenue: '42.0000' },
    ]);
  });
});
