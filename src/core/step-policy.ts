/**
 * What to do with one due step of one enrollment: the decisions of the step processor, apart
 * from its IO. The processor loads the facts, asks here, and carries the answer out:
 *
 * 1. `decideStep`: exits first (they stop a sequence however the timing stands: an
 *    unsubscribe, a suppression, consent withdrawn, another order), then a
 *    paused sequence, then quiet hours and the frequency cap; otherwise the step goes on with
 *    the arm's template version and recommendation strategy.
 * 2. `skipReason`: once the recommendations and the order are known, whether `skip_if`
 *    skips this step.
 * 3. `afterSmtp`: what a permanent SMTP refusal means for the address and the enrollment.
 * 4. `nextStep`: where the enrollment goes after a step is done with.
 */
import { consentAllows, type ConsentState } from './consent.ts';
import { toUnits } from './money.ts';
import type { Strategy } from './recommend.ts';
import { allowedSendTime, type FrequencyCap } from './schedule.ts';
import { consentRule, type StoredDefinition } from './sequence.ts';
import { stepDueAt, type StepClock } from './step-delay.ts';

/** How long a paused sequence holds a due step before looking again. */
export const PAUSE_RECHECK_MS = 3_600_000;
/** A job runs at its moment give or take the clock: sends allowed this soon are not delayed. */
export const TIMING_SLACK_MS = 60_000;

export type ExitReason = 'unsubscribed' | 'bounced' | 'suppressed' | 'ordered_again' | 'no_consent';

/** The facts one decision needs, loaded by the processor in one read. */
export interface StepFacts {
  /** The step the job stands for. */
  step: number;
  enrollment: {
    state: string;
    nextStep: number;
    /** The variant key (a holdout is never scheduled). */
    arm: string;
  };
  definition: StoredDefinition;
  sequencePaused: boolean;
  customer: {
    unsubscribed: boolean;
    /** Marketing consent now: a `consent: required` sequence emails only `yes`. */
    acceptsMarketing: ConsentState;
    /** The reason in `suppressions` for the customer's address, `erased` when its personal data was erased (or the address was an erased customer's), else null. */
    suppression: string | null;
    /** IANA zone; null means the shop's. */
    timeZone: string | null;
  };
  /** The customer ordered again after the trigger order. */
  orderedAgain: boolean;
  now: Date;
  shopTimeZone: string;
  frequencyCap: FrequencyCap | undefined;
  /** When the customer's other recent emails went (or are going) out, for the cap. */
  recentSends: Date[];
}

export type StepDecision =
  | { kind: 'noop'; reason: string }
  | { kind: 'exit'; reason: ExitReason }
  | { kind: 'delay'; until: Date }
  | { kind: 'send'; templateName: string; templateVersionId: number; strategy: Strategy };

/** The decision for a due step, before any recommendation is computed. */
export function decideStep(f: StepFacts): StepDecision {
  const { enrollment: e, definition } = f;
  if (e.state !== 'active' || e.nextStep !== f.step) return { kind: 'noop', reason: `enrollment is ${e.state} at step ${e.nextStep}` };
  const stepDef = definition.steps[f.step];
  if (!stepDef) return { kind: 'noop', reason: `the sequence has no step ${f.step}` };

  const exits = new Set(definition.exit.on);
  const { suppression } = f.customer;
  // The customer's own unsubscribe and a complaint always stop the sequence, whatever `exit.on` says.
  if (f.customer.unsubscribed || suppression === 'unsubscribe' || suppression === 'complaint')
    return { kind: 'exit', reason: 'unsubscribed' };
  // An erased address did not bounce: it is simply never mailed again.
  if (suppression === 'erased') return { kind: 'exit', reason: 'suppressed' };
  if (suppression) return { kind: 'exit', reason: exits.has('bounced') ? 'bounced' : 'suppressed' };
  // Consent is checked again before every send, as an unsubscribe is: withdrawn between steps, the next one never goes.
  if (!consentAllows(consentRule(definition), f.customer.acceptsMarketing)) return { kind: 'exit', reason: 'no_consent' };
  if (exits.has('ordered_again') && f.orderedAgain) return { kind: 'exit', reason: 'ordered_again' };

  if (f.sequencePaused) return { kind: 'delay', until: new Date(f.now.getTime() + PAUSE_RECHECK_MS) };

  // The job runs when the step is due: its queue delay already waited for `next_due_at`
  // (kept for the reconciler), and a job run early on purpose (a resumed sequence) sends now.
  const allowed = allowedSendTime(f.now, {
    quiet: definition.quiet_hours,
    timeZone: f.customer.timeZone ?? f.shopTimeZone,
    sent: f.recentSends,
    cap: f.frequencyCap,
  });
  if (allowed.getTime() > f.now.getTime() + TIMING_SLACK_MS) return { kind: 'delay', until: allowed };

  const variant = definition.variants.find((v) => v.key === e.arm) ?? definition.variants[0]!;
  const templateName = variant.templates[stepDef.template] ?? stepDef.template;
  const templateVersionId = definition.templateVersions[templateName];
  if (templateVersionId === undefined)
    return { kind: 'noop', reason: `template "${templateName}" was not pinned when the sequence was applied` };
  return { kind: 'send', templateName, templateVersionId, strategy: stepDef.recommendations ?? variant.recommendations };
}

/** What `skip_if` looks at, known once the recommendations are computed. */
export interface StepContent {
  recommendations: number;
  upsells: number;
  /** The trigger order's total, a decimal string. */
  orderTotal: string;
}

/** The `skip_if` condition that skips this step (`no_recommendations`, ...), or undefined to send. */
export function skipReason(skipIf: StoredDefinition['steps'][number]['skip_if'], content: StepContent): string | undefined {
  if (!skipIf) return undefined;
  if (skipIf.no_recommendations && content.recommendations === 0) return 'no_recommendations';
  if (skipIf.no_upsells && content.upsells === 0) return 'no_upsells';
  if (skipIf.order_total_below !== undefined && toUnits(content.orderTotal) < toUnits(skipIf.order_total_below)) return 'order_total_below';
  return undefined;
}

/**
 * After a permanent SMTP refusal: a hard bounce (the mailbox does not exist) suppresses the
 * address and ends the enrollment; any other refusal fails this email and moves on.
 */
export function afterRefusal(refusal: { hardBounce: boolean }): { suppress: boolean; then: 'exit' | 'advance' } {
  return refusal.hardBounce ? { suppress: true, then: 'exit' } : { suppress: false, then: 'advance' };
}

/**
 * The step after `step` and when it is due (`clock.now` is when `step` was done with), or the
 * end of the sequence (`next` past the last step).
 */
export function nextStep(
  definition: Pick<StoredDefinition, 'steps'>,
  step: number,
  clock: StepClock,
): { next: number; dueAt: Date | null } {
  const next = step + 1;
  const nextDef = definition.steps[next];
  return { next, dueAt: nextDef ? stepDueAt(nextDef.delay, clock) : null };
}
