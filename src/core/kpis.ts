/**
 * The offer KPIs of an upsell/cross-sell experiment, pure: from each arm's moments (counts,
 * sums, sums of squares and cross-products, computed by the database in
 * src/analytics/kpis.ts) to the figures of each arm and to the differences between two arms
 * with their 95% intervals.
 *
 * The unit is the measured customer, as everywhere in the comparisons: arms are randomised by
 * customer, so a ratio over orders (order value, items per order) is a ratio of per-customer
 * sums, mean(X) / mean(Y), and its interval comes from the delta method (./ratio.ts), not
 * from treating one customer's orders as independent.
 *
 * - acceptance: the share of measured customers who bought, within the window, a product
 *   they were offered (cross-sell, upsell, either); two proportions.
 * - recommended revenue: revenue from offered products bought in the window, per customer;
 *   Welch.
 * - order value (AOV), items per order, value of orders with an offered product: delta-method
 *   ratios.
 * - repeat rate: the share of customers with another order within the repeat horizon (90
 *   days by default) after enrolling, over those whose horizon has closed; two proportions.
 */
import { ratioDifference, ratioEstimate, type RatioDifference, type RatioSums } from './ratio.ts';
import { PLANNED_CUSTOMERS, sequentialDifference, type SequentialVerdict } from './sequential.ts';
import { combine, twoProportions, welch, type ProportionResult, type Sample, type WelchResult } from './stats.ts';

/** The repeat horizon by default: another order within 90 days of enrolling. */
export const REPEAT_HORIZON_DAYS = 90;

/** What the database reduces one arm to. */
export interface KpiMoments {
  arm: string;
  /** Measured customers (window closed). */
  n: number;
  /** Measured customers who bought an offered cross-sell, upsell, either. */
  accepted: { crossSell: number; upsell: number; any: number };
  /** Per customer: revenue from offered products bought in the window; its total beside the moments. */
  recommendedRevenue: Sample & { total: number };
  /** X = net revenue in the window, Y = orders in the window, per customer. */
  orderValue: RatioSums;
  /** X = items (quantities) in the window's orders, Y = orders, per customer. */
  itemsPerOrder: RatioSums;
  /** X = net revenue of the window's orders with an offered product, Y = such orders, per customer. */
  offerOrderValue: RatioSums;
  /** Customers whose repeat horizon has closed (all enrolled, not only measured), and those who ordered again within it. */
  repeat: { n: number; repeated: number };
}

/** Several arms' moments as one arm's (every variant pooled against the holdout): the sums add, the means and variances combine exactly. */
export function poolMoments(arm: string, list: readonly KpiMoments[]): KpiMoments {
  const measured = list.filter((m) => m.n > 0);
  if (measured.length === 0) return emptyMoments(arm);
  const add = (pick: (m: KpiMoments) => RatioSums): RatioSums => {
    const sums = measured.map(pick);
    const total = (key: keyof RatioSums) => sums.reduce((s, r) => s + r[key], 0);
    return { n: total('n'), sumX: total('sumX'), sumY: total('sumY'), sumXX: total('sumXX'), sumYY: total('sumYY'), sumXY: total('sumXY') };
  };
  const count = (pick: (m: KpiMoments) => number) => measured.reduce((s, m) => s + pick(m), 0);
  const revenue = combine(measured.map((m) => ({ ...m.recommendedRevenue, covariateMean: 0, covariateVariance: 0, covariance: 0 })));
  return {
    arm,
    n: count((m) => m.n),
    accepted: { crossSell: count((m) => m.accepted.crossSell), upsell: count((m) => m.accepted.upsell), any: count((m) => m.accepted.any) },
    recommendedRevenue: { n: revenue.n, mean: revenue.mean, variance: revenue.variance, total: count((m) => m.recommendedRevenue.total) },
    orderValue: add((m) => m.orderValue),
    itemsPerOrder: add((m) => m.itemsPerOrder),
    offerOrderValue: add((m) => m.offerOrderValue),
    repeat: { n: list.reduce((s, m) => s + m.repeat.n, 0), repeated: list.reduce((s, m) => s + m.repeat.repeated, 0) },
  };
}

