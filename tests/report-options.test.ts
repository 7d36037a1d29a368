/**
 * The report's answers beside the per-variant comparisons: every email pooled against the
 * holdout ("does any email earn more than none?"), revenue winsorised at a pooled
 * percentile (the cap shown), and how many more days of enrollment each comparison needs
 * to detect a chosen effect, all equal to SciPy/NumPy on the same customers; and the API
 * and CLI refuse a malformed `mde` or `winsorize` with a 400 / a clear error.
 *
 * The reference values come from this Python (SciPy 1.17, NumPy 2.4):
 *
 *   import numpy as np; from scipy import stats, optimize
 *   a_y=np.array([0,10,20,30,500,45.]); a_x=np.array([0,50,20,60,300,10.])
 *   b_y=np.array([0,0,15,40,60,25.]);   b_x=np.array([10,0,30,80,20,40.])
 *   h_y=np.array([0,5,10,25,0.]);       h_x=np.array([5,0,15,30,0.])
 *   def cuped(ya,xa,yb,xb):
 *       y=np.concatenate([ya,yb]); x=np.concatenate([xa,xb])
 *       theta=np.cov(y,x,ddof=1)[0,1]/np.var(x,ddof=1); xm=x.mean()
 *       aa=ya-theta*(xa-xm); bb=yb-theta*(xb-xm)
 *       t=stats.ttest_ind(aa,bb,equal_var=False); ci=t.confidence_interval(0.95)
 *       return aa,bb,aa.mean()-bb.mean(),(ci.low,ci.high),t.pvalue
 *   e_y=np.concatenate([a_y,b_y]); e_x=np.concatenate([a_x,b_x])
 *   cuped(e_y,e_x,h_y,h_x)                       # any email vs holdout, CUPED
 *   stats.ttest_ind(e_y,h_y,equal_var=False)     # any email vs holdout, Welch
 *   cap=np.percentile(np.concatenate([a_y,b_y,h_y]),90)   # linear = Postgres percentile_cont
 *   cuped(np.minimum(b_y,cap),b_x,np.minimum(a_y,cap),a_x) # winsorised b vs a
 *   aa,bb,*_=cuped(b_y,b_x,a_y,a_x); va,vb=np.var(aa,ddof=1),np.var(bb,ddof=1)
 *   k=stats.norm.ppf(0.975)+stats.norm.ppf(0.8); r=3/14
 *   optimize.brentq(lambda t: k*np.sqrt(va/(6+r*t)+vb/(6+r*t))-20, 0, 1e7)   # 278.667 → 279 days
 */
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildReport, type VersionReport } from '../src/analytics/report.ts';
import { DEFAULT_ATTRIBUTION } from '../src/core/attribution.ts';
import { compareArms, poolArms, type ArmOutcome } from '../src/core/experiment.ts';
import { summarizePaired } from '../src/core/stats.ts';
import { queryRows } from '../src/db/client.ts';
import { buildServer } from '../src/http/app.ts';
import { campaignInProcess } from './helpers/cli.ts';
import { freshDatabase, type TestDatabase } from './helpers/db.ts';
import { prepareShop } from './helpers/engine.ts';
import { Rows } from './helpers/rows.ts';

const DAY = 86_400_000;
const T0 = Date.parse('2026-03-02T10:00:00Z');
const at = (ms: number) => new Date(T0 + ms).toISOString();
const AS_OF = new Date(T0 + 20 * DAY);

const SEQUENCE = `
id: extras
name: Extras
trigger: { event: order_placed }
holdout: 20%
variants: [{ key: a, weight: 1 }, { key: b, weight: 1 }]
measurement_window: 10d
steps:
  - { delay: 1h, template: thank-you }
`;

/** Revenue in the window (y) and spend before enrolling (x) per customer, as in the Python above. */
const ARMS = {
  a: { y: [0, 10, 20, 30, 500, 45], x: [0, 50, 20, 60, 300, 10] },
  b: { y: [0, 0, 15, 40, 60, 25], x: [10, 0, 30, 80, 20, 40] },
  holdout: { y: [0, 5, 10, 25, 0], x: [5, 0, 15, 30, 0] },
} as const;

