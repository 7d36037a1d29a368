/**
 * A comparison broken down by segment (src/core/breakdown.ts) against SciPy 1.17: Welch's
 * difference, 95% interval and p-value per cell, and Holm's adjusted p-values across the cells
 * with a test. The data and references come from this script (numpy 2.4, scipy 1.17):
 *
 *   rng = np.random.default_rng(20261206)
 *   for each (dimension, value, arm, n, mu, sd) in the spec: x = np.round(rng.normal(mu, sd, n).clip(0), 2)
 *     spec: (segment,new,control,40,20,30) (segment,new,b,38,26,30) (segment,loyal,control,25,60,50)
 *           (segment,loyal,b,27,90,50) (first,first,control,30,15,20) (first,first,b,33,16,20)
 *           (segment,lapsed,control,1,10,5) (segment,lapsed,b,3,12,5)
 *   t = stats.ttest_ind(b_values, control_values, equal_var=False)          # p-value
 *   df = Welch–Satterthwaite; interval = diff ± stats.t.ppf(0.975, df) * se
 *   Holm: sort the p-values, multiply the i-th smallest by m − i, running maximum, cap at 1
 */
import { describe, expect, it } from 'vitest';
import { breakdown, type CellSample } from '../src/core/breakdown.ts';
import { summarize } from '../src/core/stats.ts';

const DATA: [string, string, string, number[]][] = [
  [
    'segment',
    'new',
    'control',
    [
      0.0, 26.6, 33.55, 13.89, 26.75, 58.43, 32.54, 0.0, 11.91, 0.0, 0.0, 0.0, 27.12, 33.2, 92.79, 96.81, 44.7, 66.58, 1.83, 0.0, 22.13,
      21.48, 50.88, 67.95, 19.52, 33.11, 25.21, 69.76, 0.0, 50.15, 32.08, 0.0, 20.62, 25.65, 0.0, 34.68, 27.94, 1.33, 55.19, 42.21,
    ],
  ],
  [
    'segment',
    'new',
    'b',
    [
      38.97, 0.0, 24.38, 39.05, 43.35, 40.31, 20.44, 0.0, 18.88, 32.6, 0.0, 37.58, 16.41, 10.38, 24.17, 80.47, 20.61, 68.1, 39.99, 18.57,
      12.35, 51.9, 29.29, 64.34, 34.35, 40.55, 10.52, 75.29, 40.03, 0.0, 57.3, 50.48, 68.44, 15.31, 46.41, 90.56, 100.42, 69.63,
    ],
  ],
  [
    'segment',
    'loyal',
    'control',
    [
      79.7, 106.88, 0.0, 26.15, 23.59, 9.01, 91.06, 34.66, 15.59, 86.28, 76.59, 69.57, 135.99, 0.0, 40.05, 0.0, 5.12, 62.27, 72.8, 102.41,
      116.17, 0.0, 64.1, 74.78, 0.0,
    ],
  ],
  [
    'segment',
    'loyal',
    'b',
    [
      101.41, 144.59, 184.14, 64.07, 107.22, 53.38, 58.91, 40.94, 179.91, 70.81, 130.59, 100.65, 63.25, 126.16, 111.44, 98.63, 74.28, 63.97,
      65.66, 48.22, 67.04, 16.48, 39.51, 164.2, 83.35, 55.48, 120.7,
    ],
  ],
  [
    'first',
    'first',
    'control',
    [
      0.0, 24.45, 14.39, 54.87, 5.56, 0.0, 9.29, 21.68, 8.2, 38.06, 16.89, 8.77, 3.56, 47.76, 32.74, 31.41, 21.21, 15.92, 29.5, 0.0, 2.32,
      23.01, 29.16, 24.4, 61.3, 12.29, 46.38, 6.48, 15.07, 11.4,
    ],
  ],
  [
    'first',
    'first',
    'b',
    [
      32.67, 9.93, 19.26, 0.0, 7.74, 34.51, 0.0, 17.34, 54.74, 11.03, 0.0, 25.54, 39.57, 12.96, 0.0, 7.75, 31.85, 18.49, 0.0, 47.12, 38.5,
      21.2, 0.0, 10.0, 42.31, 0.51, 0.0, 56.97, 0.0, 32.27, 0.0, 6.12, 4.81,
    ],
  ],
  ['segment', 'lapsed', 'control', [9.08]],
  ['segment', 'lapsed', 'b', [10.17, 14.25, 8.3]],
];

const SCIPY = [
  {
    dimension: 'segment',
    value: 'new',
    difference: 8.504460526315789,
    interval: [-3.203531062286361, 20.212452114917937],
    p: 0.15208183137405262,
    adjusted: 0.30416366274810525,
  },
  {
    dimension: 'segment',
    value: 'loyal',
    difference: 38.4740148148148,
    interval: [14.463931270255653, 62.484098359373945],
    p: 0.002265301137726417,
    adjusted: 0.006795903413179251,
  },
  {
    dimension: 'first',
    value: 'first',
    difference: -2.863242424242422,
    interval: [-11.521189622486776, 5.794704774001932],
    p: 0.5109117080428772,
    adjusted: 0.5109117080428772,
  },
];

describe('a comparison broken down by segment', () => {
  const order = ['new', 'loyal', 'first', 'lapsed'];
  const cells: CellSample[] = [...DATA]
    .sort((x, y) => order.indexOf(x[1]) - order.indexOf(y[1]))
    .map(([dimension, value, arm, values]) => ({ dimension, value, arm, ...summarize(values) }));
  const rows = breakdown(cells, [{ arm: 'b', baseline: 'control', against: 'control' }]);

  it("equals SciPy's Welch test in each cell and Holm's adjustment across them", () => {
    expect(rows.map((r) => `${r.dimension}/${r.value}`)).toEqual(['segment/new', 'segment/loyal', 'first/first', 'segment/lapsed']);
    for (const [i, want] of SCIPY.entries()) {
      const row = rows[i]!;
      expect(row.difference!).toBeCloseTo(want.difference, 9);
      expect(row.interval![0]).toBeCloseTo(want.interval[0]!, 6);
      expect(row.interval![1]).toBeCloseTo(want.interval[1]!, 6);
      expect(row.pValue!).toBeCloseTo(want.p, 8);
      expect(row.adjustedPValue!).toBeCloseTo(want.adjusted, 8);
      expect(row.exploratory).toBe(true);
    }
    expect(rows.map((r) => r.standsOut)).toEqual([false, true, false, false]);
  });

  it('gives a cell with one customer on a side its difference but no test, outside the family', () => {
    const lapsed = rows[3]!;
    expect(lapsed.n).toEqual({ arm: 3, baseline: 1 });
    expect(lapsed.difference!).toBeCloseTo(1.8266666666666662, 9);
    expect([lapsed.interval, lapsed.pValue, lapsed.adjustedPValue]).toEqual([null, null, null]);
  });
});
