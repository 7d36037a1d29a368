/**
 * The report's per-enrollment rollup (src/store/outcomes.ts) against the raw rows: after a
 * random mix of enrollments, orders (some moved to another time or customer), refunds,
 * cancellations, product cost changes and guardrail events, stored through the ingest's own
 * functions, the report read from the rollup equals the report recomputed from the raw rows
 * (`rollup: false`), under options the rollup serves and options it hands back to the raw
 * rows (an as-of before some refunds and events, enrolled-from, winsorising, a default
 * margin, an attribute breakdown); and `rebuildOutcomes` (what `campaign report rebuild`
 * runs) writes the very rows the incremental updates kept, a sent email's once settled
 * (`settleSends`). Some emails are never sent (refused, or still with a worker) and events name
 * them too: the funnel, read from the engagement rollup when it serves, counts them nowhere.
 * On Postgres and PGlite.
 */
import { sql } from 'drizzle-orm';
import { afterEach, describe, expect, it } from 'vitest';
import { buildReport, type Report, type ReportOptions } from '../src/analytics/report.ts';
import { DEFAULT_ATTRIBUTION } from '../src/core/attribution.ts';
import { REFUND_ALL } from '../src/core/records.ts';
import { queryRows, type Db } from '../src/db/client.ts';
import { cancelOrders, productIds, upsertOrders, upsertProducts, upsertRefunds } from '../src/ingest/store.ts';
import { advanceEnrollment, insertEnrollments } from '../src/store/enrollments.ts';
import { rebuildOutcomes, settleSends } from '../src/store/outcomes.ts';
import { rebuildEngagement, refreshEngagement } from '../src/analytics/engagement.ts';
import { firstDifference } from '../src/demo/rollup-check.ts';
import { DB_KINDS, freshDatabase, type TestDatabase } from './helpers/db.ts';
import { prepareShop } from './helpers/engine.ts';
import { Rows } from './helpers/rows.ts';

const SEQUENCE = `
id: rollup
name: Rollup
trigger: { event: order_placed }
holdout: 20%
variants: [{ key: a, weight: 1 }, { key: b, weight: 1 }]
steps:
  - { delay: 1h, template: thank-you }
  - { delay: 3d, template: accessories }
measurement_window: 14d
`;
const DAY = 86_400_000;
const T0 = Date.parse('2026-01-01T00:00:00Z');
const SKUS = ['RR-COSTED', 'RR-UNCOSTED', 'RR-CHEAP'];

/** A small seeded generator (mulberry32), so a failure replays. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

interface World {
  db: Db;
  rows: Rows;
  version: number;
  products: Map<string, number>;
  customers: number[];
  /** Every order stored: its external id, customer, time and lines. */
  orders: {
    externalId: string;
    customerId: number;
    orderedAt: string;
    items: { productId: number; quantity: number; unitPrice: string }[];
  }[];
  messages: number[];
  /** Emails not sent (refused, or still with a worker): events may name them, the funnel counts them nowhere. */
  unsent: number[];
}

const iso = (ms: number) => new Date(ms).toISOString();

async function setUp(db: Db): Promise<World> {
  await prepareShop(db, SEQUENCE);
  await upsertProducts(db, [
    { sku: 'RR-COSTED', name: 'Costed', category: 'c', price: '30', cost: '12.5' },
    { sku: 'RR-UNCOSTED', name: 'Uncosted', category: 'c', price: '45.5' },
    { sku: 'RR-CHEAP', name: 'Cheap', category: 'c', price: '7.25', cost: '2' },
  ]);
  const [{ id: version } = { id: 0 }] = await queryRows<{ id: number }>(
    db,
    sql`select id from sequence_versions where sequence_id = 'rollup'`,
  );
  const rows = new Rows(db);
  const customers = await rows.customers(30);
  // A tier attribute for the breakdown by attribute.
  await db.execute(sql`update customers set attributes = jsonb_build_object('tier', case when id % 3 = 0 then 'gold' else 'basic' end)`);
  return { db, rows, version, products: await productIds(db, SKUS), customers, orders: [], messages: [], unsent: [] };
}

