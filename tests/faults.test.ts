import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryRows } from '../src/db/client.ts';
import { reconcile, startReconciler } from '../src/engine/reconcile.ts';
import { ingestCustomers, ingestOrders } from '../src/ingest/batch.ts';
import { eventually, startTestEngine, type TestEngine } from './helpers/engine.ts';
import { deleteKeys } from './helpers/redis.ts';

const SEQUENCE = `
id: two-steps
name: Two steps
trigger: { event: order_placed }
variants: [{ key: only, weight: 1 }]
steps:
  - { delay: 1h, template: thank-you }
  - { delay: 1d, template: accessories }
`;
const CUSTOMERS = 40;

describe('SMTP faults and a lost Redis: nothing lost, nothing twice', () => {
  let t: TestEngine;
  beforeAll(async () => {
    t = await startTestEngine(SEQUENCE, {
      clockScale: 86_400, // a simulated day per real second
      smtpFaults: {
        // Every 5th attempt is deferred with 421; addresses of "dead" customers do not exist.
        reject: (rcpt, attempt) => (rcpt.startsWith('dead') ? 550 : attempt % 5 === 0 ? 421 : undefined),
        // Every 7th attempt loses the connection mid-message.
        drop: (attempt) => attempt % 7 === 0,
      },
    });
    const customers = Array.from({ length: CUSTOMERS }, (_, i) => ({
      customer_id: `f-${i}`,
      email: `${i % 10 === 9 ? 'dead' : 'live'}${i}@example.com`,
      first_name: `F${i}`,
      accepts_marketing: 'yes' as const,
    }));
    expect((await ingestCustomers(t.database.db, customers)).ok).toBe(true);
  });
  afterAll(() => t.stop());

  it('delivers every retryable email exactly once, suppresses hard bounces, and survives a flush of Redis', async () => {
    const now = t.engine.clock.now();
    const orders = Array.from({ length: CUSTOMERS }, (_, i) => ({
      order_id: `fo-${i}`,
      customer_id: `f-${i}`,
      ordered_at: now.toISOString(),
      items: [{ sku: 'ESP-100', quantity: 1, unit_price: '249.00' }],
    }));
    expect((await ingestOrders(t.database.db, orders)).ok).toBe(true);
    t.relay.kick();
    // Once the first email is out (orders still being enrolled), lose everything in Redis (the schedule), then reconcile.
    await eventually(async () => t.smtp.received.length >= 1 && true, 20_000, 'first emails');
    await deleteKeys(t.queues.redis, t.queues.prefix);
    // The flush also lost any order.placed job not yet taken: a running reconciler republishes
    // those after three passes; here one pass republishes every published, unconsumed order.
    const repaired = await reconcile(t.engine, 2 * 86_400_000, 0);
    expect(repaired.enqueued).toBeGreaterThan(0);
    // As in `campaign work`, a reconciler keeps running: a job that was in flight during the
    // flush and fails after that pass (a 421, a dropped connection) has its retry lost with
    // the flushed keys, and only a later pass puts it back.
    const reconcileErrors: unknown[] = [];
    const reconciler = startReconciler(t.engine, 500, (error) => reconcileErrors.push(error));

    const live = Array.from({ length: CUSTOMERS }, (_, i) => i).filter((i) => i % 10 !== 9);
    try {
      await eventually(
        async () => {
          const rows = await queryRows<{ active: number; n: number }>(
            t.database.db,
            sql`select count(*) filter (where state = 'active')::int as active, count(*)::int as n from enrollments`,
          );
          return rows[0]!.active === 0 && rows[0]!.n === CUSTOMERS;
        },
        40_000,
        'every enrollment to finish',
      );
    } finally {
      await reconciler.stop();
    }
    expect(reconcileErrors).toEqual([]);

    const byMessageId = new Map<string, number>();
    for (const mail of t.smtp.received) {
      const id = /^Message-ID: (<[^>]+>)/im.exec(mail.raw.replace(/\r?\n[ \t]+/g, ' '))![1]!;
      byMessageId.set(id, (byMessageId.get(id) ?? 0) + 1);
    }
    // Each live customer got both steps, each Message-ID arrived once.
    expect(byMessageId.size).toBe(live.length * 2);
    expect([...byMessageId.values()].every((n) => n === 1)).toBe(true);
    expect(t.smtp.received.some((m) => m.to.some((to) => to.startsWith('dead')))).toBe(false);

    // The database agrees with what the server received.
    const sent = await queryRows<{ message_id: string }>(t.database.db, sql`select message_id from messages where state = 'sent'`);
    expect(new Set(sent.map((s) => s.message_id))).toEqual(new Set(byMessageId.keys()));

    // Hard bounces are suppressed and their enrollments ended; they are never mailed again.
    const suppressed = await queryRows<{ email: string }>(
      t.database.db,
      sql`select email from suppressions where reason = 'hard-bounce' order by email`,
    );
    expect(suppressed.map((s) => s.email)).toEqual(
      Array.from({ length: CUSTOMERS }, (_, i) => i)
        .filter((i) => i % 10 === 9)
        .map((i) => `dead${i}@example.com`)
        .sort(),
    );
    const bounced = await queryRows<{ n: number }>(
      t.database.db,
      sql`select count(*)::int as n from enrollments where exit_reason = 'bounced'`,
    );
    expect(bounced[0]!.n).toBe(CUSTOMERS - live.length);
  });
});
