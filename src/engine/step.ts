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
import { ContextError, RetryableSendError } from '../errors.ts';
import { composeMessage } from '../mail/transport.ts';
import { recommendersFor, strategySettings, type Recommended } from '../recs/service.ts';
import {
  advanceEnrollment,
  delayEnrollment,
  exitEnrollment,
  findStepFacts,
  type SentMark,
  type StepFactsRow,
} from '../store/enrollments.ts';
import { openMessageWithCode, type IssuedCode } from '../store/discount-codes.ts';
import {
  claimMessages,
  messageKey,
  openMessages,
  recentSendTimes,
  recordRefusal,
  recordSendError,
  type MessageRow,
  type NewMessage,
} from '../store/messages.ts';
import { ordersForContext } from '../store/orders.ts';
import { contextOf } from '../templates/context.ts';
import { unsubscribeLink, type RenderedEmail } from '../templates/render.ts';
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

/** One due step of a batch: the enrollment and the step its job stands for. */
export interface DueStep {
  enrollmentId: number;
  step: number;
}

/** Runs one due step: a batch of one. Throws what its job should fail with (a retry). */
export async function runStep(engine: Engine, enrollmentId: number, step: number): Promise<StepOutcome> {
  const [result] = await runSteps(engine, [{ enrollmentId, step }]);
  if (result instanceof Error) throw result;
  return result!;
}

/**
 * Runs a batch of due steps and returns, for each, its outcome or the error its job fails
 * with (and is retried for). The reads are set-based: the facts, the recommendations' inputs
 * and the orders of the whole batch in a few statements, the message rows opened and claimed
 * together. Each email is then handed to SMTP and marked sent with its advance on its own, so
 * the window for a duplicate stays one statement wide, as for a single step. A statement that
 * fails for the batch fails every step of it: each is retried by its own job.
 */
