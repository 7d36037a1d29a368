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
 * the order (insertEnrollments returns undefined for it) stores nothing.
 */
import { assignArm, HOLDOUT } from '../core/assignment.ts';
import { consentAllows } from '../core/consent.ts';
import { consentRule } from '../core/sequence.ts';
import { stepDueAt, usesReplenish } from '../core/step-delay.ts';
import { offeredSteps, stepStrategies, type OfferedStep } from '../core/offers.ts';
import type { Strategy } from '../core/recommend.ts';
import { needsProfile, needsSegment, triggerMatches } from '../core/trigger.ts';
import type { Segment, Thresholds } from '../core/profile.ts';

type TriggerProfile = ProfileAtOrder['trigger'];
import { cachedThresholds, profilesAtOrders, segmentAtOrder, type ProfileAtOrder } from '../profiles/segments.ts';
import { insertEnrollments, type NewEnrollment } from '../store/enrollments.ts';
import { orderRefill } from '../recs/replenish.ts';
import { recommendersFor, strategySettings } from '../recs/service.ts';
import { findTriggerFacts, type TriggerFacts } from '../store/orders.ts';
import { liveSequences } from '../store/sequences.ts';
import { scheduleSteps, type Engine } from './context.ts';

export interface Enrolled {
  enrollmentId: number;
  sequenceId: string;
  arm: string;
}

/** Enrolls the customer of one new order: a batch of one. */
export async function enrollOrder(engine: Engine, orderId: number): Promise<Enrolled[]> {
  return (await enrollOrders(engine, [orderId]))[0]!;
}

/**
 * Enrolls the customers of a batch of new orders, and returns what each order enrolled (in
 * the order given). The reads are set-based (the orders' facts, the live sequences, the
 * customers' profiles before each order, the recommender's inputs), the enrollments go in by
 * one transaction, and their first steps are scheduled together.
 */
export async function enrollOrders(engine: Engine, orderIds: readonly number[]): Promise<Enrolled[][]> {
  const { db } = engine;
  const facts = await findTriggerFacts(db, orderIds);
  const orders = [...facts.values()];
  const sequences = orders.length ? await liveSequences(db) : [];
  if (sequences.length === 0) return orderIds.map(() => []);
  const now = engine.clock.now();
  const profiles = await profilesAtOrders(
    db,
    orders.map((o) => ({ id: o.id, orderedAt: o.ordered_at })),
  );
  const thresholds = await thresholdsOf(engine)(now);
  // The customer's profile and segment just before each order: the segment is stored with each enrollment.
  const segmentOf = (order: TriggerFacts): Segment => segmentAtOrder(profiles.get(order.id)!.facts, order.ordered_at, thresholds);
  // When the order's products are typically bought again, for sequences with a refill step: once per order.
  const refills = new Map<number, ReturnType<typeof orderRefill>>();
  const refillOf = (orderId: number) => refills.get(orderId) ?? refills.set(orderId, orderRefill(db, orderId)).get(orderId)!;

  const planned: Planned[] = [];
  for (const order of orders)
    for (const sequence of sequences) {
      const plan = await planEnrollment(order, sequence, now, { segmentOf, profileOf: (o) => profiles.get(o.id)!.trigger, refillOf });
      if (plan) planned.push(plan);
    }

  // What each strategy offers for each order: one load of the recommender's inputs for every
  // order some sequence takes, and each strategy run once per order.
  const takenOrders = [...new Set(planned.map((p) => p.order.id))];
  const recommenders = await recommendersFor(
    db,
    takenOrders.map((id) => ({
      customerId: facts.get(id)!.customer_id,
      orderId: id,
      rules: engine.settings.rules,
      settings: strategySettings(engine.settings.shop, now, engine.settings.newArrivalsDays),
    })),
  );
  const recommenderOf = new Map(takenOrders.map((id, i) => [id, recommenders[i]!]));
  const offers = new Map<string, Promise<OfferedStep>>();
  const offerOf = (orderId: number, strategy: Strategy): Promise<OfferedStep> => {
    const key = `${orderId}:${strategy}`;
    let offer = offers.get(key);
    if (!offer) {
      offer = recommenderOf.get(orderId)!(strategy).then((recs) => ({
        crossSell: recs.recommendations.map((r) => r.sku),
        upsell: recs.upsells.map((r) => r.sku),
      }));
      offers.set(key, offer);
    }
    return offer;
  };
  const rows: NewEnrollment[] = await Promise.all(
    planned.map(async ({ order, sequence, arm, dueAt, learned }) => {
      const strategies = stepStrategies(sequence.definition, arm);
      const computed = new Map(await Promise.all([...new Set(strategies)].map(async (s) => [s, await offerOf(order.id, s)] as const)));
      return {
        customerId: order.customer_id,
        sequenceId: sequence.id,
        sequenceVersionId: sequence.versionId,
        arm,
        holdout: arm === HOLDOUT,
        orderId: order.id,
        dueAt,
        now,
        reenrollAfterDays: sequence.definition.reenroll_after_days,
        offered: offeredSteps(strategies, computed),
        segment: segmentOf(order),
        replenish: learned && { days: learned.days, source: learned.source },
      };
    }),
  );
  const ids = await insertEnrollments(db, rows);
  const enrolled = new Map<number, Enrolled[]>();
  const toSchedule: { enrollmentId: number; step: number; dueAt: Date }[] = [];
  ids.forEach((id, i) => {
    if (id === undefined) return;
    const row = rows[i]!;
    enrolled.set(row.orderId, [...(enrolled.get(row.orderId) ?? []), { enrollmentId: id, sequenceId: row.sequenceId, arm: row.arm }]);
    if (!row.holdout) toSchedule.push({ enrollmentId: id, step: 0, dueAt: row.dueAt });
  });
  await scheduleSteps(engine, toSchedule);
  // An order twice in the batch is enrolled once, and said so once.
  const told = new Set<number>();
  return orderIds.map((id) => (told.has(id) ? [] : (told.add(id), enrolled.get(id) ?? [])));
}

