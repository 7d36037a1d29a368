/**
 * The step policy and the trigger match, without IO: every decision the step processor
 * and the enrollment processor take, from plain facts.
 */
import { describe, expect, it } from 'vitest';
import type { StoredDefinition } from '../src/core/sequence.ts';
import { sequenceSchema } from '../src/core/sequence.ts';
import { afterRefusal, decideStep, nextStep, PAUSE_RECHECK_MS, skipReason, type StepFacts } from '../src/core/step-policy.ts';
import { triggerMatches, type OrderTriggerFacts } from '../src/core/trigger.ts';

const NOW = new Date('2026-06-10T12:00:00Z');

/** A definition as the sequence file gives it, with its templates pinned. */
function definition(overrides: Record<string, unknown> = {}): StoredDefinition {
  const parsed = sequenceSchema.parse({
    id: 'post-purchase',
    name: 'Post-purchase',
    trigger: { event: 'order_placed' },
    variants: [
      { key: 'control', weight: 1 },
      { key: 'popular', weight: 1, recommendations: 'popularity', templates: { thanks: 'thanks-b' } },
    ],
    steps: [
      { delay: '1h', template: 'thanks' },
      { delay: '3d', template: 'upgrade', recommendations: 'upsell-only', skip_if: { no_upsells: true } },
    ],
    ...overrides,
  });
  return { ...parsed, templateVersions: { thanks: 11, 'thanks-b': 12, upgrade: 13 } };
}

function facts(overrides: Partial<StepFacts> = {}, customer: Partial<StepFacts['customer']> = {}): StepFacts {
  return {
    step: 0,
    enrollment: { state: 'active', nextStep: 0, arm: 'control' },
    definition: definition(),
    sequencePaused: false,
    customer: { unsubscribed: false, acceptsMarketing: 'yes', suppression: null, timeZone: null, ...customer },
    orderedAgain: false,
    now: NOW,
    shopTimeZone: 'UTC',
    frequencyCap: undefined,
    recentSends: [],
    ...overrides,
  };
}

