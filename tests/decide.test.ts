import { describe, expect, it } from 'vitest';
import { guardrails, quantile, winsorize } from '../src/core/decide.ts';
import { holm } from '../src/core/multiple.ts';
import {
  daysToDetect,
  detectionMultiplier,
  minimumDetectableEffect,
  powerOf,
  proportionMde,
  proportionSampleSizePerArm,
  sampleSizePerArm,
} from '../src/core/power.ts';
import { ratioDifference, ratioEstimate, ratioSums } from '../src/core/ratio.ts';
import {
  confidenceSequenceHalfWidth,
  sequentialMde,
  sequentialMeans,
  sequentialPower,
  sequentialProportions,
  tuningRho,
} from '../src/core/sequential.ts';
import { chiSquareSurvival, logGamma, sampleRatioMismatch } from '../src/core/srm.ts';

// Every reference below was computed with SciPy 1.17.1 and NumPy 2.4.6, by the Python shown
// beside it (with `import numpy as np; from scipy import stats, optimize, special`).

/** Equal to 6 significant digits. */
function expectClose(actual: number, expected: number): void {
  expect(Math.abs(actual - expected)).toBeLessThanOrEqual(Math.abs(expected) * 5e-7 + 1e-15);
}

describe('delta-method ratio (revenue per order over customers)', () => {
  // Revenue and orders per customer, two arms.
  const xa = [54.0, 0, 120.5, 33.2, 78.9, 0, 250.0, 41.1, 66.6, 19.9, 88.8, 140.0];
  const ya = [1, 0, 3, 1, 2, 0, 4, 1, 2, 1, 2, 3];
  const xb = [40.0, 75.5, 0, 22.2, 61.0, 180.3, 35.5, 0, 95.0, 57.7];
  const yb = [1, 2, 0, 1, 1, 4, 1, 0, 2, 2];
  // def delta(x, y):
  //     n = len(x); mx, my = x.mean(), y.mean()
  //     vx, vy = np.var(x, ddof=1), np.var(y, ddof=1); cxy = np.cov(x, y, ddof=1)[0, 1]
  //     return mx / my, (vx / my**2 - 2 * mx * cxy / my**3 + mx**2 * vy / my**4) / n
  // Ra, Va = delta(xa, ya); Rb, Vb = delta(xb, yb)
  // d = Ra - Rb; se = np.sqrt(Va + Vb); q = stats.norm.ppf(0.975)
  // d - q*se, d + q*se, 2*stats.norm.sf(abs(d/se))
  // rel = Ra / Rb - 1; rse = np.sqrt(Va / Rb**2 + Ra**2 * Vb / Rb**4); rel - q*rse, rel + q*rse

  it("one arm's ratio and its variance", () => {
    const a = ratioEstimate(ratioSums(xa, ya));
    expectClose(a.ratio, 44.65);
    expectClose(a.variance, 18.498695454545423);
    const b = ratioEstimate(ratioSums(xb, yb));
    expectClose(b.ratio, 40.51428571428572);
    expectClose(b.variance, 10.676162709982009);
  });

  it('the difference of two arms, its interval and p-value, and the relative difference', () => {
    const r = ratioDifference(ratioSums(xa, ya), ratioSums(xb, yb));
    expectClose(r.difference, 4.135714285714279);
    expectClose(r.standardError, 5.401375580768979);
    expectClose(r.interval[0], -6.450787319567038);
    expectClose(r.interval[1], 14.722215890995596);
    expectClose(r.pValue, 0.4438679388253063);
    expectClose(r.relative!, 0.10208039492242582);
    expectClose(r.relativeStandardError!, 0.1384557319201144);
    expectClose(r.relativeInterval![0], -0.16928785309413114);
    expectClose(r.relativeInterval![1], 0.3734486429389828);
  });

  it('no denominator, no ratio', () => {
    const r = ratioEstimate(ratioSums([0, 0], [0, 0]));
    expect(r.ratio).toBeNaN();
    expect(ratioDifference(ratioSums([0, 0], [0, 0]), ratioSums(xb, yb)).relative).toBeNull();
    expect(() => ratioSums([1], [1, 2])).toThrow(RangeError);
  });
});

