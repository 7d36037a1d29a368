/**
 * The offer KPIs' pure assembly (src/core/kpis.ts) and the offer rules (src/core/offers.ts),
 * without IO: moments → each arm's figures → the differences and their 95% intervals, against
 * SciPy/NumPy references; which strategy each step offers, the holdout's the control's; the
 * offer set of an enrollment.
 */
import { describe, expect, it } from 'vitest';
import { armKpis, compareKpis, emptyMoments, pooledKpis, type KpiMoments } from '../src/core/kpis.ts';
import { offeredSteps, offerSet, stepStrategies } from '../src/core/offers.ts';
import { ratioSums } from '../src/core/ratio.ts';
import { summarize } from '../src/core/stats.ts';

/** Equal to 6 significant digits. */
function expectClose(actual: number | null | undefined, expected: number): void {
  expect(actual).not.toBeNull();
  expect(Math.abs(actual! - expected)).toBeLessThanOrEqual(Math.abs(expected) * 5e-7 + 1e-12);
}

// Per customer of a treated arm t and a control c.
const t = {
  rev: [120.0, 0, 310.5, 45.25, 0, 89.9, 200.0, 15.0],
  ord: [1, 0, 3, 1, 0, 1, 2, 1],
  items: [2, 0, 5, 1, 0, 3, 2, 1],
  rec: [60.0, 0, 100.0, 0, 0, 89.9, 50.0, 0],
  orev: [120.0, 0, 210.5, 0, 0, 89.9, 200.0, 0],
  oord: [1, 0, 2, 0, 0, 1, 2, 0],
};
const c = {
  rev: [80.0, 35.5, 0, 0, 150.0, 60.0, 22.0],
  ord: [1, 1, 0, 0, 2, 1, 1],
  items: [1, 2, 0, 0, 4, 1, 1],
  rec: [0, 35.5, 0, 0, 40.0, 0, 0],
  orev: [0, 35.5, 0, 0, 150.0, 0, 0],
  oord: [0, 1, 0, 0, 2, 0, 0],
};

/** What the database would hand over for such an arm. */
function moments(arm: string, d: typeof t, accepted: KpiMoments['accepted'], repeat: KpiMoments['repeat']): KpiMoments {
  const rec = summarize(d.rec);
  return {
    arm,
    n: d.rev.length,
    accepted,
    recommendedRevenue: { ...rec, total: d.rec.reduce((s, v) => s + v, 0) },
    orderValue: ratioSums(d.rev, d.ord),
    itemsPerOrder: ratioSums(d.items, d.ord),
    offerOrderValue: ratioSums(d.orev, d.oord),
    repeat,
  };
}
const treated = moments('t', t, { crossSell: 4, upsell: 1, any: 5 }, { n: 6, repeated: 3 });
const control = moments('c', c, { crossSell: 2, upsell: 0, any: 2 }, { n: 5, repeated: 1 });

// The references: SciPy 1.17, NumPy 2, with `import numpy as np; from scipy import stats`:
// def delta(x, y):
//     x = np.asarray(x, float); y = np.asarray(y, float)
//     n = len(x); mx, my = x.mean(), y.mean()
//     vx, vy = np.var(x, ddof=1), np.var(y, ddof=1); cxy = np.cov(x, y, ddof=1)[0, 1]
//     return mx / my, (vx / my**2 - 2 * mx * cxy / my**3 + mx**2 * vy / my**4) / n
// def ratio_diff(xa, ya, xb, yb):
//     Ra, Va = delta(xa, ya); Rb, Vb = delta(xb, yb)
//     d = Ra - Rb; se = np.sqrt(Va + Vb); q = stats.norm.ppf(0.975)
//     return d, se, d - q*se, d + q*se, 2*stats.norm.sf(abs(d/se))
// def props(sa, na, sb, nb):   # unpooled interval, pooled test
//     pa, pb = sa/na, sb/nb; d = pa - pb; q = stats.norm.ppf(0.975)
//     se = np.sqrt(pa*(1-pa)/na + pb*(1-pb)/nb); pool = (sa+sb)/(na+nb); pse = np.sqrt(pool*(1-pool)*(1/na+1/nb))
//     return d, d - q*se, d + q*se, 2*stats.norm.sf(abs(d/pse))

