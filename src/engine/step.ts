/**
 * The step processor: load the facts of one due step, ask the step policy
 * (src/core/step-policy.ts) what to do, and carry it out: exit, delay, skip, or render the
 * pinned template version and send it once.
 *
 * Exactly once: the message row is written before SMTP with a Message-ID derived from
 * (enrollment, step); a retry finds the row and reuses it; a step whose message is already
 * `sent` only advances. The one window for a duplicate is a crash after the SMTP server's
 * 250 and before the row says `sent`; the resend carries the same Message-ID.
 */
import { bundleFor } from '../core/bundle.ts';
import {
  DEFAULT_CODE_POOL_LOW,
  DEFAULT_DISCOUNT_URL,
  discountUrl,
  discountValueText,
  offerDeadline,
  offerFor,
  onEmptyPool,
  poolIsLow,
} from '../core/discount.ts';
import { afterRefusal, decideStep, nextStep, skipReason, type StepFacts } from '../core/step-policy.ts';
import { signToken } from '../core/tokens.ts';
import { RetryableSendError } from '../errors.ts';
import { composeMessage } from '../mail/transport.ts';
import { recommendationsFor, strategySettings } from '../recs/service.ts';
import {
  advanceEnrollment,
  delayEnrollment,
  exitEnrollment,
  findStepFacts,
  type SentMark,
  type StepFactsRow,
} from '../store/enrollments.ts';
import { openMessageWithCode, type IssuedCode } from '../store/discount-codes.ts';
import { claimMessage, openMessage, recentSendTimes, recordRefusal, recordSendError, type MessageRow } from '../store/messages.ts';
import { orderContext } from '../templates/context.ts';
import { unsubscribeLink } from '../templates/render.ts';
import { orderBundle } from './bundle.ts';
import { rendererFor, scheduleStep, type Engine } from './context.ts';
import { sendMail, unsubscribeHeaders } from '../mail/send.ts';

/** How long a worker may take to hand one email to SMTP before another may try (default). */
const CLAIM_SECONDS = 120;
/** Real milliseconds between two "pool running low" warnings of one pool in one process. */
const LOW_WARNING_EVERY_MS = 60_000;
const lowWarnedAt = new Map<string, number>();

export type StepOutcome =
  /** `offerWithheld`: the step's pool was empty and it says `on_empty: send_without_offer`. */
  | { kind: 'sent'; messageId: number; offerWithheld?: string }
  | { kind: 'skipped'; reason: string }
  | { kind: 'exited'; reason: string }
  | { kind: 'failed'; reason: string }
  /** `emptyPool`: the step waits for codes in this pool. */
  | { kind: 'delayed'; until: Date; emptyPool?: string }
  | { kind: 'noop'; reason: string };

export async function runStep(engine: Engine, enrollmentId: number, step: number): Promise<StepOutcome> {
  const row = await findStepFacts(engine.db, enrollmentId);
  if (!row) return { kind: 'noop', reason: 'no such enrollment' };
  const now = engine.clock.now();
  const decision = decideStep(await stepFacts(engine, row, step, now));
  switch (decision.kind) {
    case 'noop':
      return decision;
    case 'exit':
      await exitEnrollment(engine.db, row.id, decision.reason);
      return { kind: 'exited', reason: decision.reason };
    case 'delay':
      await delayEnrollment(engine.db, row.id, decision.until);
      return { kind: 'delayed', until: decision.until };
    case 'send':
      return sendStep(engine, row, step, now, decision);
  }
}