/** One random order of a random customer at `at` (ms), stored through the ingest; returns it. */
async function placeOrder(w: World, rand: () => number, customerId: number, at: number): Promise<World['orders'][number]> {
  const lines = 1 + Math.floor(rand() * 2);
  const items = Array.from({ length: lines }, () => {
    const sku = SKUS[Math.floor(rand() * SKUS.length)]!;
    return {
      productId: w.products.get(sku)!,
      quantity: 1 + Math.floor(rand() * 3),
      unitPrice: (5 + Math.floor(rand() * 4000) / 100).toFixed(2),
    };
  });
  const order = { externalId: `rr-${w.orders.length}`, customerId, orderedAt: iso(at), items };
  await upsertOrders(w.db, [{ ...order, ...(rand() < 0.3 ? { discountTotal: '1.5' } : {}) }]);
  w.orders.push(order);
  return order;
}

/** A customer orders and is enrolled on it (the holdout never mailed, a variant mailed two steps). */
async function enroll(w: World, rand: () => number): Promise<void> {
  const customerId = w.customers[Math.floor(rand() * w.customers.length)]!;
  const at = T0 + Math.floor(rand() * 40 * DAY);
  const order = await placeOrder(w, rand, customerId, at);
  const [{ id: orderId } = { id: 0 }] = await queryRows<{ id: number }>(
    w.db,
    sql`select id from orders where external_id = ${order.externalId}`,
  );
  const arm = rand() < 0.2 ? 'holdout' : rand() < 0.5 ? 'a' : 'b';
  const [enrollment] = await insertEnrollments(w.db, [
    {
      customerId,
      sequenceId: 'rollup',
      sequenceVersionId: w.version,
      arm,
      holdout: arm === 'holdout',
      orderId,
      dueAt: new Date(at + 3_600_000),
      now: new Date(at + (rand() < 0.2 ? -3_600_000 : 60_000)),
      reenrollAfterDays: 0,
      segment: rand() < 0.5 ? 'new' : 'loyal',
      // What each step would offer (the holdout is measured against it), unless made before offers were kept.
      offered:
        rand() < 0.2 ? null : [0, 1].map(() => ({ crossSell: SKUS.filter(() => rand() < 0.4), upsell: SKUS.filter(() => rand() < 0.3) })),
    },
  ]);
  if (enrollment === undefined || arm === 'holdout') return;
  for (const step of [0, 1]) {
    // Each email offers a random sku or two (cross-sells, upsells), and is marked sent as the engine does.
    const offer = () => SKUS.filter(() => rand() < 0.4);
    const [message] = await queryRows<{ id: number }>(
      w.db,
      sql`insert into messages (enrollment_id, step, customer_id, recipient, state, message_id, recommendations, upsells)
          values (${enrollment}, ${step}, ${customerId}, 'x@example.com', 'pending', ${`<${enrollment}.${step}@rr>`},
                  ${JSON.stringify(offer())}::jsonb, ${JSON.stringify(offer())}::jsonb)
          returning id`,
    );
    // Now and then the email is not sent: refused by the server, or still with a worker.
    const fate = rand();
    if (fate < 0.1) {
      if (fate < 0.05) await w.db.execute(sql`update messages set state = 'failed', error = 'rejected' where id = ${message!.id}`);
      w.unsent.push(message!.id);
      return;
    }
    const sentAt = new Date(at + (1 + step * 72) * 3_600_000);
    await advanceEnrollment(
      w.db,
      { id: enrollment, step, next: step + 1, dueAt: step === 0 ? new Date(sentAt.getTime() + 72 * 3_600_000) : null },
      { messageId: message!.id, sentAt, response: '250 ok' },
    );
    w.messages.push(message!.id);
  }
}