describe('step policy: what a due step does', () => {
  it('sends the arm’s template version with the arm’s strategy', () => {
    expect(decideStep(facts())).toEqual({ kind: 'send', templateName: 'thanks', templateVersionId: 11, strategy: 'co-purchase' });
    const popular = facts({ enrollment: { state: 'active', nextStep: 0, arm: 'popular' } });
    expect(decideStep(popular)).toEqual({ kind: 'send', templateName: 'thanks-b', templateVersionId: 12, strategy: 'popularity' });
  });

  it('lets a step’s own strategy win over the variant’s', () => {
    const second = facts({ step: 1, enrollment: { state: 'active', nextStep: 1, arm: 'popular' } });
    expect(decideStep(second)).toMatchObject({ kind: 'send', templateName: 'upgrade', templateVersionId: 13, strategy: 'upsell-only' });
  });

  it('does nothing for an enrollment that has moved on or ended', () => {
    expect(decideStep(facts({ step: 1 }))).toEqual({ kind: 'noop', reason: 'enrollment is active at step 0' });
    for (const state of ['completed', 'exited', 'holdout'])
      expect(decideStep(facts({ enrollment: { state, nextStep: 0, arm: 'control' } })).kind).toBe('noop');
  });

  it('exits an unsubscribed customer, whatever exit.on says', () => {
    const none = definition({ exit: { on: [] } });
    expect(decideStep(facts({}, { unsubscribed: true }))).toEqual({ kind: 'exit', reason: 'unsubscribed' });
    expect(decideStep(facts({ definition: none }, { suppression: 'unsubscribe' }))).toEqual({ kind: 'exit', reason: 'unsubscribed' });
    expect(decideStep(facts({ definition: none }, { suppression: 'complaint' }))).toEqual({ kind: 'exit', reason: 'unsubscribed' });
  });

  it('exits a suppressed address as bounced, or as suppressed when bounces are not an exit', () => {
    expect(decideStep(facts({}, { suppression: 'hard-bounce' }))).toEqual({ kind: 'exit', reason: 'bounced' });
    const noBounceExit = definition({ exit: { on: ['ordered_again'] } });
    expect(decideStep(facts({ definition: noBounceExit }, { suppression: 'hard-bounce' }))).toEqual({ kind: 'exit', reason: 'suppressed' });
  });

  it('exits an erased customer, or an erased address, as suppressed whatever exit.on says', () => {
    expect(decideStep(facts({}, { suppression: 'erased' }))).toEqual({ kind: 'exit', reason: 'suppressed' });
    const none = definition({ exit: { on: [] } });
    expect(decideStep(facts({ definition: none }, { suppression: 'erased' }))).toEqual({ kind: 'exit', reason: 'suppressed' });
  });

  it('exits a customer without marketing consent from a consent-required sequence, never from a transactional one', () => {
    for (const state of ['no', 'unknown'] as const) {
      expect(decideStep(facts({}, { acceptsMarketing: state }))).toEqual({ kind: 'exit', reason: 'no_consent' });
      // Consent comes before the pause: a paused sequence does not keep a customer who withdrew it.
      expect(decideStep(facts({ sequencePaused: true }, { acceptsMarketing: state }))).toEqual({ kind: 'exit', reason: 'no_consent' });
      const transactional = definition({ consent: 'not_required' });
      expect(decideStep(facts({ definition: transactional }, { acceptsMarketing: state })).kind).toBe('send');
    }
    // A version stored before the rule existed has none: it means required.
    const { consent: _, ...older } = definition();
    expect(decideStep(facts({ definition: older as StoredDefinition }, { acceptsMarketing: 'unknown' }))).toEqual({
      kind: 'exit',
      reason: 'no_consent',
    });
    expect(decideStep(facts({ definition: older as StoredDefinition }, { acceptsMarketing: 'yes' })).kind).toBe('send');
    // An unsubscribe is named as such, not as missing consent.
    expect(decideStep(facts({}, { acceptsMarketing: 'no', unsubscribed: true }))).toEqual({ kind: 'exit', reason: 'unsubscribed' });
  });

  it('exits on a new order only when the sequence says so', () => {
    expect(decideStep(facts({ orderedAgain: true }))).toEqual({ kind: 'exit', reason: 'ordered_again' });
    const stays = definition({ exit: { on: ['unsubscribed'] } });
    expect(decideStep(facts({ orderedAgain: true, definition: stays })).kind).toBe('send');
  });

  it('checks exits before the pause and the timing', () => {
    expect(decideStep(facts({ sequencePaused: true }, { unsubscribed: true }))).toEqual({ kind: 'exit', reason: 'unsubscribed' });
  });

  it('holds a paused sequence’s step and looks again in an hour', () => {
    expect(decideStep(facts({ sequencePaused: true }))).toEqual({ kind: 'delay', until: new Date(NOW.getTime() + PAUSE_RECHECK_MS) });
  });

  it('delays a step due inside the quiet hours to their end, in the customer’s zone', () => {
    const quiet = definition({ quiet_hours: { start: '21:00', end: '08:00' } });
    // 12:00 UTC is 21:00 in Tokyo: quiet until 08:00 there, 23:00 UTC.
    expect(decideStep(facts({ definition: quiet }, { timeZone: 'Asia/Tokyo' }))).toEqual({
      kind: 'delay',
      until: new Date('2026-06-10T23:00:00Z'),
    });
    // In the shop's zone (UTC) noon is not quiet.
    expect(decideStep(facts({ definition: quiet })).kind).toBe('send');
  });

  it('delays past the frequency cap, counting the customer’s other recent sends', () => {
    const cap = { max: 2, windowMs: 86_400_000 };
    const sends = [new Date(NOW.getTime() - 3_600_000), new Date(NOW.getTime() - 7_200_000)];
    expect(decideStep(facts({ frequencyCap: cap, recentSends: sends }))).toEqual({
      kind: 'delay',
      until: new Date(sends[1]!.getTime() + cap.windowMs + 1),
    });
    expect(decideStep(facts({ frequencyCap: cap, recentSends: sends.slice(0, 1) })).kind).toBe('send');
  });

  it('sends when the job runs, and delays only for a rule more than a minute away', () => {
    // Quiet hours ending 30 s from now: within the minute of slack, so the step goes now.
    const ending = definition({ quiet_hours: { start: '11:00', end: '12:00' } });
    expect(decideStep(facts({ definition: ending, now: new Date('2026-06-10T11:59:30Z') })).kind).toBe('send');
    const early = definition({ quiet_hours: { start: '11:00', end: '12:05' } });
    expect(decideStep(facts({ definition: early }))).toEqual({ kind: 'delay', until: new Date('2026-06-10T12:05:00Z') });
  });

  it('falls back to the first variant for an arm the version does not know', () => {
    expect(decideStep(facts({ enrollment: { state: 'active', nextStep: 0, arm: 'gone' } }))).toMatchObject({
      kind: 'send',
      templateVersionId: 11,
    });
  });

  it('never sends a template the version did not pin', () => {
    const unpinned = { ...definition(), templateVersions: { upgrade: 13 } };
    expect(decideStep(facts({ definition: unpinned })).kind).toBe('noop');
  });
});

describe('step policy: skip_if', () => {
  const content = { recommendations: 2, upsells: 1, orderTotal: '40.00' };
  it('sends when no condition holds, or when there is no skip_if', () => {
    expect(skipReason(undefined, { ...content, recommendations: 0 })).toBeUndefined();
    expect(skipReason({ no_recommendations: true, no_upsells: true, order_total_below: '30' }, content)).toBeUndefined();
  });
  it('names the condition that skips', () => {
    expect(skipReason({ no_recommendations: true }, { ...content, recommendations: 0 })).toBe('no_recommendations');
    expect(skipReason({ no_upsells: true }, { ...content, upsells: 0 })).toBe('no_upsells');
    expect(skipReason({ order_total_below: '40.01' }, content)).toBe('order_total_below');
    // Exactly the threshold is not below it: money compares in exact units.
    expect(skipReason({ order_total_below: '40.00' }, content)).toBeUndefined();
  });
});

