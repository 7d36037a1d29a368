/**
 * stop() lets the jobs in flight finish, but not forever: a job stuck on a server that never
 * answers (an SMTP server hanging mid-message here; a Redis call lost in a failover in the
 * cluster test, where this was seen) holds it at most the grace period, and stop() says so.
 * Abandoning the job is safe: its lock lapses, it runs again, and the message row's claim
 * keeps it from being sent twice (tests/faults.test.ts, tests/chaos.test.ts).
 */
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryRows } from '../src/db/client.ts';
import { ingestCustomers, ingestOrders } from '../src/ingest/batch.ts';
import { eventually, startTestEngine, type TestEngine } from './helpers/engine.ts';

const SEQUENCE = `
id: held
name: Held
trigger: { event: order_placed }
variants: [{ key: only, weight: 1 }]
steps:
  - { delay: 0, template: thank-you }
`;
const GRACE_MS = 1_000;

describe('stop() with a job that never finishes', () => {
  let t: TestEngine;
  const stopped: { where: string; message: string }[] = [];
  beforeAll(async () => {
    t = await startTestEngine(SEQUENCE, {
      clockScale: 1,
      smtpFaults: { hold: () => true },
      stopGraceMs: GRACE_MS,
      onError: (error, where) => stopped.push({ where, message: (error as Error).message }),
    });
    const customer = { customer_id: 'held-1', email: 'held1@example.com', first_name: 'Held', accepts_marketing: 'yes' as const };
    expect((await ingestCustomers(t.database.db, [customer])).ok).toBe(true);
  });
  let done = false;
  afterAll(async () => {
    if (!done) await t?.stop();
  });

  it('waits the grace period, says it stopped waiting, and returns', async () => {
    const order = {
      order_id: 'held-o1',
      customer_id: 'held-1',
      ordered_at: new Date().toISOString(),
      items: [{ sku: 'ESP-100', quantity: 1, unit_price: '249.00' }],
    };
    expect((await ingestOrders(t.database.db, [order])).ok).toBe(true);
    t.relay.kick();
    // The email is being handed to the server, which takes it and never answers.
    await eventually(
      async () =>
        (await queryRows<{ n: number }>(t.database.db, sql`select count(*)::int as n from messages where claimed_until is not null`))[0]!
          .n === 1,
      20_000,
      'the email in the hands of the server',
    );
    await eventually(async () => (await t.queues.queues.steps.getActiveCount()) === 1 && true, 10_000, 'the step job running');
    // Not sent: the server never said 250.
    const [row] = await queryRows<{ state: string }>(t.database.db, sql`select state from messages`);
    expect(row!.state).toBe('pending');

    // The whole teardown: the engine's stop(), then the helper's connections, server and database.
    const started = Date.now();
    await t.stop();
    done = true;
    const took = Date.now() - started;
    expect(took).toBeGreaterThanOrEqual(GRACE_MS - 50);
    expect(took).toBeLessThan(GRACE_MS + 15_000);
    const gaveUp = stopped.filter((s) => s.where === 'stop');
    expect(gaveUp).toHaveLength(1);
    expect(gaveUp[0]!.message).toMatch(/jobs in flight did not finish within 1000 ms/);
  });
});
