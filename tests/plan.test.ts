/**
 * `campaign sequences plan`: from a shop's history, who would enter, what they spent in
 * the window and how much it varies, how long until an effect can be detected, and what
 * the sequence would have sent, first as a pure function, then as the command.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assignArm } from '../src/core/assignment.ts';
import { planExperiment, type HistoricalOrder } from '../src/core/plan.ts';
import { sequenceSchema } from '../src/core/sequence.ts';
import { ingestOrders } from '../src/ingest/batch.ts';
import { campaignInProcess } from './helpers/cli.ts';
import { freshDatabase, type TestDatabase } from './helpers/db.ts';
import { seedCatalog } from './helpers/seed.ts';

const DAY = 86_400_000;
const FROM = new Date('2026-01-01T00:00:00Z');
const TO = new Date('2026-03-02T00:00:00Z'); // 60 days

const definition = sequenceSchema.parse({
  id: 'plan-me',
  name: 'Plan me',
  trigger: { event: 'order_placed', filters: { min_total: '20' } },
  holdout: '10%',
  variants: [
    { key: 'control', weight: 1 },
    { key: 'challenger', weight: 1 },
  ],
  steps: [
    { delay: '1d', template: 'thank-you' },
    { delay: '1d', template: 'accessories' },
  ],
  measurement_window: '10d',
});

const order = (customer: string, day: number, total: string, earlierOrders = 0): HistoricalOrder => ({
  customerKey: customer,
  orderedAt: new Date(FROM.getTime() + day * DAY + 3_600_000),
  total,
  skus: ['ESP-100'],
  categories: ['espresso'],
  earlierOrders,
  timeZone: null,
});

describe('planning an experiment from the history', () => {
  // 40 customers: a first order on day i, and (every other one) a second order 5 days later
  // worth 10 × (i mod 7): the revenue in the window after the first order.
  const orders: HistoricalOrder[] = [];
  for (let i = 0; i < 40; i++) {
    orders.push(order(`c-${i}`, i, '30.00'));
    if (i % 2 === 0) orders.push(order(`c-${i}`, i + 5, `${10 * (i % 7)}.00`, 1));
  }
  // An order under the trigger's minimum enrolls no one.
  orders.push(order('c-small', 3, '5.00'));

  const plan = planExperiment({ definition, orders, from: FROM, to: TO, effect: { absolute: 2 }, shopTimeZone: 'UTC' });

  it('enrolls whom the trigger and the re-enrollment rule let in', () => {
    // Each customer's first order; a second one 5 days later is inside reenroll_after_days (30)
    // and enrolls no one, whatever its total.
    expect(plan.enrollments).toBe(40);
    expect(plan.enrollmentsPerDay).toBeCloseTo(40 / 60, 12);
  });

  it('counts only the customers a consent-required sequence may enroll; a transactional one counts all', () => {
    const withoutConsent = orders.map((o) =>
      o.customerKey === 'c-1' || o.customerKey === 'c-2' ? { ...o, acceptsMarketing: 'no' as const } : o,
    );
    const unknown = withoutConsent.map((o) => (o.customerKey === 'c-3' ? { ...o, acceptsMarketing: 'unknown' as const } : o));
    const input = { definition, from: FROM, to: TO, effect: { absolute: 2 }, shopTimeZone: 'UTC' };
    expect(planExperiment({ ...input, orders: unknown }).enrollments).toBe(37);
    const transactional = { ...definition, consent: 'not_required' as const };
    expect(planExperiment({ ...input, definition: transactional, orders: unknown }).enrollments).toBe(40);
  });

  it('measures revenue per customer in the window, zeros included, over closed windows only', () => {
    const revenues = Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? 10 * (i % 7) : 0));
    const mean = revenues.reduce((a, b) => a + b, 0) / 40;
    const sd = Math.sqrt(revenues.reduce((s, r) => s + (r - mean) ** 2, 0) / 39);
    expect(plan.revenue.measured).toBe(40);
    expect(plan.revenue.mean).toBeCloseTo(mean, 10);
    expect(plan.revenue.sd).toBeCloseTo(sd, 10);
  });

  it('needs the customers per arm the power formula gives, and days at the arm’s enrollment rate', () => {
    // SciPy 1.17.1: m = norm.ppf(0.975) + norm.ppf(0.8) = 2.8015852181129683; m² = 7.848879734349088
    const variance = plan.revenue.sd ** 2;
    const perArm = Math.ceil((7.848879734349088 * 2 * variance) / 2 ** 2);
    const vsControl = plan.comparisons.find((c) => c.against === 'control')!;
    expect(vsControl).toMatchObject({ arm: 'challenger', baseline: 'control', customersPerArm: perArm });
    // Each variant gets 45% of enrollments; the plan adds the 10-day window for the last to close.
    expect(vsControl.perDayInSmaller).toBeCloseTo((40 / 60) * 0.45, 12);
    expect(vsControl.days).toBe(Math.ceil(perArm / ((40 / 60) * 0.45) + 10));
    const vsHoldout = plan.comparisons.filter((c) => c.against === 'holdout');
    expect(vsHoldout.map((c) => c.arm)).toEqual(['control', 'challenger']);
    expect(vsHoldout[0]!.perDayInSmaller).toBeCloseTo((40 / 60) * 0.1, 12);
  });

  it('states an effect as a share of the mean revenue per customer', () => {
    const relative = planExperiment({ definition, orders, from: FROM, to: TO, effect: { relative: 0.05 }, shopTimeZone: 'UTC' });
    expect(relative.effect).toBeCloseTo(0.05 * plan.revenue.mean, 12);
  });

  it('replays the sends: two emails per emailed customer, the cap moving the ones over it later', () => {
    const emailed = orders.filter((o) => o.earlierOrders === 0 && o.customerKey !== 'c-small');
    const notHoldout = emailed.filter((o) => assignArm('plan-me', o.customerKey, definition.variants, definition.holdout) !== 'holdout');
    expect(plan.emails.total).toBe(2 * notHoldout.length);
    expect(plan.emails.heldByCap).toBe(0);
    const capped = planExperiment({
      definition,
      orders,
      from: FROM,
      to: TO,
      effect: { absolute: 2 },
      shopTimeZone: 'UTC',
      frequencyCap: { max: 1, windowMs: 7 * DAY },
    });
    // One email a week at most: each customer's second email (a day after the first) waits.
    expect(capped.emails.heldByCap).toBe(notHoldout.length);
  });
});

describe('campaign sequences plan', () => {
  let database: TestDatabase;
  let dir: string;
  beforeAll(async () => {
    database = await freshDatabase('postgres');
    await seedCatalog(database.db);
    const now = Date.now();
    const at = (daysAgo: number) => new Date(now - daysAgo * DAY).toISOString();
    const result = await ingestOrders(database.db, [
      { order_id: 'h-1', customer_id: 'c-1', ordered_at: at(40), items: [{ sku: 'ESP-100', quantity: 1, unit_price: '249.00' }] },
      { order_id: 'h-2', customer_id: 'c-1', ordered_at: at(35), items: [{ sku: 'BEAN-1', quantity: 2, unit_price: '24.90' }] },
      { order_id: 'h-3', customer_id: 'c-2', ordered_at: at(30), items: [{ sku: 'ESP-100', quantity: 1, unit_price: '249.00' }] },
      { order_id: 'h-4', customer_id: 'c-3', ordered_at: at(20), items: [{ sku: 'BEAN-1', quantity: 1, unit_price: '24.90' }] },
    ]);
    expect(result.ok).toBe(true);
    dir = mkdtempSync(join(tmpdir(), 'campaign-plan-'));
    writeFileSync(
      join(dir, 'plan-me.yaml'),
      [
        'id: plan-me',
        'name: Plan me',
        'trigger: { event: order_placed, filters: { categories: [espresso-machines] } }',
        'holdout: 10%',
        'variants:',
        '  - { key: control, weight: 1 }',
        '  - { key: challenger, weight: 1 }',
        'steps:',
        '  - { delay: 1h, template: thank-you }',
        'measurement_window: 7d',
      ].join('\n'),
    );
  });
  afterAll(() => database.drop());

  it('prints who would enter, what they spent and how long the experiment needs', async () => {
    const result = await campaignInProcess(['sequences', 'plan', 'plan-me', '--dir', dir, '--mde', '10.00'], {
      DATABASE_URL: database.url!,
    });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('would have enrolled 2 customers');
    expect(result.stdout).toContain('revenue per customer in the 7-day window: mean $24.90');
    expect(result.stdout).toContain('to detect $10.00 per customer');
    const json = await campaignInProcess(['sequences', 'plan', 'plan-me', '--dir', dir, '--json'], { DATABASE_URL: database.url! });
    expect(JSON.parse(json.stdout)).toMatchObject({ enrollments: 2, revenue: { measured: 2, mean: 24.9 } });
  });

  it('names a bad --mde and an unknown sequence in one line', async () => {
    const bad = await campaignInProcess(['sequences', 'plan', 'plan-me', '--dir', dir, '--mde', 'lots'], { DATABASE_URL: database.url! });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--mde: expected a share such as 5% or an amount such as 2.50, got "lots"');
    const unknown = await campaignInProcess(['sequences', 'plan', 'nope', '--dir', dir], { DATABASE_URL: database.url! });
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('no sequence file with id "nope"');
    // A segment or profile filter, which the history cannot replay: refused, not planned as nobody.
    writeFileSync(
      join(dir, 'win-back.yaml'),
      [
        'id: win-back',
        'name: Win back',
        'trigger: { event: order_placed, filters: { segments: [lapsed] } }',
        'variants: [{ key: only, weight: 1 }]',
        'steps:',
        '  - { delay: 1h, template: thank-you }',
      ].join('\n'),
    );
    const segmented = await campaignInProcess(['sequences', 'plan', 'win-back', '--dir', dir], { DATABASE_URL: database.url! });
    expect(segmented.code).toBe(2);
    expect(segmented.stderr).toContain('which the plan does not replay yet');
  });
});