/** An enrollment decided for an order, before its offers are computed. */
interface Planned {
  order: TriggerFacts;
  sequence: LiveSequence;
  arm: string;
  dueAt: Date;
  learned: Awaited<ReturnType<typeof orderRefill>> | null | undefined;
}

type LiveSequence = Awaited<ReturnType<typeof liveSequences>>[number];

/**
 * Whether `sequence` takes `order` and in which arm: its trigger matches, the customer's
 * consent meets its rule (decided before the arm is drawn: every arm, the holdout's
 * included, from the same population), the arm by a stable hash, and when its first step is due.
 */
async function planEnrollment(
  order: TriggerFacts,
  sequence: LiveSequence,
  now: Date,
  known: {
    segmentOf: (order: TriggerFacts) => Segment;
    profileOf: (order: TriggerFacts) => TriggerProfile;
    refillOf: (orderId: number) => ReturnType<typeof orderRefill>;
  },
): Promise<Planned | undefined> {
  const { definition } = sequence;
  if (
    !triggerMatches(definition, {
      total: order.total,
      skus: order.skus,
      categories: order.categories,
      earlierOrders: order.earlier_orders,
      segment: needsSegment(definition) ? known.segmentOf(order) : undefined,
      profile: needsProfile(definition) ? known.profileOf(order) : undefined,
      customer: { country: order.country, tags: order.tags, attributes: order.attributes },
    })
  )
    return undefined;
  if (!consentAllows(consentRule(definition), order.accepts_marketing)) return undefined;
  const arm = assignArm(sequence.id, order.customer_key, definition.variants, definition.holdout);
  const learned = usesReplenish(definition.steps) ? ((await known.refillOf(order.id)) ?? null) : undefined;
  const dueAt = stepDueAt(definition.steps[0]!.delay, { now, orderedAt: order.ordered_at, replenishDays: learned?.days ?? null });
  return { order, sequence, arm, dueAt, learned };
}

/** Each engine's cached shop thresholds (src/profiles/segments.ts), made on first use. */
const thresholdCaches = new WeakMap<Engine, (now: Date) => Promise<Thresholds>>();
function thresholdsOf(engine: Engine): (now: Date) => Promise<Thresholds> {
  let get = thresholdCaches.get(engine);
  if (!get) thresholdCaches.set(engine, (get = cachedThresholds(engine.db, engine.settings.segments ?? {})));
  return get;
}
