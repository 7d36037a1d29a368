/**
 * The CUPED covariate is what the customer spent in the 90 days before enrolling, net of
 * the refunds and cancellations known by then: a refund or cancellation made before the
 * trigger order lowers it, one made after does not (the covariate must be fixed at
 * enrollment, so it stays independent of the arm).
 */
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryRows } from '../src/db/client.ts';
import { ingestCancellations, ingestRefunds } from '../src/ingest/batch.ts';
import { insertEnrollments } from '../src/store/enrollments.ts';
import { freshDatabase, type TestDatabase } from './helpers/db.ts';
import { prepareShop } from './helpers/engine.ts';
import { Rows } from './helpers/rows.ts';

const DAY = 86_400_000;
const T0 = Date.parse('2026-04-01T10:00:00Z');
const at = (days: number) => new Date(T0 + days * DAY).toISOString();

const SEQUENCE = `
id: pre
name: Pre-spend
trigger: { event: order_placed }
variants: [{ key: a, weight: 1 }]
steps:
  - { delay: 1h, template: thank-you }
`;

describe('pre-enrolment spend', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await freshDatabase('postgres');
    await prepareShop(database.db, SEQUENCE);
  });
  afterAll(() => database.drop());

  it('is net of refunds and cancellations made before the trigger order, and only those', async () => {
    const rows = new Rows(database.db);
    const [customer] = await rows.customers(1);
    // Four earlier orders (100 each) and the trigger order on day 0.
    const [refundedBefore, refundedAfter, cancelledBefore, cancelledAfter, trigger] = await rows.orders([
      { customer: customer!, at: at(-40), total: 100 },
      { customer: customer!, at: at(-30), total: 100 },
      { customer: customer!, at: at(-20), total: 100 },
      { customer: customer!, at: at(-10), total: 100 },
      { customer: customer!, at: at(0), total: 50 },
    ]);
    const external = async (id: number) =>
      (await queryRows<{ external_id: string }>(database.db, sql`select external_id from orders where id = ${id}`))[0]!.external_id;
    expect(
      (
        await ingestRefunds(database.db, [
          { refund_id: 'r-before', order_id: await external(refundedBefore!), refunded_at: at(-35), amount: '30' },
          { refund_id: 'r-after', order_id: await external(refundedAfter!), refunded_at: at(5), amount: '40' },
        ])
      ).ok,
    ).toBe(true);
    expect(
      (
        await ingestCancellations(database.db, [
          { order_id: await external(cancelledBefore!), cancelled_at: at(-19) },
          { order_id: await external(cancelledAfter!), cancelled_at: at(3) },
        ])
      ).ok,
    ).toBe(true);
    const [{ id: version } = { id: 0 }] = await queryRows<{ id: number }>(
      database.db,
      sql`select id from sequence_versions where sequence_id = 'pre'`,
    );
    const [id] = await insertEnrollments(database.db, [
      {
        customerId: customer!,
        sequenceId: 'pre',
        sequenceVersionId: version,
        arm: 'a',
        holdout: false,
        orderId: trigger!,
        dueAt: new Date(T0 + DAY),
        now: new Date(T0 + 10 * DAY),
        reenrollAfterDays: 30,
      },
    ]);
    const [row] = await queryRows<{ pre_spend: string }>(database.db, sql`select pre_spend::text from enrollments where id = ${id}`);
    // 70 (100 less the refund before) + 100 (refunded only later) + 0 (cancelled before) + 100 (cancelled only later).
    expect(Number(row!.pre_spend)).toBe(270);
  });
});
