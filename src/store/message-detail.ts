/**
 * One email as the dashboard shows it on its own page (/messages/:id): what the send path
 * stored about it (its recipient, Message-ID, subject, tracked links, the products it
 * offered), where it came from (sequence, version, arm, step, template version) and what
 * happened to it.
 *
 * The email's HTML is not stored (only what ./messages.ts `claimMessages` keeps), so this is
 * all there is to show of an email that is not in a captured inbox.
 */
import { sql } from 'drizzle-orm';
import { z } from 'zod';
import type { Db } from '../db/client.ts';
import { eventItem } from './customer-history.ts';
import { parsedRow } from './rows.ts';

const productItem = z.object({ sku: z.string(), name: z.string().nullable() });

const messageRow = z.object({
  id: z.number().int(),
  rfc_message_id: z.string(),
  recipient: z.string(),
  customer: z.string(),
  sequence_id: z.string(),
  sequence_version_id: z.number().int(),
  version: z.number().int(),
  arm: z.string(),
  /** 0-based, as stored. */
  step: z.number().int(),
  template_version_id: z.number().int().nullable(),
  /** The template's name; null for an email made before template versions were recorded. */
  template: z.string().nullable(),
  state: z.string(),
  subject: z.string().nullable(),
  error: z.string().nullable(),
  smtp_response: z.string().nullable(),
  created_at: z.coerce.date(),
  sent_at: z.coerce.date().nullable(),
  /** Destinations of the tracked links, by link index. */
  links: z.array(z.string()),
  recommendations: z.array(productItem),
  upsells: z.array(productItem),
  /** The discount code the email offered (its pool, and the order that redeemed it, if one has); null when it offered none. */
  discount: z.object({ code: z.string(), pool: z.string(), redeemed_by: z.string().nullable() }).nullable(),
  events: z.array(eventItem),
});
export type MessageDetail = z.output<typeof messageRow>;

/**
 * The message with id `id` (messages.id), with its sequence, version, arm, step and
 * template, the products it offered (by sku, named as the catalog names them now; a sku no
 * longer in the catalog has a null name), the discount code it offered and its events in
 * the order they happened.
 */
export async function messageDetail(db: Db, id: number): Promise<MessageDetail | undefined> {
  const products = (column: 'recommendations' | 'upsells') =>
    sql`coalesce((select json_agg(json_build_object('sku', r.sku, 'name', p.name) order by r.n)
                  from jsonb_array_elements_text(m.${sql.raw(column)}) with ordinality as r(sku, n)
                  left join products p on p.sku = r.sku), '[]')`;
  return parsedRow(
    db,
    sql`select m.id, m.message_id as rfc_message_id, m.recipient, c.external_id as customer, e.sequence_id,
               e.sequence_version_id, v.version, e.arm, m.step, m.template_version_id, t.name as template, m.state, m.subject,
               m.error, m.smtp_response, m.created_at, m.sent_at, m.links,
               ${products('recommendations')} as recommendations, ${products('upsells')} as upsells,
               (select json_build_object('code', dc.code, 'pool', cp.name, 'redeemed_by', ro.external_id)
                  from discount_codes dc join code_pools cp on cp.id = dc.pool_id left join orders ro on ro.id = dc.redeemed_order_id
                  where dc.id = m.discount_code_id) as discount,
               coalesce((select json_agg(json_build_object('type', ev.type, 'human', ev.is_human, 'reason', ev.machine_reason,
                                                           'at', ev.occurred_at) order by ev.occurred_at)
                         from events ev where ev.message_id = m.id), '[]') as events
        from messages m join enrollments e on e.id = m.enrollment_id join customers c on c.id = m.customer_id
        join sequence_versions v on v.id = e.sequence_version_id
        left join template_versions tv on tv.id = m.template_version_id left join templates t on t.id = tv.template_id
        where m.id = ${id}`,
    messageRow,
  );
}
