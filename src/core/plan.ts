/**
 * Planning an experiment before launch, from the shop's own history: if this sequence had
 * been live over the past orders, who would have entered, how many emails would have gone
 * out (and how many the frequency cap would have held), how much customers spent in the
 * measurement window and how much that varies, and so how long the experiment must run to
 * detect a chosen effect on revenue per customer.
 *
 * Pure: the caller loads the history (`analytics/history.ts`) and prints the answer.
 */
import { assignArm, HOLDOUT } from './assignment.ts';
import { toUnits } from './money.ts';
import { sampleSizePerArm, type PowerOptions } from './power.ts';
import { afterFrequencyCap, afterQuietHours, type FrequencyCap } from './schedule.ts';
import { consentRule, measurementWindowMs, type SequenceDefinition } from './sequence.ts';
import { stepDueAt } from './step-delay.ts';
import { triggerMatches, type OrderTriggerFacts } from './trigger.ts';
import { consentAllows, type ConsentState } from './consent.ts';

const DAY = 86_400_000;

/** One past order, with what the trigger filters read. */
export interface HistoricalOrder {
  customerKey: string;
  orderedAt: Date;
  /** Decimal string. */
  total: string;
  skus: string[];
  categories: string[];
  /** The customer's orders before this one, all time (by time, then id). */
  earlierOrders: number;
  /** The customer's time zone (IANA), or null for the shop's. */
  timeZone: string | null;
  /** The customer's marketing consent as it stands; a consent-required sequence counts only `yes`. Default `yes`. */
  acceptsMarketing?: ConsentState | undefined;
  /** The customer's country, tags and attributes, for the trigger filters on them. */
  customer?: OrderTriggerFacts['customer'];
}

/** The effect to detect: a share of the mean revenue per customer, or an amount in money. */
export type Effect = { relative: number } | { absolute: number };

export interface PlanInput {
  definition: SequenceDefinition;
  /** Every order of the history, any order; customers are told apart by `customerKey`. */
  orders: HistoricalOrder[];
  /** The history's span: from, to (orders outside are ignored). */
  from: Date;
  to: Date;
  effect: Effect;
  frequencyCap?: FrequencyCap | undefined;
  shopTimeZone: string;
  power?: PowerOptions;
}

export interface ComparisonPlan {
  against: 'control' | 'holdout';
  arm: string;
  baseline: string;
  /** Customers per day entering the smaller of the two arms. */
  perDayInSmaller: number;
  /** Customers needed in each arm to detect the effect with the chosen power. */
  customersPerArm: number;
  /** Days of enrollment until both arms have them, plus the measurement window to close. */
  days: number;
}

export interface Plan {
  days: number;
  /** Orders that would have started the sequence (at most one per customer per re-enrollment period). */
  enrollments: number;
  enrollmentsPerDay: number;
  /** Mean and standard deviation of revenue per enrolled customer in the measurement window. */
  revenue: { mean: number; sd: number; measured: number };
  /** The effect in money per customer. */
  effect: number;
  windowDays: number;
  comparisons: ComparisonPlan[];
  /** Emails the replay would have sent per day, and how many the frequency cap would have moved later. */
  emails: { total: number; perDay: number; heldByCap: number; heldByQuietHours: number };
}

const money = (value: string) => Number(toUnits(value)) / 10_000;

