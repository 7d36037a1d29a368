/**
 * Learned replenishment, without IO (issue 17, item 4, the pure part): the days between a
 * customer's repeat purchases of a product and of its category, purchases under a day apart
 * counted once, and the delay a refill email takes from them: the customer's own rhythm,
 * else the product's, else its category's, less the lead.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  intervalStats,
  orderReplenish,
  refillDays,
  repeatGaps,
  replenishBacktest,
  repurchaseIntervals,
  replenishDelay,
  type Purchase,
} from '../src/core/replenish.ts';
import { prng } from '../src/core/random.ts';
import { measurementWindowMs, sequenceSchema } from '../src/core/sequence.ts';
import { loadSequenceFiles } from '../src/sequences/files.ts';
import { delayWords, latestStepOffsetsMs, parseStepDelay, stepDueAt, typicalStepOffsetsMs } from '../src/core/step-delay.ts';

const T0 = Date.parse('2026-01-05T10:00:00Z');
const buy = (customer: string, sku: string, category: string, day: number): Purchase => ({
  customer,
  sku,
  category,
  at: new Date(T0 + day * 86_400_000),
});

/* The planted history, and its reference from this Python (NumPy 2):
 *
 *   P = [('c1','BEAN-1','beans',0), ('c1','BEAN-1','beans',14), ('c1','BEAN-1','beans',14.5),
 *        ('c1','BEAN-1','beans',29), ('c1','BEAN-1','beans',43), ('c2','BEAN-1','beans',3),
 *        ('c2','BEAN-1','beans',24), ('c2','BEAN-2','beans',40), ('c3','BEAN-2','beans',1),
 *        ('c3','BEAN-2','beans',11), ('c3','BEAN-2','beans',22.25), ('c4','FLT-1','filters',0),
 *        ('c4','FLT-1','filters',60)]
 *   # per key and customer: sorted times, a purchase under a day after the last kept one dropped
 *   intervals(sku)  -> BEAN-1 {c1: [14, 15, 14], c2: [21]}, BEAN-2 {c3: [10, 11.25]}, FLT-1 {c4: [60]}
 *   intervals(cat)  -> beans {c1: [14, 15, 14], c2: [21, 16], c3: [10, 11.25]}, filters {c4: [60]}
 *   np.percentile(v, [50, 25, 75])   # NumPy's default, linear
 *   BEAN-1: 14.5, 14.0, 16.5   beans: 14.0, 12.625, 15.5   c1's own BEAN-1: 14.0, 14.0, 14.5
 */
const HISTORY: Purchase[] = [
  buy('c1', 'BEAN-1', 'beans', 0),
  buy('c1', 'BEAN-1', 'beans', 14),
  buy('c1', 'BEAN-1', 'beans', 14.5),
  buy('c1', 'BEAN-1', 'beans', 29),
  buy('c1', 'BEAN-1', 'beans', 43),
  buy('c2', 'BEAN-1', 'beans', 3),
  buy('c2', 'BEAN-1', 'beans', 24),
  buy('c2', 'BEAN-2', 'beans', 40),
  buy('c3', 'BEAN-2', 'beans', 1),
  buy('c3', 'BEAN-2', 'beans', 11),
  buy('c3', 'BEAN-2', 'beans', 22.25),
  buy('c4', 'FLT-1', 'filters', 0),
  buy('c4', 'FLT-1', 'filters', 60),
];
// The history shuffled: the order purchases arrive in changes nothing.
const learned = repurchaseIntervals([...HISTORY].reverse());
const SMALL = { own: 2, shop: 4 };

describe('repeat-purchase intervals', () => {
  it('are the days between consecutive purchases of one customer, a purchase under a day later counted once', () => {
    expect(Object.fromEntries(learned.bySku.get('BEAN-1')!)).toEqual({ c1: [14, 15, 14], c2: [21] });
    expect(Object.fromEntries(learned.bySku.get('BEAN-2')!)).toEqual({ c3: [10, 11.25] });
    expect(Object.fromEntries(learned.byCategory.get('beans')!)).toEqual({ c1: [14, 15, 14], c2: [21, 16], c3: [10, 11.25] });
  });

  it('summarise as NumPy does: count, median and quartiles', () => {
    expect(intervalStats([14, 15, 14, 21])).toEqual({ n: 4, median: 14.5, q1: 14, q3: 16.5 });
    expect(intervalStats([14, 15, 14, 21, 16, 10, 11.25])).toEqual({ n: 7, median: 14, q1: 12.625, q3: 15.5 });
    expect(intervalStats([])).toBeUndefined();
  });
});

