/**
 * Gross margin in the measured view (issue 16, item 6): per customer, net revenue − cost of
 * goods (quantity × the product's cost, or its price × (1 − SHOP_DEFAULT_MARGIN) when it has
 * none) − discount_total; a refund lowers revenue and leaves the cost of goods. On a small
 * shop worked out by hand: a product with a cost, one without, a discounted order, a refunded
 * one. The comparison on margin equals SciPy's Welch on the customers' margins, and the
 * variant that wins revenue loses margin.
 */
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reportCsv } from '../src/analytics/csv.ts';
import { formatReport } from '../src/analytics/format.ts';
import { buildReport } from '../src/analytics/report.ts';
import { loadConfig } from '../src/config.ts';
import { DEFAULT_ATTRIBUTION } from '../src/core/attribution.ts';
import { queryRows } from '../src/db/client.ts';
import { buildServer } from '../src/http/app.ts';
import { ingestOrders, ingestProducts, ingestRefunds } from '../src/ingest/batch.ts';
import { campaignInProcess } from './helpers/cli.ts';
import { DB_KINDS, freshDatabase, type TestDatabase } from './helpers/db.ts';
import { prepareShop } from './helpers/engine.ts';
import { csvRows } from './helpers/files.ts';
import { Rows } from './helpers/rows.ts';

const DAY = 86_400_000;

const T0 = Date.parse('2026-03-02T10:00:00Z');
const at = (ms: number) => new Date(T0 + ms).toISOString();

const SEQUENCE = `
id: margin
name: Margin
trigger: { event: order_placed }
holdout: 10%
variants: [{ key: a, weight: 1 }, { key: b, weight: 1 }]
measurement_window: 10d
steps:
  - { delay: 1h, template: thank-you }
`;

/*
 * COST-1: price 100, cost 40. FREE-1: price 50, no cost: at a 30% default margin it costs 35.
 *
 * arm a (control)                                       revenue  cost of goods  discount  margin
 *   x-0  1 × COST-1 @ 100                                   100        40            0        60
 *   x-1  2 × FREE-1 @ 50                                    100        70 (assumed)  0        30
 *   x-2  nothing                                              0         0            0         0
 * arm b
 *   x-3  1 × COST-1 + 1 × FREE-1, discount 30               150        75 (35 ass.) 30        45
 *   x-4  2 × COST-1, discount 20, refunded 50            200−50       80           20        50
 *   x-5  1 × FREE-1, discount 25                             50        35 (assumed) 25       −10
 * holdout
 *   x-6  1 × COST-1 @ 100                                   100        40            0        60
 *   x-7  nothing                                              0         0            0         0
 *   x-8  1 × COST-1 @ 90, discount 10                         90        40           10        40
 *
 * a: margin 90 (30 per customer), cost of goods 110 of which 70 assumed.
 * b: margin 85 (28.3333 per customer), cost of goods 190 of which 70 assumed.
 * b earns 50 more revenue per customer (116.67 against 66.67) and 1.67 less margin.
 */
const PRE_SPEND = [10, 20, 0, 5, 30, 15, 0, 10, 25];