/** One random change of any kind the rollup must follow. */
async function change(w: World, rand: () => number): Promise<void> {
  const pick = rand();
  const someOrder = () => w.orders[Math.floor(rand() * w.orders.length)]!;
  if (pick < 0.3) await enroll(w, rand);
  else if (pick < 0.55)
    await placeOrder(w, rand, w.customers[Math.floor(rand() * w.customers.length)]!, T0 + Math.floor(rand() * 60 * DAY));
  else if (pick < 0.7) {
    const order = someOrder();
    const at = Date.parse(order.orderedAt) + Math.floor(rand() * 50 * DAY);
    await upsertRefunds(w.db, [
      {
        // Now and then a refund sent again against another order (the first order's customer's rows follow too).
        refund_id: `rf-${Math.floor(rand() * (rand() < 0.3 ? 4 : 1e9))}`,
        order_id: order.externalId,
        refunded_at: iso(at),
        amount: rand() < 0.4 ? REFUND_ALL : '3.5',
      },
    ]);
  } else if (pick < 0.78) {
    const order = someOrder();
    await cancelOrders(w.db, [{ order_id: order.externalId, cancelled_at: iso(Date.parse(order.orderedAt) + DAY) }]);
  } else if (pick < 0.84) {
    await upsertProducts(w.db, [
      {
        sku: SKUS[Math.floor(rand() * SKUS.length)]!,
        name: 'Changed',
        category: 'c',
        price: '30',
        cost: (1 + Math.floor(rand() * 2000) / 100).toFixed(2),
      },
    ]);
  } else if (pick < 0.92) {
    // The shop sends an order again, moved to another time, or to another customer.
    const order = someOrder();
    const moved = {
      ...order,
      orderedAt: iso(Date.parse(order.orderedAt) + Math.floor((rand() - 0.5) * 20 * DAY)),
      customerId: rand() < 0.3 ? w.customers[Math.floor(rand() * w.customers.length)]! : order.customerId,
    };
    // Now and then with another total (a line's quantity changed): its credit follows.
    if (rand() < 0.4) moved.items = order.items.map((item, i) => (i === 0 ? { ...item, quantity: item.quantity + 1 } : item));
    await upsertOrders(w.db, [moved]);
    Object.assign(order, moved);
  } else if (w.messages.length > 0) {
    const named = [...w.messages, ...w.unsent];
    const message = named[Math.floor(rand() * named.length)]!;
    const type = ['unsubscribe', 'complaint', 'bounce', 'open'][Math.floor(rand() * 4)]!;
    // An email not sent has no sent_at: its event is dated from the enrollment.
    await w.db.execute(sql`insert into events (message_id, customer_id, type, is_human, occurred_at)
      select id, customer_id, ${type}, true, coalesce(sent_at, enrolled_at) + ${Math.floor(rand() * 40 * DAY)} * interval '1 millisecond'
      from messages where id = ${message}`);
  }
}

/** The rollup's rows, money as text, in enrollment order, then the acceptance rows in message order. */
async function rollupRows(db: Db): Promise<Record<string, unknown>[]> {
  const outcomes = await queryRows<Record<string, unknown>>(
    db,
    sql`select enrollment_id, sequence_version_id, customer_id, arm, enrolled_at, window_end, pre_spend::text, first_in_version, segment, repeat_buyer,
               orders, revenue::text, margin::text, cogs::text, uncosted, unsubscribed, complained, bounced, later_unsubscribed, later_complained, later_bounced,
               items, recommended::text, offer_revenue::text, offer_orders, accepted_cross, accepted_up, accepted_any, next_order_at
        from enrollment_outcomes order by enrollment_id`,
  );
  const acceptance = await queryRows<Record<string, unknown>>(
    db,
    sql`select message_id, accepted_at from message_acceptance order by message_id`,
  );
  return [...outcomes, ...acceptance];
}

/** The funnel's counts (migration 0033), summed per step. */
function countedFunnel(db: Db): Promise<Record<string, unknown>[]> {
  return queryRows(
    db,
    sql`select * from (select sequence_version_id, arm, step, sum(sent)::int as sent, sum(bounced)::int as bounced,
                              sum(human_opens)::int as human_opens, sum(raw_opens)::int as raw_opens,
                              sum(human_clicks)::int as human_clicks, sum(raw_clicks)::int as raw_clicks,
                              sum(unsubscribes)::int as unsubscribes, sum(complaints)::int as complaints
                       from funnel_counts group by 1, 2, 3) c where sent <> 0 order by 1, 2, 3`,
  );
}

/** The same, counted from the engagement rows. */
function recountedFunnel(db: Db): Promise<Record<string, unknown>[]> {
  return queryRows(
    db,
    sql`select sequence_version_id, arm, step, count(*)::int as sent, count(*) filter (where bounced)::int as bounced,
               count(*) filter (where human_open)::int as human_opens, count(*) filter (where raw_open)::int as raw_opens,
               count(*) filter (where human_click)::int as human_clicks, count(*) filter (where raw_click)::int as raw_clicks,
               count(*) filter (where unsubscribed)::int as unsubscribes, count(*) filter (where complained)::int as complaints
        from message_engagement where sent group by 1, 2, 3 order by 1, 2, 3`,
  );
}