describe("Holm's step-down correction", () => {
  // The standard algorithm (statsmodels' multipletests(method='holm') is not installed here):
  // def holm(p):
  //     p = np.asarray(p, float); m = len(p); o = np.argsort(p, kind='stable')
  //     adj = np.minimum(1, np.maximum.accumulate((m - np.arange(m)) * p[o]))
  //     out = np.empty(m); out[o] = adj; return out
  it('adjusts, keeps the order of the raw p-values and caps at 1', () => {
    // holm([0.01, 0.04, 0.03, 0.005, 0.20, 0.04])
    const adjusted = holm([0.01, 0.04, 0.03, 0.005, 0.2, 0.04]);
    [0.05, 0.12, 0.12, 0.03, 0.2, 0.12].forEach((e, i) => expectClose(adjusted[i]!, e));
    // holm([0.5, 0.001, 0.9])
    const capped = holm([0.5, 0.001, 0.9]);
    [1.0, 0.003, 1.0].forEach((e, i) => expectClose(capped[i]!, e));
  });

  it('leaves a test that could not run out of the count', () => {
    const adjusted = holm([0.5, NaN, 0.001, 0.9]);
    expect(adjusted[1]).toBeNaN();
    expectClose(adjusted[2]!, 0.003);
    expect(holm([])).toEqual([]);
    expect(() => holm([1.2])).toThrow(RangeError);
  });
});

describe('sample-ratio mismatch', () => {
  it('the chi-square survival function and log-gamma', () => {
    // stats.chi2.sf(x, k); special.gammaln(a)
    const sf: [number, number, number][] = [
      [3.2, 1, 0.07363827012030258],
      [25, 2, 3.7266531720786718e-6],
      [150, 3, 2.6349139284880416e-32],
      [0.5, 5, 0.9921232932326296],
      [12.4, 7, 0.088148478353217],
      [400, 4, 2.781632018740826e-85],
      [0.01, 1, 0.920344325445942],
      [59.5, 60, 0.49394533234260535],
    ];
    for (const [x, k, p] of sf) expectClose(chiSquareSurvival(x, k), p);
    expect(chiSquareSurvival(0, 3)).toBe(1);
    const lg: [number, number][] = [
      [0.5, 0.5723649429247],
      [3.5, 1.2009736023470743],
      [10, 12.801827480081469],
      [123.25, 468.6144829505166],
    ];
    for (const [a, v] of lg) expectClose(logGamma(a), v);
    expect(Math.abs(logGamma(1))).toBeLessThan(1e-14);
  });

  // obs = np.array(obs, float); w = np.array(w, float); fexp = obs.sum() * w / w.sum()
  // res = stats.chisquare(obs, fexp); res.statistic, res.pvalue
  it('counts in the planned proportions: no mismatch', () => {
    // obs = [5123, 4987, 1046], w = [45, 45, 10]
    const r = sampleRatioMismatch([
      { arm: 'a', observed: 5123, weight: 45 },
      { arm: 'b', observed: 4987, weight: 45 },
      { arm: 'holdout', observed: 1046, weight: 10 },
    ]);
    expectClose(r.chiSquare, 6.666826022867609);
    expectClose(r.pValue, 0.03567115102446322);
    expect(r.degreesOfFreedom).toBe(2);
    expect(r.mismatch).toBe(false);
    expectClose(r.arms[2]!.expected, 1115.6);
    // obs = [10102, 9898], w = [1, 1]
    const two = sampleRatioMismatch([
      { arm: 'a', observed: 10102, weight: 0.5 },
      { arm: 'b', observed: 9898, weight: 0.5 },
    ]);
    expectClose(two.chiSquare, 2.0808);
    expectClose(two.pValue, 0.14916198229905392);
  });

  it('a mismatch is flagged below p = 0.001', () => {
    // obs = [5300, 4800, 1000], w = [45, 45, 10]
    const r = sampleRatioMismatch([
      { arm: 'a', observed: 5300, weight: 45 },
      { arm: 'b', observed: 4800, weight: 45 },
      { arm: 'holdout', observed: 1000, weight: 10 },
    ]);
    expectClose(r.chiSquare, 37.13713713713713);
    expectClose(r.pValue, 8.625278639096899e-9);
    expect(r.mismatch).toBe(true);
    const unplanned = sampleRatioMismatch([
      { arm: 'a', observed: 500, weight: 1 },
      { arm: 'retired', observed: 3, weight: 0 },
    ]);
    expect(unplanned.mismatch).toBe(true);
  });
});

