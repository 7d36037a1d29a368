/**
 * The enrollment processor: for a new order, enroll its customer in every live sequence
 * whose trigger matches (src/core/trigger.ts) and whose consent rule the customer meets
 * (src/core/consent.ts: decided before the arm is drawn), at most once per sequence and order,
 * honouring the re-enrollment rule; assign the arm by a stable hash; record holdouts (never
 * emailed); schedule the first step of the others.
 *
 * Every enrollment, the holdout's included, stores what the recommender would offer at each
 * of its steps (`offered`, src/core/offers.ts): offer acceptance is measured against it for
 * the steps whose email is never sent. The holdout's would-be offers follow the control's
 * (the first variant's) strategies. The recommender's inputs are loaded once per order and
 * each strategy is run once, whatever the number of sequences and steps that use it, before
 * the insert: the offers go in with
 * the enrollment row, so an enrollment never exists without them, and a second delivery of
 * the order (insertEnrollment returns undefined) stores nothing.
 */
import { assignArm, HOLDOUT } from '../core/assignment.ts';
import { consentAllows } from '../core/consent.ts';
import { consentRule } from '../core/sequence.ts';
import { stepDueAt, usesReplenish } from '../core/step-delay.ts';
import { offeredSteps, stepStrategies, type OfferedStep } from '../core/offers.ts';
import type { Strategy } from '../core/recommend.ts';
import { needsProfile, needsSegment, triggerMatches } from '../core/trigger.ts';
import type { Segment, Thresholds } from '../core/profile.ts';
import { cachedThresholds, profileAtOrder, segmentAtOrder } from '../profiles/segments.ts';
import { insertEnrollment } from '../store/enrollments.ts';
import { orderRefill } from '../recs/replenish.ts';
import { recommenderFor, strategySettings } from '../recs/service.ts';
import { findTriggerFacts } from '../store/orders.ts';
import { liveSequences } from '../store/sequences.ts';
import { scheduleStep, type Engine } from './context.ts';

export interface Enrolled {
  enrollmentId: number;
  sequenceId: string;
  arm: string;
}

export async function enrollOrder(engine: Engine, orderId: number): Promise<Enrolled[]> {
  const order = await findTriggerFacts(engine.db, orderId);
  if (!order) return [];
  const now = engine.clock.now();
  const enrolled: Enrolled[] = [];
  const toSchedule: { id: number; dueAt: Date }[] = [];
  // What each strategy offers for this order: one load of the recommender's inputs, on
  // demand (an order no sequence takes loads nothing), and each strategy run at most once.
  let recommender: ReturnType<typeof recommenderFor> | undefined;
  const offers = new Map<Strategy, OfferedStep>();
  const offerOf = async (strategy: Strategy): Promise<OfferedStep> => {
    let offer = offers.get(strategy);
    if (!offer) {
      recommender ??= recommenderFor(engine.db, {
        customerId: order.customer_id,
        orderId: order.id,
        rules: engine.settings.rules,
        settings: strategySettings(engine.settings.shop, now, engine.settings.newArrivalsDays),
      });
      const recs = await (await recommender)(strategy);
      offer = { crossSell: recs.recommendations.map((r) => r.sku), upsell: recs.upsells.map((r) => r.sku) };
      offers.set(strategy, offer);
    }
    return offer;
  };
  // The customer's profile and segment just before this order: worked out once, the segment
  // stored with each enrollment.
  let before: ReturnType<typeof profileAtOrder> | undefined;
  const profileOfOrder = () => (before ??= profileAtOrder(engine.db, order.id, order.ordered_at));
  let segment: Promise<Segment> | undefined;
  const segmentOfOrder = () =>
    (segment ??= Promise.all([profileOfOrder(), thresholdsOf(engine)(now)]).then(([p, t]) => segmentAtOrder(p.facts, order.ordered_at, t)));
  // When the order's products are typically bought again, for sequences with a refill step: once per order.
  let refill: ReturnType<typeof orderRefill> | undefined;
  const refillOfOrder = () => (refill ??= orderRefill(engine.db, order.id));
  for (const sequence of await liveSequences(engine.db)) {
    const { definition } = sequence;
    if (
      !triggerMatches(definition, {
        total: order.total,
        skus: order.skus,
        categories: order.categories,
        earlierOrders: order.earlier_orders,
        segment: needsSegment(definition) ? await segmentOfOrder() : undefined,
        profile: needsProfile(definition) ? (await profileOfOrder()).trigger : undefined,
        customer: { country: order.country, tags: order.tags, attributes: order.attributes },
      })
    )
      continue;
    // Eligibility before the draw: every arm, the holdout's included, from the same population.
    if (!consentAllows(consentRule(definition), order.accepts_marketing)) continue;
    const arm = assignArm(sequence.id, order.customer_key, definition.variants, definition.holdout);
    const holdout = arm === HOLDOUT;
    const learned = usesReplenish(definition.steps) ? ((await refillOfOrder()) ?? null) : undefined;
    const dueAt = stepDueAt(definition.steps[0]!.delay, { now, orderedAt: order.ordered_at, replenishDays: learned?.days ?? null });
    const strategies = stepStrategies(definition, arm);
    const distinct = [...new Set(strategies)];
    const computed = new Map(await Promise.all(distinct.map(async (s) => [s, await offerOf(s)] as const)));
    const id = await insertEnrollment(engine.db, {
      customerId: order.customer_id,
      sequenceId: sequence.id,
      sequenceVersionId: sequence.versionId,
      arm,
      holdout,
      orderId: order.id,
      dueAt,
      now,
      reenrollAfterDays: definition.reenroll_after_days,
      offered: offeredSteps(strategies, computed),
      segment: await segmentOfOrder(),
      replenish: learned && { days: learned.days, source: learned.source },
    });
    if (id === undefined) continue;
    enrolled.push({ enrollmentId: id, sequenceId: sequence.id, arm });
    if (!holdout) toSchedule.push({ id, dueAt });
  }
  for (const { id, dueAt } of toSchedule) await scheduleStep(engine, id, 0, dueAt);
  return enrolled;
}

/** Each engine's cached shop thresholds (src/profiles/segments.ts), made on first use. */
const thresholdCaches = new WeakMap<Engine, (now: Date) => Promise<Thresholds>>();
function thresholdsOf(engine: Engine): (now: Date) => Promise<Thresholds> {
  let get = thresholdCaches.get(engine);
  if (!get) thresholdCaches.set(engine, (get = cachedThresholds(engine.db, engine.settings.segments ?? {})));
  return get;
}
