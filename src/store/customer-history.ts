/**
 * A customer as the dashboard's preview and messages pages look them up: found by their
 * external id or part of their email, then every email the engine made for them with what
 * happened to it. Also the published template versions the preview can render.
 *
 * Rows are parsed by zod schemas at the boundary (./rows.ts).
 */
import { sql } from 'drizzle-orm';
import { z } from 'zod';
import type { Db } from '../db/client.ts';
import { parsedRow, parsedRows } from './rows.ts';

const customerRow = z.object({
  id: z.number().int(),
  external_id: z.string(),
  email: z.string(),
  first_name: z.string().nullable(),
  last_name: z.string().nullable(),
});
export type CustomerMatch = z.output<typeof customerRow>;

/**
 * Up to 20 customers matching `q`: the one whose external id is exactly `q` first, then
 * those whose email contains it (case-insensitive; `%`, `_` and `\` in `q` match
 * themselves, not any text), in id order. A blank `q` matches no one, and only its first
 * 200 characters count, so a pasted novel is not sent to the database.
 */
export async function findCustomers(db: Db, q: string): Promise<CustomerMatch[]> {
  const term = q.trim().slice(0, 200);
  if (!term) return [];
  const pattern = `%${term.toLowerCase().replace(/[%_\\]/g, '\\$&')}%`;
  return parsedRows(
    db,
    sql`select id, external_id, email, first_name, last_name from customers
        where external_id = ${term} or lower(email) like ${pattern}
        order by (external_id = ${term}) desc, id limit 20`,
    customerRow,
  );
}

/** The customer with external id `externalId`, or undefined (the messages page's inbox filter). */
export async function customerByExternalId(db: Db, externalId: string): Promise<CustomerMatch | undefined> {
  return parsedRow(
    db,
    sql`select id, external_id, email, first_name, last_name from customers where external_id = ${externalId}`,
    customerRow,
  );
}

/** An event of a message as the pages list it (also ./message-detail.ts). */
export const eventItem = z.object({
  type: z.string(),
  human: z.boolean(),
  /** Why a machine was recognised (e.g. `apple-mpp`); null for a person. */
  reason: z.string().nullable(),
  /** As Postgres writes a timestamptz in JSON (ISO 8601 with an offset). */
  at: z.string(),
});

const messageRow = z.object({
  id: z.number().int(),
  sequence_id: z.string(),
  arm: z.string(),
  /** 0-based, as stored. */
  step: z.number().int(),
  /** The RFC 5322 Message-ID, angle brackets included: how a captured inbox knows the email. */
  rfc_message_id: z.string(),
  /** The template's name; null when no template version was recorded. */
  template: z.string().nullable(),
  state: z.string(),
  subject: z.string().nullable(),
  created_at: z.coerce.date(),
  sent_at: z.coerce.date().nullable(),
  error: z.string().nullable(),
  events: z.array(eventItem),
});
export type CustomerMessage = z.output<typeof messageRow>;

/**
 * The newest 200 emails made for the customer with external id `externalId` (any state:
 * queued, sent, skipped, failed), newest first, each with its sequence, arm, step, template and Message-ID and
 * its events (opens, clicks, bounces...) in the order they happened. The events come
 * aggregated per message in the same statement, so a page of 200 emails is one query.
 */
export async function customerMessages(db: Db, externalId: string): Promise<CustomerMessage[]> {
  return parsedRows(
    db,
    sql`select m.id, e.sequence_id, e.arm, m.step, m.message_id as rfc_message_id, t.name as template,
               m.state, m.subject, m.created_at, m.sent_at, m.error,
               coalesce((select json_agg(json_build_object('type', ev.type, 'human', ev.is_human, 'reason', ev.machine_reason,
                                                           'at', ev.occurred_at) order by ev.occurred_at)
                         from events ev where ev.message_id = m.id), '[]') as events
        from messages m join enrollments e on e.id = m.enrollment_id join customers c on c.id = m.customer_id
        left join template_versions tv on tv.id = m.template_version_id left join templates t on t.id = tv.template_id
        where c.external_id = ${externalId} order by m.created_at desc limit 200`,
    messageRow,
  );
}

/** The external id of the first customer (by id) who was sent an email, for a page that needs a real example. */
export async function firstEmailedCustomer(db: Db): Promise<string | undefined> {
  const [row] = await parsedRows(
    db,
    sql`select c.external_id from customers c
        where exists (select 1 from messages m where m.customer_id = c.id and m.state = 'sent') order by c.id limit 1`,
    z.object({ external_id: z.string() }),
  );
  return row?.external_id;
}