/*
 * The references, from this Python (SciPy 1.17):
 *
 *   import numpy as np
 *   from scipy import stats
 *   a_m = np.array([60.0, 30.0, 0.0]); b_m = np.array([45.0, 50.0, -10.0])
 *   a_x = np.array([10.0, 20.0, 0.0]); b_x = np.array([5.0, 30.0, 15.0])
 *   for v in (a_m, b_m):
 *       print(stats.t.interval(0.95, len(v)-1, loc=v.mean(), scale=stats.sem(v)))
 *   r = stats.ttest_ind(b_m, a_m, equal_var=False); ci = r.confidence_interval(0.95)
 *   print(b_m.mean()-a_m.mean(), r.statistic, r.pvalue, r.df, ci.low, ci.high)
 *   y = np.concatenate([b_m, a_m]); x = np.concatenate([b_x, a_x])
 *   theta = np.cov(y, x, ddof=1)[0,1] / np.var(x, ddof=1)      # pooled, as src/core/stats.ts
 *   adj = lambda m, xx: m - theta * (xx - x.mean())
 *   r2 = stats.ttest_ind(adj(b_m, b_x), adj(a_m, a_x), equal_var=False); ci2 = r2.confidence_interval(0.95)
 *   print(theta, adj(b_m,b_x).mean()-adj(a_m,a_x).mean(), r2.pvalue, ci2.low, ci2.high)
 *   # every variant pooled against the holdout
 *   h_m = np.array([60.0, 0.0, 40.0]); h_x = np.array([0.0, 10.0, 25.0])
 *   v_m = np.concatenate([a_m, b_m]); v_x = np.concatenate([a_x, b_x])
 *   r = stats.ttest_ind(v_m, h_m, equal_var=False); ci = r.confidence_interval(0.95)
 *   print(v_m.mean()-h_m.mean(), r.pvalue, ci.low, ci.high)
 *   y = np.concatenate([v_m, h_m]); x = np.concatenate([v_x, h_x])
 *   theta = np.cov(y, x, ddof=1)[0,1] / np.var(x, ddof=1)
 *   adj = lambda m, xx: m - theta * (xx - x.mean())
 *   r2 = stats.ttest_ind(adj(v_m, v_x), adj(h_m, h_x), equal_var=False); ci2 = r2.confidence_interval(0.95)
 *   print(theta, adj(v_m,v_x).mean()-adj(h_m,h_x).mean(), r2.pvalue, ci2.low, ci2.high)
 */
const SCIPY = {
  intervalA: [-44.52413135250991, 104.52413135250991],
  intervalB: [-54.36768654827809, 111.03435321494474],
  welch: { difference: -1.6666666666666679, t: -0.06441566264008314, pValue: 0.9517615934567218, df: 3.95741491500017 },
  welchInterval: [-73.80925895788938, 70.47592562455604],
  cuped: { theta: 0.7571428571428569, difference: -6.714285714285712, pValue: 0.7985620123470927 },
  cupedInterval: [-75.91282555049683, 62.48425412192542],
  anyEmail: {
    difference: -4.166666666666668,
    pValue: 0.8535269703493966,
    interval: [-63.905728245477675, 55.57239491214433],
    cupedTheta: 0.2883435582822085,
    cupedDifference: -4.64723926380368,
    cupedPValue: 0.8398997481425793,
    cupedInterval: [-66.68700529427339, 57.39252676666604],
  },
};

describe('SHOP_DEFAULT_MARGIN', () => {
  it('takes a percentage, with or without %, and refuses anything else naming the setting', () => {
    expect(loadConfig({}).defaultMarginPercent).toBeUndefined();
    expect(loadConfig({ SHOP_DEFAULT_MARGIN: '' }).defaultMarginPercent).toBeUndefined();
    expect(loadConfig({ SHOP_DEFAULT_MARGIN: '40' }).defaultMarginPercent).toBe(40);
    expect(loadConfig({ SHOP_DEFAULT_MARGIN: ' 37.5% ' }).defaultMarginPercent).toBe(37.5);
    for (const bad of ['100', '-5', '0.4x', 'forty', '12.345'])
      expect(() => loadConfig({ SHOP_DEFAULT_MARGIN: bad })).toThrow(
        `SHOP_DEFAULT_MARGIN: must be a percentage from 0 to 99.99, such as 40 or 40% (got "${bad}")`,
      );
  });
});