/** The policy's facts from the loaded row, plus the customer's recent sends when a frequency cap is set. */
async function stepFacts(engine: Engine, row: StepFactsRow, step: number, now: Date): Promise<StepFacts> {
  const cap = engine.settings.frequencyCap;
  const recentSends = cap
    ? await recentSendTimes(engine.db, {
        customerId: row.customer_id,
        enrollmentId: row.id,
        step,
        since: new Date(now.getTime() - cap.windowMs),
        now,
      })
    : [];
  return {
    step,
    enrollment: { state: row.state, nextStep: row.next_step, arm: row.arm },
    definition: row.definition,
    sequencePaused: row.sequence_status === 'paused',
    customer: {
      unsubscribed: row.unsubscribed_at !== null,
      acceptsMarketing: row.accepts_marketing,
      suppression: row.suppression,
      timeZone: row.timezone,
    },
    orderedAgain: row.ordered_again,
    now,
    shopTimeZone: engine.settings.shop.timezone,
    frequencyCap: cap,
    recentSends,
  };
}

/** Recommends, renders, claims and sends one step whose policy said `send`. */
async function sendStep(
  engine: Engine,
  e: StepFactsRow,
  step: number,
  now: Date,
  send: { templateVersionId: number; strategy: StepFacts['definition']['variants'][number]['recommendations'] },
): Promise<StepOutcome> {
  const { db, settings } = engine;
  const recs = await recommendationsFor(db, {
    customerId: e.customer_id,
    orderId: e.trigger_order_id,
    strategy: send.strategy,
    rules: settings.rules,
    settings: strategySettings(settings.shop, now, settings.newArrivalsDays),
  });
  const context = await orderContext(db, settings.shop, e.trigger_order_id, recs, { unsubscribe: '', shop: settings.shop.url });
  const skip = skipReason(e.definition.steps[step]!.skip_if, {
    recommendations: recs.recommendations.length,
    upsells: recs.upsells.length,
    orderTotal: context.order.total,
  });
  if (skip) {
    await advance(engine, e, step, now);
    return { kind: 'skipped', reason: 'skip_if' };
  }

  // The message row, keyed by (enrollment, step), before anything leaves; with the
  // discount code it shows when the step offers a pool (claimed in the same transaction).
  const rfcMessageId = `<e${e.id}.s${step}@${new URL(settings.publicUrl).hostname}>`;
  const row = {
    enrollmentId: e.id,
    step,
    templateVersionId: send.templateVersionId,
    customerId: e.customer_id,
    recipient: e.email,
    rfcMessageId,
  };
  const offer = offerFor(e.definition, e.arm, step);
  let message: MessageRow;
  let code: IssuedCode | null = null;
  let offerWithheld: string | undefined;
  if (offer) {
    const low = settings.codePoolLow ?? DEFAULT_CODE_POOL_LOW;
    const opened = await openMessageWithCode(db, row, {
      pool: offer.pool,
      now,
      withoutCode: offer.on_empty === 'send_without_offer',
      countUpTo: low,
    });
    const where = { pool: offer.pool, sequence: e.sequence_id, enrollment: e.id, step: step + 1 };
    if (opened.kind === 'empty') {
      const then = onEmptyPool(offer, now);
      const until = then.kind === 'delay' ? then.until : now;
      engine.log?.warn({ ...where, until }, 'code pool is empty: the step waits for codes (campaign codes import)');
      await delayEnrollment(db, e.id, until);
      return { kind: 'delayed', until, emptyPool: offer.pool };
    }
    ({ message, code } = opened);
    if (message.state === 'pending' && code?.expiresAt && code.expiresAt.getTime() <= now.getTime()) {
      // A retry that comes after the code expired (an SMTP outage, say) never promises it.
      engine.log?.warn(where, 'the code of this email expired before it could be sent: it goes without the offer');
      code = null;
    }
    if (opened.withheld) {
      offerWithheld = offer.pool;
      engine.log?.warn(where, 'code pool is empty: the email goes without the offer (on_empty: send_without_offer)');
    }
    if (opened.expired) engine.log?.warn(where, "the enrollment's code has expired: the email goes without the offer");
    if (opened.left !== null && poolIsLow(opened.left, low)) warnLow(engine, offer.pool, opened.left, low);
  } else message = await openMessage(db, row);
  if (message.state !== 'pending') {
    // Already sent (or refused): the outcome is recorded; only the advance may be missing.
    await advance(engine, e, step, now);
    return { kind: 'noop', reason: `message already ${message.state}` };
  }

  // One unsubscribe token for the link in the email and the mailto of the header.
  const token = signToken({ kind: 'unsubscribe', message: message.id, customer: e.customer_id }, settings.secretKey);
  context.links.unsubscribe = unsubscribeLink(settings.publicUrl, token);
  if (code)
    context.offer = {
      code: code.code,
      value: discountValueText(code.value, settings.shop.currency),
      kind: code.value.kind,
      expiresAt: code.expiresAt?.toISOString() ?? '',
      ...offerDeadline(code.expiresAt, now, context.customer.timezone),
      url: discountUrl(settings.discountUrl ?? DEFAULT_DISCOUNT_URL, settings.shop.url, code.code),
    };
  const bundle = bundleFor(e.definition, e.arm, step);
  if (bundle) context.bundle = await orderBundle(engine, bundle, context.order.items, recs);
  const email = (await rendererFor(engine, send.templateVersionId)).render(context, {
    mode: 'send',
    publicUrl: settings.publicUrl,
    secret: settings.secretKey,
    messageId: message.id,
  });
  const claimed = await claimMessage(db, message.id, {
    claimSeconds: settings.claimSeconds ?? CLAIM_SECONDS,
    subject: email.subject,
    links: email.links,
    recommendations: recs.recommendations.map((r) => r.sku),
    upsells: recs.upsells.map((r) => r.sku),
  });
  if (!claimed) throw new RetryableSendError(`message ${message.id} is being sent by another worker`);

  let outcome;
  try {
    outcome = await sendMail(
      engine.transport,
      composeMessage(email, {
        to: e.email,
        fromAddress: settings.mailFrom,
        messageId: rfcMessageId,
        headers: unsubscribeHeaders(context.links.unsubscribe),
      }),
    );
  } catch (error) {
    // When the server surely took nothing (it said 4xx, or the connection never opened),
    // the retry may claim the message at once. After a failure mid-message the server may
    // have taken it: the claim stands until it lapses, and only then is it sent again.
    const sure = error instanceof RetryableSendError && error.nothingSent;
    await recordSendError(db, message.id, String((error as Error).message), sure);
    throw error;
  }
  if (!outcome.ok) {
    const then = afterRefusal(outcome);
    await recordRefusal(db, { id: message.id, recipient: e.email }, outcome.response, then.suppress);
    if (then.then === 'exit') await exitEnrollment(db, e.id, 'bounced');
    else await advance(engine, e, step, now);
    return { kind: 'failed', reason: outcome.response };
  }
  // The sent mark and the advance in one statement: they are true together or not at all.
  await advance(engine, e, step, now, { messageId: message.id, sentAt: now, response: outcome.response });
  return { kind: 'sent', messageId: message.id, ...(offerWithheld && { offerWithheld }) };
}

/** A pool running low: a warning, at most once a minute per pool and process (the gauge on /metrics says it always). */
function warnLow(engine: Engine, pool: string, left: number, low: number): void {
  const last = lowWarnedAt.get(pool) ?? 0;
  if (Date.now() - last < LOW_WARNING_EVERY_MS) return;
  lowWarnedAt.set(pool, Date.now());
  engine.log?.warn({ pool, left, low }, `code pool "${pool}" is running low: ${left} codes left to issue (CODE_POOL_LOW is ${low})`);
}

/**
 * Moves the enrollment past `step` (completed after the last) and schedules the next one;
 * `sent` marks the message sent in the same statement.
 */
async function advance(engine: Engine, e: StepFactsRow, step: number, now: Date, sent?: SentMark): Promise<void> {
  const { next, dueAt } = nextStep(e.definition, step, { now, orderedAt: e.trigger_ordered_at, replenishDays: e.replenish_days });
  const moved = await advanceEnrollment(engine.db, { id: e.id, step, next, dueAt }, sent);
  if (moved && dueAt) await scheduleStep(engine, e.id, next, dueAt);
}
