/**
 * Batched processing (src/engine/enroll.ts enrollOrders, src/engine/step.ts runSteps,
 * src/recs/service.ts recommendersFor) against the real Postgres, Redis and an in-process
 * SMTP server, with no worker running: the batch is called directly. A batch must do exactly
 * what its items would have done one by one: the re-enrollment rule between two orders of
 * one customer in one batch, one email for a step that appears twice, each order's
 * recommendations as a load of its own gives them, and a failure confined to its step.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scaledClock } from '../src/core/clock.ts';
import { DEFAULT_RULES, STRATEGIES } from '../src/core/recommend.ts';
import { queryRows } from '../src/db/client.ts';
import { createEngine } from '../src/engine/assemble.ts';
import { createWorkerMetrics, type WorkerMetrics } from '../src/engine/metrics.ts';
import type { Engine } from '../src/engine/context.ts';
import { enrollOrders } from '../src/engine/enroll.ts';
import { runSteps, type StepOutcome } from '../src/engine/step.ts';
import { RetryableSendError } from '../src/errors.ts';
import { ingestCustomers, ingestOrders } from '../src/ingest/batch.ts';
import { createTransport } from '../src/mail/transport.ts';
import { recommenderFor, recommendersFor } from '../src/recs/service.ts';
import { applySequence, loadSequenceFiles } from '../src/sequences/files.ts';
import { freshDatabase, type TestDatabase } from './helpers/db.ts';
import { eventually, prepareShop, SENDING, startTestEngine, type TestEngine } from './helpers/engine.ts';
import { freshQueues, type TestQueues } from './helpers/redis.ts';
import { startSmtp, type TestSmtp } from './helpers/smtp.ts';

const SEQUENCE = `
id: batch
name: Batch
trigger: { event: order_placed }
reenroll_after_days: 30
variants: [{ key: only, weight: 1 }]
steps:
  - { delay: 0, template: thank-you }
  - { delay: 7d, template: accessories }
`;
const HOUR = 3_600_000;

describe('batches do what their items would one by one', () => {
  let database: TestDatabase;
  let queues: TestQueues;
  let smtp: TestSmtp;
  let engine: Engine;
  const orderId = async (external: string) =>
    (await queryRows<{ id: number }>(database.db, sql`select id from orders where external_id = ${external}`))[0]!.id;

  beforeAll(async () => {
    database = await freshDatabase('postgres');
    queues = await freshQueues();
    smtp = await startSmtp();
    await prepareShop(database.db, SEQUENCE);
    engine = createEngine({
      db: database.db,
      queues: queues.queues,
      clock: scaledClock(1),
      settings: { ...SENDING, secretKey: 'test-secret-test-secret-test-secret-0', frequencyCap: undefined, claimSeconds: 60 },
      transport: createTransport(smtp.url),
    });
    const now = Date.now();
    await ingestCustomers(
      database.db,
      ['ba', 'bb', 'bc', 'bd', 'be', 'bf'].map((c) => ({ customer_id: c, email: `${c}@example.com`, accepts_marketing: 'yes' })),
    );
    const order = (id: string, customer: string, hoursAgo: number, sku = 'ESP-100') => ({
      order_id: id,
      customer_id: customer,
      ordered_at: new Date(now - hoursAgo * HOUR).toISOString(),
      items: [{ sku, quantity: 1, unit_price: '249.00' }],
    });
    expect(
      (
        await ingestOrders(database.db, [
          order('ba-1', 'ba', 3),
          order('ba-2', 'ba', 2),
          order('bb-1', 'bb', 2),
          order('bc-1', 'bc', 1),
          order('bd-1', 'bd', 1),
          order('be-1', 'be', 1),
          order('bf-2', 'bf', 1),
        ])
      ).ok,
    ).toBe(true);
  });

  afterAll(async () => {
    engine.transport.close();
    await smtp.close();
    await queues.cleanup();
    await database.drop();
  });

  it('enrolls a batch as one by one: a second order of a customer within the re-enrollment window, and an order twice, enroll no one', async () => {
    const [a1, a2, b1] = [await orderId('ba-1'), await orderId('ba-2'), await orderId('bb-1')];
    const enrolled = await enrollOrders(engine, [a1, a2, b1, a1]);
    expect(enrolled.map((e) => e.length)).toEqual([1, 0, 1, 0]);
    const rows = await queryRows<{ trigger_order_id: number }>(database.db, sql`select trigger_order_id from enrollments order by id`);
    expect(rows.map((r) => r.trigger_order_id)).toEqual([a1, b1]);
    // Their first steps are on the queue, once each.
    const jobs = await queues.queues.steps.getJobs(['delayed', 'waiting']);
    expect(jobs.map((j) => j.id).sort()).toEqual(
      enrolled
        .flat()
        .map((e) => `enrollment-${e.enrollmentId}-step-0`)
        .sort(),
    );
    // Again, later: nothing more.
    expect((await enrollOrders(engine, [a1, b1])).flat()).toEqual([]);
  });

  it('sends a batch of steps once each: a step twice in the batch is retried, not sent twice, and an unknown enrollment is a no-op', async () => {
    await queues.queues.steps.obliterate({ force: true });
    const enrolled = (await enrollOrders(engine, [await orderId('bc-1'), await orderId('bd-1'), await orderId('be-1')])).flat();
    expect(enrolled).toHaveLength(3);
    const [c, d, e] = enrolled.map((x) => ({ enrollmentId: x.enrollmentId, step: 0 }));
    const outcomes = await runSteps(engine, [c!, d!, c!, e!, { enrollmentId: 999_999, step: 0 }]);
    expect(outcomes.map(kindOf)).toEqual(['sent', 'sent', 'RetryableSendError', 'sent', 'noop']);
    expect(smtp.received.flatMap((m) => m.to).sort()).toEqual(['bc@example.com', 'bd@example.com', 'be@example.com']);
    // The retry of the step finds its message sent: nothing more leaves.
    expect((await runSteps(engine, [c!])).map(kindOf)).toEqual(['noop']);
    expect(smtp.received).toHaveLength(3);
    const rows = await queryRows<{ state: string; next_step: number; sent: number }>(
      database.db,
      sql`select e.state, e.next_step, (select count(*)::int from messages m where m.enrollment_id = e.id and m.state = 'sent') as sent
          from enrollments e where e.id in (${c!.enrollmentId}, ${d!.enrollmentId}, ${e!.enrollmentId})`,
    );
    expect(rows).toEqual(Array.from({ length: 3 }, () => ({ state: 'active', next_step: 1, sent: 1 })));
    // The next steps are scheduled, once each.
    const jobs = await queues.queues.steps.getJobs(['delayed']);
    expect(jobs.map((j) => j.id).sort()).toEqual(enrolled.map((x) => `enrollment-${x.enrollmentId}-step-1`).sort());
  });

  it("keeps the frequency cap within a batch: a customer's second step waits for the first, and is held back by it", async () => {
    // A second sequence on the same orders: the order enrolls its customer twice.
    const dir = mkdtempSync(join(tmpdir(), 'batch-two-'));
    writeFileSync(join(dir, 'two.yaml'), SEQUENCE.replace('id: batch', 'id: batch-two').replace('name: Batch', 'name: Batch two'));
    for (const file of (await loadSequenceFiles(dir)).files) await applySequence(database.db, file);
    const enrolled = (await enrollOrders(engine, [await orderId('bf-2')])).flat();
    expect(enrolled.map((e) => e.sequenceId).sort()).toEqual(['batch', 'batch-two']);
    const capped = createEngine({ ...engine, settings: { ...engine.settings, frequencyCap: { max: 1, windowMs: 7 * 24 * HOUR } } });
    const outcomes = await runSteps(
      capped,
      enrolled.map((e) => ({ enrollmentId: e.enrollmentId, step: 0 })),
    );
    expect(outcomes.map(kindOf).sort()).toEqual(['delayed', 'sent']);
    expect(smtp.received.flatMap((m) => m.to).filter((to) => to === 'bf@example.com')).toHaveLength(1);
  });

  it('recommends for each order of a batch exactly what a load of its own recommends, for every strategy', async () => {
    const orders = await queryRows<{ id: number; customer_id: number }>(database.db, sql`select id, customer_id from orders order by id`);
    const requests = orders.map((o) => ({ customerId: o.customer_id, orderId: o.id, rules: DEFAULT_RULES }));
    const together = await recommendersFor(database.db, requests);
    for (const [i, request] of requests.entries()) {
      const alone = await recommenderFor(database.db, request);
      for (const strategy of STRATEGIES) expect(await together[i]!(strategy)).toEqual(await alone(strategy));
    }
  });
});

describe('the workers run the jobs in flight together, and say how large each batch was', () => {
  let t: TestEngine;
  afterAll(() => t?.stop());

  it('puts every job in one batch, several to a batch when they come together, and counts them in campaign_batch_size', async () => {
    const seen = { enroll: [] as number[], steps: [] as number[] };
    let metrics: WorkerMetrics | undefined;
    t = await startTestEngine(SEQUENCE, {
      clockScale: 1,
      concurrency: 8,
      onBatch: (queue, size) => {
        seen[queue].push(size);
        metrics?.batch(queue, size);
      },
    });
    metrics = createWorkerMetrics(t.engine);
    const ids = Array.from({ length: 24 }, (_, i) => `w${i}`);
    await ingestCustomers(
      t.database.db,
      ids.map((c) => ({ customer_id: c, email: `${c}@example.com`, accepts_marketing: 'yes' })),
    );
    const now = t.engine.clock.now().toISOString();
    await ingestOrders(
      t.database.db,
      ids.map((c) => ({
        order_id: `${c}-1`,
        customer_id: c,
        ordered_at: now,
        items: [{ sku: 'ESP-100', quantity: 1, unit_price: '249.00' }],
      })),
    );
    t.relay.kick();
    await eventually(async () => t.smtp.received.length >= ids.length && true, 30_000, 'every thank-you');
    const sum = (sizes: number[]) => sizes.reduce((a, b) => a + b, 0);
    expect(sum(seen.enroll)).toBe(ids.length);
    expect(sum(seen.steps)).toBe(ids.length);
    expect(Math.max(...seen.enroll)).toBeGreaterThan(1);
    expect(Math.max(...seen.steps)).toBeGreaterThan(1);
    expect(Math.max(...seen.steps)).toBeLessThanOrEqual(8);
    const text = await metrics.registry.metrics();
    expect(text).toContain(`campaign_batch_size_sum{queue="enroll"} ${ids.length}`);
    expect(text).toContain(`campaign_batch_size_count{queue="steps"} ${seen.steps.length}`);
  }, 60_000);
});

/** An outcome's kind, or an error's class name. */
function kindOf(result: StepOutcome | Error): string {
  return result instanceof Error ? (result instanceof RetryableSendError ? 'RetryableSendError' : result.message) : result.kind;
}
