/**
 * RFM scores and named segments from customer profiles (the `customer_profiles` table), at
 * a moment. Pure.
 *
 * - **RFM**: recency (days since the last order), frequency (orders) and monetary (spend),
 *   each scored 1 to 5 by the shop's own quintiles among customers who ordered (NumPy's
 *   linear quantiles): 5 is the most recent, most frequent, highest spending fifth.
 * - **Segments**, first rule that holds: `lapsed` (no order for longer than `lapsedDays`),
 *   `at_risk` (longer than `atRiskDays`), `new` (one order), `loyal` (at least `loyalOrders`
 *   orders), else `active`. A customer who never ordered has no segment.
 * - **Thresholds**: `config/segments.yaml` may set each; unset, they come from the shop:
 *   `atRiskDays` is the 75th and `lapsedDays` the 95th percentile of the repeat customers'
 *   typical days between orders (a customer quieter than three in four repeat customers wait
 *   is at risk), `loyalOrders` the 80th percentile of orders among customers who ordered,
 *   and never under 3. A shop with too few repeat customers (under 20) gets 60 and 180 days.
 */
import { z } from 'zod';
import { quantile } from './decide.ts';
import { toUnits } from './money.ts';

const DAY_MS = 86_400_000;

export const SEGMENTS = ['new', 'active', 'loyal', 'at_risk', 'lapsed'] as const;
export type Segment = (typeof SEGMENTS)[number];

/** Repeat customers needed before the shop's own gaps set the day thresholds. */
export const MIN_REPEAT_CUSTOMERS = 20;
/** The day thresholds of a shop with fewer repeat customers than that. */
export const FALLBACK_DAYS = { atRiskDays: 60, lapsedDays: 180 } as const;
export const MIN_LOYAL_ORDERS = 3;

/** What a profile says, as the store reads it. */
export interface ProfileFacts {
  orders: number;
  /** Decimal string, net of refunds. */
  spend: string;
  lastOrderAt: Date | null;
  /** Median days between consecutive orders; null under two orders. */
  typicalGapDays: number | null;
}

/** `config/segments.yaml`: each threshold optional; unset ones come from the shop. */
export const segmentSettingsSchema = z
  .object({
    at_risk_after_days: z.number().positive().optional(),
    lapsed_after_days: z.number().positive().optional(),
    loyal_min_orders: z.number().int().min(2).optional(),
  })
  .strict()
  .refine((s) => s.at_risk_after_days === undefined || s.lapsed_after_days === undefined || s.at_risk_after_days < s.lapsed_after_days, {
    message: 'at_risk_after_days must be less than lapsed_after_days',
    path: ['lapsed_after_days'],
  });
export type SegmentSettings = z.output<typeof segmentSettingsSchema>;

export interface Thresholds {
  atRiskDays: number;
  lapsedDays: number;
  loyalOrders: number;
  /** Where each came from, for people reading them. */
  from: { atRiskDays: 'config' | 'shop' | 'fallback'; lapsedDays: 'config' | 'shop' | 'fallback'; loyalOrders: 'config' | 'shop' };
  /** The quintile cut points (20th, 40th, 60th, 80th percentiles) of recency days, orders and spend. */
  quintiles: { recency: number[]; frequency: number[]; monetary: number[] };
}

const recencyDays = (p: ProfileFacts, now: Date) => (now.getTime() - p.lastOrderAt!.getTime()) / DAY_MS;
const money = (p: ProfileFacts) => Number(toUnits(p.spend)) / 10_000;
const CUTS = [0.2, 0.4, 0.6, 0.8];

/** The thresholds and quintiles of a shop, from all its profiles at `now`, `settings` winning where given. */
export function shopThresholds(profiles: readonly ProfileFacts[], now: Date, settings: SegmentSettings = {}): Thresholds {
  const ordered = profiles.filter((p) => p.orders > 0 && p.lastOrderAt);
  const gaps = ordered.flatMap((p) => (p.typicalGapDays === null ? [] : [p.typicalGapDays]));
  const enough = gaps.length >= MIN_REPEAT_CUSTOMERS;
  const shopDays = enough ? { atRiskDays: quantile(gaps, 0.75), lapsedDays: quantile(gaps, 0.95) } : FALLBACK_DAYS;
  const atRiskDays = settings.at_risk_after_days ?? shopDays.atRiskDays;
  // A configured at-risk threshold past the shop's lapsed one moves the lapsed one with it.
  const lapsedDays = settings.lapsed_after_days ?? Math.max(shopDays.lapsedDays, atRiskDays);
  const orders = ordered.map((p) => p.orders);
  const loyalOrders = settings.loyal_min_orders ?? Math.max(MIN_LOYAL_ORDERS, Math.ceil(orders.length ? quantile(orders, 0.8) : 0));
  const dayFrom = (configured: number | undefined) => (configured !== undefined ? 'config' : enough ? 'shop' : 'fallback');
  return {
    atRiskDays,
    lapsedDays,
    loyalOrders,
    from: {
      atRiskDays: dayFrom(settings.at_risk_after_days),
      lapsedDays: dayFrom(settings.lapsed_after_days),
      loyalOrders: settings.loyal_min_orders !== undefined ? 'config' : 'shop',
    },
    quintiles: {
      recency: CUTS.map((q) =>
        quantile(
          ordered.map((p) => recencyDays(p, now)),
          q,
        ),
      ),
      frequency: CUTS.map((q) => quantile(orders, q)),
      monetary: CUTS.map((q) => quantile(ordered.map(money), q)),
    },
  };
}

/** 1 + how many cut points `value` is above (or, for recency, below): 1 to 5. */
function score(value: number, cuts: readonly number[], lowerIsBetter: boolean): number {
  const passed = cuts.filter((c) => (lowerIsBetter ? value < c : value > c)).length;
  return 1 + passed;
}

export interface CustomerSegment {
  segment: Segment;
  rfm: { r: number; f: number; m: number };
  recencyDays: number;
}

/** The segment and RFM scores of one profile at `now`; undefined for a customer who never ordered. */
export function segmentOf(p: ProfileFacts, thresholds: Thresholds, now: Date): CustomerSegment | undefined {
  if (p.orders === 0 || !p.lastOrderAt) return undefined;
  const days = recencyDays(p, now);
  const { quintiles: q } = thresholds;
  const rfm = { r: score(days, q.recency, true), f: score(p.orders, q.frequency, false), m: score(money(p), q.monetary, false) };
  const segment: Segment =
    days > thresholds.lapsedDays
      ? 'lapsed'
      : days > thresholds.atRiskDays
        ? 'at_risk'
        : p.orders === 1
          ? 'new'
          : p.orders >= thresholds.loyalOrders
            ? 'loyal'
            : 'active';
  return { segment, rfm, recencyDays: days };
}