describe('power, minimum detectable effect, sample size', () => {
  // z = lambda a=0.05, p=0.8: stats.norm.ppf(1 - a/2) + stats.norm.ppf(p)
  it('the MDE of a difference of means', () => {
    // z() * np.sqrt(2500/1200 + 2300/1150); z(0.1, 0.9) * np.sqrt(2500/1200 + 2300/1150)
    const m = minimumDetectableEffect({ n: 1200, variance: 2500 }, { n: 1150, variance: 2300, mean: 40 });
    expectClose(m.absolute, 5.661235929423196);
    expectClose(m.relative!, 5.661235929423196 / 40);
    expectClose(
      minimumDetectableEffect({ n: 1200, variance: 2500 }, { n: 1150, variance: 2300 }, { alpha: 0.1, power: 0.9 }).absolute,
      5.913462889759341,
    );
    // z() = 2.8015852181129683
    expectClose(detectionMultiplier(), 2.8015852181129683);
  });

  it('customers per arm for an effect', () => {
    // z()**2 * 2 * 2400 / 5**2 = 1506.984908995025; z()**2 * (2500 + 2300) / 5**2 (the same);
    // z(0.01, 0.9)**2 * 2 * 2400 / 5**2 = 2856.842336495718
    expect(sampleSizePerArm(5, 2400)).toBe(1507);
    expect(sampleSizePerArm(-5, [2500, 2300])).toBe(1507);
    expect(sampleSizePerArm(5, 2400, { alpha: 0.01, power: 0.9 })).toBe(2857);
    expect(sampleSizePerArm(0, 2400)).toBe(Infinity);
  });

  it('proportions: customers per arm from a baseline rate, and the MDE', () => {
    // def pn(p1, e, a=0.05, pw=0.8):
    //     p2 = p1 + e; m = (p1 + p2) / 2
    //     return (stats.norm.ppf(1-a/2)*np.sqrt(2*m*(1-m)) + stats.norm.ppf(pw)*np.sqrt(p1*(1-p1)+p2*(1-p2)))**2 / e**2
    // pn(0.1, 0.02) = 3840.847482436272; pn(0.03, -0.005) = 16791.499206643333
    expect(proportionSampleSizePerArm(0.1, 0.02)).toBe(3841);
    expect(proportionSampleSizePerArm(0.03, -0.005)).toBe(16792);
    // optimize.brentq(lambda e: pn(0.1, e) - 3000, 1e-6, 0.9, xtol=1e-15, rtol=1e-15)
    const m = proportionMde(0.1, 3000)!;
    expectClose(m.absolute, 0.022752445241414766);
    expectClose(m.relative, 0.22752445241414765); // e / 0.1
    expect(proportionMde(0.1, 3)).toBeNull();
  });

  it('the power of a given effect', () => {
    // def power(d, s, a=0.05):
    //     zz = stats.norm.ppf(1-a/2); return stats.norm.cdf(abs(d)/s - zz) + stats.norm.cdf(-abs(d)/s - zz)
    // power(5, 2), power(-1, 2, 0.1)
    expectClose(powerOf(5, 2), 0.7054180011138003);
    expectClose(powerOf(-1, 2, 0.1), 0.14211717416200878);
  });

  it('days to detect at the current enrollment', () => {
    // f = lambda t: z() * np.sqrt(2500/(800 + 40*t) + 2300/(790 + 41*t)) - 5
    // optimize.brentq(f, 0, 1000, xtol=1e-14, rtol=1e-15) = 17.584010675691086
    const a = { n: 800, variance: 2500, perDay: 40 };
    const b = { n: 790, variance: 2300, perDay: 41 };
    const r = daysToDetect(a, b, 5);
    expect(Math.abs(r.days - 17.584010675691086)).toBeLessThan(1e-8);
    expect(r.wholeDays).toBe(18);
    // Customers by then: ceil(800 + 40 t) + ceil(790 + 41 t) at SciPy's t = 1504 + 1511.
    expect(r.customers).toBe(3015);
    expect(daysToDetect({ ...a, n: 100_000 }, { ...b, n: 100_000 }, 5)).toEqual({ days: 0, wholeDays: 0, customers: 200_000 });
    expect(daysToDetect({ ...a, perDay: 0 }, b, 5).days).toBe(Infinity);
    expect(daysToDetect({ ...a, perDay: 0 }, b, 5).customers).toBe(Infinity);
  });
});

