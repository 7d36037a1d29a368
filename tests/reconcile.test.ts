/**
 * The reconciler runs a step whose job waits past its due time: a delay computed on a clock
 * that has since sped up (the demo's paced clock) or on a machine whose clock ran behind
 * would otherwise send the email late by as much as the error.
 */
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryRows } from '../src/db/client.ts';
import { reconcile } from '../src/engine/reconcile.ts';
import { ingestCustomers, ingestOrders } from '../src/ingest/batch.ts';
import { jobIds, longestWaitMs } from '../src/queue/queues.ts';
import { eventually, startTestEngine, type TestEngine } from './helpers/engine.ts';
import { freshQueues } from './helpers/redis.ts';

const SEQUENCE = `
id: late-job
name: Late job
trigger: { event: order_placed }
variants: [{ key: only, weight: 1 }]
steps:
  - { delay: 1h, template: thank-you }
  - { delay: 30d, template: accessories }
`;

describe('the reconciler and a job delayed past its due time', () => {
  let t: TestEngine;
  beforeAll(async () => {
    // A simulated hour per real second: the second step's job waits 720 real seconds.
    t = await startTestEngine(SEQUENCE, { clockScale: 3_600 });
    const customer = { customer_id: 'late-1', email: 'late1@example.com', first_name: 'Late', accepts_marketing: 'yes' as const };
    expect((await ingestCustomers(t.database.db, [customer])).ok).toBe(true);
  });
  afterAll(() => t.stop());

  it('promotes it, and the step is sent once, now instead of when the delay ends', async () => {
    const order = {
      order_id: 'late-o1',
      customer_id: 'late-1',
      ordered_at: t.engine.clock.now().toISOString(),
      items: [{ sku: 'ESP-100', quantity: 1, unit_price: '249.00' }],
    };
    expect((await ingestOrders(t.database.db, [order])).ok).toBe(true);
    t.relay.kick();
    await eventually(async () => t.smtp.received.length >= 1 && true, 20_000, 'the first email');
    const [enrollment] = await queryRows<{ id: number }>(t.database.db, sql`select id from enrollments`);
    const jobId = jobIds.step(enrollment!.id, 1);
    await eventually(async () => (await t.queues.queues.steps.getJob(jobId))?.isDelayed(), 10_000, 'the second step waiting out its delay');

    // Nothing is due yet: the pass leaves the delayed job alone.
    expect((await reconcile(t.engine, 0, 60)).promoted).toBe(0);
    // The step falls due (as if the clock that computed the delay had since sped up).
    await t.database.db.execute(sql`update enrollments set next_due_at = now() - interval '1 minute' where id = ${enrollment!.id}`);
    const pass = await reconcile(t.engine, 0, 60);
    expect(pass).toMatchObject({ promoted: 1, enqueued: 0 });
    // Sent within seconds, where the job's delay would have held it for 12 minutes.
    await eventually(async () => t.smtp.received.length >= 2 && true, 20_000, 'the second email, promoted');
    // The server's 250 comes before the row says `sent`: wait for the mark too.
    const sent = async () =>
      (await queryRows<{ n: number }>(t.database.db, sql`select count(*)::int as n from messages where state = 'sent'`))[0]!.n;
    await eventually(async () => (await sent()) === 2, 20_000, 'both emails marked sent');
    expect(t.smtp.received).toHaveLength(2);
    // A later pass finds nothing left to promote.
    expect((await reconcile(t.engine, 0, 60)).promoted).toBe(0);
  });
});

describe('the queue readings the demo paces by', () => {
  it('longestWaitMs reads the job that has waited longest, and 0 when none waits', async () => {
    const queues = await freshQueues();
    try {
      const enroll = queues.queues.enroll;
      expect(await longestWaitMs(enroll)).toBe(0);
      await enroll.add('order.placed', { orderId: 1, customerId: 1 }, { timestamp: Date.now() - 5_000 });
      await enroll.add('order.placed', { orderId: 2, customerId: 2 });
      const waited = await longestWaitMs(enroll);
      expect(waited).toBeGreaterThanOrEqual(5_000);
      expect(waited).toBeLessThan(60_000);
    } finally {
      await queues.cleanup();
    }
  });
});
