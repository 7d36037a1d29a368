import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryRows } from '../src/db/client.ts';
import { ingestOrders } from '../src/ingest/batch.ts';
import { eventually, startTestEngine, type TestEngine } from './helpers/engine.ts';

const HOUR = 3_600_000;
const hhmm = (d: Date) =>
  new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/London', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(d);

describe('frequency cap and quiet hours delay, never drop', () => {
  let t: TestEngine;
  let quietEnd: string;
  beforeAll(async () => {
    // 12 simulated hours per real second; quiet hours are "now" until 3 hours from now in
    // London (customer c-1), and at most 1 email per 2 days reaches a customer.
    const origin = Date.now();
    quietEnd = hhmm(new Date(origin + 3 * HOUR));
    const sequence = `
id: timed
name: Timed
trigger: { event: order_placed }
variants: [{ key: only, weight: 1 }]
quiet_hours: { start: "${hhmm(new Date(origin - HOUR))}", end: "${quietEnd}" }
steps:
  - { delay: 0, template: thank-you }
  - { delay: 1h, template: accessories }
  - { delay: 1h, template: upgrade }
`;
    t = await startTestEngine(sequence, { clockScale: 12 * 3_600, frequencyCap: { max: 1, windowMs: 2 * 24 * HOUR } });
  });
  afterAll(() => t.stop());

  it('holds the first email until the quiet hours end, and spaces the rest by the cap', async () => {
    const start = t.engine.clock.now();
    await ingestOrders(t.database.db, [
      {
        order_id: 't-1',
        customer_id: 'c-1',
        ordered_at: start.toISOString(),
        items: [{ sku: 'ESP-100', quantity: 1, unit_price: '249.00' }],
      },
    ]);
    t.relay.kick();
    const sent = await eventually(
      async () => {
        const rows = await queryRows<{ step: number; sent_at: Date }>(
          t.database.db,
          sql`select step, sent_at from messages where state = 'sent' order by step`,
        );
        return rows.length === 3 && rows;
      },
      40_000,
      'all three emails',
    );
    const times = sent.map((s) => new Date(s.sent_at));
    // Not before the quiet hours end (in London), and then promptly.
    expect(times[0]!.getTime()).toBeGreaterThanOrEqual(start.getTime() + 2 * HOUR);
    // Minutes after the quiet end on London's clock, across midnight; a send may go up to the
    // step policy's one-minute slack early (TIMING_SLACK_MS), so 23:59 after a 00:00 end counts.
    const minutes = (text: string) => Number(text.slice(0, 2)) * 60 + Number(text.slice(3, 5));
    const afterEnd = (minutes(hhmm(times[0]!)) - minutes(quietEnd) + 24 * 60) % (24 * 60);
    expect(afterEnd <= 12 * 60 || afterEnd >= 24 * 60 - 1, `${hhmm(times[0]!)} against the quiet end ${quietEnd}`).toBe(true);
    // One email per two days at most: each next one waits for the window to pass.
    expect(times[1]!.getTime() - times[0]!.getTime()).toBeGreaterThanOrEqual(2 * 24 * HOUR);
    expect(times[2]!.getTime() - times[1]!.getTime()).toBeGreaterThanOrEqual(2 * 24 * HOUR);
    expect(t.smtp.received).toHaveLength(3);
  });
});