/** The plan for `input.definition` over the history. */
export function planExperiment(input: PlanInput): Plan {
  const { definition } = input;
  const days = Math.max(1, (input.to.getTime() - input.from.getTime()) / DAY);
  const windowMs = measurementWindowMs(definition);
  const orders = input.orders
    .filter((o) => o.orderedAt >= input.from && o.orderedAt <= input.to)
    .sort((a, b) => a.orderedAt.getTime() - b.orderedAt.getTime());
  const byCustomer = new Map<string, HistoricalOrder[]>();
  for (const o of orders) {
    const list = byCustomer.get(o.customerKey);
    if (list) list.push(o);
    else byCustomer.set(o.customerKey, [o]);
  }

  // Who would have entered: the trigger, then the re-enrollment rule, per customer in time order.
  const enrolled: { order: HistoricalOrder; arm: string }[] = [];
  for (const list of byCustomer.values()) {
    let last: Date | undefined;
    for (const order of list) {
      if (!triggerMatches(definition, order)) continue;
      if (!consentAllows(consentRule(definition), order.acceptsMarketing ?? 'yes')) continue;
      if (last && order.orderedAt.getTime() - last.getTime() < definition.reenroll_after_days * DAY) continue;
      last = order.orderedAt;
      enrolled.push({ order, arm: assignArm(definition.id, order.customerKey, definition.variants, definition.holdout) });
    }
  }

  // Revenue per enrolled customer in the window after enrolling (the trigger order excluded),
  // for those whose window closed inside the history.
  const revenues: number[] = [];
  for (const { order } of enrolled) {
    if (order.orderedAt.getTime() + windowMs > input.to.getTime()) continue;
    const later = byCustomer
      .get(order.customerKey)!
      .filter((o) => o !== order && o.orderedAt > order.orderedAt && o.orderedAt.getTime() <= order.orderedAt.getTime() + windowMs);
    revenues.push(later.reduce((sum, o) => sum + money(o.total), 0));
  }
  const mean = revenues.length ? revenues.reduce((a, b) => a + b, 0) / revenues.length : 0;
  const variance = revenues.length > 1 ? revenues.reduce((s, r) => s + (r - mean) ** 2, 0) / (revenues.length - 1) : 0;
  const effect = 'relative' in input.effect ? input.effect.relative * mean : input.effect.absolute;

  const perDay = enrolled.length / days;
  const totalWeight = definition.variants.reduce((s, v) => s + v.weight, 0);
  const share = (arm: string) =>
    arm === HOLDOUT
      ? definition.holdout
      : ((definition.variants.find((v) => v.key === arm)?.weight ?? 0) / totalWeight) * (1 - definition.holdout);
  const customersPerArm = effect > 0 && variance > 0 ? sampleSizePerArm(effect, variance, input.power) : Infinity;
  const comparison = (against: 'control' | 'holdout', arm: string, baseline: string): ComparisonPlan => {
    const perDayInSmaller = perDay * Math.min(share(arm), share(baseline));
    const enrollDays = perDayInSmaller > 0 ? customersPerArm / perDayInSmaller : Infinity;
    return { against, arm, baseline, perDayInSmaller, customersPerArm, days: Math.ceil(enrollDays + windowMs / DAY) };
  };
  const control = definition.variants[0]!.key;
  const comparisons = [
    ...definition.variants.slice(1).map((v) => comparison('control', v.key, control)),
    ...(definition.holdout > 0 ? definition.variants.map((v) => comparison('holdout', v.key, HOLDOUT)) : []),
  ];

  return {
    days,
    enrollments: enrolled.length,
    enrollmentsPerDay: perDay,
    revenue: { mean, sd: Math.sqrt(variance), measured: revenues.length },
    effect,
    windowDays: windowMs / DAY,
    comparisons,
    emails: replaySends(enrolled, input),
  };
}

/**
 * The emails the enrolled (non-holdout) customers would have received, each step after its
 * delay, moved past quiet hours and the frequency cap as the step processor does.
 */
function replaySends(enrolled: { order: HistoricalOrder; arm: string }[], input: PlanInput): Plan['emails'] {
  const { definition } = input;
  const sent = new Map<string, Date[]>();
  let total = 0;
  let heldByCap = 0;
  let heldByQuietHours = 0;
  const emailed = enrolled.filter((e) => e.arm !== HOLDOUT).sort((a, b) => a.order.orderedAt.getTime() - b.order.orderedAt.getTime());
  for (const { order } of emailed) {
    let at = order.orderedAt.getTime();
    for (const step of definition.steps) {
      // A refill step at the fallback interval: the plan replays timing, not what recs build would have learned then.
      const due = stepDueAt(step.delay, { now: new Date(at), orderedAt: order.orderedAt, replenishDays: null });
      const quiet = afterQuietHours(due, definition.quiet_hours, order.timeZone ?? input.shopTimeZone);
      const capped = afterFrequencyCap(quiet, sent.get(order.customerKey) ?? [], input.frequencyCap);
      if (quiet.getTime() > due.getTime()) heldByQuietHours += 1;
      if (capped.getTime() > quiet.getTime()) heldByCap += 1;
      const times = sent.get(order.customerKey);
      if (times) times.push(capped);
      else sent.set(order.customerKey, [capped]);
      at = capped.getTime();
      total += 1;
    }
  }
  const days = Math.max(1, (input.to.getTime() - input.from.getTime()) / DAY);
  return { total, perDay: total / days, heldByCap, heldByQuietHours };
}