/** The credited orders' counts (migration 0033) per model and step, revenue as text. */
function countedCredit(db: Db): Promise<Record<string, unknown>[]> {
  return queryRows(
    db,
    sql`select * from (select model, sequence_version_id, arm, step, sum(conversions)::int as conversions, sum(revenue)::text as revenue
                       from credited_counts group by 1, 2, 3, 4) c where conversions <> 0 order by 1, 2, 3, 4`,
  );
}

/** The same, counted from the attributions, each at its order's total. */
function recountedCredit(db: Db): Promise<Record<string, unknown>[]> {
  return queryRows(
    db,
    sql`select a.model, m.sequence_version_id, m.arm, m.step, count(*)::int as conversions, sum(o.total)::text as revenue
        from attributions a join messages m on m.id = a.message_id join orders o on o.id = a.order_id
        group by 1, 2, 3, 4 order by 1, 2, 3, 4`,
  );
}

/** How many sent emails wait for their rollup rows. */
async function pendingSends(db: Db): Promise<number> {
  const [row] = await queryRows<{ n: number }>(db, sql`select count(*)::int as n from sends_to_roll_up`);
  return row?.n ?? -1;
}

const OPTIONS: { name: string; options: Partial<ReportOptions> }[] = [
  { name: 'as of after everything', options: { asOf: new Date(T0 + 200 * DAY) } },
  { name: 'as of before some refunds and events', options: { asOf: new Date(T0 + 45 * DAY) } },
  {
    name: 'enrolled from day 10, winsorised',
    options: { asOf: new Date(T0 + 200 * DAY), enrolledFrom: new Date(T0 + 10 * DAY), winsorize: 0.9 },
  },
  {
    name: 'a default margin, by attribute',
    options: { asOf: new Date(T0 + 200 * DAY), defaultMarginPercent: 40, breakdownAttribute: 'tier' },
  },
  { name: 'a 10-day repeat horizon', options: { asOf: new Date(T0 + 200 * DAY), repeatHorizonDays: 10 } },
];

