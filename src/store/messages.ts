/**
 * Messages: one row per (enrollment, step), written before anything reaches SMTP, so a
 * retry, a resume or a rebuilt schedule finds the row instead of sending again. The row's
 * life: `pending` (claimed for a lease while a worker hands it to SMTP) → `sent` (marked
 * with the enrollment's advance, `advanceEnrollment`) or `failed`. Its Message-ID is derived from (enrollment, step), so even the one possible
 * resend (a crash between the server's 250 and the sent mark) carries the same one.
 */
import { sql } from 'drizzle-orm';
import { z } from 'zod';
import { jsonParam, type Db } from '../db/client.ts';
import { suppress } from './suppressions.ts';
import { parsedRow, parsedRows } from './rows.ts';

const messageRow = z.object({ id: z.coerce.number().int(), state: z.string(), attempts: z.number().int() });
export type MessageRow = z.output<typeof messageRow>;

/** A message row to open: keyed by (enrollment, step), with its RFC Message-ID. */
export interface NewMessage {
  enrollmentId: number;
  step: number;
  templateVersionId: number;
  customerId: number;
  recipient: string;
  rfcMessageId: string;
}

/** The key of a message in the maps below: `enrollment:step`. */
export const messageKey = (m: { enrollmentId: number; step: number }): string => `${m.enrollmentId}:${m.step}`;

const openedRow = messageRow.extend({ enrollment_id: z.coerce.number().int(), step: z.number().int() });

/**
 * The message rows of many (enrollment, step)s, in two statements whatever their number:
 * each inserted `pending` when there is none, else the existing one as it stands. A row
 * inserted by a concurrent runner is invisible to the insert's snapshot, so the rows the
 * insert returned nothing for are read again.
 */
export async function openMessages(db: Db, messages: readonly NewMessage[]): Promise<Map<string, MessageRow>> {
  const values = jsonParam(
    messages.map((m) => ({
      enrollment_id: m.enrollmentId,
      step: m.step,
      template_version_id: m.templateVersionId,
      customer_id: m.customerId,
      recipient: m.recipient,
      message_id: m.rfcMessageId,
    })),
  );
  const opened = new Map<string, MessageRow>();
  const keep = (rows: z.output<typeof openedRow>[]) => {
    for (const r of rows)
      opened.set(messageKey({ enrollmentId: r.enrollment_id, step: r.step }), { id: r.id, state: r.state, attempts: r.attempts });
  };
  keep(
    await parsedRows(
      db,
      sql`with v as (select * from jsonb_to_recordset(${values}) as v(enrollment_id bigint, step int, template_version_id bigint,
                                                                       customer_id bigint, recipient text, message_id text)),
          ins as (
            insert into messages (enrollment_id, step, template_version_id, customer_id, recipient, state, message_id)
            select enrollment_id, step, template_version_id, customer_id, recipient, 'pending', message_id from v
            on conflict (enrollment_id, step) do nothing returning id, state, attempts, enrollment_id, step)
          select id, state, attempts, enrollment_id, step from ins
          union all
          select m.id, m.state, m.attempts, m.enrollment_id, m.step from messages m join v on v.enrollment_id = m.enrollment_id and v.step = m.step`,
      openedRow,
    ),
  );
  const missing = messages.filter((m) => !opened.has(messageKey(m)));
  if (missing.length)
    keep(
      await parsedRows(
        db,
        sql`select m.id, m.state, m.attempts, m.enrollment_id, m.step from messages m
            join jsonb_to_recordset(${jsonParam(missing.map((m) => ({ enrollment_id: m.enrollmentId, step: m.step })))})
              as v(enrollment_id bigint, step int) on v.enrollment_id = m.enrollment_id and v.step = m.step`,
        openedRow,
      ),
    );
  return opened;
}

/** What a claim stores: what is about to be sent. */
export interface MessageClaim {
  messageId: number;
  subject: string;
  links: string[];
  recommendations: string[];
  upsells: string[];
}

/**
 * Claims pending messages for `claimSeconds` of real time, in one statement, and stores
 * what is about to be sent (subject, tracked link destinations, the cross-sell and upsell
 * skus it shows: offer acceptance is counted against them, src/analytics/kpis.ts). Returns
 * the ids claimed; a message another worker holds is left out: if the schedule was lost and
 * rebuilt while a worker is sending this very step, only one of them hands it to SMTP. Real
 * time (`now()`), not the engine's clock, because the lease guards real workers.
 */
