import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryRows } from '../src/db/client.ts';
import { ingestOrders } from '../src/ingest/batch.ts';
import { eventually, startTestEngine, type TestEngine } from './helpers/engine.ts';

const DAY = 86_400_000;
const SEQUENCE = `
id: three-steps
name: Three steps
trigger: { event: order_placed }
variants:
  - key: only
    weight: 1
steps:
  - delay: 1h
    template: thank-you
  - delay: 2d
    template: accessories
  - delay: 3d
    template: upgrade
`;

const order = (id: string, customer: string, at: Date, sku = 'ESP-100') => ({
  order_id: id,
  customer_id: customer,
  ordered_at: at.toISOString(),
  items: [{ sku, quantity: 1, unit_price: '249.00' }],
});

describe('sequences on BullMQ with a scaled clock', () => {
  let t: TestEngine;
  beforeAll(async () => {
    // A simulated day per real second.
    t = await startTestEngine(SEQUENCE, { clockScale: 86_400 });
  });
  afterAll(() => t.stop());

  const messagesOf = (customer: string) =>
    queryRows<{ step: number; state: string; sent_at: Date; subject: string; message_id: string }>(
      t.database.db,
      sql`select m.step, m.state, m.sent_at, m.subject, m.message_id from messages m join customers c on c.id = m.customer_id
          where c.external_id = ${customer} order by m.step`,
    );
  const enrollmentOf = (customer: string) =>
    queryRows<{ id: number; state: string; exit_reason: string | null; next_step: number }>(
      t.database.db,
      sql`select e.id, e.state, e.exit_reason, e.next_step from enrollments e join customers c on c.id = e.customer_id where c.external_id = ${customer}`,
    );

  it('sends the three steps in order with the right delays, once, even when the order arrives twice', async () => {
    const placed = order('w-1', 'c-1', t.engine.clock.now());
    expect((await ingestOrders(t.database.db, [placed])).ok).toBe(true);
    expect((await ingestOrders(t.database.db, [placed])).ok).toBe(true);
    t.relay.kick();
    const sent = await eventually(
      async () => {
        const rows = await messagesOf('c-1');
        return rows.filter((r) => r.state === 'sent').length === 3 && rows;
      },
      30_000,
      'three emails',
    );
    expect(await enrollmentOf('c-1')).toMatchObject([{ state: 'completed', next_step: 3 }]);
    expect(sent.map((m) => m.step)).toEqual([0, 1, 2]);
    const gap = (a: number, b: number) => new Date(sent[b]!.sent_at).getTime() - new Date(sent[a]!.sent_at).getTime();
    // Never early; late by at most the queue's real-time latency, magnified by the scale
    // (half a simulated day is half a real second here, room for a busy CI machine).
    expect(gap(0, 1)).toBeGreaterThanOrEqual(2 * DAY - 60_000);
    expect(gap(0, 1)).toBeLessThan(2.5 * DAY);
    expect(gap(1, 2)).toBeGreaterThanOrEqual(3 * DAY - 60_000);
    expect(gap(1, 2)).toBeLessThan(3.5 * DAY);

    const received = t.smtp.received.filter((m) => m.to.includes('ada@example.com'));
    expect(received).toHaveLength(3);
    // Unfold long header lines (RFC 5322 folding) before reading them.
    const first = { raw: received[0]!.raw.replace(/\r?\n[ \t]+/g, ' ') };
    expect(first.raw).toMatch(/^Subject: Thanks for your order, Ada!/m);
    const enrollmentId = (await enrollmentOf('c-1'))[0]!.id;
    expect(first.raw).toContain(`Message-ID: <e${enrollmentId}.s0@track.shop.example>`);
    // The https one-click URL alone: a mailto would name a mailbox nothing reads.
    expect(first.raw).toMatch(/^List-Unsubscribe: <https:\/\/track\.shop\.example\/u\/[^>]+>\r?$/m);
    expect(first.raw).toMatch(/^List-Unsubscribe-Post: List-Unsubscribe=One-Click/m);
    expect(first.raw).toContain('Content-Type: text/plain');
    expect(first.raw).toContain('Content-Type: text/html');
  });

  it('stops when the customer orders again', async () => {
    await ingestOrders(t.database.db, [order('w-2', 'c-2', t.engine.clock.now(), 'GRN-10')]);
    t.relay.kick();
    await eventually(async () => (await messagesOf('c-2')).some((m) => m.state === 'sent'), 20_000, 'the first email');
    await ingestOrders(t.database.db, [order('w-3', 'c-2', new Date(t.engine.clock.now().getTime() + 60_000), 'BEAN-1')]);
    const [enrollment] = await eventually(
      async () => {
        const rows = await enrollmentOf('c-2');
        return rows[0]?.state === 'exited' && rows;
      },
      20_000,
      'the exit',
    );
    expect(enrollment!.exit_reason).toBe('ordered_again');
    expect((await messagesOf('c-2')).map((m) => m.step)).toEqual([0]);
  });

  it('stops when the customer unsubscribes', async () => {
    await ingestOrders(t.database.db, [order('w-4', 'c-3', t.engine.clock.now(), 'TAMP-1')]);
    t.relay.kick();
    await eventually(async () => (await messagesOf('c-3')).some((m) => m.state === 'sent'), 20_000, 'the first email');
    await t.database.db.execute(sql`update customers set unsubscribed_at = now() where external_id = 'c-3'`);
    const [enrollment] = await eventually(
      async () => {
        const rows = await enrollmentOf('c-3');
        return rows[0]?.state === 'exited' && rows;
      },
      20_000,
      'the exit',
    );
    expect(enrollment!.exit_reason).toBe('unsubscribed');
    expect((await messagesOf('c-3')).map((m) => m.step)).toEqual([0]);
  });
});
