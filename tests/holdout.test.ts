import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assignArm, HOLDOUT } from '../src/core/assignment.ts';
import { queryRows } from '../src/db/client.ts';
import { ingestCustomers, ingestOrders } from '../src/ingest/batch.ts';
import { setSequenceStatus } from '../src/store/sequences.ts';
import { enrollOrder } from '../src/engine/enroll.ts';
import { eventually, startTestEngine, type TestEngine } from './helpers/engine.ts';

const SEQUENCE = `
id: half-holdout
name: Half holdout
trigger: { event: order_placed }
holdout: 50%
variants: [{ key: only, weight: 1 }]
steps:
  - { delay: 1h, template: thank-you }
`;

describe('holdout and pause', () => {
  let t: TestEngine;
  beforeAll(async () => {
    t = await startTestEngine(SEQUENCE, { clockScale: 86_400 });
    await ingestCustomers(
      t.database.db,
      Array.from({ length: 20 }, (_, i) => ({ customer_id: `h-${i}`, email: `h${i}@example.com`, accepts_marketing: 'yes' as const })),
    );
  });
  afterAll(() => t.stop());

  const order = (i: number) => ({
    order_id: `ho-${i}`,
    customer_id: `h-${i}`,
    ordered_at: t.engine.clock.now().toISOString(),
    items: [{ sku: 'ESP-100', quantity: 1, unit_price: '249.00' }],
  });

  it('records holdout enrollments in the arm the hash gives, and never emails them', async () => {
    await ingestOrders(
      t.database.db,
      Array.from({ length: 20 }, (_, i) => order(i)),
    );
    t.relay.kick();
    const expectedHoldout = Array.from({ length: 20 }, (_, i) => `h-${i}`).filter(
      (c) => assignArm('half-holdout', c, [{ key: 'only', weight: 1 }], 0.5) === HOLDOUT,
    );
    expect(expectedHoldout.length).toBeGreaterThan(3);
    await eventually(async () => t.smtp.received.length >= 20 - expectedHoldout.length && true, 20_000, 'the emails of the treated');
    await new Promise((resolve) => setTimeout(resolve, 500));
    const rows = await queryRows<{ customer: string; arm: string; state: string; is_holdout: boolean; messages: number }>(
      t.database.db,
      sql`select c.external_id as customer, e.arm, e.state, e.is_holdout, (select count(*)::int from messages m where m.enrollment_id = e.id) as messages
          from enrollments e join customers c on c.id = e.customer_id order by c.external_id`,
    );
    expect(rows).toHaveLength(20);
    const holdout = rows.filter((r) => r.is_holdout);
    expect(holdout.map((r) => r.customer).sort()).toEqual(expectedHoldout.sort());
    for (const r of holdout) expect(r).toMatchObject({ arm: 'holdout', state: 'holdout', messages: 0 });
    expect(t.smtp.received).toHaveLength(20 - expectedHoldout.length);
    expect(t.smtp.received.some((m) => m.to.some((to) => expectedHoldout.includes(`h-${to.slice(1).split('@')[0]}`)))).toBe(false);
  });

  it('a paused sequence enrolls no one new', async () => {
    expect(await setSequenceStatus(t.database.db, 'half-holdout', 'paused')).toBe(true);
    await ingestCustomers(t.database.db, [{ customer_id: 'h-new', email: 'hnew@example.com', accepts_marketing: 'yes' }]);
    await ingestOrders(t.database.db, [{ ...order(0), order_id: 'ho-new', customer_id: 'h-new' }]);
    t.relay.kick();
    await eventually(
      async () => {
        const [row] = await queryRows<{ consumed: boolean }>(
          t.database.db,
          sql`select consumed_at is not null as consumed from outbox order by id desc limit 1`,
        );
        return row?.consumed;
      },
      20_000,
      'the order to be handled',
    );
    const [row] = await queryRows<{ n: number }>(
      t.database.db,
      sql`select count(*)::int as n from enrollments e join customers c on c.id = e.customer_id where c.external_id = 'h-new'`,
    );
    expect(row!.n).toBe(0);
  });

  it('two orders of one customer handled at once enroll them once (the re-enrollment rule holds under concurrency)', async () => {
    await setSequenceStatus(t.database.db, 'half-holdout', 'active');
    await ingestCustomers(t.database.db, [{ customer_id: 'h-twice', email: 'htwice@example.com', accepts_marketing: 'yes' }]);
    await ingestOrders(t.database.db, [
      { ...order(0), order_id: 'ho-a', customer_id: 'h-twice' },
      { ...order(0), order_id: 'ho-b', customer_id: 'h-twice' },
    ]);
    const ids = await queryRows<{ id: number }>(t.database.db, sql`select id from orders where external_id in ('ho-a', 'ho-b')`);
    await Promise.all([...ids, ...ids].map((o) => enrollOrder(t.engine, o.id)));
    const [row] = await queryRows<{ n: number }>(
      t.database.db,
      sql`select count(*)::int as n from enrollments e join customers c on c.id = e.customer_id where c.external_id = 'h-twice'`,
    );
    expect(row!.n).toBe(1);
  });
});