describe('always-valid confidence sequences', () => {
  // def rho(nstar, a): l = -2*np.log(a); return np.sqrt((l + np.log(l + 1)) / nstar)
  // def hw(se, n, a, rh): return se*np.sqrt(n)*np.sqrt(2*(n*rh**2+1)/(n**2*rh**2) * np.log(np.sqrt(n*rh**2+1)/a))
  it('the tuning and the half-width', () => {
    // rho(10000, 0.05), rho(2500, 0.1)
    expectClose(tuningRho(10_000, 0.05), 0.02817118137696317);
    expectClose(tuningRho(2500, 0.1), 0.05031444963545258);
    // hw(1.3, 4000, 0.05, rho(10000, 0.05)), hw(0.02, 900, 0.1, rho(2500, 0.1))
    expectClose(confidenceSequenceHalfWidth(1.3, 4000, 0.05, tuningRho(10_000, 0.05)), 4.060912819177148);
    expectClose(confidenceSequenceHalfWidth(0.02, 900, 0.1, tuningRho(2500, 0.1)), 0.05774044813736642);
  });

  it('the power of a look and the smallest difference it finds', () => {
    // h = hw(4.0, 1600, 0.05, rho(10000, 0.05)) = 13.95717370672738
    // stats.norm.cdf((20 - h)/4.0) + stats.norm.cdf((-20 - h)/4.0); the same for 9
    expectClose(sequentialPower(20, 4, 1600, { plannedN: 10_000 }), 0.9345683865394919);
    expectClose(sequentialPower(-9, 4, 1600, { plannedN: 10_000 }), 0.10761843082639394);
    // h + stats.norm.ppf(0.8)*4.0; hw(0.5, 300, 0.1, rho(2500, 0.1)) + stats.norm.ppf(0.9)*0.5
    expectClose(sequentialMde(4, 1600, { plannedN: 10_000 }), 17.323658641019037);
    expectClose(sequentialMde(0.5, 300, { plannedN: 2500, alpha: 0.1, power: 0.9 }), 2.3712276541679067);
    // At its own MDE a look has (very nearly) the power asked for.
    expect(sequentialPower(sequentialMde(4, 1600, { plannedN: 10_000 }), 4, 1600, { plannedN: 10_000 })).toBeCloseTo(0.8, 6);
  });

  it('a difference of means, wider than the fixed-horizon interval', () => {
    // se = np.sqrt(2890/2100 + 2710/2050); h = hw(se, 4150, 0.05, rho(8000, 0.05)); 3.5 - h, 3.5 + h
    const r = sequentialMeans({ n: 2100, mean: 31.4, variance: 2890 }, { n: 2050, mean: 27.9, variance: 2710 }, { plannedN: 8000 });
    expectClose(r.difference, 3.5);
    expectClose(r.standardError, 1.6426021111951217);
    expectClose(r.interval[0], -1.5564137068460413);
    expectClose(r.interval[1], 8.55641370684604);
    expect(r.verdict).toBe('no clear difference yet');
    // The fixed-horizon 95% interval (±1.96 se) excludes 0 here; the sequence does not.
    expect(3.5 - 1.96 * r.standardError).toBeGreaterThan(0);
  });

  it('a difference of proportions, and the verdicts', () => {
    // pa, pb = 260/2100, 205/2050; se = np.sqrt(pa*(1-pa)/2100 + pb*(1-pb)/2050); h = hw(se, 4150, 0.05, rho(8000, 0.05))
    const r = sequentialProportions({ n: 2100, successes: 260 }, { n: 2050, successes: 205 }, { plannedN: 8000 });
    expectClose(r.difference, 0.023809523809523808);
    expectClose(r.standardError, 0.00977547581535408);
    expectClose(r.interval[0], -0.006282273569048286);
    expectClose(r.interval[1], 0.0539013211880959);
    expect(sequentialProportions({ n: 20_000, successes: 2600 }, { n: 20_000, successes: 2000 }, { plannedN: 8000 }).verdict).toBe(
      'better',
    );
    expect(sequentialProportions({ n: 20_000, successes: 2000 }, { n: 20_000, successes: 2600 }, { plannedN: 8000 }).verdict).toBe('worse');
    expect(sequentialMeans({ n: 1, mean: 5, variance: 0 }, { n: 1, mean: 1, variance: 0 }, { plannedN: 100 }).verdict).toBe(
      'no clear difference yet',
    );
  });
});

