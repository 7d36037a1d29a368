/**
 * Marketing consent. A customer's `accepts_marketing` is `yes`, `no` or `unknown` (never
 * said); a sequence says `consent: required` (the default: a cross-sell email is marketing)
 * or `consent: not_required` (strictly transactional mail). Pure.
 *
 * Eligibility is decided before the arm is drawn (src/engine/enroll.ts), so every arm, the
 * holdout's included, is drawn from the same population: were consent checked only at send
 * time, the holdout would keep customers the variants lose, and the comparison would
 * measure consent as much as the emails. It is checked again before every send
 * (src/core/step-policy.ts), like an unsubscribe, so consent withdrawn between steps stops
 * the next one.
 */
import { z } from 'zod';

export const CONSENT_STATES = ['yes', 'no', 'unknown'] as const;
export type ConsentState = (typeof CONSENT_STATES)[number];

/** What a sequence asks of its customers' consent. */
export const consentRuleSchema = z.enum(['required', 'not_required']);
export type ConsentRule = z.output<typeof consentRuleSchema>;

/** The engine's own withdrawal: what an unsubscribe records as the consent's source. */
export const UNSUBSCRIBE_SOURCE = 'unsubscribe';

/** True when a sequence with `rule` may enroll and email a customer whose consent is `state`. */
export function consentAllows(rule: ConsentRule, state: ConsentState): boolean {
  return rule === 'not_required' || state === 'yes';
}

/**
 * A consent as the input formats take it: `yes`, `no`, `unknown`, or what shops' exports
 * write (`true`/`false`, `subscribed`/`not_subscribed`/`unsubscribed`), in any case.
 */
export function parseConsent(value: string | boolean): ConsentState | undefined {
  if (typeof value === 'boolean') return value ? 'yes' : 'no';
  switch (value.trim().toLowerCase()) {
    case 'yes':
    case 'true':
    case 'subscribed':
      return 'yes';
    case 'no':
    case 'false':
    case 'not_subscribed':
    case 'unsubscribed':
      return 'no';
    case 'unknown':
    case '':
      return 'unknown';
    default:
      return undefined;
  }
}

/** The consent a customer holds after an update, and whether the update changed it. */
export interface ConsentUpdate {
  state: ConsentState;
  at: Date | null;
  source: string | null;
  changed: boolean;
}

/**
 * Merges a consent the shop sends (an import row, an API record) into the stored one:
 * - nothing sent: the stored consent stays;
 * - the same state: stays, with its time and source (a nightly export sent again changes nothing);
 * - a state dated before the stored one: stays (the newer word wins);
 * - an undated state over the engine's own withdrawal (an unsubscribe): stays, since a shop
 *   export made before the unsubscribe must not undo it; a dated one after it is the customer
 *   consenting again in the shop, and counts;
 * - otherwise the sent state, at its time (`now` when undated) and source (`import` when unsaid).
 *
 * The SQL of src/ingest/store.ts `upsertCustomers` applies these same rules; tests hold the
 * two to each other.
 */
export function mergeConsent(
  stored: { state: ConsentState; at: Date | null; source: string | null },
  sent: { state?: ConsentState | undefined; at?: Date | undefined; source?: string | undefined },
  now: Date,
): ConsentUpdate {
  const keep = { ...stored, changed: false };
  if (sent.state === undefined || sent.state === stored.state) return keep;
  if (sent.at && stored.at && sent.at.getTime() < stored.at.getTime()) return keep;
  if (!sent.at && stored.source === UNSUBSCRIBE_SOURCE) return keep;
  return { state: sent.state, at: sent.at ?? now, source: sent.source ?? 'import', changed: true };
}
