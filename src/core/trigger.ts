/**
 * Which orders start a sequence: the trigger filters of the sequence file, applied to the
 * facts of one order. Pure, so the enrollment processor only loads the facts and asks.
 */
import { toUnits } from './money.ts';
import type { Segment } from './profile.ts';
import type { SequenceDefinition } from './sequence.ts';

/** What the trigger filters look at in an order. */
export interface OrderTriggerFacts {
  /** The order's total, a decimal string. */
  total: string;
  skus: string[];
  categories: string[];
  /** Orders of the same customer before this one (by time, then id). */
  earlierOrders: number;
  /** The customer's segment just before this order; needed only by a `segments` filter. */
  segment?: Segment | undefined;
  /** The customer's profile just before this order; needed only by the profile filters. */
  profile?: { orders: number; spend: string; daysSinceLastOrder: number | null } | undefined;
  /** The customer's country, tags and attributes as stored; needed only by their filters. */
  customer?: { country: string | null; tags: string[]; attributes: Record<string, unknown> } | undefined;
}

/** True when the sequence filters on the customer's segment (the processor then works it out). */
export function needsSegment(definition: Pick<SequenceDefinition, 'trigger'>): boolean {
  return definition.trigger.filters.segments !== undefined;
}

/** True when the sequence filters on the customer's profile before the order. */
export function needsProfile(definition: Pick<SequenceDefinition, 'trigger'>): boolean {
  const f = definition.trigger.filters;
  return [f.min_orders, f.max_orders, f.min_spend, f.min_days_since_order, f.max_days_since_order].some((v) => v !== undefined);
}

/** True when the order passes every trigger filter of the sequence (no filter passes all). */
export function triggerMatches(definition: Pick<SequenceDefinition, 'trigger'>, order: OrderTriggerFacts): boolean {
  const f = definition.trigger.filters;
  const total = toUnits(order.total);
  if (f.min_total !== undefined && total < toUnits(f.min_total)) return false;
  if (f.max_total !== undefined && total > toUnits(f.max_total)) return false;
  if (f.skus && !f.skus.some((s) => order.skus.includes(s))) return false;
  if (f.categories && !f.categories.some((c) => order.categories.includes(c))) return false;
  if (f.customer === 'first_order' && order.earlierOrders > 0) return false;
  if (f.customer === 'repeat_order' && order.earlierOrders === 0) return false;
  if (f.segments && (order.segment === undefined || !f.segments.includes(order.segment))) return false;
  if (needsProfile(definition)) {
    const p = order.profile;
    if (!p) return false;
    if (f.min_orders !== undefined && p.orders < f.min_orders) return false;
    if (f.max_orders !== undefined && p.orders > f.max_orders) return false;
    if (f.min_spend !== undefined && toUnits(p.spend) < toUnits(f.min_spend)) return false;
    const days = p.daysSinceLastOrder;
    if (f.min_days_since_order !== undefined && (days === null || days < f.min_days_since_order)) return false;
    if (f.max_days_since_order !== undefined && (days === null || days > f.max_days_since_order)) return false;
  }
  const c = order.customer ?? { country: null, tags: [], attributes: {} };
  if (f.countries && (c.country === null || !f.countries.includes(c.country))) return false;
  if (f.tags && !f.tags.some((t) => c.tags.includes(t))) return false;
  if (f.attributes)
    for (const [name, wanted] of Object.entries(f.attributes)) {
      const value = c.attributes[name];
      if (!(Array.isArray(wanted) ? wanted : [wanted]).some((w) => w === value)) return false;
    }
  return true;
}
