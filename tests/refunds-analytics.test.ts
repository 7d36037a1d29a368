/**
 * Revenue net of refunds and cancellations: a refunded order lowers measured and attributed
 * revenue (and the dashboard's cumulative curve) by exactly the refunds made by the report's
 * as-of; a cancelled order counts 0, converts no one, and is credited to no email, through
 * the incremental attribution and its rebuild alike.
 */
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rebuildAttribution, refreshAttribution } from '../src/analytics/attribution.ts';
import { buildReport } from '../src/analytics/report.ts';
import { cumulativeRevenue, liveDefinition } from '../src/analytics/series.ts';
import { DEFAULT_ATTRIBUTION } from '../src/core/attribution.ts';
import { queryRows } from '../src/db/client.ts';
import { ingestCancellations, ingestRefunds } from '../src/ingest/batch.ts';
import { orderRevenue } from '../src/store/orders.ts';
import { DB_KINDS, freshDatabase, type TestDatabase } from './helpers/db.ts';
import { prepareShop } from './helpers/engine.ts';
import { Rows } from './helpers/rows.ts';
import { meanInterval, summarize } from '../src/core/stats.ts';

/** The t interval of the customers' revenue (SciPy-checked in stats.test.ts). */
const ci = (values: number[]) => meanInterval(summarize(values));

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const T0 = Date.parse('2026-03-02T10:00:00Z');
const at = (ms: number) => new Date(T0 + ms).toISOString();
const AS_OF = at(20 * DAY);

const SEQUENCE = `
id: net
name: Net revenue
trigger: { event: order_placed }
variants: [{ key: a, weight: 1 }]
measurement_window: 10d
steps:
  - { delay: 1h, template: thank-you }
`;

