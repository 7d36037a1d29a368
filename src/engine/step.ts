/**
 * The step processor: at the due time, re-check exits and suppressions, respect quiet
 * hours and the frequency cap, ask the recommender, render the pinned template version,
 * write the message row keyed by (enrollment, step), send, record, schedule the next step.
 *
 * Exactly once: the message row is written before SMTP with a Message-ID derived from
 * (enrollment, step); a retry finds the row and reuses it; a step whose message is already
 * `sent` only advances. The one window for a duplicate is a crash after the SMTP server's
 * 250 and before the row says `sent`; the resend carries the same Message-ID.
 */
import { sql, type SQL } from 'drizzle-orm';
import { parseDuration } from '../core/duration.ts';
import { toUnits } from '../core/money.ts';
import { allowedSendTime } from '../core/schedule.ts';
import { signToken } from '../core/tokens.ts';
import { queryRows } from '../db/client.ts';
import { composeMessage } from '../mail/transport.ts';
import { recommendationsFor } from '../recs/service.ts';
import type { StoredDefinition } from '../sequences/store.ts';
import { orderContext } from '../templates/context.ts';
import { unsubscribeLink } from '../templates/render.ts';
import { rendererFor, scheduleStep, type Engine } from './context.ts';
import { sendMail, unsubscribeHeaders } from './send.ts';
import { RetryableSendError } from '../errors.ts';

/** How long a worker may take to hand one email to SMTP before another may try (default). */
const CLAIM_SECONDS = 120;

export type StepOutcome =
  | { kind: 'sent'; messageId: number }
  | { kind: 'skipped'; reason: string }
  | { kind: 'exited'; reason: string }
  | { kind: 'failed'; reason: string }
  | { kind: 'delayed'; until: Date }
  | { kind: 'noop'; reason: string };

interface EnrollmentRow {
  id: number;
  customer_id: number;
  sequence_id: string;
  arm: string;
  state: string;
  next_step: number;
  next_due_at: Date | null;
  trigger_order_id: number;
  definition: StoredDefinition;
  sequence_status: string;
  email: string;
  timezone: string | null;
  unsubscribed_at: Date | null;
  suppression: string | null;
  ordered_again: boolean;
}

