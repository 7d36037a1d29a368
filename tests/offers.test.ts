/**
 * What the engine keeps of its offers, through the real path (API ingest, outbox, BullMQ
 * workers, SMTP): every enrollment, the holdout's too, stores what the recommender would offer
 * at each step, with the step's strategy (the holdout the control's); a sent email stores the
 * cross-sells and upsells it showed; a second delivery of the order stores nothing new.
 */
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assignArm, HOLDOUT } from '../src/core/assignment.ts';
import type { OfferedStep } from '../src/core/offers.ts';
import { DEFAULT_RULES, type Strategy } from '../src/core/recommend.ts';
import { queryRows } from '../src/db/client.ts';
import { enrollOrder } from '../src/engine/enroll.ts';
import { ingestCustomers, ingestOrders } from '../src/ingest/batch.ts';
import { importRows } from '../src/ingest/import.ts';
import { openRows } from '../src/ingest/read.ts';
import { recommendationsFor } from '../src/recs/service.ts';
import { eventually, startTestEngine, type TestEngine } from './helpers/engine.ts';
import { FIXTURES } from './helpers/files.ts';

const SEQUENCE = `
id: kept-offers
name: Kept offers
trigger: { event: order_placed }
holdout: 40%
variants:
  - { key: up, weight: 1, recommendations: upsell-only }
  - { key: pop, weight: 1, recommendations: popularity }
steps:
  - { delay: 1h, template: thank-you }
  - { delay: 30d, template: accessories, recommendations: co-purchase }
`;
const VARIANTS = [
  { key: 'up', weight: 1 },
  { key: 'pop', weight: 1 },
];

interface EnrollmentRow {
  id: number;
  customer: string;
  customer_id: number;
  trigger_order_id: number;
  arm: string;
  state: string;
  offered: OfferedStep[] | null;
}

describe('offers kept by the engine', () => {
  let t: TestEngine;
  const customers = Array.from({ length: 12 }, (_, i) => `of-${i}`);
  const armOf = (c: string) => assignArm('kept-offers', c, VARIANTS, 0.4);
  const enrollments = () =>
    queryRows<EnrollmentRow>(
      t.database.db,
      sql`select e.id, c.external_id as customer, e.customer_id, e.trigger_order_id, e.arm, e.state, e.offered
          from enrollments e join customers c on c.id = e.customer_id where c.external_id like 'of-%' order by c.external_id`,
    );
  /** What the recommender offers this enrollment's order under `strategy`, as skus. */
  const offer = async (e: EnrollmentRow, strategy: Strategy): Promise<OfferedStep> => {
    const recs = await recommendationsFor(t.database.db, {
      customerId: e.customer_id,
      orderId: Number(e.trigger_order_id),
      strategy,
      rules: DEFAULT_RULES,
    });
    return { crossSell: recs.recommendations.map((r) => r.sku), upsell: recs.upsells.map((r) => r.sku) };
  };

  beforeAll(async () => {
    t = await startTestEngine(SEQUENCE, { clockScale: 86_400 });
    // Past orders (no sequence starts from them) make best-sellers to recommend.
    await importRows(t.database.db, 'orders', await openRows(`${FIXTURES}orders.csv`, 'csv'), { batchSize: 100, history: true });
    await ingestCustomers(
      t.database.db,
      customers.map((c, i) => ({ customer_id: c, email: `of${i}@example.com`, accepts_marketing: 'yes' as const })),
    );
    const arms = new Set(customers.map(armOf));
    expect([...arms].sort()).toEqual([HOLDOUT, 'pop', 'up']);
    const now = t.engine.clock.now().toISOString();
    expect(
      (
        await ingestOrders(
          t.database.db,
          customers.map((c, i) => ({
            order_id: `of-o-${i}`,
            customer_id: c,
            ordered_at: now,
            items: [{ sku: 'ESP-100', quantity: 1, unit_price: '249.00' }],
          })),
        )
      ).ok,
    ).toBe(true);
    t.relay.kick();
    const treated = customers.filter((c) => armOf(c) !== HOLDOUT).length;
    await eventually(
      async () => {
        const [row] = await queryRows<{ n: number }>(
          t.database.db,
          sql`select count(*)::int as n from messages m join customers c on c.id = m.customer_id
              where c.external_id like 'of-%' and m.state = 'sent'`,
        );
        return row!.n >= treated;
      },
      30_000,
      'the first email of every treated customer',
    );
  });
  afterAll(() => t.stop());

  it("stores every step's offers for every enrollment, the holdout's with the control's strategy", async () => {
    const rows = await enrollments();
    expect(rows.map((r) => [r.customer, r.arm])).toEqual(customers.sort().map((c) => [c, armOf(c)]));
    const holdout = rows.filter((r) => r.arm === HOLDOUT);
    expect(holdout.length).toBeGreaterThan(0);
    for (const e of rows) {
      // Step 1 takes the arm's strategy (the holdout: the control's, upsell-only); step 2 its own, co-purchase.
      const first: Strategy = e.arm === 'pop' ? 'popularity' : 'upsell-only';
      expect(e.offered, e.customer).toEqual([await offer(e, first), await offer(e, 'co-purchase')]);
    }
    // The strategies offer different things, so the holdout's offers are the control's and no other arm's.
    const h = holdout[0]!;
    expect(h.offered![0]).toEqual({ crossSell: [], upsell: ['ESP-200'] });
    expect((await offer(h, 'popularity')).crossSell.length).toBeGreaterThan(0);
    for (const e of holdout) expect(e.state).toBe('holdout');
  });

  it('a sent email stores the cross-sells and the upsells it showed', async () => {
    const messages = await queryRows<{ customer: string; arm: string; recommendations: string[]; upsells: string[] }>(
      t.database.db,
      sql`select c.external_id as customer, e.arm, m.recommendations, m.upsells
          from messages m join enrollments e on e.id = m.enrollment_id join customers c on c.id = m.customer_id
          where c.external_id like 'of-%' and m.state = 'sent' and m.step = 0 order by c.external_id`,
    );
    expect(messages.map((m) => m.customer)).toEqual(customers.filter((c) => armOf(c) !== HOLDOUT).sort());
    const rows = await enrollments();
    for (const m of messages) {
      const e = rows.find((r) => r.customer === m.customer)!;
      const shown = await offer(e, m.arm === 'pop' ? 'popularity' : 'upsell-only');
      expect({ crossSell: m.recommendations, upsell: m.upsells }, m.customer).toEqual(shown);
    }
    const up = messages.find((m) => m.arm === 'up');
    expect(up?.upsells).toEqual(['ESP-200']);
    expect(messages.find((m) => m.arm === 'pop')?.recommendations.length).toBeGreaterThan(0);
  });

  it('a second delivery of the order enrolls no one and leaves the stored offers as they were', async () => {
    const before = await enrollments();
    for (const e of before) expect(await enrollOrder(t.engine, Number(e.trigger_order_id))).toEqual([]);
    expect(await enrollments()).toEqual(before);
  });
});