describe('winsorising at a pooled percentile', () => {
  const wa = [0, 0, 12.5, 40, 55.2, 0, 980, 33.3, 61, 0, 18.75, 2400, 47];
  const wb = [0, 22, 35.5, 0, 0, 76.4, 150, 5000, 29.9, 44];
  // cap = np.percentile(np.concatenate([wa, wb]), q, method='linear')
  // ca, cb = np.minimum(wa, cap), np.minimum(wb, cap)
  // cap, ca.mean(), np.var(ca, ddof=1), cb.mean(), np.var(cb, ddof=1)
  it('caps at the 99th percentile of all arms', () => {
    const r = winsorize({ a: wa, b: wb });
    expectClose(r.cap, 4428.000000000003);
    expectClose(r.samples.a.mean, 280.59615384615387);
    expectClose(r.samples.a.variance, 475754.0935256411);
    expectClose(r.samples.b.mean, 478.5800000000002);
    expectClose(r.samples.b.variance, 1927745.228444447);
    expect(r.capped).toEqual({ a: 0, b: 1 });
    expect(r.samples.b.n).toBe(10);
  });

  it('caps at the 90th percentile', () => {
    const r = winsorize({ a: wa, b: wb }, 0.9);
    expectClose(r.cap, 814.0000000000006);
    expectClose(r.samples.a.mean, 145.82692307692315);
    expectClose(r.samples.a.variance, 88411.1960897437);
    expectClose(r.samples.b.mean, 117.18000000000006);
    expectClose(r.samples.b.variance, 62021.74400000009);
    expect(r.capped).toEqual({ a: 2, b: 1 });
  });

  it('quantiles at the ends', () => {
    expect(quantile([3, 1, 2], 0)).toBe(1);
    expect(quantile([3, 1, 2], 1)).toBe(3);
    expect(quantile([3, 1, 2], 0.5)).toBe(2);
    expect(quantile([], 0.5)).toBeNaN();
  });
});

describe('guardrails', () => {
  // for ea, na, eb, nb in guardrails:
  //     p1, p2 = ea/na, eb/nb; pp = (ea+eb)/(na+nb); z = (p1-p2)/np.sqrt(pp*(1-pp)*(1/na+1/nb))
  //     p = stats.norm.sf(z)
  // then holm(ps) as above
  it('one-sided for worse, Holm across the guardrails', () => {
    const r = guardrails([
      { name: 'unsubscribe', variant: { n: 4000, events: 58 }, control: { n: 4100, events: 41 } },
      { name: 'complaint', variant: { n: 4000, events: 18 }, control: { n: 4100, events: 4 } },
      { name: 'bounce', variant: { n: 4000, events: 80 }, control: { n: 4100, events: 85 } },
    ]);
    const expected = [
      { z: 1.842838236561068, p: 0.03267631612084613, adjusted: 0.06535263224169226, worse: false },
      { z: 3.0470891377820477, p: 0.0011553458816809296, adjusted: 0.0034660376450427887, worse: true },
      { z: -0.23307000946831574, p: 0.5921464786895203, adjusted: 0.5921464786895203, worse: false },
    ];
    expected.forEach((e, i) => {
      expectClose(r[i]!.z, e.z);
      expectClose(r[i]!.pValue, e.p);
      expectClose(r[i]!.adjustedPValue, e.adjusted);
      expect(r[i]!.worse).toBe(e.worse);
    });
    // Unsubscribes alone are below 0.05 unadjusted: the correction is what keeps them unflagged.
    expect(r[0]!.pValue).toBeLessThan(0.05);
  });
});
