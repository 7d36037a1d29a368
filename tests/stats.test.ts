import { describe, expect, it } from 'vitest';
import { compareArms, decideVersion, srmCheck, SRM_VERDICT, type ArmOutcome } from '../src/core/experiment.ts';
import { combine, cuped, meanInterval, summarize, summarizePaired, twoProportions, welch } from '../src/core/stats.ts';

/** Equal to 6 significant digits. */
function expectClose(actual: number, expected: number): void {
  expect(Math.abs(actual - expected)).toBeLessThanOrEqual(Math.abs(expected) * 5e-7 + 1e-15);
}

describe('reference values', () => {
  it("one arm's mean: the t interval equals SciPy's", () => {
    // SciPy 1.17.1:
    //   lo, hi = scipy.stats.t.interval(0.95, n - 1, loc=m, scale=numpy.sqrt(v / n))
    //   for (n, m, v) in [(40, 12.5, 90.25), (3, 1.0, 4.0), (1200, 31.7, 2500.0)]
    const cases: [number, number, number, number, number][] = [
      [40, 12.5, 90.25, 9.461752602817604, 15.538247397182396],
      [3, 1.0, 4.0, -3.9682754235006596, 5.96827542350066],
      [1200, 31.7, 2500.0, 28.868177050196866, 34.53182294980313],
    ];
    for (const [n, mean, variance, low, high] of cases) {
      const interval = meanInterval({ n, mean, variance })!;
      expectClose(interval[0], low);
      expectClose(interval[1], high);
    }
    expect(meanInterval({ n: 1, mean: 5, variance: NaN })).toBeNull();
    expect(meanInterval({ n: 0, mean: NaN, variance: NaN })).toBeNull();
  });

  // Computed with SciPy 1.17.1 (NumPy 2.4.6):
  //   r = scipy.stats.ttest_ind(a, b, equal_var=False)
  //   r.statistic, r.pvalue, r.df, r.confidence_interval(0.95), r.confidence_interval(0.90)
  const a = [19.1, 22.3, 27.8, 14.2, 0, 35.5, 18.0, 21.4, 0, 25.9];
  const b = [12.0, 0, 15.5, 9.9, 20.1, 0, 11.3, 14.8];

  it("Welch's t-test, its interval and p-value", () => {
    const r = welch(summarize(a), summarize(b));
    expectClose(r.t, 1.8156352582311923);
    expectClose(r.pValue, 0.08904703908080223);
    expectClose(r.degreesOfFreedom, 15.320771360469605);
    expectClose(r.interval[0], -1.369280738591332);
    expectClose(r.interval[1], 17.309280738591337);
    const r90 = welch(summarize(a), summarize(b), 0.9);
    expectClose(r90.interval[0], 0.285291848002986);
    expectClose(r90.interval[1], 15.654708151997017);
  });

  it('the two-proportion test, its interval and p-value', () => {
    // 48 of 200 against 31 of 210. SciPy 1.17.1:
    //   chi2, p, _, _ = scipy.stats.chi2_contingency([[48, 152], [31, 179]], correction=False)
    //   z = sqrt(chi2); the Wald interval with scipy.stats.norm.ppf(0.975)
    // (the same figures as R's prop.test(c(48, 31), c(200, 210), correct = FALSE)).
    const r = twoProportions({ n: 200, successes: 48 }, { n: 210, successes: 31 });
    expectClose(r.z, 2.370671977838846);
    expectClose(r.z ** 2, 5.620085626510345);
    expectClose(r.pValue, 0.017755781367775073);
    expectClose(r.interval[0], 0.01618952727185549);
    expectClose(r.interval[1], 0.16857237749004925);
  });

  it('moments combined from arms equal the moments of the values pooled', () => {
    const [ya, xa, yb, xb] = [a, a.map((v) => v * 0.7 + 3), b, b.map((v, i) => v * 0.2 + i)];
    const pooled = combine([summarizePaired(ya, xa), summarizePaired(yb, xb)]);
    const direct = summarizePaired([...ya, ...yb], [...xa, ...xb]);
    for (const key of ['n', 'mean', 'variance', 'covariateMean', 'covariateVariance', 'covariance'] as const)
      expectClose(pooled[key], direct[key]);
  });

  it('CUPED from moments equals Welch on the adjusted values', () => {
    const xa = a.map((v, i) => v * 0.8 + (i % 3) * 4);
    const xb = b.map((v, i) => v * 0.9 + (i % 2) * 5);
    const result = cuped(summarizePaired(a, xa), summarizePaired(b, xb));
    const all = summarizePaired([...a, ...b], [...xa, ...xb]);
    const theta = all.covariance / all.covariateVariance;
    expectClose(result.theta, theta);
    const adjust = (y: number[], x: number[]) => y.map((v, i) => v - theta * (x[i]! - all.covariateMean));
    const direct = welch(summarize(adjust(a, xa)), summarize(adjust(b, xb)));
    expectClose(result.difference, direct.difference);
    expectClose(result.interval[0], direct.interval[0]);
    expectClose(result.interval[1], direct.interval[1]);
    expectClose(result.pValue, direct.pValue);
    expect(result.varianceReduction).toBeGreaterThan(0.5);
  });

  it('no spread at all gives an exact difference, not NaN', () => {
    const r = welch({ n: 10, mean: 0, variance: 0 }, { n: 12, mean: 0, variance: 0 });
    expect(r.pValue).toBe(1);
    expect(r.interval).toEqual([0, 0]);
  });
});

