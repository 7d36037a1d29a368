/**
 * New arrivals, the free-shipping nudge and a limited-time offer through the real engine
 * (Postgres, BullMQ, an in-process SMTP server) on a clock 200 days ahead of the wall clock:
 * what is new is decided by the engine's clock (a product first seen "in the future" of the
 * wall clock is new to it), both in the enrollment's stored offers and in the email sent;
 * the email says how far the order was from free shipping and shows the code's real expiry
 * in the customer's zone.
 */
import { sql } from 'drizzle-orm';
import { Redis } from 'ioredis';
import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Clock } from '../src/core/clock.ts';
import { offerDeadline } from '../src/core/discount.ts';
import { queryRows } from '../src/db/client.ts';
import { createEngine, startEngine, type RunningEngine } from '../src/engine/assemble.ts';
import { ingestOrders, ingestProducts } from '../src/ingest/batch.ts';
import { createTransport } from '../src/mail/transport.ts';
import { importCodes } from '../src/store/discount-codes.ts';
import { freshDatabase, type TestDatabase } from './helpers/db.ts';
import { eventually, prepareShop, SENDING, TEST_SHOP } from './helpers/engine.ts';
import { freshQueues, REDIS_URL, type TestQueues } from './helpers/redis.ts';
import { startSmtp, type TestSmtp } from './helpers/smtp.ts';

const SEQUENCE = `
id: limited
name: Limited
trigger: { event: order_placed }
variants:
  - key: fresh
    weight: 1
    recommendations: new-arrivals
    offer: { pool: soon }
steps:
  - { delay: 1h, template: thank-you }
`;
const DAY = 86_400_000;
const AHEAD = 200 * DAY;

describe('new arrivals, free shipping and a deadline through the engine', () => {
  let database: TestDatabase;
  let queues: TestQueues;
  let smtp: TestSmtp;
  let running: RunningEngine;
  let connection: Redis;
  // Simulated time starts 200 days ahead of the wall clock and runs an hour per real second.
  const origin = Date.now();
  const SCALE = 3_600;
  const clock: Clock = {
    now: () => new Date(origin + AHEAD + (Date.now() - origin) * SCALE),
    realDelay: (ms) => Math.max(0, Math.ceil(ms / SCALE)),
    realTimeOf: (at) => origin + (at.getTime() - origin - AHEAD) / SCALE,
  };

  beforeAll(async () => {
    database = await freshDatabase('postgres');
    queues = await freshQueues({ attempts: 5, backoff: { type: 'fixed', delay: 100 } });
    smtp = await startSmtp();
    await prepareShop(database.db, SEQUENCE);
    const engine = createEngine({
      db: database.db,
      queues: queues.queues,
      clock,
      settings: {
        ...SENDING,
        shop: { ...TEST_SHOP, freeShippingThreshold: '300' },
        newArrivalsDays: 30,
        secretKey: 'test-secret-test-secret-test-secret-0',
        claimSeconds: 1,
      },
      transport: createTransport(smtp.url, { maxConnections: 2 }),
    });
    connection = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
    running = startEngine(engine, { connection, prefix: queues.prefix, concurrency: { enroll: 1, steps: 1 }, relayIntervalMs: 100 });
  }, 60_000);
  afterAll(async () => {
    await running.stop();
    running.engine.transport.close();
    connection.disconnect();
    await smtp.close();
    await queues.cleanup();
    await database.drop();
  });

  it('recommends what is new by the engine clock, says the free-shipping gap and shows the real deadline', async () => {
    const now = clock.now();
    const at = (ms: number) => new Date(now.getTime() + ms).toISOString();
    // The fixture catalog was first seen at the wall clock's now: 200 days old to the engine.
    const products = await ingestProducts(database.db, [
      { sku: 'ESP-300', name: 'Espresso Machine Next', category: 'espresso-machines', price: '399.00', first_seen_at: at(-2 * DAY) },
      { sku: 'ESP-400', name: 'Espresso Machine Later', category: 'espresso-machines', price: '499.00', first_seen_at: at(5 * DAY) },
      { sku: 'TEA-1', name: 'Green Tea', category: 'tea', price: '9.00', first_seen_at: at(-DAY) },
    ]);
    expect(products.ok).toBe(true);
    const expiresAt = new Date(now.getTime() + 7 * DAY);
    expect(
      await importCodes(database.db, {
        pool: 'soon',
        value: { kind: 'percent', value: '10' },
        expiresAt,
        codes: [{ line: 1, code: 'SOON-1' }],
      }),
    ).toMatchObject({ ok: true, inserted: 1 });
    const order = await ingestOrders(database.db, [
      {
        order_id: 'lo-1',
        customer_id: 'c-1',
        ordered_at: now.toISOString(),
        items: [{ sku: 'ESP-100', quantity: 1, unit_price: '249.00' }],
      },
    ]);
    expect(order.ok).toBe(true);
    running.relay.kick();

    await eventually(async () => smtp.received.length >= 1, 30_000, 'the thank-you email');
    const mail = await simpleParser(smtp.received[0]!.raw);
    const text = mail.text ?? '';
    // c-1 is Ada, in Europe/London; the shop's zone (UTC) writes the new arrival's day.
    const seen = new Intl.DateTimeFormat('en-GB', { day: 'numeric', month: 'long', timeZone: 'UTC' }).format(new Date(at(-2 * DAY)));
    expect(text).toContain('Espresso Machine Next');
    expect(text).toContain(`New in espresso-machines since ${seen}`);
    expect(text).not.toContain('Espresso Machine Later');
    expect(text).not.toContain('Green Tea');
    expect(text).toContain('Your order was $51.00 short of free shipping (it starts at $300.00)');
    const deadline = offerDeadline(expiresAt, now, 'Europe/London').expiresAtText;
    expect(deadline).toMatch(/^\w+day \d{1,2} \w+( \d{4})?, \d\d:\d\d$/);
    expect(text).toContain(`Use it by ${deadline} — it stops working then.`);

    const [row] = await queryRows<{ offered: { crossSell: string[] }[]; shown: string[] }>(
      database.db,
      sql`select e.offered, m.recommendations as shown from enrollments e join messages m on m.enrollment_id = e.id`,
    );
    expect(row!.offered[0]!.crossSell[0]).toBe('ESP-300');
    expect(row!.shown[0]).toBe('ESP-300');
  });
});