export async function runStep(engine: Engine, enrollmentId: number, step: number): Promise<StepOutcome> {
  const [e] = await queryRows<EnrollmentRow>(
    engine.db,
    sql`select e.id, e.customer_id, e.sequence_id, e.arm, e.state, e.next_step, e.next_due_at, e.trigger_order_id,
               v.definition, s.status as sequence_status, c.email, c.timezone, c.unsubscribed_at,
               (select reason from suppressions where email = lower(c.email)) as suppression,
               exists (select 1 from orders o, orders t where t.id = e.trigger_order_id and o.customer_id = e.customer_id
                         and o.id <> t.id and o.ordered_at > t.ordered_at) as ordered_again
        from enrollments e join sequence_versions v on v.id = e.sequence_version_id
        join sequences s on s.id = e.sequence_id join customers c on c.id = e.customer_id
        where e.id = ${enrollmentId}`,
  );
  if (!e) return { kind: 'noop', reason: 'no such enrollment' };
  if (e.state !== 'active' || e.next_step !== step) return { kind: 'noop', reason: `enrollment is ${e.state} at step ${e.next_step}` };
  const now = engine.clock.now();
  const definition = e.definition;
  const stepDef = definition.steps[step]!;

  // Exits first: they stop the sequence however the timing stands.
  const exits = new Set(definition.exit.on);
  if (e.unsubscribed_at || e.suppression === 'unsubscribe' || e.suppression === 'complaint') return exit(engine, e, 'unsubscribed');
  if (e.suppression) return exit(engine, e, exits.has('bounced') ? 'bounced' : 'suppressed');
  if (exits.has('ordered_again') && e.ordered_again) return exit(engine, e, 'ordered_again');

  // A paused sequence holds its enrollments: look again in an hour.
  if (e.sequence_status === 'paused') return delay(engine, e, new Date(now.getTime() + 3_600_000));

  const cap = engine.settings.frequencyCap;
  const sent = cap
    ? // Emails another worker is handing to SMTP right now count too (as sent now).
      await queryRows<{ sent_at: Date }>(
        engine.db,
        sql`select coalesce(sent_at, ${now.toISOString()}::timestamptz) as sent_at from messages
            where customer_id = ${e.customer_id} and not (enrollment_id = ${e.id} and step = ${step})
              and ((state = 'sent' and sent_at > ${new Date(now.getTime() - cap.windowMs).toISOString()})
                   or (state = 'pending' and claimed_until > now()))`,
      )
    : [];
  const due = e.next_due_at && e.next_due_at > now ? new Date(e.next_due_at) : now;
  const allowed = allowedSendTime(due, {
    quiet: definition.quiet_hours,
    timeZone: e.timezone ?? engine.settings.shop.timezone,
    sent: sent.map((s) => new Date(s.sent_at)),
    cap,
  });
  // A minute of slack: the job was scheduled for this moment, give or take the clock.
  if (allowed.getTime() > now.getTime() + 60_000) return delay(engine, e, allowed);

  const variant = definition.variants.find((v) => v.key === e.arm) ?? definition.variants[0]!;
  const templateName = variant.templates[stepDef.template] ?? stepDef.template;
  const templateVersionId = definition.templateVersions[templateName]!;
  const strategy = stepDef.recommendations ?? variant.recommendations;
  const recs = await recommendationsFor(engine.db, { customerId: e.customer_id, orderId: e.trigger_order_id, strategy, rules: engine.settings.rules });

  const context = await orderContext(engine.db, engine.settings.shop, e.trigger_order_id, recs, { unsubscribe: '', shop: engine.settings.shop.url });
  const skip = stepDef.skip_if;
  if (
    skip &&
    ((skip.no_recommendations && recs.recommendations.length === 0) ||
      (skip.no_upsells && recs.upsells.length === 0) ||
      (skip.order_total_below !== undefined && toUnits(context.order.total) < toUnits(skip.order_total_below)))
  ) {
    await advance(engine, e, step, now);
    return { kind: 'skipped', reason: 'skip_if' };
  }

  // The message row, keyed by (enrollment, step), before anything leaves.
  const domain = new URL(engine.settings.publicUrl).hostname;
  const rfcMessageId = `<e${e.id}.s${step}@${domain}>`;
  let [message] = await queryRows<{ id: number; state: string; attempts: number }>(
    engine.db,
    sql`with ins as (
          insert into messages (enrollment_id, step, template_version_id, customer_id, recipient, state, message_id)
          values (${e.id}, ${step}, ${templateVersionId}, ${e.customer_id}, ${e.email}, 'pending', ${rfcMessageId})
          on conflict (enrollment_id, step) do nothing returning id, state, attempts)
        select * from ins union all select id, state, attempts from messages where enrollment_id = ${e.id} and step = ${step}
        limit 1`,
  );
  // A row inserted by a concurrent runner is invisible to this statement's snapshot: look again.
  message ??= (await queryRows<{ id: number; state: string; attempts: number }>(
    engine.db,
    sql`select id, state, attempts from messages where enrollment_id = ${e.id} and step = ${step}`,
  ))[0];
  if (!message) throw new Error(`message row of enrollment ${e.id} step ${step} vanished`);
  if (message.state !== 'pending') {
    // Already sent (or refused): the outcome is recorded; only the advance may be missing.
    await advance(engine, e, step, now);
    return { kind: 'noop', reason: `message already ${message.state}` };
  }
  if (!engine.transport) throw new Error('no SMTP transport configured');

  // One unsubscribe token for the link in the email and the mailto of the header.
  const token = signToken({ kind: 'unsubscribe', message: message.id, customer: e.customer_id }, engine.settings.secretKey);
  context.links.unsubscribe = unsubscribeLink(engine.settings.publicUrl, token);
  const email = (await rendererFor(engine, templateVersionId)).render(context, {
    mode: 'send',
    publicUrl: engine.settings.publicUrl,
    secret: engine.settings.secretKey,
    messageId: message.id,
  });
  // Claim the message for a lease of real time, storing what is about to be sent: if the
  // schedule was lost and rebuilt while another worker is sending this very step, only one
  // of them hands it to SMTP.
  const [claim] = await queryRows<{ id: number }>(
    engine.db,
    sql`update messages set claimed_until = now() + make_interval(secs => ${engine.settings.claimSeconds ?? CLAIM_SECONDS}),
          subject = ${email.subject}, links = ${JSON.stringify(email.links)}::jsonb,
          recommendations = ${JSON.stringify(recs.recommendations.map((r) => r.sku))}::jsonb, attempts = attempts + 1
        where id = ${message.id} and state = 'pending' and (claimed_until is null or claimed_until < now())
        returning id`,
  );
  if (!claim) throw new RetryableSendError(`message ${message.id} is being sent by another worker`);

  let outcome;
  try {
    outcome = await sendMail(
      engine.transport,
      composeMessage(email, {
        to: e.email,
        fromAddress: engine.settings.mailFrom,
        messageId: rfcMessageId,
        headers: unsubscribeHeaders(context.links.unsubscribe, `unsubscribe+${token}@${engine.settings.mailFrom.split('@')[1]}`),
      }),
    );
  } catch (error) {
    // When the server surely took nothing (it said 4xx, or the connection never opened),
    // the retry may claim the message at once. After a failure mid-message the server may
    // have taken it: the claim stands until it lapses, and only then is it sent again.
    const sure = error instanceof RetryableSendError && error.nothingSent;
    await engine.db.execute(sql`update messages set ${sure ? sql`claimed_until = null,` : sql``} error = ${String((error as Error).message).slice(0, 500)}
                                where id = ${message.id}`);
    throw error;
  }
  if (!outcome.ok) {
    await engine.db.transaction(async (tx) => {
      await tx.execute(sql`update messages set state = 'failed', smtp_response = ${outcome.response}, error = 'rejected' where id = ${message.id}`);
      if (outcome.hardBounce)
        await tx.execute(sql`insert into suppressions (email, reason, source) values (lower(${e.email}), 'hard-bounce', ${outcome.response})
                             on conflict (email) do nothing`);
    });
    if (outcome.hardBounce) {
      await exit(engine, e, 'bounced');
      return { kind: 'failed', reason: outcome.response };
    }
    await advance(engine, e, step, now);
    return { kind: 'failed', reason: outcome.response };
  }
  // The sent mark and the advance in one statement: they are true together or not at all.
  await advance(engine, e, step, now, sql`update messages set state = 'sent', sent_at = ${now.toISOString()}, smtp_response = ${outcome.response},
                                           error = null, claimed_until = null where id = ${message.id}`);
  return { kind: 'sent', messageId: message.id };
}

