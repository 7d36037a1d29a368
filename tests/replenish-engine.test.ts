/**
 * `delay: replenish` through the real path (history import, `recs build`'s learning, API
 * ingest, outbox, BullMQ workers, SMTP): a refill step goes when the ordered product is
 * typically bought again, counted from the order, less its lead: by the customer's own
 * rhythm when they have one, else the product's learned median, and the fallback (28 days)
 * when nothing is learned; as a first step and after another step alike. The interval is
 * stored with the enrollment.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryRows } from '../src/db/client.ts';
import { ingestCustomers, ingestOrders } from '../src/ingest/batch.ts';
import { importRows } from '../src/ingest/import.ts';
import { openRows } from '../src/ingest/read.ts';
import { applySequence, loadSequenceFiles } from '../src/sequences/files.ts';
import { learnReplenishment } from '../src/store/replenish.ts';
import { eventually, startTestEngine, type TestEngine } from './helpers/engine.ts';
import { tempFile } from './helpers/files.ts';

const DAY = 86_400_000;
const AFTER_A_THANK_YOU = `
id: refill-after
name: Thank you, then a refill reminder
trigger: { event: order_placed }
holdout: 0%
variants: [{ key: reminder, weight: 1 }]
steps:
  - { delay: 1h, template: thank-you }
  - { delay: replenish - 3d, template: accessories }
`;
const REFILL_FIRST = `
id: refill-first
name: A refill reminder alone
trigger: { event: order_placed }
holdout: 0%
variants: [{ key: reminder, weight: 1 }]
steps:
  - { delay: replenish, template: accessories }
`;

describe('a refill step on the engine', () => {
  let t: TestEngine;
  let orderedAt: Date;
  const enrollment = async (customer: string, sequence: string) => {
    const [row] = await queryRows<{
      next_step: number;
      next_due_at: string;
      replenish_days: number | null;
      replenish_source: string | null;
    }>(
      t.database.db,
      sql`select e.next_step, e.next_due_at, e.replenish_days, e.replenish_source
          from enrollments e join customers c on c.id = e.customer_id
          where c.external_id = ${customer} and e.sequence_id = ${sequence}`,
    );
    return { ...row!, due: new Date(row!.next_due_at).getTime() };
  };

  beforeAll(async () => {
    // One simulated hour a second: the thank-you goes in a second, no refill goes during the test.
    t = await startTestEngine(AFTER_A_THANK_YOU, { clockScale: 3_600 });
    const dir = mkdtempSync(join(tmpdir(), 'refill-first-'));
    writeFileSync(join(dir, 'refill-first.yaml'), REFILL_FIRST);
    const { files, problems } = await loadSequenceFiles(dir);
    expect(problems).toEqual([]);
    for (const file of files) await applySequence(t.database.db, file);

    // The planted history, imported as history (no one enrolls from it): 25 regulars buy
    // BEAN-1 every 20 days (50 intervals, the product's median 20); "own" buys it every 12.
    const now = t.engine.clock.now().getTime();
    const lines = ['order_id,customer_id,ordered_at,sku,quantity,unit_price'];
    const regulars = Array.from({ length: 25 }, (_, i) => `rg-${i}`);
    regulars.forEach((c, i) => {
      for (let k = 0; k < 3; k++)
        lines.push(`h-${c}-${k},${c},${new Date(now - (100 - 20 * k) * DAY + i * 60_000).toISOString()},BEAN-1,1,24.90`);
    });
    for (let k = 0; k < 3; k++) lines.push(`h-own-${k},rf-own,${new Date(now - (40 - 12 * k) * DAY).toISOString()},BEAN-1,1,24.90`);
    const customers = [...regulars, 'rf-own', 'rf-new', 'rf-none'];
    await ingestCustomers(
      t.database.db,
      customers.map((c) => ({ customer_id: c, email: `${c}@example.com`, accepts_marketing: 'yes' as const })),
    );
    const history = tempFile('history.csv', lines.join('\n'));
    const imported = await importRows(t.database.db, 'orders', await openRows(history, 'csv'), { batchSize: 100, history: true });
    expect(imported.rejected).toBe(0);
    expect(await learnReplenishment(t.database.db)).toMatchObject({ products: 1, categories: 1 });

    orderedAt = t.engine.clock.now();
    const order = (customer: string, sku: string) => ({
      order_id: `live-${customer}`,
      customer_id: customer,
      ordered_at: orderedAt.toISOString(),
      items: [{ sku, quantity: 1, unit_price: '24.90' }],
    });
    const result = await ingestOrders(t.database.db, [order('rf-own', 'BEAN-1'), order('rf-new', 'BEAN-1'), order('rf-none', 'TAMP-1')]);
    expect(result.ok).toBe(true);
    t.relay.kick();
    await eventually(
      async () => {
        const [row] = await queryRows<{ n: number }>(
          t.database.db,
          sql`select count(*)::int as n from enrollments where sequence_id = 'refill-after' and next_step = 1`,
        );
        return row!.n === 3;
      },
      30_000,
      'every thank-you sent',
    );
  }, 120_000);
  afterAll(() => t?.stop());

  it("times a refill after another step by the customer's own rhythm, the product's median, or the fallback, less the lead", async () => {
    const own = await enrollment('rf-own', 'refill-after');
    expect([own.replenish_days, own.replenish_source]).toEqual([12, 'customer']);
    expect(own.due).toBe(orderedAt.getTime() + 9 * DAY);

    const product = await enrollment('rf-new', 'refill-after');
    expect([product.replenish_days, product.replenish_source]).toEqual([20, 'product']);
    expect(product.due).toBe(orderedAt.getTime() + 17 * DAY);

    const none = await enrollment('rf-none', 'refill-after');
    expect([none.replenish_days, none.replenish_source]).toEqual([null, null]);
    expect(none.due).toBe(orderedAt.getTime() + 25 * DAY);
  });

  it('times a refill as the first step the same way, from the order', async () => {
    expect((await enrollment('rf-own', 'refill-first')).due).toBe(orderedAt.getTime() + 12 * DAY);
    expect((await enrollment('rf-new', 'refill-first')).due).toBe(orderedAt.getTime() + 20 * DAY);
    expect((await enrollment('rf-none', 'refill-first')).due).toBe(orderedAt.getTime() + 28 * DAY);
    for (const c of ['rf-own', 'rf-new', 'rf-none']) expect((await enrollment(c, 'refill-first')).next_step).toBe(0);
  });
});