describe.each(DB_KINDS)('the report rollup on %s', (kind) => {
  let database: TestDatabase | undefined;
  afterEach(async () => {
    await database?.drop();
    database = undefined;
  });

  // The seeds vary the changes the rollup's SQL sees, on Postgres; PGlite runs the same SQL
  // through its own driver, which one seed checks (each PGlite seed took 25 s of CI's time).
  it.each(kind === 'pglite' ? [1] : [1, 2, 3])(
    "is what the rebuild writes after each random change, and the report read from it is the raw rows' (seed %i)",
    async (seed) => {
      database = await freshDatabase(kind);
      const db = database.db;
      const rand = random(seed);
      const w = await setUp(db);
      for (let i = 0; i < 15; i++) await enroll(w, rand);
      // Built after the first enrollments: what comes after is kept by the incremental updates.
      await rebuildOutcomes(db);
      for (let i = 0; i < 90; i++) {
        const sent = w.messages.length;
        await change(w, rand);
        // The emails a change sent wait for their rows, which the settle (before every
        // report, and on the workers' reconciling pass) writes.
        expect(await pendingSends(db)).toBe(w.messages.length - sent);
        await settleSends(db);
        expect(await pendingSends(db)).toBe(0);
        // Each change kept as the rebuild (what `campaign report rebuild` runs) writes it.
        const kept = await rollupRows(db);
        await rebuildOutcomes(db);
        expect(await rollupRows(db), `after change ${i}`).toEqual(kept);
      }

      const [{ n } = { n: -1 }] = await queryRows<{ n: number }>(
        db,
        sql`select (select count(*) from enrollments)::int - (select count(*) from enrollment_outcomes)::int as n`,
      );
      expect(n).toBe(0);
      // The engagement rollup (every sent email's row marked sent, its flags ORed in from the
      // events) is what a rebuild from the events writes; every unsent email is named by an event.
      expect(w.unsent.length).toBeGreaterThan(0);
      await db.execute(sql`insert into events (message_id, customer_id, type, is_human, occurred_at)
        select id, customer_id, 'open', true, enrolled_at + interval '1 day'
        from messages where id in (select jsonb_array_elements_text(${JSON.stringify(w.unsent)}::jsonb)::bigint)`);
      await refreshEngagement(db);
      // Each email's flags are its events' own (every email with events has a row).
      expect(
        await queryRows(
          db,
          sql`select message_id, human_open, raw_open, human_click, raw_click, unsubscribed, bounced, complained from message_engagement t
              where exists (select 1 from events ev where ev.message_id = t.message_id) or human_open or raw_open or human_click
                 or raw_click or unsubscribed or bounced or complained
              order by message_id`,
        ),
      ).toEqual(
        await queryRows(
          db,
          sql`select message_id, bool_or(type = 'open' and is_human) as human_open, bool_or(type = 'open') as raw_open,
                     bool_or(type = 'click' and is_human) as human_click, bool_or(type = 'click') as raw_click,
                     bool_or(type = 'unsubscribe') as unsubscribed, bool_or(type = 'bounce') as bounced, bool_or(type = 'complaint') as complained
              from events where message_id is not null group by message_id order by message_id`,
        ),
      );
      const engagement = () => queryRows(db, sql`select * from message_engagement order by message_id`);
      const keptEngagement = await engagement();
      await rebuildEngagement(db);
      expect(await engagement()).toEqual(keptEngagement);
      const [{ unsent } = { unsent: 0 }] = await queryRows<{ unsent: number }>(
        db,
        sql`select count(*)::int as unsent from message_engagement where not sent`,
      );
      expect(unsent).toBeGreaterThan(0);
      // Some emails were accepted, so the acceptance per step is compared on something.
      const [{ accepted } = { accepted: 0 }] = await queryRows<{ accepted: number }>(
        db,
        sql`select count(*)::int as accepted from message_acceptance`,
      );
      expect(accepted).toBeGreaterThan(0);
      for (const { name, options } of OPTIONS) {
        const base = { attribution: DEFAULT_ATTRIBUTION, minSample: 2, asOf: new Date(), ...options };
        const fromRollup: Report = await buildReport(db, base);
        const fromRows: Report = await buildReport(db, { ...base, rollup: false });
        const arms = fromRollup.sequences[0]!.versions[0]!.arms;
        expect(
          arms.some((a) => a.measured.customers > 0),
          name,
        ).toBe(true);
        // The offer KPIs compare something: some measured customer bought what was offered.
        if (options.asOf!.getTime() > T0 + 100 * DAY)
          expect(
            arms.some((a) => a.kpis.acceptance.any.accepted > 0),
            name,
          ).toBe(true);
        // Equal, numbers within 1e-9 relative (sums of floats in another order differ in the last bits).
        expect(firstDifference(fromRollup, fromRows), name).toBeNull();
      }
      // The funnel's and the credited orders' counts (migration 0033) are the rows' own, and
      // the first report above read them.
      expect(await countedFunnel(db)).toEqual(await recountedFunnel(db));
      expect(await countedCredit(db)).toEqual(await recountedCredit(db));
      // A report as of now reads them: a row added to them shows in it.
      const now = { attribution: DEFAULT_ATTRIBUTION, minSample: 2, asOf: OPTIONS[0]!.options.asOf! };
      const sentOf = (r: Report) => r.sequences[0]!.versions[0]!.arms.find((a) => a.arm === 'a')!.steps[0]!.sent;
      const before = sentOf(await buildReport(db, now));
      await db.execute(sql`insert into funnel_counts select ${w.version}, 'a', 0, 1000, 0, 0, 0, 0, 0, 0, 0`);
      expect(sentOf(await buildReport(db, now))).toBe(before + 1000);
    },
    // A rebuild after each of 90 changes, then eight reports: slow on PGlite.
    300_000,
  );
});

describe('firstDifference, what the demo compares its two reports with', () => {
  it('names the first value that differs, numbers within a relative 1e-9', () => {
    expect(firstDifference({ a: [1, 2], b: 'x' }, { a: [1, 2], b: 'x' })).toBeNull();
    expect(firstDifference({ a: 1e6 }, { a: 1e6 + 1e-4 })).toBeNull();
    expect(firstDifference({ a: 1e6 }, { a: 1e6 + 1 })).toBe('report.a');
    expect(firstDifference({ a: [1, { b: 2 }] }, { a: [1, { b: 3 }] })).toBe('report.a[1].b');
    expect(firstDifference({ a: [1] }, { a: [1, 2] })).toBe('report.a');
    expect(firstDifference({ a: null }, { a: 0 })).toBe('report.a');
    expect(firstDifference({ a: Number.NaN }, { a: Number.NaN })).toBeNull();
    expect(firstDifference({ a: 1 }, { a: 1, b: undefined })).toBeNull();
    expect(firstDifference({ a: 1 }, { a: 1, b: 2 })).toBe('report.b');
  });
});