/** The moments of an arm with no customer. */
export function emptyMoments(arm: string): KpiMoments {
  const sums: RatioSums = { n: 0, sumX: 0, sumY: 0, sumXX: 0, sumYY: 0, sumXY: 0 };
  return {
    arm,
    n: 0,
    accepted: { crossSell: 0, upsell: 0, any: 0 },
    recommendedRevenue: { n: 0, mean: NaN, variance: NaN, total: 0 },
    orderValue: sums,
    itemsPerOrder: sums,
    offerOrderValue: sums,
    repeat: { n: 0, repeated: 0 },
  };
}

export interface AcceptanceRate {
  /** Measured customers. */
  customers: number;
  /** Of them, those who bought a product offered to them. */
  accepted: number;
  /** accepted / customers; null with no customer. */
  rate: number | null;
}

export interface RatioKpi {
  /** Measured customers: the units the standard error is over. */
  customers: number;
  /** The denominator: orders. */
  orders: number;
  /** The ratio; null when there is no order. */
  value: number | null;
  /** Its delta-method standard error; null under two customers or no order. */
  standardError: number | null;
}

export interface ArmKpis {
  acceptance: { crossSell: AcceptanceRate; upsell: AcceptanceRate; any: AcceptanceRate };
  recommendedRevenue: { customers: number; total: number; perCustomer: number | null };
  /** Net revenue / orders, over every order in the window. */
  aov: RatioKpi & { revenue: number };
  /** Items (quantities) / orders. */
  itemsPerOrder: RatioKpi & { items: number };
  /** Net revenue / orders, over the window's orders that contain an offered product. */
  offerOrderValue: RatioKpi & { revenue: number };
  repeatRate: { horizonDays: number; customers: number; repeated: number; rate: number | null };
}

const orNull = (value: number): number | null => (Number.isFinite(value) ? value : null);
/** Sums of money to 4 decimals, as stored (means and ratios stay unrounded, like the report's other estimates). */
const money = (value: number): number => Math.round(value * 10_000) / 10_000;

function rate(customers: number, accepted: number): AcceptanceRate {
  return { customers, accepted, rate: customers > 0 ? accepted / customers : null };
}

function ratio(s: RatioSums): RatioKpi {
  const r = ratioEstimate(s);
  return {
    customers: s.n,
    orders: s.sumY,
    value: s.n > 0 ? orNull(r.ratio) : null,
    standardError: s.n > 0 ? orNull(r.standardError) : null,
  };
}

/** One arm's KPIs from its moments. */
export function armKpis(m: KpiMoments, horizonDays = REPEAT_HORIZON_DAYS): ArmKpis {
  return {
    acceptance: { crossSell: rate(m.n, m.accepted.crossSell), upsell: rate(m.n, m.accepted.upsell), any: rate(m.n, m.accepted.any) },
    recommendedRevenue: {
      customers: m.n,
      total: money(m.recommendedRevenue.total),
      perCustomer: m.n > 0 ? orNull(m.recommendedRevenue.mean) : null,
    },
    aov: { ...ratio(m.orderValue), revenue: money(m.orderValue.sumX) },
    itemsPerOrder: { ...ratio(m.itemsPerOrder), items: m.itemsPerOrder.sumX },
    offerOrderValue: { ...ratio(m.offerOrderValue), revenue: money(m.offerOrderValue.sumX) },
    repeatRate: {
      horizonDays,
      customers: m.repeat.n,
      repeated: m.repeat.repeated,
      rate: m.repeat.n > 0 ? m.repeat.repeated / m.repeat.n : null,
    },
  };
}

/** The always-valid 95% confidence sequence of a KPI difference, and what it says alone (the one to read when looking daily). */
export interface KpiSequential {
  sequential: { interval: [number, number]; verdict: SequentialVerdict };
}

/** A difference of two shares: each arm's share, then the two-proportion test (unpooled interval). */
export type ProportionKpiDifference = { arm: number; baseline: number } & ProportionResult & KpiSequential;

/** A difference of two delta-method ratios; `z` null when it is not a number (no spread, no data). */
export type RatioKpiDifference = { arm: number; baseline: number } & Omit<RatioDifference, 'z'> & { z: number | null } & KpiSequential;