export async function runSteps(engine: Engine, steps: readonly DueStep[]): Promise<(StepOutcome | Error)[]> {
  const results = Array.from<StepOutcome | Error | undefined>({ length: steps.length });
  try {
    const now = engine.clock.now();
    const rows = await findStepFacts(engine.db, [...new Set(steps.map((s) => s.enrollmentId))]);
    const sends: PlannedSend[] = [];
    // Under a frequency cap, a customer's second step in the batch waits for the first to be
    // sent (a round of its own), so the cap counts it as it would one job after another.
    const capped = new Set<number>();
    const later: number[] = [];
    if (engine.settings.frequencyCap)
      steps.forEach((s, i) => {
        const customer = rows.get(s.enrollmentId)?.customer_id;
        if (customer === undefined) return;
        if (capped.has(customer)) later.push(i);
        else capped.add(customer);
      });
    // A step twice in one batch (a stalled job picked up again beside itself) runs once; the other is retried.
    const first = new Map<string, number>();
    await Promise.all(
      steps.map(async (s, i) => {
        if (later.includes(i)) return;
        try {
          if ((first.get(messageKey(s)) ?? i) !== i)
            throw new RetryableSendError(`step ${s.step} of enrollment ${s.enrollmentId} is in this batch twice`);
          first.set(messageKey(s), i);
          const row = rows.get(s.enrollmentId);
          if (!row) return (results[i] = { kind: 'noop', reason: 'no such enrollment' });
          const decision = decideStep(await stepFacts(engine, row, s.step, now));
          switch (decision.kind) {
            case 'noop':
              return (results[i] = decision);
            case 'exit':
              await exitEnrollment(engine.db, row.id, decision.reason);
              return (results[i] = { kind: 'exited', reason: decision.reason });
            case 'delay':
              await delayEnrollment(engine.db, row.id, decision.until);
              return (results[i] = { kind: 'delayed', until: decision.until });
            case 'send':
              sends.push({ index: i, e: row, step: s.step, send: decision, rfcMessageId: rfcMessageId(engine, row.id, s.step) });
          }
        } catch (error) {
          results[i] = asError(error);
        }
      }),
    );
    await sendSteps(engine, sends, now, results);
    if (later.length) {
      const again = await runSteps(
        engine,
        later.map((i) => steps[i]!),
      );
      later.forEach((i, k) => (results[i] = again[k]));
    }
  } catch (error) {
    for (let i = 0; i < steps.length; i++) results[i] ??= asError(error);
  }
  return results.map((r) => r ?? new Error('step left without an outcome'));
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

const asError = (error: unknown): Error => (error instanceof Error ? error : new Error(String(error)));

/** A step whose policy said `send`, at `index` in its batch. */
interface PlannedSend {
  index: number;
  e: StepFactsRow;
  step: number;
  send: { templateVersionId: number; strategy: StepFacts['definition']['variants'][number]['recommendations'] };
  /** Derived from (enrollment, step): a resend of the same step carries the same one. */
  rfcMessageId: string;
}

/** The RFC Message-ID of an enrollment's step, on the tracking host. */
const rfcMessageId = (engine: Engine, enrollmentId: number, step: number): string =>
  `<e${enrollmentId}.s${step}@${new URL(engine.settings.publicUrl).hostname}>`;

/** A send whose email is rendered and whose message row is open and pending, waiting for its claim. */
interface ReadySend extends PlannedSend {
  message: MessageRow;
  email: RenderedEmail;
  recs: Recommended;
  unsubscribe: string;
  offerWithheld: string | undefined;
}

/**
 * Recommends, renders, claims and sends the steps whose policy said `send`: recommendations
 * and orders loaded for all, message rows opened and claimed for all, then each email sent
 * on its own. Each step's outcome (or error) goes to `results` at its index.
 */
async function sendSteps(engine: Engine, sends: PlannedSend[], now: Date, results: (StepOutcome | Error | undefined)[]): Promise<void> {
  if (sends.length === 0) return;
  const { db, settings } = engine;
  const recommenders = await recommendersFor(
    db,
    sends.map(({ e }) => ({
      customerId: e.customer_id,
      orderId: e.trigger_order_id,
      rules: settings.rules,
      settings: strategySettings(settings.shop, now, settings.newArrivalsDays),
    })),
  );
  const orders = await ordersForContext(db, [...new Set(sends.map(({ e }) => e.trigger_order_id))]);
  const plain: { planned: PlannedSend; recs: Recommended; context: SendContext; row: NewMessage }[] = [];
  const ready: ReadySend[] = [];
  // Each step: its recommendations and context, skip_if, and (for a step with an offer) its
  // message row and code, claimed in a transaction of its own.
  await Promise.all(
    sends.map(async (planned, n) => {
      const { index, e, step, send } = planned;
      try {
        const recs = await recommenders[n]!(send.strategy);
        const order = orders.get(e.trigger_order_id);
        if (!order) throw new ContextError(`no order ${e.trigger_order_id}`);
        const context = contextOf(settings.shop, order, recs, { unsubscribe: '', shop: settings.shop.url });
        const skip = skipReason(e.definition.steps[step]!.skip_if, {
          recommendations: recs.recommendations.length,
          upsells: recs.upsells.length,
          orderTotal: context.order.total,
        });
        if (skip) {
          await advance(engine, e, step, now);
          return (results[index] = { kind: 'skipped', reason: 'skip_if' });
        }
        // The message row, keyed by (enrollment, step), before anything leaves.
        const row: NewMessage = {
          enrollmentId: e.id,
          step,
          templateVersionId: send.templateVersionId,
          customerId: e.customer_id,
          recipient: e.email,
          rfcMessageId: planned.rfcMessageId,
        };
        if (!offerFor(e.definition, e.arm, step)) return plain.push({ planned, recs, context, row });
        const opened = await openWithOffer(engine, planned, row, now);
        if (opened.kind === 'outcome') return (results[index] = opened.outcome);
        const prepared = await prepare(engine, planned, opened.message, recs, context, opened.code, opened.offerWithheld, now);
        if (prepared.kind === 'outcome') return (results[index] = prepared.outcome);
        ready.push(prepared.ready);
      } catch (error) {
        results[index] = asError(error);
      }
    }),
  );
  // The message rows of the steps without an offer, opened together.
  if (plain.length) {
    const opened = await openMessages(
      db,
      plain.map((p) => p.row),
    );
    await Promise.all(
      plain.map(async ({ planned, recs, context, row }) => {
        try {
          const message = opened.get(messageKey(row));
          if (!message) throw new Error(`message row of enrollment ${row.enrollmentId} step ${row.step} vanished`);
          const prepared = await prepare(engine, planned, message, recs, context, null, undefined, now);
          if (prepared.kind === 'outcome') return (results[planned.index] = prepared.outcome);
          ready.push(prepared.ready);
        } catch (error) {
          results[planned.index] = asError(error);
        }
      }),
    );
  }
  if (ready.length === 0) return;
  const claimed = await claimMessages(
    db,
    ready.map(({ message, email, recs }) => ({
      messageId: message.id,
      subject: email.subject,
      links: email.links,
      recommendations: recs.recommendations.map((r) => r.sku),
      upsells: recs.upsells.map((r) => r.sku),
    })),
    settings.claimSeconds ?? CLAIM_SECONDS,
  );
  await Promise.all(
    ready.map(async (r) => {
      try {
        if (!claimed.has(r.message.id)) throw new RetryableSendError(`message ${r.message.id} is being sent by another worker`);
        results[r.index] = await deliver(engine, r, now);
      } catch (error) {
        results[r.index] = asError(error);
      }
    }),
  );
}

type SendContext = ReturnType<typeof contextOf>;

/**
 * The message row and discount code of a step that offers a pool (claimed in one
 * transaction): the step waits when the pool is empty, and a code that expired before a
 * retry is never promised.
 */
async function openWithOffer(
  engine: Engine,
  { e, step }: PlannedSend,
  row: NewMessage,
  now: Date,
): Promise<
  | { kind: 'outcome'; outcome: StepOutcome }
  | { kind: 'opened'; message: MessageRow; code: IssuedCode | null; offerWithheld: string | undefined }
> {
  const { db, settings } = engine;
  const offer = offerFor(e.definition, e.arm, step)!;
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
    return { kind: 'outcome', outcome: { kind: 'delayed', until, emptyPool: offer.pool } };
  }
  let { code } = opened;
  if (opened.message.state === 'pending' && code?.expiresAt && code.expiresAt.getTime() <= now.getTime()) {
    // A retry that comes after the code expired (an SMTP outage, say) never promises it.
    engine.log?.warn(where, 'the code of this email expired before it could be sent: it goes without the offer');
    code = null;
  }
  if (opened.withheld) engine.log?.warn(where, 'code pool is empty: the email goes without the offer (on_empty: send_without_offer)');
  if (opened.expired) engine.log?.warn(where, "the enrollment's code has expired: the email goes without the offer");
  if (opened.left !== null && poolIsLow(opened.left, low)) warnLow(engine, offer.pool, opened.left, low);
  return { kind: 'opened', message: opened.message, code, offerWithheld: opened.withheld ? offer.pool : undefined };
}