describe('step policy: after a refusal and after a step', () => {
  it('suppresses and exits on a hard bounce, moves on after any other refusal', () => {
    expect(afterRefusal({ hardBounce: true })).toEqual({ suppress: true, then: 'exit' });
    expect(afterRefusal({ hardBounce: false })).toEqual({ suppress: false, then: 'advance' });
  });
  it('schedules the next step after its delay, and ends after the last', () => {
    const d = definition();
    const clock = { now: NOW, orderedAt: new Date(NOW.getTime() - 86_400_000), replenishDays: null };
    expect(nextStep(d, 0, clock)).toEqual({ next: 1, dueAt: new Date(NOW.getTime() + 3 * 86_400_000) });
    expect(nextStep(d, 1, clock)).toEqual({ next: 2, dueAt: null });
  });
});

describe('trigger match', () => {
  const order: OrderTriggerFacts = { total: '80.00', skus: ['ESP-1', 'BEAN-3'], categories: ['espresso', 'beans'], earlierOrders: 0 };
  const matches = (filters: Record<string, unknown>, o: Partial<OrderTriggerFacts> = {}) =>
    triggerMatches(definition({ trigger: { event: 'order_placed', filters } }), { ...order, ...o });

  it('matches every order when there is no filter', () => {
    expect(matches({})).toBe(true);
    expect(matches({}, { total: '0.00', skus: [], categories: [], earlierOrders: 9 })).toBe(true);
  });
  it('bounds the total inclusively, in exact money', () => {
    expect(matches({ min_total: '80.00' })).toBe(true);
    expect(matches({ min_total: '80.01' })).toBe(false);
    expect(matches({ max_total: 80 })).toBe(true);
    expect(matches({ max_total: '79.99' })).toBe(false);
  });
  it('needs one of the listed skus or categories', () => {
    expect(matches({ skus: ['GRIND-1', 'BEAN-3'] })).toBe(true);
    expect(matches({ skus: ['GRIND-1'] })).toBe(false);
    expect(matches({ categories: ['espresso'] })).toBe(true);
    expect(matches({ categories: ['tea'] })).toBe(false);
  });
  it('tells first orders from repeat orders', () => {
    expect(matches({ customer: 'first_order' })).toBe(true);
    expect(matches({ customer: 'first_order' }, { earlierOrders: 1 })).toBe(false);
    expect(matches({ customer: 'repeat_order' })).toBe(false);
    expect(matches({ customer: 'repeat_order' }, { earlierOrders: 1 })).toBe(true);
  });
  it('filters on the customer’s country, tags and attributes', () => {
    const customer = { country: 'FR', tags: ['vip', 'wholesale'], attributes: { plan: 'gold', seats: 3, trial: false } };
    expect(matches({ countries: ['fr', 'BE'] }, { customer })).toBe(true);
    expect(matches({ countries: ['DE'] }, { customer })).toBe(false);
    expect(matches({ countries: ['FR'] }, { customer: { ...customer, country: null } })).toBe(false);
    expect(matches({ tags: ['vip'] }, { customer })).toBe(true);
    expect(matches({ tags: ['press'] }, { customer })).toBe(false);
    expect(matches({ attributes: { plan: ['gold', 'platinum'], seats: 3 } }, { customer })).toBe(true);
    expect(matches({ attributes: { trial: false } }, { customer })).toBe(true);
    // Compared as given: the number 3 is not the text "3", an absent attribute matches nothing.
    expect(matches({ attributes: { seats: '3' } }, { customer })).toBe(false);
    expect(matches({ attributes: { region: 'eu' } }, { customer })).toBe(false);
    // Without the customer's facts, a customer filter lets no order through.
    expect(matches({ tags: ['vip'] })).toBe(false);
  });
  it('filters on the customer’s profile just before the order', () => {
    const profile = { orders: 3, spend: '120.50', daysSinceLastOrder: 40 };
    expect(matches({ min_orders: 3, max_orders: 3 }, { profile })).toBe(true);
    expect(matches({ min_orders: 4 }, { profile })).toBe(false);
    expect(matches({ max_orders: 2 }, { profile })).toBe(false);
    expect(matches({ min_spend: '120.50' }, { profile })).toBe(true);
    expect(matches({ min_spend: '120.51' }, { profile })).toBe(false);
    expect(matches({ min_days_since_order: 30, max_days_since_order: 60 }, { profile })).toBe(true);
    expect(matches({ max_days_since_order: 39.5 }, { profile })).toBe(false);
    // A first order has no earlier order: no days since one, so a days filter does not pass.
    const first = { orders: 0, spend: '0', daysSinceLastOrder: null };
    expect(matches({ max_orders: 0 }, { profile: first })).toBe(true);
    expect(matches({ min_days_since_order: 0 }, { profile: first })).toBe(false);
    // Without the profile, a profile filter lets no order through.
    expect(matches({ min_orders: 0 })).toBe(false);
  });
  it('needs every filter to pass', () => {
    expect(matches({ min_total: '50', categories: ['espresso'], customer: 'first_order' })).toBe(true);
    expect(matches({ min_total: '50', categories: ['espresso'], customer: 'repeat_order' })).toBe(false);
  });
});