describe('the delay of a refill email', () => {
  it("goes by the customer's own rhythm when they have enough of it", () => {
    expect(replenishDelay(learned, { sku: 'BEAN-1', customer: 'c1' }, SMALL)).toEqual({
      days: 14,
      source: 'customer',
      stats: { n: 3, median: 14, q1: 14, q3: 14.5 },
    });
  });

  it("else by the product's, then by its category's, and learns nothing below the minimum", () => {
    expect(replenishDelay(learned, { sku: 'BEAN-1', customer: 'c2' }, SMALL)).toMatchObject({ days: 14.5, source: 'product' });
    expect(replenishDelay(learned, { sku: 'BEAN-2' }, SMALL)).toEqual({
      days: 14,
      source: 'category',
      stats: { n: 7, median: 14, q1: 12.625, q3: 15.5 },
    });
    expect(replenishDelay(learned, { sku: 'FLT-1' }, SMALL)).toBeUndefined();
    expect(replenishDelay(learned, { sku: 'NEVER-SOLD' }, SMALL)).toBeUndefined();
    // At the shop's minimum of 20 intervals, this small history teaches nothing.
    expect(replenishDelay(learned, { sku: 'BEAN-1' })).toBeUndefined();
  });

  it('goes the lead earlier, never before the purchase', () => {
    expect(replenishDelay(learned, { sku: 'BEAN-1', leadDays: 3 }, SMALL)!.days).toBe(11.5);
    expect(replenishDelay(learned, { sku: 'BEAN-1', leadDays: 30 }, SMALL)!.days).toBe(0);
  });
});

describe('the refill of an order with several products', () => {
  it('is the first of them to run out, and nothing when nothing is learned', () => {
    const stats = (median: number) => ({ n: 30, median, q1: median - 2, q3: median + 2 });
    expect(
      orderReplenish([
        { sku: 'A', known: { own: [], product: stats(30) } },
        { sku: 'B', known: { own: [], product: stats(5), category: stats(40) } },
        { sku: 'C', known: { own: [], category: stats(12) } },
        { sku: 'D', known: { own: [], product: { n: 3, median: 1, q1: 1, q3: 1 } } },
      ]),
    ).toMatchObject({ sku: 'B', days: 5, source: 'product' });
    expect(orderReplenish([{ sku: 'D', known: { own: [9] } }])).toBeUndefined();
  });

  it('counts a purchase less than a day after the one before as part of it', () => {
    expect(repeatGaps([0, 14, 14.5, 29, 43].map((d) => d * 86_400_000))).toEqual([14, 15, 14]);
    expect(repeatGaps([10, 0].map((d) => d * 86_400_000))).toEqual([10]);
    expect(repeatGaps([0])).toEqual([]);
  });
});

