/**
 * The enrollment processor: for a new order, enroll its customer in every live sequence
 * whose trigger matches (src/core/trigger.ts), at most once per sequence and order,
 * honouring the re-enrollment rule; assign the arm by a stable hash; record holdouts (never
 * emailed); schedule the first step of the others.
 */
import { assignArm, HOLDOUT } from '../core/assignment.ts';
import { parseDuration } from '../core/duration.ts';
import { triggerMatches } from '../core/trigger.ts';
import { insertEnrollment } from '../store/enrollments.ts';
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
  for (const sequence of await liveSequences(engine.db)) {
    const { definition } = sequence;
    if (
      !triggerMatches(definition, {
        total: order.total,
        skus: order.skus,
        categories: order.categories,
        earlierOrders: order.earlier_orders,
      })
    )
      continue;
    const arm = assignArm(sequence.id, order.customer_key, definition.variants, definition.holdout);
    const holdout = arm === HOLDOUT;
    const dueAt = new Date(now.getTime() + parseDuration(definition.steps[0]!.delay)!);
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
    });
    if (id === undefined) continue;
    enrolled.push({ enrollmentId: id, sequenceId: sequence.id, arm });
    if (!holdout) toSchedule.push({ id, dueAt });
  }
  for (const { id, dueAt } of toSchedule) await scheduleStep(engine, id, 0, dueAt);
  return enrolled;
}
