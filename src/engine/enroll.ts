/**
 * The enrollment processor: for a new order, enroll its customer in every live sequence
 * whose trigger matches, at most once per sequence and order, honouring the re-enrollment
 * rule; assign the arm by a stable hash; record holdouts (never emailed); schedule the
 * first step of the others.
 */
import { sql } from 'drizzle-orm';
import { assignArm, HOLDOUT } from '../core/assignment.ts';
import { parseDuration } from '../core/duration.ts';
import { toUnits } from '../core/money.ts';
import type { SequenceDefinition } from '../core/sequence.ts';
import { queryRows } from '../db/client.ts';
import { liveSequences } from '../sequences/store.ts';
import { scheduleStep, type Engine } from './context.ts';

interface OrderFacts {
  id: number;
  customer_id: number;
  customer_key: string;
  ordered_at: Date;
  total: string;
  earlier_orders: number;
  skus: string[];
  categories: string[];
}

/** True when the order passes the sequence's trigger filters. */
export function triggerMatches(definition: SequenceDefinition, order: { total: string; skus: string[]; categories: string[]; earlierOrders: number }): boolean {
  const f = definition.trigger.filters;
  const total = toUnits(order.total);
  if (f.min_total !== undefined && total < toUnits(f.min_total)) return false;
  if (f.max_total !== undefined && total > toUnits(f.max_total)) return false;
  if (f.skus && !f.skus.some((s) => order.skus.includes(s))) return false;
  if (f.categories && !f.categories.some((c) => order.categories.includes(c))) return false;
  if (f.customer === 'first_order' && order.earlierOrders > 0) return false;
  if (f.customer === 'repeat_order' && order.earlierOrders === 0) return false;
  return true;
}

export interface Enrolled {
  enrollmentId: number;
  sequenceId: string;
  arm: string;
}

export async function enrollOrder(engine: Engine, orderId: number): Promise<Enrolled[]> {
  const [order] = await queryRows<OrderFacts>(
    engine.db,
    sql`select o.id, o.customer_id, c.external_id as customer_key, o.ordered_at, o.total::text as total,
               (select count(*)::int from orders p where p.customer_id = o.customer_id
                  and (p.ordered_at < o.ordered_at or (p.ordered_at = o.ordered_at and p.id < o.id))) as earlier_orders,
               coalesce(items.skus, '{}') as skus, coalesce(items.categories, '{}') as categories
        from orders o join customers c on c.id = o.customer_id
        left join lateral (
          select array_agg(distinct p.sku) as skus, array_agg(distinct p.category) as categories
          from order_items i join products p on p.id = i.product_id where i.order_id = o.id
        ) items on true
        where o.id = ${orderId}`,
  );
  if (!order) return [];
  const now = engine.clock.now();
  const enrolled: Enrolled[] = [];
  const toSchedule: { id: number; dueAt: Date }[] = [];
  for (const sequence of await liveSequences(engine.db)) {
    const { definition } = sequence;
    if (!triggerMatches(definition, { total: order.total, skus: order.skus, categories: order.categories, earlierOrders: order.earlier_orders })) continue;
    const arm = assignArm(sequence.id, order.customer_key, definition.variants, definition.holdout);
    const holdout = arm === HOLDOUT;
    const dueAt = new Date(now.getTime() + parseDuration(definition.steps[0]!.delay)!);
    // The re-enrollment rule and the insert run under a lock per (sequence, customer), so two
    // orders of one customer handled at once cannot both enroll; the unique (sequence,
    // order) key makes a second delivery of the same order a no-op.
    const row = await engine.db.transaction(async (tx) => {
      await tx.execute(sql`select pg_advisory_xact_lock(hashtext(${sequence.id}), ${order.customer_id})`);
      const [inserted] = await queryRows<{ id: number }>(
        tx,
        sql`insert into enrollments (customer_id, sequence_id, sequence_version_id, arm, is_holdout, trigger_order_id,
                                     state, next_step, next_due_at, pre_spend, enrolled_at)
            select ${order.customer_id}, ${sequence.id}, ${sequence.versionId}, ${arm}, ${holdout}, ${order.id},
                   ${holdout ? 'holdout' : 'active'}, 0, ${holdout ? null : dueAt.toISOString()},
                   coalesce((select sum(total) from orders where customer_id = ${order.customer_id} and id <> ${order.id}
                              and ordered_at >= ${order.ordered_at}::timestamptz - interval '90 days'
                              and ordered_at < ${order.ordered_at}::timestamptz), 0),
                   least(${order.ordered_at}::timestamptz, ${now.toISOString()}::timestamptz)
            where not exists (
              select 1 from enrollments e where e.sequence_id = ${sequence.id} and e.customer_id = ${order.customer_id}
                and e.trigger_order_id <> ${order.id}
                and e.enrolled_at > ${now.toISOString()}::timestamptz - make_interval(days => ${definition.reenroll_after_days}))
            on conflict (sequence_id, trigger_order_id) do nothing
            returning id`,
      );
      return inserted;
    });
    if (!row) continue;
    enrolled.push({ enrollmentId: row.id, sequenceId: sequence.id, arm });
    if (!holdout) toSchedule.push({ id: row.id, dueAt });
  }
  for (const { id, dueAt } of toSchedule) await scheduleStep(engine, id, 0, dueAt);
  return enrolled;
}
