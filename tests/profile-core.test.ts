/**
 * RFM scores and segments without IO (src/core/profile.ts), against NumPy. The references
 * were computed with this script (numpy 1.26, `np.quantile`'s default linear method):
 *
 *   import numpy as np
 *   N = 40
 *   orders = [1 + (i * 7 % 5) for i in range(N)]
 *   spend = [(i * 37 % 200) + 0.5 for i in range(N)]
 *   rec = [(i * 13 % 120) + 0.25 for i in range(N)]
 *   gaps = [float((i * 11 % 60) + 1) for i in range(N) if orders[i] > 1]
 *   np.quantile(gaps, 0.75), np.quantile(gaps, 0.95), np.quantile(orders, 0.8)
 *   [np.quantile(v, q) for q in (0.2, 0.4, 0.6, 0.8)] for v in (rec, orders, spend)
 *   r = 1 + sum(rec[i] < c for c in qr); f = 1 + sum(orders[i] > c ...); m = 1 + sum(spend[i] > c ...)
 *   seg = 'lapsed' if d > lapsed else 'at_risk' if d > at_risk else 'new' if orders[i] == 1
 *         else 'loyal' if orders[i] >= max(3, ceil(q80 of orders)) else 'active'
 */
import { describe, expect, it } from 'vitest';
import { FALLBACK_DAYS, segmentOf, segmentSettingsSchema, shopThresholds, type ProfileFacts } from '../src/core/profile.ts';
import { sequenceSchema } from '../src/core/sequence.ts';
import { needsSegment, triggerMatches } from '../src/core/trigger.ts';

const NOW = new Date('2026-06-01T00:00:00Z');
const DAY = 86_400_000;
const N = 40;
const profiles: ProfileFacts[] = Array.from({ length: N }, (_, i) => {
  const orders = 1 + ((i * 7) % 5);
  return {
    orders,
    spend: ((i * 37) % 200).toFixed(0) + '.50',
    lastOrderAt: new Date(NOW.getTime() - (((i * 13) % 120) + 0.25) * DAY),
    typicalGapDays: orders > 1 ? ((i * 11) % 60) + 1 : null,
  };
});

const NUMPY = {
  atRisk: 42.75,
  lapsed: 57.45,
  recency: [19.650000000000002, 41.650000000000006, 66.85, 92.05000000000001],
  frequency: [1.8000000000000007, 2.6000000000000014, 3.3999999999999986, 4.200000000000003],
  monetary: [37.3, 74.1, 114.29999999999998, 156.90000000000003],
  segments: [
    'new:511',
    'active:532',
    'loyal:453',
    'active:423',
    'at_risk:344',
    'lapsed:315',
    'lapsed:231',
    'lapsed:252',
    'lapsed:123',
    'lapsed:144',
    'new:515',
    'active:431',
    'loyal:452',
    'at_risk:323',
    'lapsed:344',
    'lapsed:214',
    'lapsed:235',
    'lapsed:151',
    'lapsed:122',
    'active:543',
    'new:414',
    'active:435',
    'at_risk:351',
    'lapsed:322',
    'lapsed:243',
    'lapsed:214',
    'lapsed:135',
    'lapsed:155',
    'active:521',
    'active:542',
    'new:413',
    'at_risk:334',
    'at_risk:355',
    'lapsed:221',
    'lapsed:242',
    'lapsed:113',
    'lapsed:134',
    'loyal:555',
    'active:521',
    'active:442',
  ],
};

describe('RFM and segments', () => {
  it("takes the thresholds and quintiles from the shop's own profiles, as NumPy computes them", () => {
    const t = shopThresholds(profiles, NOW);
    expect(t.atRiskDays).toBeCloseTo(NUMPY.atRisk, 9);
    expect(t.lapsedDays).toBeCloseTo(NUMPY.lapsed, 9);
    expect(t.loyalOrders).toBe(5);
    expect(t.from).toEqual({ atRiskDays: 'shop', lapsedDays: 'shop', loyalOrders: 'shop' });
    for (const [key, want] of [
      ['recency', NUMPY.recency],
      ['frequency', NUMPY.frequency],
      ['monetary', NUMPY.monetary],
    ] as const)
      t.quintiles[key].forEach((value, i) => expect(value, `${key} ${i}`).toBeCloseTo(want[i]!, 6));
  });

  it('scores and names each customer as the reference does', () => {
    const t = shopThresholds(profiles, NOW);
    const got = profiles.map((p) => {
      const s = segmentOf(p, t, NOW)!;
      return `${s.segment}:${s.rfm.r}${s.rfm.f}${s.rfm.m}`;
    });
    expect(got).toEqual(NUMPY.segments);
  });

  it('gives no segment to a customer who never ordered, and lets the config file win', () => {
    const t = shopThresholds(profiles, NOW, { at_risk_after_days: 100, lapsed_after_days: 200, loyal_min_orders: 2 });
    expect([t.atRiskDays, t.lapsedDays, t.loyalOrders]).toEqual([100, 200, 2]);
    expect(t.from).toEqual({ atRiskDays: 'config', lapsedDays: 'config', loyalOrders: 'config' });
    expect(segmentOf({ orders: 0, spend: '0', lastOrderAt: null, typicalGapDays: null }, t, NOW)).toBeUndefined();
    // With 100 days to be at risk, the customer last seen 0.25 days ago with 3 orders is loyal.
    expect(segmentOf(profiles[1]!, t, NOW)!.segment).toBe('loyal');
    // A configured at-risk threshold past the shop's lapsed one moves it along.
    expect(shopThresholds(profiles, NOW, { at_risk_after_days: 80 }).lapsedDays).toBe(80);
  });

  it('falls back to fixed days with under 20 repeat customers, and refuses a contradictory config', () => {
    const few = shopThresholds(profiles.slice(0, 10), NOW);
    expect([few.atRiskDays, few.lapsedDays]).toEqual([FALLBACK_DAYS.atRiskDays, FALLBACK_DAYS.lapsedDays]);
    expect(few.from.atRiskDays).toBe('fallback');
    expect(segmentSettingsSchema.safeParse({ at_risk_after_days: 90, lapsed_after_days: 30 }).success).toBe(false);
    expect(segmentSettingsSchema.safeParse({ lapsed: 30 }).success).toBe(false);
  });
});

describe('a segments filter on the trigger', () => {
  it('passes only the named segments, and nobody whose segment is not known', () => {
    const definition = sequenceSchema.parse({
      id: 'w',
      name: 'W',
      trigger: { event: 'order_placed', filters: { segments: ['at_risk', 'lapsed'] } },
      variants: [{ key: 'a', weight: 1 }],
      steps: [{ delay: '1h', template: 't' }],
    });
    const order = { total: '10.00', skus: ['A'], categories: ['c'], earlierOrders: 1 };
    expect(needsSegment(definition)).toBe(true);
    expect(triggerMatches(definition, { ...order, segment: 'lapsed' })).toBe(true);
    expect(triggerMatches(definition, { ...order, segment: 'loyal' })).toBe(false);
    expect(triggerMatches(definition, order)).toBe(false);
    const bad = sequenceSchema.safeParse({ ...definition, trigger: { event: 'order_placed', filters: { segments: ['vip'] } } });
    expect(bad.success).toBe(false);
    expect(bad.error!.issues[0]!.path).toEqual(['trigger', 'filters', 'segments', 0]);
  });
});