/**
 * Moves the enrollment past `step` (completed after the last) and schedules the next one.
 * `alongside`, when given, is a statement committed atomically with the move.
 */
async function advance(engine: Engine, e: EnrollmentRow, step: number, now: Date, alongside?: SQL): Promise<void> {
  const next = step + 1;
  const nextDef = e.definition.steps[next];
  const dueAt = nextDef ? new Date(now.getTime() + parseDuration(nextDef.delay)!) : null;
  const move = sql`update enrollments set next_step = ${next}, next_due_at = ${dueAt?.toISOString() ?? null},
          state = ${nextDef ? 'active' : 'completed'}, updated_at = now()
        where id = ${e.id} and next_step = ${step} and state = 'active' returning id`;
  const [row] = await queryRows<{ id: number }>(
    engine.db,
    alongside ? sql`with alongside as (${alongside} returning 1) ${move}` : move,
  );
  if (row && dueAt) await scheduleStep(engine, e.id, next, dueAt);
}

async function exit(engine: Engine, e: EnrollmentRow, reason: string): Promise<StepOutcome> {
  await engine.db.execute(sql`update enrollments set state = 'exited', exit_reason = ${reason}, next_due_at = null, updated_at = now()
                              where id = ${e.id} and state = 'active'`);
  return { kind: 'exited', reason };
}

async function delay(engine: Engine, e: EnrollmentRow, until: Date): Promise<StepOutcome> {
  await engine.db.execute(sql`update enrollments set next_due_at = ${until.toISOString()}, updated_at = now() where id = ${e.id}`);
  return { kind: 'delayed', until };
}