describe('pooling arms', () => {
  it('gives the moments of the customers taken together, ignoring an empty arm', () => {
    const arm = (name: string, y: readonly number[], x: readonly number[], converted = 0): ArmOutcome => ({
      arm: name,
      converted,
      perDay: 1,
      ...summarizePaired(y, x),
    });
    const empty: ArmOutcome = { ...arm('c', [], []), n: 0, mean: NaN, variance: NaN };
    const single = arm('d', [7], [3], 1);
    const pooled = poolArms('any', [arm('a', ARMS.a.y, ARMS.a.x, 5), arm('b', ARMS.b.y, ARMS.b.x, 4), empty, single]);
    const together = summarizePaired([...ARMS.a.y, ...ARMS.b.y, 7], [...ARMS.a.x, ...ARMS.b.x, 3]);
    expect(pooled.n).toBe(13);
    expect(pooled.converted).toBe(10);
    expect(pooled.perDay).toBe(4);
    for (const key of ['mean', 'variance', 'covariateMean', 'covariateVariance', 'covariance'] as const)
      expect(pooled[key]).toBeCloseTo(together[key], 9);
  });
});

describe('conversion, looked at every day', () => {
  it('has an always-valid interval, as the normal-mixture sequence gives it', () => {
    // pa, pb = 92/400, 70/410; se = np.sqrt(pa*(1-pa)/400 + pb*(1-pb)/410); n = 810
    // l = -2*np.log(0.05); rho = np.sqrt((l + np.log(l+1))/10000)
    // hw = se*np.sqrt(n)*np.sqrt(2*(n*rho**2+1)/(n*n*rho**2)*np.log(np.sqrt(n*rho**2+1)/0.05)); pa-pb-hw, pa-pb+hw
    const arm = (name: string, n: number, converted: number): ArmOutcome => ({
      arm: name,
      n,
      converted,
      mean: 20,
      variance: 900,
      covariateMean: 0,
      covariateVariance: 0,
      covariance: 0,
    });
    const c = compareArms(arm('b', 400, 92), arm('a', 410, 70), { against: 'control', minSample: 100 });
    expect(c.conversionRate.sequential.interval[0]).toBeCloseTo(-0.055041459938549864, 12);
    expect(c.conversionRate.sequential.interval[1]).toBeCloseTo(0.17357804530440352, 12);
    expect(c.conversionRate.sequential.verdict).toBe('no clear difference yet');
    // The fixed-horizon test, read once, calls it.
    expect(c.conversionRate.pValue).toBeLessThan(0.05);
  });
});