/** A seeded generator, so the simulation is the same on every run. */
function mulberry32(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('a simulated experiment with a planted effect', () => {
  // Each customer spent x before enrolling (60% spent something, exponential with mean 120);
  // in the window they spend 0.4·x·U(0.5, 1.5) out of habit, and buy once more with
  // probability p (value exponential with mean 60). The emails only move p:
  const P = { holdout: 0.1, a: 0.14, b: 0.17 };
  const VALUE = 60;
  const truth = { bOverA: (P.b - P.a) * VALUE, aOverHoldout: (P.a - P.holdout) * VALUE };
  const N = { a: 1500, b: 1500, holdout: 600 };
  const RUNS = 600;

  function simulateArm(random: () => number, arm: keyof typeof P, n: number): ArmOutcome {
    const y: number[] = [];
    const x: number[] = [];
    let converted = 0;
    for (let i = 0; i < n; i++) {
      const before = random() < 0.6 ? -Math.log(1 - random()) * 120 : 0;
      const habit = 0.4 * before * (0.5 + random());
      const bought = random() < P[arm];
      const extra = bought ? -Math.log(1 - random()) * VALUE : 0;
      if (habit > 0 || bought) converted++;
      x.push(before);
      y.push(habit + extra);
    }
    return { arm, converted, ...summarizePaired(y, x) };
  }

  it('the intervals cover the truth in about 95% of runs, and CUPED narrows them', () => {
    const random = mulberry32(20261122);
    const covered = { variant: 0, variantCuped: 0, incremental: 0, incrementalCuped: 0 };
    let narrower = 0;
    let widthRatio = 0;
    for (let run = 0; run < RUNS; run++) {
      const arms = {
        a: simulateArm(random, 'a', N.a),
        b: simulateArm(random, 'b', N.b),
        holdout: simulateArm(random, 'holdout', N.holdout),
      };
      const variant = compareArms(arms.b, arms.a, { against: 'control', minSample: 100 });
      const incremental = compareArms(arms.a, arms.holdout, { against: 'holdout', minSample: 100 });
      const inside = ([low, high]: [number, number], value: number) => low <= value && value <= high;
      if (inside(variant.revenuePerCustomer.interval, truth.bOverA)) covered.variant++;
      if (inside(variant.cuped.interval, truth.bOverA)) covered.variantCuped++;
      if (inside(incremental.incrementalRevenue!.interval, truth.aOverHoldout * N.a)) covered.incremental++;
      if (inside(incremental.incrementalRevenue!.cuped.interval, truth.aOverHoldout * N.a)) covered.incrementalCuped++;
      const width = (i: [number, number]) => i[1] - i[0];
      if (width(variant.cuped.interval) < width(variant.revenuePerCustomer.interval)) narrower++;
      widthRatio += width(variant.cuped.interval) / width(variant.revenuePerCustomer.interval) / RUNS;
    }
    // 600 runs: a true 95% lands within ±2.2 points (two standard errors) nearly always.
    for (const [name, count] of Object.entries(covered)) {
      expect(count / RUNS, name).toBeGreaterThan(0.925);
      expect(count / RUNS, name).toBeLessThan(0.975);
    }
    expect(narrower).toBe(RUNS);
    expect(widthRatio).toBeLessThan(0.8);
  });

  it('names no winner under the minimum sample', () => {
    const random = mulberry32(7);
    const small = compareArms(simulateArm(random, 'b', 40), simulateArm(random, 'a', 40), { against: 'control', minSample: 100 });
    expect(small.verdict).toBe('not enough data yet');
    const large = compareArms(simulateArm(random, 'b', 20_000), simulateArm(random, 'holdout', 20_000), {
      against: 'holdout',
      minSample: 100,
    });
    expect(large.verdict).toBe('better');
  });
});

describe('the decision of a comparison', () => {
  const arm = (name: string, n: number, mean: number): ArmOutcome => ({
    arm: name,
    n,
    converted: Math.round(n / 3),
    mean,
    variance: 400,
    covariateMean: 50,
    covariateVariance: 900,
    covariance: 100,
  });

  it('an arm with no measured customer is no data: NaN estimates, never a difference against $0', () => {
    const c = compareArms(arm('b', 0, 0), arm('a', 500, 20), { against: 'control', minSample: 100 });
    expect(c.verdict).toBe('no data');
    expect(c.fixedHorizonVerdict).toBe('no data');
    for (const value of [
      c.revenuePerCustomer.arm,
      c.revenuePerCustomer.difference,
      c.cuped.difference,
      c.sequential.interval[0],
      c.mde.absolute,
    ])
      expect(value).toBeNaN();
    expect(JSON.parse(JSON.stringify(c)).revenuePerCustomer.difference).toBeNull();
  });

  it('the verdict reads the confidence sequence, wider than the fixed-horizon interval', () => {
    // A difference the fixed-horizon test calls at once, the always-valid band not yet.
    const c = compareArms(arm('b', 2000, 21.5), arm('a', 2000, 20), { against: 'control', minSample: 100 });
    expect(c.fixedHorizonVerdict).toBe('better');
    expect(c.sequential.interval[0]).toBeLessThan(c.cuped.interval[0]);
    expect(c.verdict).toBe(c.sequential.verdict);
    expect(c.verdict).toBe('no clear difference yet');
  });

  it('a version with a broken split overrules every verdict; guardrails only against the control', () => {
    const comparisons = [
      compareArms(arm('b', 2000, 25), arm('a', 2000, 20), { against: 'control', minSample: 100 }),
      compareArms(arm('b', 2000, 25), arm('holdout', 2000, 20), { against: 'holdout', minSample: 100 }),
    ];
    const counts = new Map([
      ['a', { n: 2000, unsubscribes: 10, complaints: 0, bounces: 20 }],
      ['b', { n: 2000, unsubscribes: 40, complaints: 0, bounces: 20 }],
      ['holdout', { n: 2000, unsubscribes: 0, complaints: 0, bounces: 0 }],
    ]);
    const fine = srmCheck(
      {
        variants: [
          { key: 'a', weight: 1 },
          { key: 'b', weight: 1 },
        ],
        holdout: 1 / 3,
      },
      new Map([
        ['a', 2000],
        ['b', 2000],
        ['holdout', 2000],
      ]),
    );
    expect(fine.flagged).toBe(false);
    const decided = decideVersion(comparisons, counts, fine);
    expect(decided[0]!.verdict).toBe('better');
    expect(decided[0]!.flags).toEqual(['unsubscribes']);
    expect(decided[1]!.guardrails).toEqual([]);
    const broken = srmCheck(
      {
        variants: [
          { key: 'a', weight: 1 },
          { key: 'b', weight: 1 },
        ],
        holdout: 0,
      },
      new Map([
        ['a', 2400],
        ['b', 1600],
      ]),
    );
    expect(broken.flagged).toBe(true);
    expect(decideVersion(comparisons, counts, broken).map((c) => c.verdict)).toEqual([SRM_VERDICT, SRM_VERDICT]);
  });
});