describe.each(DB_KINDS)('revenue net of refunds and cancellations on %s', (kind) => {
  let database: TestDatabase;
  const order = { refunded: 0, cancelled: 0, kept: 0 };
  const external = async (id: number) =>
    (await queryRows<{ external_id: string }>(database.db, sql`select external_id from orders where id = ${id}`))[0]!.external_id;
  const report = async (asOf = AS_OF) => {
    const { sequences } = await buildReport(database.db, { asOf: new Date(asOf), attribution: DEFAULT_ATTRIBUTION, minSample: 1 });
    const arm = sequences[0]!.versions[0]!.arms[0]!;
    return { conversions: arm.conversions, attributed: arm.attributedRevenue, measured: arm.measured };
  };
  const credited = async () =>
    (
      await queryRows<{ order_id: number }>(
        database.db,
        sql`select order_id from attributions where model = 'click-then-open:click=5d,open=1d' order by order_id`,
      )
    ).map((r) => Number(r.order_id));

  beforeAll(async () => {
    database = await freshDatabase(kind);
    const rows = new Rows(database.db);
    await prepareShop(database.db, SEQUENCE);
    const [{ id: version } = { id: 0 }] = await queryRows<{ id: number }>(
      database.db,
      sql`select id from sequence_versions where sequence_id = 'net'`,
    );
    const customers = await rows.customers(4);
    const triggers = await rows.orders(customers.map((c) => ({ customer: c, at: at(0), total: 10 })));
    const enrollments = await rows.enrollments(
      customers.map((c, i) => ({ customer: c, sequence: 'net', version, arm: 'a', trigger: triggers[i]!, at: at(0), preSpend: 0 })),
    );
    // Customers 0 and 1 click their email and buy two days later; customer 2 buys unprompted; customer 3 never.
    for (const i of [0, 1]) {
      const message = await rows.message(enrollments[i]!, customers[i]!, 0, at(HOUR));
      await rows.event(message, customers[i]!, 'click', at(2 * HOUR));
    }
    const bought = await rows.orders([
      { customer: customers[0]!, at: at(2 * DAY), total: 100 },
      { customer: customers[1]!, at: at(2 * DAY), total: 80 },
      { customer: customers[2]!, at: at(2 * DAY), total: 50 },
    ]);
    [order.refunded, order.cancelled, order.kept] = [bought[0]!, bought[1]!, bought[2]!];
  });
  afterAll(() => database?.drop());

  it('counts every order in full before any refund or cancellation', async () => {
    expect(await report()).toEqual({
      conversions: 2,
      attributed: 180,
      measured: {
        customers: 4,
        converted: 3,
        conversionRate: 0.75,
        revenue: 230,
        revenuePerCustomer: 57.5,
        revenuePerCustomerInterval: ci([100, 80, 50, 0]),
      },
    });
    expect(await credited()).toEqual([order.refunded, order.cancelled]);
  });

  it('takes off exactly the refunds made by as-of, and counts a cancelled order 0 with no credit', async () => {
    const refunded = await external(order.refunded);
    const result = await ingestRefunds(database.db, [
      { refund_id: 'rf-1', order_id: refunded, refunded_at: at(3 * DAY), amount: '30' },
      // After the report's as-of: not counted yet.
      { refund_id: 'rf-2', order_id: refunded, refunded_at: at(30 * DAY), amount: '20' },
    ]);
    expect(result.ok).toBe(true);
    expect(
      (await ingestCancellations(database.db, [{ order_id: await external(order.cancelled), cancelled_at: at(2 * DAY + HOUR) }])).ok,
    ).toBe(true);
    // Cancelling deleted the order's credit; the refresh does not bring it back.
    expect(await credited()).toEqual([order.refunded]);

    const net = {
      conversions: 1,
      attributed: 70,
      measured: {
        customers: 4,
        converted: 2,
        conversionRate: 0.5,
        revenue: 120,
        revenuePerCustomer: 30,
        revenuePerCustomerInterval: ci([70, 0, 50, 0]),
      },
    };
    expect(await report()).toEqual(net);
    // The dashboard's curve ends at the same revenue per customer.
    const live = (await liveDefinition(database.db, 'net'))!;
    const curve = await cumulativeRevenue(database.db, live.versionId, live.definition, new Date(AS_OF));
    expect(curve.at(-1)).toEqual({ arm: 'a', day: 10, value: 30, interval: ci([70, 0, 50, 0]), customers: 4 });

    // Rebuilding the attribution from scratch credits the cancelled order no more than the refresh did.
    await rebuildAttribution(database.db, DEFAULT_ATTRIBUTION);
    expect(await credited()).toEqual([order.refunded]);
    await refreshAttribution(database.db, DEFAULT_ATTRIBUTION);
    expect(await report()).toEqual(net);

    // Once as-of passes the second refund, it counts too.
    expect(await report(at(40 * DAY))).toEqual({
      conversions: 1,
      attributed: 50,
      measured: {
        customers: 4,
        converted: 2,
        conversionRate: 0.5,
        revenue: 100,
        revenuePerCustomer: 25,
        revenuePerCustomerInterval: ci([50, 0, 50, 0]),
      },
    });
  });

  it("tells one order's net revenue by the same rule", async () => {
    expect(await orderRevenue(database.db, order.refunded, new Date(AS_OF))).toEqual({
      total: '100.0000',
      refunded: '30.0000',
      net: '70.0000',
      cancelled_at: null,
    });
    expect((await orderRevenue(database.db, order.refunded, new Date(at(40 * DAY))))?.net).toBe('50.0000');
    expect(await orderRevenue(database.db, order.cancelled, new Date(AS_OF))).toMatchObject({
      net: '0.0000',
      cancelled_at: new Date(at(2 * DAY + HOUR)),
    });
    expect((await orderRevenue(database.db, order.kept, new Date(AS_OF)))?.net).toBe('50.0000');
    expect(await orderRevenue(database.db, 0, new Date(AS_OF))).toBeUndefined();
  });

  it('excludes a cancelled order from attributed revenue even when its credit outlived the cancellation', async () => {
    // As if a refresh that read the order before it was cancelled wrote its credit after.
    await database.db.execute(sql`insert into attributions (order_id, model, message_id, touch, touched_at, revenue)
      select ${order.cancelled}, model, message_id, touch, touched_at, 80 from attributions where order_id = ${order.refunded}`);
    expect(await credited()).toEqual([order.refunded, order.cancelled]);
    const { sequences } = await buildReport(database.db, {
      asOf: new Date(AS_OF),
      attribution: DEFAULT_ATTRIBUTION,
      minSample: 1,
      refresh: false,
    });
    expect(sequences[0]!.versions[0]!.arms[0]!).toMatchObject({ conversions: 1, attributedRevenue: 70 });
  });
});