describe("one arm's KPIs", () => {
  it('acceptance, recommended revenue, the three ratios with delta-method standard errors, repeat rate', () => {
    const k = armKpis(treated);
    expect(k.acceptance).toEqual({
      crossSell: { customers: 8, accepted: 4, rate: 0.5 },
      upsell: { customers: 8, accepted: 1, rate: 0.125 },
      any: { customers: 8, accepted: 5, rate: 0.625 },
    });
    expect(k.recommendedRevenue.customers).toBe(8);
    expectClose(k.recommendedRevenue.total, 299.9);
    expectClose(k.recommendedRevenue.perCustomer, 299.9 / 8);
    // delta(t['rev'], t['ord']) = (86.73888888888888, 158.2494828749974)
    expect(k.aov).toMatchObject({ customers: 8, orders: 9, revenue: 780.65 });
    expectClose(k.aov.value, 86.73888888888888);
    expectClose(k.aov.standardError, Math.sqrt(158.2494828749974));
    // delta(t['items'], t['ord']) = (1.5555555555555556, 0.05992117926274301)
    expect(k.itemsPerOrder).toMatchObject({ orders: 9, items: 14 });
    expectClose(k.itemsPerOrder.value, 1.5555555555555556);
    expectClose(k.itemsPerOrder.standardError, Math.sqrt(0.05992117926274301));
    // delta(t['orev'], t['oord']) = (103.39999999999999, 16.43619047618995)
    expect(k.offerOrderValue).toMatchObject({ orders: 6, revenue: 620.4 });
    expectClose(k.offerOrderValue.value, 103.4);
    expectClose(k.offerOrderValue.standardError, Math.sqrt(16.43619047618995));
    expect(k.repeatRate).toEqual({ horizonDays: 90, customers: 6, repeated: 3, rate: 0.5 });
    expect(armKpis(treated, 60).repeatRate.horizonDays).toBe(60);
  });

  it('an arm with no customer has no figures, never 0', () => {
    const k = armKpis(emptyMoments('holdout'));
    expect(k.acceptance.any).toEqual({ customers: 0, accepted: 0, rate: null });
    expect(k.recommendedRevenue).toEqual({ customers: 0, total: 0, perCustomer: null });
    expect(k.aov).toEqual({ customers: 0, orders: 0, revenue: 0, value: null, standardError: null });
    expect(k.itemsPerOrder.value).toBeNull();
    expect(k.repeatRate.rate).toBeNull();
    // Customers who placed no order: no order value either.
    const none = armKpis({ ...emptyMoments('x'), n: 3, orderValue: ratioSums([0, 0, 0], [0, 0, 0]) });
    expect(none.aov.value).toBeNull();
    expect(none.aov.standardError).toBeNull();
  });

  it('treated arms pooled: acceptance over all their customers, AOV as their revenue over their orders', () => {
    const pooled = pooledKpis([armKpis(treated), armKpis(control)]);
    expect(pooled.customers).toBe(15);
    expectClose(pooled.acceptanceAny, 7 / 15);
    // (780.65 + 347.50) / (9 + 6)
    expectClose(pooled.aov, 1128.15 / 15);
    expect(pooledKpis([])).toEqual({ acceptanceAny: null, aov: null, customers: 0 });
  });
});