export async function claimMessages(db: Db, claims: readonly MessageClaim[], claimSeconds: number): Promise<Set<number>> {
  const values = jsonParam(
    claims.map((c) => ({ id: c.messageId, subject: c.subject, links: c.links, recommendations: c.recommendations, upsells: c.upsells })),
  );
  const rows = await parsedRows(
    db,
    sql`update messages m set claimed_until = now() + make_interval(secs => ${claimSeconds}),
          subject = v.subject, links = v.links, recommendations = v.recommendations, upsells = v.upsells,
          attempts = m.attempts + 1
        from jsonb_to_recordset(${values}) as v(id bigint, subject text, links jsonb, recommendations jsonb, upsells jsonb)
        where m.id = v.id and m.state = 'pending' and (m.claimed_until is null or m.claimed_until < now())
        returning m.id`,
    z.object({ id: z.coerce.number() }),
  );
  return new Set(rows.map((r) => r.id));
}

/**
 * Records a send that failed in a way worth retrying. When the server surely took nothing
 * (`releaseClaim`), the claim is released so the retry may send at once; otherwise it
 * stands until it lapses, since the server may have taken the message.
 */
export async function recordSendError(db: Db, messageId: number, error: string, releaseClaim: boolean): Promise<void> {
  await db.execute(sql`update messages set ${releaseClaim ? sql`claimed_until = null,` : sql``} error = ${error.slice(0, 500)}
                       where id = ${messageId}`);
}

/**
 * Records a permanent refusal by the SMTP server; with `suppressRecipient` (a hard bounce)
 * the address is suppressed in the same transaction, so no other sequence mails it.
 */
export async function recordRefusal(
  db: Db,
  message: { id: number; recipient: string },
  response: string,
  suppressRecipient: boolean,
): Promise<void> {
  await db.transaction(async (tx) => {
    await tx.execute(sql`update messages set state = 'failed', smtp_response = ${response}, error = 'rejected' where id = ${message.id}`);
    if (suppressRecipient) await suppress(tx, message.recipient, 'hard-bounce', response);
  });
}

/**
 * When the customer's other emails were sent within the cap window, for the frequency cap.
 * Emails another worker is handing to SMTP right now (pending under a live claim) count as
 * sent now, so two sequences cannot both squeeze into the last slot. The message of
 * (enrollment, step) itself is left out: a retry must not count against itself.
 */
export async function recentSendTimes(
  db: Db,
  q: { customerId: number; enrollmentId: number; step: number; since: Date; now: Date },
): Promise<Date[]> {
  const rows = await parsedRows(
    db,
    sql`select coalesce(sent_at, ${q.now.toISOString()}::timestamptz) as sent_at from messages
        where customer_id = ${q.customerId} and not (enrollment_id = ${q.enrollmentId} and step = ${q.step})
          and ((state = 'sent' and sent_at > ${q.since.toISOString()}) or (state = 'pending' and claimed_until > now()))`,
    z.object({ sent_at: z.coerce.date() }),
  );
  return rows.map((r) => r.sent_at);
}

const deliveredRow = z.object({
  id: z.coerce.number().int(),
  enrollment_id: z.coerce.number().int(),
  links: z.array(z.string()),
  recommendations: z.array(z.string()),
  upsells: z.array(z.string()),
  customer: z.string(),
  /** The skus of the order that triggered the enrollment. */
  bought: z.array(z.string()),
  identity: z.string(),
  /** The discount code the email carries and what it takes off (`percent` 15 or `amount` 5.00); null when none. */
  discount: z.object({ code: z.string(), kind: z.enum(['percent', 'amount']), value: z.string() }).nullable(),
});
export type DeliveredMessage = z.output<typeof deliveredRow>;

/**
 * What a recipient of the email with this RFC Message-ID could know: its tracked links,
 * the recommended skus (cross-sells and upsells), who it went to, the skus of the order that
 * triggered it, the discount code it carries, and a stable identity (customer / sequence / trigger order / step) that stays the same across
 * runs even though database ids do not (the demo's simulated recipients draw from it).
 */
export async function findDeliveredMessage(db: Db, rfcMessageId: string): Promise<DeliveredMessage | undefined> {
  return parsedRow(
    db,
    sql`select m.id, m.enrollment_id, m.links, m.recommendations, m.upsells, c.external_id as customer,
               c.external_id || '/' || e.sequence_id || '/' || o.external_id || '/' || m.step as identity,
               coalesce((select array_agg(distinct p.sku) from order_items oi join products p on p.id = oi.product_id
                         where oi.order_id = e.trigger_order_id), '{}') as bought,
               (select json_build_object('code', dc.code, 'kind', cp.value_kind, 'value', cp.value::text)
                  from discount_codes dc join code_pools cp on cp.id = dc.pool_id where dc.id = m.discount_code_id) as discount
        from messages m join enrollments e on e.id = m.enrollment_id join customers c on c.id = m.customer_id
        join orders o on o.id = e.trigger_order_id
        where m.message_id = ${rfcMessageId}`,
    deliveredRow,
  );
}