/**
 * Renders the email of an open message: the unsubscribe link, the offer and the bundle in
 * its context. A message no longer pending (sent or refused already) only advances.
 */
async function prepare(
  engine: Engine,
  planned: PlannedSend,
  message: MessageRow,
  recs: Recommended,
  context: SendContext,
  code: IssuedCode | null,
  offerWithheld: string | undefined,
  now: Date,
): Promise<{ kind: 'outcome'; outcome: StepOutcome } | { kind: 'ready'; ready: ReadySend }> {
  const { settings } = engine;
  const { e, step, send } = planned;
  if (message.state !== 'pending') {
    // Already sent (or refused): the outcome is recorded; only the advance may be missing.
    await advance(engine, e, step, now);
    return { kind: 'outcome', outcome: { kind: 'noop', reason: `message already ${message.state}` } };
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
  return { kind: 'ready', ready: { ...planned, message, email, recs, unsubscribe: context.links.unsubscribe, offerWithheld } };
}

/**
 * Hands one claimed email to SMTP and records what came of it: sent (marked with the
 * advance, in one statement), refused (recorded, the address suppressed on a hard bounce),
 * or an error worth retrying (thrown after it is recorded).
 */
async function deliver(engine: Engine, r: ReadySend, now: Date): Promise<StepOutcome> {
  const { db, settings } = engine;
  const { e, step, message } = r;
  let outcome;
  try {
    outcome = await sendMail(
      engine.transport,
      composeMessage(r.email, {
        to: e.email,
        fromAddress: settings.mailFrom,
        messageId: r.rfcMessageId,
        headers: unsubscribeHeaders(r.unsubscribe),
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
  return { kind: 'sent', messageId: message.id, ...(r.offerWithheld && { offerWithheld: r.offerWithheld }) };
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