/** A difference of two means (Welch); `t` null when it is not a number. */
export type MeanKpiDifference = { arm: number; baseline: number } & Omit<WelchResult, 't'> & { t: number | null } & KpiSequential;

/** The confidence sequence of a difference with its standard error over `n` customers (both arms). */
function always(difference: number, standardError: number, n: number): KpiSequential {
  const s = sequentialDifference(difference, standardError, n, { plannedN: PLANNED_CUSTOMERS });
  return { sequential: { interval: s.interval, verdict: s.verdict } };
}

/** The offer KPIs of one arm against a baseline, each with its 95% interval. */
export interface KpiComparison {
  acceptance: { crossSell: ProportionKpiDifference; upsell: ProportionKpiDifference; any: ProportionKpiDifference };
  /** Recommended revenue per measured customer. */
  recommendedRevenue: MeanKpiDifference;
  aov: RatioKpiDifference;
  itemsPerOrder: RatioKpiDifference;
  offerOrderValue: RatioKpiDifference;
  repeatRate: ProportionKpiDifference;
}

function proportions(a: { n: number; successes: number }, b: { n: number; successes: number }, level: number): ProportionKpiDifference {
  const result = twoProportions(a, b, level);
  return { arm: a.successes / a.n, baseline: b.successes / b.n, ...result, ...always(result.difference, result.standardError, a.n + b.n) };
}

function ratios(a: RatioSums, b: RatioSums, level: number): RatioKpiDifference {
  const result = ratioDifference(a, b, level);
  return {
    arm: ratioEstimate(a).ratio,
    baseline: ratioEstimate(b).ratio,
    ...result,
    z: orNull(result.z),
    ...always(result.difference, result.standardError, a.n + b.n),
  };
}

/**
 * The offer KPIs of `arm` against `baseline`. An arm with no measured customer gives NaN
 * (null in the JSON) rather than a difference against an invented 0.
 */
export function compareKpis(arm: KpiMoments, baseline: KpiMoments, level = 0.95): KpiComparison {
  const accepted = (m: KpiMoments, kind: keyof KpiMoments['accepted']) => ({ n: m.n, successes: m.accepted[kind] });
  const revenue = welch(arm.recommendedRevenue, baseline.recommendedRevenue, level);
  return {
    acceptance: {
      crossSell: proportions(accepted(arm, 'crossSell'), accepted(baseline, 'crossSell'), level),
      upsell: proportions(accepted(arm, 'upsell'), accepted(baseline, 'upsell'), level),
      any: proportions(accepted(arm, 'any'), accepted(baseline, 'any'), level),
    },
    recommendedRevenue: {
      arm: arm.n > 0 ? arm.recommendedRevenue.mean : NaN,
      baseline: baseline.n > 0 ? baseline.recommendedRevenue.mean : NaN,
      ...revenue,
      t: orNull(revenue.t),
      ...always(revenue.difference, revenue.standardError, arm.recommendedRevenue.n + baseline.recommendedRevenue.n),
    },
    aov: ratios(arm.orderValue, baseline.orderValue, level),
    itemsPerOrder: ratios(arm.itemsPerOrder, baseline.itemsPerOrder, level),
    offerOrderValue: ratios(arm.offerOrderValue, baseline.offerOrderValue, level),
    repeatRate: proportions(
      { n: arm.repeat.n, successes: arm.repeat.repeated },
      { n: baseline.repeat.n, successes: baseline.repeat.repeated },
      level,
    ),
  };
}

/**
 * Several arms' KPIs as one (the overview's treated arms together): acceptance over all
 * their customers, order value as their revenue over their orders. Point figures only.
 */
export function pooledKpis(arms: readonly ArmKpis[]): { acceptanceAny: number | null; aov: number | null; customers: number } {
  const customers = arms.reduce((s, a) => s + a.acceptance.any.customers, 0);
  const accepted = arms.reduce((s, a) => s + a.acceptance.any.accepted, 0);
  const revenue = arms.reduce((s, a) => s + a.aov.revenue, 0);
  const orders = arms.reduce((s, a) => s + a.aov.orders, 0);
  return { acceptanceAny: customers > 0 ? accepted / customers : null, aov: orders > 0 ? revenue / orders : null, customers };
}