describe('a step that says delay: replenish', () => {
  const DAY = 86_400_000;
  const ordered = new Date('2026-03-01T10:00:00Z');
  const clock = (nowDays: number, replenishDays: number | null) => ({
    now: new Date(ordered.getTime() + nowDays * DAY),
    orderedAt: ordered,
    replenishDays,
  });

  it('is written replenish, optionally with a lead, and nothing else', () => {
    expect(parseStepDelay('replenish')).toEqual({ kind: 'replenish', leadMs: 0 });
    expect(parseStepDelay(' Replenish - 3d ')).toEqual({ kind: 'replenish', leadMs: 3 * DAY });
    expect(parseStepDelay('replenish-36h')).toEqual({ kind: 'replenish', leadMs: 36 * 3_600_000 });
    expect(parseStepDelay('2d')).toEqual({ kind: 'fixed', ms: 2 * DAY });
    expect([delayWords('2d'), delayWords('replenish'), delayWords('replenish - 3d')]).toEqual([
      'after 2d',
      'when bought again (learned)',
      'when bought again (learned), 3d early',
    ]);
    for (const bad of ['replenish + 3d', 'replenish - soon', 'replenishment', 'soon', 'replenish -'])
      expect(parseStepDelay(bad), bad).toBeUndefined();
  });

  it('goes the learned interval less the lead after the order, the fallback when nothing is learned, never before now', () => {
    expect(stepDueAt('replenish - 3d', clock(0, 20))).toEqual(new Date(ordered.getTime() + 17 * DAY));
    expect(stepDueAt('replenish', clock(1, null))).toEqual(new Date(ordered.getTime() + 28 * DAY));
    expect(stepDueAt('replenish - 3d', clock(1, null))).toEqual(new Date(ordered.getTime() + 25 * DAY));
    // A refill already past (a late step before it): it goes now.
    expect(stepDueAt('replenish', clock(30, 20))).toEqual(new Date(ordered.getTime() + 30 * DAY));
    // Capped at 90 days, and never before the purchase.
    expect(stepDueAt('replenish', clock(0, 400))).toEqual(new Date(ordered.getTime() + 90 * DAY));
    expect(refillDays(2, 5)).toBe(0);
    // A fixed delay still runs from now.
    expect(stepDueAt('2d', clock(1, 20))).toEqual(new Date(ordered.getTime() + 3 * DAY));
  });

  it('counts at its longest in the measurement window, and at the fallback in charts', () => {
    const steps = [{ delay: '1h' }, { delay: 'replenish - 3d' }, { delay: '2d' }];
    expect(latestStepOffsetsMs(steps)).toEqual([3_600_000, 90 * DAY, 92 * DAY]);
    expect(typicalStepOffsetsMs(steps)).toEqual([3_600_000, 25 * DAY, 27 * DAY]);
    const definition = sequenceSchema.parse({
      id: 'r',
      name: 'R',
      trigger: { event: 'order_placed' },
      variants: [{ key: 'a', weight: 1 }],
      steps: [
        { delay: '1h', template: 't' },
        { delay: 'replenish - 3d', template: 't' },
      ],
    });
    expect(measurementWindowMs(definition)).toBe(97 * DAY);
  });

  it('refuses anything else with the file and line', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'refill-'));
    writeFileSync(
      join(dir, 'refill.yaml'),
      [
        'id: r',
        'name: R',
        'trigger: { event: order_placed }',
        'variants: [{ key: a, weight: 1 }]',
        'steps:',
        '  - { delay: replenish + 3d, template: t }',
      ].join('\n'),
    );
    const { problems } = await loadSequenceFiles(dir);
    expect(problems).toHaveLength(1);
    expect(
      problems[0]!.endsWith(
        'refill.yaml:6: steps.0.delay: must be a duration such as 2d, 36h or 90m, or replenish (optionally with a lead: replenish - 3d)',
      ),
    ).toBe(true);
  });
});

describe('the replenishment backtest', () => {
  it('scores each purchase bought again from the cutoff on, as worked out by hand', () => {
    // Trained before day 20: c1's BEAN-1 [14], c3's BEAN-2 [10]. Scored: c1's purchase of day
    // 29, bought again on day 43 (14 days); c1's own gaps by then [14, 15] give 14.5.
    const result = replenishBacktest(HISTORY, new Date(T0 + 20 * 86_400_000), 28, SMALL);
    expect(result).toEqual({
      cases: 1,
      learnedCases: 1,
      bySource: { customer: 1, product: 0, category: 0 },
      fixedDays: 28,
      learned: { meanAbsError: 0.5, medianAbsError: 0.5 },
      fixed: { meanAbsError: 14, medianAbsError: 14 },
    });
  });

  it('beats a fixed delay on a planted shop where every regular has their own cycle', () => {
    const random = prng(17);
    const planted: Purchase[] = [];
    for (let c = 0; c < 60; c++) {
      const cycle = 10 + random() * 15;
      const sku = `BEAN-${c % 3}`;
      for (let day = random() * cycle; day < 200; day += cycle + (random() - 0.5) * 2) planted.push(buy(`r${c}`, sku, 'beans', day));
    }
    const result = replenishBacktest(planted, new Date(T0 + 140 * 86_400_000));
    expect(result.cases).toBeGreaterThan(100);
    expect(result.learnedCases).toBe(result.cases);
    expect(result.bySource.customer).toBe(result.cases);
    expect(result.learned.meanAbsError).toBeLessThan(1.5);
    expect(result.fixed.meanAbsError).toBeGreaterThan(5);
  });
});
