import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ingestCustomers, ingestOrders } from '../src/ingest/batch.ts';
import { eventually, startTestEngine, type TestEngine } from './helpers/engine.ts';

const SEQUENCE = `
id: limited
name: Rate limited
trigger: { event: order_placed }
variants: [{ key: only, weight: 1 }]
steps:
  - { delay: 0, template: thank-you }
`;

describe('global send rate limit', () => {
  let t: TestEngine;
  beforeAll(async () => {
    t = await startTestEngine(SEQUENCE, { clockScale: 1, concurrency: 8, ratePerSecond: 4 });
    await ingestCustomers(
      t.database.db,
      Array.from({ length: 10 }, (_, i) => ({ customer_id: `r-${i}`, email: `r${i}@example.com`, accepts_marketing: 'yes' as const })),
    );
  });
  afterAll(() => t.stop());

  it('sends no faster than SEND_RATE_PER_SECOND, and sends everything', async () => {
    const now = new Date().toISOString();
    await ingestOrders(
      t.database.db,
      Array.from({ length: 10 }, (_, i) => ({
        order_id: `ro-${i}`,
        customer_id: `r-${i}`,
        ordered_at: now,
        items: [{ sku: 'ESP-100', quantity: 1, unit_price: '249.00' }],
      })),
    );
    t.relay.kick();
    await eventually(async () => t.smtp.received.length >= 10 && true, 30_000, 'ten emails');
    expect(t.smtp.received).toHaveLength(10);
    // The limiter spaces the moments jobs start (BullMQ's processedOn), not SMTP receipts,
    // which add each email's own render and send time: measure what it controls. Ten starts
    // at four a second fill three windows, so the ninth starts two windows after the first.
    // A job completes just after its email is handed over: wait for all ten.
    await eventually(async () => (await t.queues.queues.steps.getJobCounts('completed')).completed === 10, 10_000, 'ten jobs done');
    const jobs = await t.queues.queues.steps.getJobs(['completed']);
    const starts = jobs.map((job) => job.processedOn!).sort((a, b) => a - b);
    expect(starts).toHaveLength(10);
    expect(starts[8]! - starts[0]!).toBeGreaterThanOrEqual(1_900);
  });
});
