/**
 * Offers: what a customer was (or, in the holdout, would have been) recommended, and whether
 * they accepted one by buying it. Pure.
 *
 * Every enrollment keeps, from the moment it is made, what the recommender would offer at
 * each of its steps (`enrollments.offered`), the holdout's too: the holdout is never emailed,
 * so without its would-be offers there would be nothing to measure its acceptance against,
 * and "treated customers bought what we showed them" would have no baseline. The offer set
 * of an enrollment is then, per step, what the sent email showed (`messages.recommendations`
 * and `messages.upsells`) when that step's email went out, and otherwise what the step would
 * have offered: every arm is counted on the same footing (intent to treat).
 */
import type { Strategy } from './recommend.ts';
import type { SequenceDefinition } from './sequence.ts';

/** The skus offered at one step: the cross-sells and the upsells. */
export interface OfferedStep {
  crossSell: string[];
  upsell: string[];
}

/**
 * The recommendation strategy of each step for an arm, as the step processor would pick it:
 * the step's own `recommendations`, else the arm's variant's. The holdout (and any arm that is
 * not a variant) takes the control's, the first variant's: it stands for "what the shop would
 * have sent by default", which is what a treated arm is compared against.
 */
export function stepStrategies(definition: Pick<SequenceDefinition, 'variants' | 'steps'>, arm: string): Strategy[] {
  const variant = definition.variants.find((v) => v.key === arm) ?? definition.variants[0]!;
  return definition.steps.map((step) => step.recommendations ?? variant.recommendations);
}

/** The offers of every step, one strategy's answer per step: index = step. */
export function offeredSteps(strategies: readonly Strategy[], offers: ReadonlyMap<Strategy, OfferedStep>): OfferedStep[] {
  return strategies.map((strategy) => {
    const offer = offers.get(strategy);
    if (!offer) throw new RangeError(`no offer computed for strategy "${strategy}"`);
    return { crossSell: [...offer.crossSell], upsell: [...offer.upsell] };
  });
}

/**
 * The offer set of one enrollment, by the rule the report's SQL follows (src/analytics/kpis.ts),
 * for tests and for reading: per step, the sent email's skus when that step's email was sent,
 * else `offered[step]`. An enrollment made before offers were kept (`offered` null) has only
 * its sent emails' skus. A sku may be both a cross-sell (one step) and an upsell (another).
 */
export function offerSet(
  offered: readonly OfferedStep[] | null,
  sent: readonly { step: number; crossSell: readonly string[]; upsell: readonly string[] }[],
): { crossSell: Set<string>; upsell: Set<string>; any: Set<string> } {
  const crossSell = new Set<string>();
  const upsell = new Set<string>();
  const sentSteps = new Set(sent.map((m) => m.step));
  for (const m of sent) {
    m.crossSell.forEach((sku) => crossSell.add(sku));
    m.upsell.forEach((sku) => upsell.add(sku));
  }
  (offered ?? []).forEach((step, index) => {
    if (sentSteps.has(index)) return;
    step.crossSell.forEach((sku) => crossSell.add(sku));
    step.upsell.forEach((sku) => upsell.add(sku));
  });
  return { crossSell, upsell, any: new Set([...crossSell, ...upsell]) };
}
