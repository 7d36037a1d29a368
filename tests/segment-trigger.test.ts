/**
 * A trigger filtered on segments, through the real engine: with a planted history (imported
 * as history, so it enrolls no one), a new order from one customer of each segment enrolls
 * exactly the at-risk and lapsed ones in the win-back sequence, each enrollment keeps the
 * segment the customer was in just before the order, and a sequence without the filter
 * takes everyone, recording theirs too.
 */
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryRows } from '../src/db/client.ts';
import { ingestCustomers, ingestOrders } from '../src/ingest/batch.ts';
import { importRows } from '../src/ingest/import.ts';
import { openRows } from '../src/ingest/read.ts';
import { applySequence, loadSequenceFiles } from '../src/sequences/files.ts';
import { eventually, startTestEngine, type TestEngine } from './helpers/engine.ts';
import { tempFile } from './helpers/files.ts';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const WIN_BACK = `
id: win-back
name: Win back
trigger:
  event: order_placed
  filters: { segments: [at_risk, lapsed] }
variants: [{ key: only, weight: 1 }]
steps:
  - { delay: 1h, template: thank-you }
`;
const EVERYONE = `
id: everyone
name: Everyone
trigger: { event: order_placed }
variants: [{ key: only, weight: 1 }]
steps:
  - { delay: 1h, template: thank-you }
`;
/** Regulars who have been away a while: at least two earlier orders, the last 30 to 90 days ago. */
const REGULARS = `
id: regulars
name: Regulars away
trigger:
  event: order_placed
  filters: { min_orders: 2, min_days_since_order: 30, max_days_since_order: 90 }
variants: [{ key: only, weight: 1 }]
steps:
  - { delay: 1h, template: thank-you }
`;
const DAY = 86_400_000;

describe('a trigger on segments', () => {
  let t: TestEngine;
  beforeAll(async () => {
    t = await startTestEngine(WIN_BACK, { clockScale: 1 });
    const dir = mkdtempSync(join(tmpdir(), 'segment-sequences-'));
    writeFileSync(join(dir, 'everyone.yaml'), EVERYONE);
    writeFileSync(join(dir, 'regulars.yaml'), REGULARS);
    for (const file of (await loadSequenceFiles(dir)).files) await applySequence(t.database.db, file);
  });
  afterAll(() => t.stop());

  it('enrolls exactly the customers in the chosen segments, and records each enrollment’s segment', async () => {
    const now = t.engine.clock.now().getTime();
    // [group, customers, orders each, days between, days since the last]: as in segments-db.test.ts,
    // thresholds from the shop: at risk after 30 days, lapsed after 60, loyal from 3 orders.
    const plan: [string, number, number, number, number][] = [
      ['loyal', 10, 3, 10, 5],
      ['active', 5, 2, 20, 10],
      ['at_risk', 5, 2, 60, 45],
      ['new', 5, 1, 0, 3],
      ['lapsed', 5, 1, 0, 400],
    ];
    const customers: string[] = [];
    const lines = ['order_id,customer_id,ordered_at,sku,quantity,unit_price'];
    for (const [group, count, each, gap, since] of plan)
      for (let i = 0; i < count; i++) {
        const id = `st-${group}-${i}`;
        customers.push(id);
        for (let k = 0; k < each; k++)
          lines.push(`${id}-h${k},${id},${new Date(now - (since + (each - 1 - k) * gap) * DAY).toISOString()},BEAN-1,1,24.90`);
      }
    const records = customers.map((id) => ({ customer_id: id, email: `${id}@example.com`, accepts_marketing: 'yes' as const }));
    expect((await ingestCustomers(t.database.db, records)).ok).toBe(true);
    const history = await importRows(t.database.db, 'orders', await openRows(tempFile('history.csv', lines.join('\n') + '\n'), 'csv'), {
      batchSize: 500,
      history: true,
    });
    expect(history.rejected).toBe(0);

    // One new order from the first customer of each group, and from a customer never seen.
    await ingestCustomers(t.database.db, [{ customer_id: 'st-first', email: 'st-first@example.com', accepts_marketing: 'yes' }]);
    const buyers = [...plan.map(([group]) => `st-${group}-0`), 'st-first'];
    const placed = await ingestOrders(
      t.database.db,
      buyers.map((customer) => ({
        order_id: `${customer}-new`,
        customer_id: customer,
        ordered_at: new Date(now).toISOString(),
        items: [{ sku: 'ESP-100', quantity: 1, unit_price: '249.00' }],
      })),
    );
    expect(placed.ok).toBe(true);
    t.relay.kick();

    const enrollments = () =>
      queryRows<{ sequence: string; customer: string; segment: string | null }>(
        t.database.db,
        sql`select e.sequence_id as sequence, c.external_id as customer, e.segment from enrollments e join customers c on c.id = e.customer_id
            order by e.sequence_id, c.external_id`,
      );
    await eventually(
      async () => (await enrollments()).filter((e) => e.sequence === 'everyone').length === buyers.length,
      20_000,
      'every order enrolled',
    );
    await new Promise((resolve) => setTimeout(resolve, 300));
    const rows = await enrollments();
    expect(rows.filter((r) => r.sequence === 'win-back')).toEqual([
      { sequence: 'win-back', customer: 'st-at_risk-0', segment: 'at_risk' },
      { sequence: 'win-back', customer: 'st-lapsed-0', segment: 'lapsed' },
    ]);
    // Two earlier orders, the last 45 days ago: the at-risk customer only (loyal: 5 days ago; active: 10).
    expect(rows.filter((r) => r.sequence === 'regulars').map((r) => r.customer)).toEqual(['st-at_risk-0']);
    expect(rows.filter((r) => r.sequence === 'everyone').map((r) => [r.customer, r.segment])).toEqual([
      ['st-active-0', 'active'],
      ['st-at_risk-0', 'at_risk'],
      ['st-first', 'new'],
      ['st-lapsed-0', 'lapsed'],
      ['st-loyal-0', 'loyal'],
      ['st-new-0', 'new'],
    ]);
  });
});