describe.each(DB_KINDS)('gross margin per customer on %s', (kind) => {
  let database: TestDatabase;
  const report = async (defaultMarginPercent?: number) => {
    const { sequences } = await buildReport(database.db, {
      asOf: new Date(at(20 * DAY)),
      attribution: DEFAULT_ATTRIBUTION,
      minSample: 1,
      defaultMarginPercent,
    });
    return sequences[0]!.versions[0]!;
  };

  beforeAll(async () => {
    database = await freshDatabase(kind);
    const rows = new Rows(database.db);
    await prepareShop(database.db, SEQUENCE);
    const [{ id: version } = { id: 0 }] = await queryRows<{ id: number }>(
      database.db,
      sql`select id from sequence_versions where sequence_id = 'margin'`,
    );
    expect(
      await ingestProducts(database.db, [
        { sku: 'COST-1', name: 'With a cost', category: 'margin', price: '100', cost: '40' },
        { sku: 'FREE-1', name: 'Without a cost', category: 'margin', price: '50' },
      ]),
    ).toMatchObject({ ok: true });
    const customers = await rows.customers(9);
    const triggers = await rows.orders(customers.map((c) => ({ customer: c, at: at(0), total: 10 })));
    await rows.enrollments(
      customers.map((c, i) => ({
        customer: c,
        sequence: 'margin',
        version,
        arm: i < 3 ? 'a' : i < 6 ? 'b' : 'holdout',
        trigger: triggers[i]!,
        at: at(0),
        preSpend: PRE_SPEND[i]!,
      })),
    );
    const order = (id: string, customer: string, items: [string, number, string][], discount_total?: string) => ({
      order_id: id,
      customer_id: customer,
      ordered_at: at(2 * DAY),
      discount_total,
      items: items.map(([sku, quantity, unit_price]) => ({ sku, quantity, unit_price })),
    });
    expect(
      await ingestOrders(database.db, [
        order('m-0', 'x-0', [['COST-1', 1, '100']]),
        order('m-1', 'x-1', [['FREE-1', 2, '50']]),
        order(
          'm-3',
          'x-3',
          [
            ['COST-1', 1, '100'],
            ['FREE-1', 1, '50'],
          ],
          '30',
        ),
        order('m-4', 'x-4', [['COST-1', 2, '100']], '20'),
        order('m-5', 'x-5', [['FREE-1', 1, '50']], '25'),
        order('m-6', 'x-6', [['COST-1', 1, '100']]),
        order('m-8', 'x-8', [['COST-1', 1, '90']], '10'),
      ]),
    ).toMatchObject({ ok: true });
    expect(
      await ingestRefunds(database.db, [{ refund_id: 'mr-4', order_id: 'm-4', refunded_at: at(3 * DAY), amount: '50' }]),
    ).toMatchObject({
      ok: true,
    });
  });
  afterAll(() => database?.drop());

  it('gives each arm its margin, exact, and says how much of the cost of goods was assumed', async () => {
    const version = await report(30);
    const [a, b] = version.arms;
    expect(a!.measured.revenue).toBe(200);
    expect(b!.measured.revenue).toBe(350);
    expect(a!.margin).toEqual({
      total: 90,
      perCustomer: 30,
      perCustomerInterval: [expect.closeTo(SCIPY.intervalA[0]!, 9), expect.closeTo(SCIPY.intervalA[1]!, 9)],
      assumedCostShare: 70 / 110,
    });
    expect(b!.margin).toEqual({
      total: 85,
      perCustomer: expect.closeTo(85 / 3, 12),
      perCustomerInterval: [expect.closeTo(SCIPY.intervalB[0]!, 9), expect.closeTo(SCIPY.intervalB[1]!, 9)],
      assumedCostShare: 70 / 190,
    });
  });

  it("compares margin per customer as SciPy's Welch does, CUPED with pre-enrolment spend, and shows more revenue with less profit", async () => {
    const comparison = (await report(30)).comparisons.find((c) => c.arm === 'b' && c.against === 'control')!;
    // More revenue...
    expect(comparison.revenuePerCustomer.difference).toBeCloseTo(50, 9);
    // ...less profit.
    const margin = comparison.margin!;
    expect(margin.arm).toBeCloseTo(85 / 3, 9);
    expect(margin.baseline).toBe(30);
    expect(margin.difference).toBeCloseTo(SCIPY.welch.difference, 9);
    expect(margin.difference).toBeLessThan(0);
    expect(margin.t).toBeCloseTo(SCIPY.welch.t, 9);
    expect(margin.pValue).toBeCloseTo(SCIPY.welch.pValue, 9);
    expect(margin.degreesOfFreedom).toBeCloseTo(SCIPY.welch.df, 9);
    expect(margin.interval[0]).toBeCloseTo(SCIPY.welchInterval[0]!, 8);
    expect(margin.interval[1]).toBeCloseTo(SCIPY.welchInterval[1]!, 8);
    expect(margin.cuped.theta).toBeCloseTo(SCIPY.cuped.theta, 9);
    expect(margin.cuped.difference).toBeCloseTo(SCIPY.cuped.difference, 9);
    expect(margin.cuped.pValue).toBeCloseTo(SCIPY.cuped.pValue, 9);
    expect(margin.cuped.interval[0]).toBeCloseTo(SCIPY.cupedInterval[0]!, 8);
    expect(margin.cuped.interval[1]).toBeCloseTo(SCIPY.cupedInterval[1]!, 8);
  });

  it("names each comparison's metric and gives margin its own always-valid interval, verdict and sentence", async () => {
    const comparison = (await report(30)).comparisons.find((c) => c.arm === 'b' && c.against === 'control')!;
    expect(comparison.metric).toBe('revenue');
    const margin = comparison.margin!;
    expect(margin.metric).toBe('margin');
    // numpy, the CUPED-adjusted margins of the test above (A = adj(b_m, b_x), B = adj(a_m, a_x)):
    //   d = A.mean() - B.mean(); se = np.sqrt(A.var(ddof=1)/3 + B.var(ddof=1)/3)
    //   alpha, N, n = 0.05, 10_000, 6
    //   rho2 = (-2*np.log(alpha) + np.log(-2*np.log(alpha) + 1)) / N
    //   half = se*np.sqrt(n)*np.sqrt(2*(n*rho2+1)/(n*n*rho2)*np.log(np.sqrt(n*rho2+1)/alpha))
    //   print(d - half, d + half)
    expect(margin.sequential.interval[0]).toBeCloseTo(-880.2818063413393, 7);
    expect(margin.sequential.interval[1]).toBeCloseTo(866.853234912768, 7);
    expect(margin.sequential.verdict).toBe('no clear difference yet');
    expect(margin.verdict).toBe('no clear difference yet');
    expect(margin.summary).toMatch(/^the always-valid interval still includes no difference \(fixed-horizon p = 0\.799\)$/);
    // One comparison against the control: Holm leaves its p as it is.
    expect(margin.adjustedPValue).toBeCloseTo(SCIPY.cuped.pValue, 9);
  });

  it('compares every variant pooled against the holdout on margin too, as SciPy does on the customers pooled', async () => {
    const version = await report(30);
    expect(version.arms.find((a) => a.holdout)!.margin).toMatchObject({ total: 100, assumedCostShare: 0 });
    const m = version.anyEmail!.margin!;
    const want = SCIPY.anyEmail;
    expect(m.difference).toBeCloseTo(want.difference, 9);
    expect(m.pValue).toBeCloseTo(want.pValue, 9);
    expect(m.interval[0]).toBeCloseTo(want.interval[0]!, 8);
    expect(m.interval[1]).toBeCloseTo(want.interval[1]!, 8);
    expect(m.cuped.theta).toBeCloseTo(want.cupedTheta, 9);
    expect(m.cuped.difference).toBeCloseTo(want.cupedDifference, 9);
    expect(m.cuped.pValue).toBeCloseTo(want.cupedPValue, 9);
    expect(m.cuped.interval[0]).toBeCloseTo(want.cupedInterval[0]!, 8);
    expect(m.cuped.interval[1]).toBeCloseTo(want.cupedInterval[1]!, 8);
  });

  it('prints margin per customer beside revenue per customer, and its comparison, in the terminal and the CSV exports', async () => {
    const asOf = new Date(at(20 * DAY));
    const full = await buildReport(database.db, { asOf, attribution: DEFAULT_ATTRIBUTION, minSample: 1, defaultMarginPercent: 30 });
    const text = formatReport(full, { currency: 'USD' });
    expect(text).toMatch(/\narm +measured +converted +conversion +revenue +per customer +margin +margin per customer +\n/);
    expect(text).toMatch(/\na +3 +2 +66\.7% +\$200\.00 +\$66\.67 +\$90\.00 +\$30\.00 +\n/);
    expect(text).toMatch(/\nb +3 +3 +100\.0% +\$350\.00 +\$116\.67 +\$85\.00 +\$28\.33 +\n/);
    expect(text).toContain('cost of goods assumed from SHOP_DEFAULT_MARGIN: a 63.6%, b 36.8%.');
    // More revenue (+$50.00 per customer), less margin (−$1.67), side by side.
    expect(text).toMatch(/\nb vs a \(control\) +\+\$50\.00 +\[-\$80\.88, \$180\.88\]/);
    expect(text).toMatch(
      /\nb vs a \(control\) +\$28\.33 +\$30\.00 +-\$1\.67 +\[-\$73\.81, \$70\.48\] +0\.952 +-\$6\.71 +\[-\$75\.91, \$62\.48\] +0\.799 +\[-\$880\.28, \$866\.85\] +no clear difference yet +\n/,
    );
    expect(
      formatReport(await buildReport(database.db, { asOf, attribution: DEFAULT_ATTRIBUTION, minSample: 1 }), { currency: 'USD' }),
    ).toContain('— where a product bought has no cost and SHOP_DEFAULT_MARGIN is unset.');

    const arms = csvRows(reportCsv(full, 'arms'));
    const armRow = (arm: string) => arms.find((r) => r.arm === arm && r.step === 'all')!;
    expect([armRow('a').margin, armRow('a').margin_per_customer, armRow('a').assumed_cost_share]).toEqual(['90', '30', String(70 / 110)]);
    expect(Number(armRow('b').margin_ci_low)).toBeCloseTo(SCIPY.intervalB[0]!, 9);
    const comparisons = csvRows(reportCsv(full, 'comparisons'));
    const row = comparisons.find((r) => r.arm === 'b' && r.against === 'control')!;
    expect(Number(row.margin_difference)).toBeCloseTo(SCIPY.welch.difference, 9);
    expect(Number(row.margin_p_value)).toBeCloseTo(SCIPY.welch.pValue, 9);
    expect(Number(row.cuped_margin_ci_high)).toBeCloseTo(SCIPY.cupedInterval[1]!, 8);
    expect(Number(row.margin_sequential_ci_low)).toBeCloseTo(-880.2818063413393, 7);
    expect(row.margin_verdict).toBe('no clear difference yet');
  });

  it('takes SHOP_DEFAULT_MARGIN to the report through the API and `campaign report`', async () => {
    const asOf = at(20 * DAY);
    const app = await buildServer({
      db: database.db,
      apiToken: 'token-123456',
      bodyLimitBytes: 1 << 20,
      reports: { attribution: DEFAULT_ATTRIBUTION, minSample: 1, defaultMarginPercent: 30 },
    });
    try {
      const response = await app.inject({
        method: 'GET',
        url: `/api/reports/sequences/margin?as_of=${asOf}`,
        headers: { authorization: 'Bearer token-123456' },
      });
      expect(response.statusCode).toBe(200);
      const arms = response.json().sequence.versions[0].arms as { arm: string; margin: { total: number } | null }[];
      expect(arms.map((a) => [a.arm, a.margin?.total])).toEqual([
        ['a', 90],
        ['b', 85],
        ['holdout', 100],
      ]);
    } finally {
      await app.close();
    }
    if (!database.url) return; // the command needs a database it can reach: Postgres only
    const cli = await campaignInProcess(['report', '--json', '--as-of', asOf], { DATABASE_URL: database.url, SHOP_DEFAULT_MARGIN: '30%' });
    expect(cli.stderr).toBe('');
    const fromCli = JSON.parse(cli.stdout) as { sequences: { versions: { arms: { margin: { total: number } | null }[] }[] }[] };
    expect(fromCli.sequences[0]!.versions[0]!.arms.map((a) => a.margin?.total)).toEqual([90, 85, 100]);
    const unset = JSON.parse(
      (await campaignInProcess(['report', '--json', '--as-of', asOf], { DATABASE_URL: database.url })).stdout,
    ) as typeof fromCli;
    expect(unset.sequences[0]!.versions[0]!.arms.map((a) => a.margin?.total ?? null)).toEqual([null, null, 100]);
  });

  it('reports no margin when a product bought has no cost and SHOP_DEFAULT_MARGIN is unset', async () => {
    const version = await report();
    // The holdout bought only products with a cost: its margin is known, and no comparison with a variant is.
    expect(version.arms.map((arm) => arm.margin?.total ?? null)).toEqual([null, null, 100]);
    expect(version.comparisons.map((c) => c.margin)).toEqual([null, null, null]);
    expect(version.anyEmail!.margin).toBeNull();
    // With every cost known, nothing is assumed.
    await ingestProducts(database.db, [{ sku: 'FREE-1', name: 'Without a cost', category: 'margin', price: '50', cost: '35' }]);
    const costed = await report();
    expect(costed.arms.map((arm) => [arm.margin?.total, arm.margin?.assumedCostShare])).toEqual([
      [90, 0],
      [85, 0],
      [100, 0],
    ]);
  });
});
