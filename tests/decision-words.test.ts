/** The sequence page's progress line in words, without IO: how far along a comparison is. */
import { describe, expect, it } from 'vitest';
import { moneyFormat } from '../src/analytics/format.ts';
import { compareArms, type ArmOutcome, type Comparison } from '../src/core/experiment.ts';
import { progressWords } from '../src/dashboard/views/decision.tsx';

const money = moneyFormat('USD');
const arm = (name: string, n: number, mean: number, perDay: number): ArmOutcome => ({
  arm: name,
  n,
  converted: Math.round(n / 2),
  mean,
  variance: 400,
  covariateMean: 40,
  covariateVariance: 400,
  covariance: 0,
  perDay,
});
const compare = (a: ArmOutcome, b: ArmOutcome): Comparison => compareArms(a, b, { against: 'control', minSample: 100 });

describe('how far along a comparison is, in words', () => {
  it('counts the customers the effect needs and the days they take at the current rate', () => {
    const c = compare(arm('b', 400, 20.2, 40), arm('a', 400, 20, 40));
    const { days, customersNeeded } = c.daysToDetect;
    expect(days).toBeGreaterThan(0);
    expect(days).toBeLessThan(3 * 365);
    expect(progressWords(c, money)).toBe(
      `800 of ${customersNeeded!.toLocaleString('en-US')} customers needed to detect a 5.0% difference, about ${days!.toLocaleString('en-US')} more days; today it can detect ${money(c.mde.absolute)} per customer (${(c.mde.relative! * 100).toFixed(1)}%).`,
    );
  });

  it('says years, not a count of days, when enrollment is too slow for the effect', () => {
    const c = compare(arm('b', 400, 20.2, 0.01), arm('a', 400, 20, 0.01));
    expect(c.daysToDetect.days).toBeGreaterThan(3 * 365);
    expect(progressWords(c, money)).toMatch(
      /customers needed to detect a 5\.0% difference, more than three years at the current enrollment rate;/,
    );
  });

  it('says what a stopped test can still detect, that a decided one was enough, and when too few are measured', () => {
    const stopped = compare(arm('b', 400, 20.2, 0), arm('a', 400, 20, 0));
    expect(progressWords(stopped, money)).toBe(
      `800 customers measured and no one enrolling lately: the test can detect ${money(stopped.mde.absolute)} per customer (${(stopped.mde.relative! * 100).toFixed(1)}%), not less.`,
    );
    const decided = compare(arm('b', 2000, 30, 10), arm('a', 2000, 20, 10));
    expect(decided.verdict).toBe('better');
    expect(progressWords(decided, money)).toBe('Decided on 4,000 customers measured.');
    expect(progressWords(compare(arm('b', 1, 20, 1), arm('a', 1, 20, 1)), money)).toBe(
      '2 customers measured so far; too few to say how many a 5.0% difference needs.',
    );
  });
});