describe('the report beside its comparisons', () => {
  let database: TestDatabase;
  let version: VersionReport;

  beforeAll(async () => {
    database = await freshDatabase('postgres');
    await prepareShop(database.db, SEQUENCE);
    const rows = new Rows(database.db);
    const [{ id: versionId } = { id: 0 }] = await queryRows<{ id: number }>(
      database.db,
      sql`select id from sequence_versions where sequence_id = 'extras'`,
    );
    for (const [arm, data] of Object.entries(ARMS)) {
      const customers = await rows.customers(data.y.length);
      // Half of each arm enrolled on day 0, the rest on day 8: 14 days before as-of (day 20)
      // they are the recent enrollments, every one measured (windows close by day 18).
      const day = (i: number) => (i < Math.ceil(data.y.length / 2) ? 0 : 8);
      const triggers = await rows.orders(customers.map((c, i) => ({ customer: c, at: at(day(i) * DAY), total: 10 })));
      await rows.enrollments(
        customers.map((c, i) => ({
          customer: c,
          sequence: 'extras',
          version: versionId,
          arm,
          trigger: triggers[i]!,
          at: at(day(i) * DAY),
          preSpend: data.x[i]!,
        })),
      );
      await rows.orders(
        customers.flatMap((c, i) => (data.y[i]! > 0 ? [{ customer: c, at: at((day(i) + 2) * DAY), total: data.y[i]! }] : [])),
      );
    }
    const report = await buildReport(database.db, {
      asOf: AS_OF,
      attribution: DEFAULT_ATTRIBUTION,
      minSample: 1,
      winsorize: 0.9,
      detect: { absolute: 20 },
    });
    version = report.sequences[0]!.versions[0]!;
  });
  afterAll(() => database?.drop());

  it('compares every email pooled against the holdout, equal to SciPy', () => {
    const any = version.anyEmail!;
    // The a_y+b_y above are Python lists joined: every email's customers together.
    expect(any.arm).toBe('any email');
    expect(any.against).toBe('holdout');
    expect(any.n).toEqual({ arm: 12, baseline: 5 });
    expect(any.revenuePerCustomer.difference).toBeCloseTo(54.083333333333336, 9);
    expect(any.revenuePerCustomer.interval[0]).toBeCloseTo(-34.685864861187646, 8);
    expect(any.revenuePerCustomer.interval[1]).toBeCloseTo(142.85253152785432, 8);
    expect(any.revenuePerCustomer.pValue).toBeCloseTo(0.20760713960834365, 9);
    expect(any.cuped.difference).toBeCloseTo(-12.46525273497734, 9);
    expect(any.cuped.interval[0]).toBeCloseTo(-38.96835673329406, 8);
    expect(any.cuped.interval[1]).toBeCloseTo(14.037851263339377, 8);
    expect(any.cuped.pValue).toBeCloseTo(0.33055126585328287, 9);
    expect(any.incrementalRevenue!.cuped.estimate).toBeCloseTo(-12.46525273497734 * 12, 7);
    // Order value of the pooled customers against the holdout, by the delta method (the customer the unit):
    //   def dm(y): x=np.array(y); o=(x>0)*1.; n=len(x); c=np.cov(x,o,ddof=1); mx,my=x.mean(),o.mean()
    //              return mx/my, (c[0,0]/my**2 - 2*mx*c[0,1]/my**3 + mx**2*c[1,1]/my**4)/n
    //   (ra,va),(rh,vh) = dm(a_y+b_y), dm(h_y); d=ra-rh; d ± stats.norm.ppf(0.975)*np.sqrt(va+vh)
    const aov = any.kpis!.aov;
    expect(aov.arm).toBeCloseTo(82.77777777777779, 10);
    expect(aov.baseline).toBeCloseTo(13.333333333333334, 10);
    expect(aov.interval[0]).toBeCloseTo(-32.287702425245755, 8);
    expect(aov.interval[1]).toBeCloseTo(171.17659131413467, 8);
    // Its always-valid interval, the normal mixture tuned for 10,000 customers, at n = 17:
    //   se=np.sqrt(va+vh); n=17; l=-2*np.log(0.05); rho=np.sqrt((l+np.log(l+1))/10000)
    //   hw=se*np.sqrt(n)*np.sqrt(2*(n*rho**2+1)/(n*n*rho**2)*np.log(np.sqrt(n*rho**2+1)/0.05)); d-hw, d+hw
    expect(aov.sequential.interval[0]).toBeCloseTo(-1032.963409987924, 7);
    expect(aov.sequential.interval[1]).toBeCloseTo(1171.8522988768127, 7);
    expect(aov.sequential.verdict).toBe('no clear difference yet');
    // The per-variant comparisons stay as they were: the pooled one is beside them.
    expect(version.comparisons.map((c) => `${c.arm}/${c.baseline}`)).toEqual(['a/holdout', 'b/a', 'b/holdout']);
  });

  it('winsorises at the pooled percentile and shows the cap, equal to NumPy', () => {
    expect(version.winsorized).toEqual({ percentile: 0.9, cap: 51 });
    const b = version.comparisons.find((c) => c.arm === 'b' && c.against === 'control')!;
    expect(b.winsorized!.difference).toBeCloseTo(1.2768514345801414, 9);
    expect(b.winsorized!.interval[0]).toBeCloseTo(-21.271668570312357, 8);
    expect(b.winsorized!.interval[1]).toBeCloseTo(23.82537143947264, 8);
    expect(b.winsorized!.pValue).toBeCloseTo(0.9016864206036331, 9);
  });

  it('says how many more days at the recent enrollment rate the chosen effect needs, as SciPy solves it', () => {
    const b = version.comparisons.find((c) => c.arm === 'b' && c.against === 'control')!;
    expect(b.daysToDetect.effect).toBe(20);
    expect(b.daysToDetect.days).toBe(279);
    expect(b.daysToDetect.relative).toBeCloseTo(20 / (605 / 6), 12);
  });

  it('says never when enrollment has stopped, and now when the effect is already detectable', async () => {
    // As of day 40 nobody enrolled in the last 14 days: at this rate the test never gets there.
    const later = await buildReport(database.db, { asOf: new Date(T0 + 40 * DAY), attribution: DEFAULT_ATTRIBUTION, minSample: 1 });
    const b = later.sequences[0]!.versions[0]!.comparisons.find((c) => c.arm === 'b' && c.against === 'control')!;
    expect(b.daysToDetect.days).toBeNull();
    // The default effect is 5% of the baseline's revenue per customer.
    expect(b.daysToDetect.relative).toBeCloseTo(0.05, 12);
    const huge = await buildReport(database.db, {
      asOf: AS_OF,
      attribution: DEFAULT_ATTRIBUTION,
      minSample: 1,
      detect: { absolute: 100_000 },
    });
    for (const c of huge.sequences[0]!.versions[0]!.comparisons) expect(c.daysToDetect.days).toBe(0);
  });

  it('takes mde and winsorize on the API, and refuses malformed ones with a 400 that names them', async () => {
    const app = await buildServer({ db: database.db, apiToken: 'token-123456', bodyLimitBytes: 1 << 20 });
    try {
      const headers = { authorization: 'Bearer token-123456' };
      const ok = await app.inject({ url: `/api/reports/sequences/extras?as_of=${AS_OF.toISOString()}&mde=20&winsorize=90`, headers });
      expect(ok.statusCode).toBe(200);
      const { versions } = ok.json<{ sequence: { versions: VersionReport[] } }>().sequence;
      expect(versions[0]!.winsorized).toEqual({ percentile: 0.9, cap: 51 });
      expect(versions[0]!.comparisons[1]!.daysToDetect.days).toBe(279);
      const repeat = await app.inject({ url: `/api/reports/sequences/extras?as_of=${AS_OF.toISOString()}&repeat_days=5`, headers });
      expect(repeat.json<{ sequence: { versions: VersionReport[] } }>().sequence.versions[0]!.arms[0]!.kpis.repeatRate.horizonDays).toBe(5);
      for (const [field, value] of [
        ['mde', '-5%'],
        ['mde', 'lots'],
        ['winsorize', '100'],
        ['winsorize', '12'],
        ['repeat_days', '0'],
      ]) {
        const bad = await app.inject({ url: `/api/reports/sequences/extras?${field}=${encodeURIComponent(value!)}`, headers });
        expect(bad.statusCode, `${field}=${value}`).toBe(400);
        expect(bad.json<{ message: string }>().message).toContain(field!);
      }
    } finally {
      await app.close();
    }
  });

  it('prints the pooled row, the capped table and the days on the terminal, and refuses a bad flag', async () => {
    const env = { DATABASE_URL: database.url! };
    const out = await campaignInProcess(['report', '--as-of', AS_OF.toISOString(), '--winsorize', '90', '--mde', '20'], env);
    expect(out.code, out.stderr).toBe(0);
    expect(out.stdout).toContain('any email vs holdout');
    expect(out.stdout).toContain("each customer's revenue capped at $51.00, the 90th percentile");
    expect(out.stdout).toMatch(/to detect \$20\.00/);
    expect(out.stdout).toContain('279 more days');
    const bad = await campaignInProcess(['report', '--as-of', AS_OF.toISOString(), '--winsorize', '101'], env);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('--winsorize: expected a percentile from 50 to 99.99');
  });
});