describe('KPI comparisons', () => {
  const k = compareKpis(treated, control);

  it('AOV, items per order, offer order value: delta-method differences', () => {
    // ratio_diff(t['rev'], t['ord'], c['rev'], c['ord'])
    expectClose(k.aov.arm, 86.73888888888888);
    expectClose(k.aov.baseline, 57.91666666666667);
    expectClose(k.aov.difference, 28.82222222222221);
    expectClose(k.aov.standardError, 16.435213793021454);
    expectClose(k.aov.interval[0], -3.390204890315772);
    expectClose(k.aov.interval[1], 61.03464933476019);
    expectClose(k.aov.pValue, 0.07948413915743699);
    // ratio_diff(t['items'], t['ord'], c['items'], c['ord'])
    expectClose(k.itemsPerOrder.difference, 0.05555555555555536);
    expectClose(k.itemsPerOrder.interval[0], -0.636664196190438);
    expectClose(k.itemsPerOrder.interval[1], 0.7477753073015487);
    expectClose(k.itemsPerOrder.pValue, 0.8750075993276081);
    // ratio_diff(t['orev'], t['oord'], c['orev'], c['oord'])
    expectClose(k.offerOrderValue.difference, 41.566666666666656);
    expectClose(k.offerOrderValue.standardError, 14.007786530366083);
    expectClose(k.offerOrderValue.interval[0], 14.11190956402385);
    expectClose(k.offerOrderValue.interval[1], 69.02142376930946);
    expectClose(k.offerOrderValue.pValue, 0.0030033268562385117);
  });

  it('recommended revenue per customer: Welch', () => {
    // r = stats.ttest_ind(t['rec'], c['rec'], equal_var=False); r.confidence_interval(0.95), r.pvalue, r.df, r.statistic
    expectClose(k.recommendedRevenue.arm, 299.9 / 8);
    expectClose(k.recommendedRevenue.baseline, 75.5 / 7);
    expectClose(k.recommendedRevenue.difference, 26.701785714285712);
    expectClose(k.recommendedRevenue.interval[0], -10.693508919715605);
    expectClose(k.recommendedRevenue.interval[1], 64.09708034828702);
    expectClose(k.recommendedRevenue.pValue, 0.14224863043434757);
    expectClose(k.recommendedRevenue.degreesOfFreedom, 9.756683908060017);
    expectClose(k.recommendedRevenue.t, 1.5963777528835048);
  });

  it('acceptance and repeat rate: two proportions', () => {
    // props(4, 8, 2, 7), props(1, 8, 0, 7), props(5, 8, 2, 7), props(3, 6, 1, 5)
    const cases: [typeof k.repeatRate, number, number, number, number][] = [
      [k.acceptance.crossSell, 0.2142857142857143, -0.26742111785593475, 0.6959925464273633, 0.39802471950693785],
      [k.acceptance.upsell, 0.125, -0.10417230376766187, 0.35417230376766184, 0.3329216080655659],
      [k.acceptance.any, 0.3392857142857143, -0.1345693509745134, 0.813140779545942, 0.18883007821588327],
      [k.repeatRate, 0.3, -0.23196566285597858, 0.8319656628559786, 0.30305232949008276],
    ];
    for (const [d, difference, low, high, p] of cases) {
      expectClose(d.difference, difference);
      expectClose(d.interval[0], low);
      expectClose(d.interval[1], high);
      expectClose(d.pValue, p);
    }
    expect(k.acceptance.any.arm).toBe(0.625);
    expect(k.acceptance.any.baseline).toBe(2 / 7);
    expect(k.repeatRate.arm).toBe(0.5);
  });

  it('against an arm with no customer: NaN (null in the JSON), not a difference from 0', () => {
    const none = JSON.parse(JSON.stringify(compareKpis(treated, emptyMoments('holdout')))) as Record<string, Record<string, unknown>>;
    expect(none.aov!.difference).toBeNull();
    expect(none.aov!.interval).toEqual([null, null]);
    expect(none.recommendedRevenue!.baseline).toBeNull();
    expect(none.recommendedRevenue!.interval).toEqual([null, null]);
    expect((none.acceptance!.any as { difference: unknown }).difference).toBeNull();
  });
});

describe('offers', () => {
  const definition = {
    variants: [
      { key: 'control', weight: 1, recommendations: 'upsell-only' as const, templates: {} },
      { key: 'pop', weight: 1, recommendations: 'popularity' as const, templates: {} },
    ],
    steps: [
      { delay: '1h', template: 'thank-you' },
      { delay: '3d', template: 'accessories', recommendations: 'co-purchase' as const },
    ],
  };

  it("each step's strategy: the step's own, else the arm's; the holdout takes the control's", () => {
    expect(stepStrategies(definition, 'pop')).toEqual(['popularity', 'co-purchase']);
    expect(stepStrategies(definition, 'control')).toEqual(['upsell-only', 'co-purchase']);
    expect(stepStrategies(definition, 'holdout')).toEqual(['upsell-only', 'co-purchase']);
  });

  it('the offers of every step from one answer per strategy', () => {
    const answers = new Map([
      ['upsell-only' as const, { crossSell: [], upsell: ['UP-1', 'UP-2'] }],
      ['co-purchase' as const, { crossSell: ['X-1'], upsell: ['UP-1'] }],
    ]);
    expect(offeredSteps(['upsell-only', 'co-purchase', 'upsell-only'], answers)).toEqual([
      { crossSell: [], upsell: ['UP-1', 'UP-2'] },
      { crossSell: ['X-1'], upsell: ['UP-1'] },
      { crossSell: [], upsell: ['UP-1', 'UP-2'] },
    ]);
    expect(() => offeredSteps(['popularity'], answers)).toThrow(RangeError);
  });

  it("an enrollment's offer set: a sent step's email, else what the step would have offered; legacy null: emails only", () => {
    const offered = [
      { crossSell: ['A', 'B'], upsell: ['U'] },
      { crossSell: ['C'], upsell: [] },
    ];
    const set = offerSet(offered, [{ step: 0, crossSell: ['A'], upsell: ['V'] }]);
    expect([...set.crossSell].sort()).toEqual(['A', 'C']);
    expect([...set.upsell]).toEqual(['V']);
    expect([...set.any].sort()).toEqual(['A', 'C', 'V']);
    expect([...offerSet(null, [{ step: 1, crossSell: ['B'], upsell: [] }]).any]).toEqual(['B']);
    expect([...offerSet(offered, []).any].sort()).toEqual(['A', 'B', 'C', 'U']);
  });
});
