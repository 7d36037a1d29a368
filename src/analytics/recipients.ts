/**
 * The recipients behind one cell of the report's funnel (./report.ts): for a version, an arm,
 * one step or all of them, and a stage (sent, delivered, opened, clicked, ordered,
 * unsubscribed, bounced), the emails the cell counts, a page at a time, and how many there
 * are. The dashboard's drill-down (`/messages?sequence=…&arm=…&stage=…`) lists them.
 *
 * The count must equal the funnel's figure, so the query is the report's `funnelRows` cut
 * the same way: sent emails (state `sent`, sent by as-of) of customers enrolled from the
 * period's start; opens and clicks by a person only, from the engagement rollup as of the
 * report's time (./as-of.ts); delivered is sent less bounced; ordered lists one row per
 * attributed order (the funnel's `conversions`: orders placed by as-of, not cancelled,
 * credited under the report's attribution model), so an email credited with two orders is
 * two rows. Attribution and engagement are brought up to date first, as the report does.
 */
import { sql, type SQL } from 'drizzle-orm';
import { z } from 'zod';
import { attributionKey, type AttributionModel } from '../core/attribution.ts';
import type { SequenceDefinition } from '../core/sequence.ts';
import { independently, type Db } from '../db/client.ts';
import { parsedRow, parsedRows } from '../store/rows.ts';
import { engagementAsOf } from './as-of.ts';
import { refreshAttribution } from './attribution.ts';
import { refreshEngagement } from './engagement.ts';

/** The funnel's stages a cell can be drilled into, in the funnel's order. */
export const FUNNEL_STAGES = ['sent', 'delivered', 'opened', 'clicked', 'ordered', 'unsubscribed', 'bounced'] as const;
export type FunnelStage = (typeof FUNNEL_STAGES)[number];

/** Which of the report's figures each stage's count equals (the field of `Funnel`). */
export const STAGE_FIGURE: Record<FunnelStage, string> = {
  sent: 'sent',
  delivered: 'delivered',
  opened: 'opens.human',
  clicked: 'clicks.human',
  ordered: 'conversions',
  unsubscribed: 'unsubscribes',
  bounced: 'bounced',
};

const versionRow = z.object({
  id: z.number().int(),
  sequence_id: z.string(),
  name: z.string(),
  version: z.number().int(),
  live: z.boolean(),
  definition: z.custom<SequenceDefinition>((value) => typeof value === 'object' && value !== null),
});
export type DrillVersion = z.output<typeof versionRow>;

/**
 * A version of sequence `sequenceId`: the one with id `versionId` (sequence_versions.id), or
 * the live one when none is named; undefined when there is no such sequence or the version
 * is another sequence's.
 */
export async function drillVersion(db: Db, sequenceId: string, versionId?: number): Promise<DrillVersion | undefined> {
  const which = versionId === undefined ? sql`v.id = s.live_version_id` : sql`v.id = ${versionId}`;
  return parsedRow(
    db,
    sql`select v.id, s.id as sequence_id, s.name, v.version, v.id = s.live_version_id as live, v.definition
        from sequences s join sequence_versions v on v.sequence_id = s.id
        where s.id = ${sequenceId} and ${which}`,
    versionRow,
  );
}

const recipientRow = z.object({
  message_id: z.number().int(),
  /** The RFC 5322 Message-ID, angle brackets included. */
  rfc_message_id: z.string(),
  customer: z.string(),
  /** The address the email went to. */
  recipient: z.string(),
  /** 0-based, as stored. */
  step: z.number().int(),
  sent_at: z.coerce.date(),
  bounced: z.boolean(),
  unsubscribed: z.boolean(),
  first_open: z.coerce.date().nullable(),
  first_click: z.coerce.date().nullable(),
  /** The attributed order of the row (stage `ordered`), else the email's first one; null when none. */
  order_id: z.string().nullable(),
  ordered_at: z.coerce.date().nullable(),
  /** Net of the refunds made by as-of, as the funnel's attributed revenue. */
  order_revenue: z.number().nullable(),
  /** Orders credited to this email. */
  orders: z.number().int(),
});
export type Recipient = z.output<typeof recipientRow>;

export interface RecipientsQuery {
  versionId: number;
  arm: string;
  /** 0-based, as stored; undefined for every step. */
  step?: number | undefined;
  stage: FunnelStage;
  asOf: Date;
  attribution: AttributionModel;
  /** Only customers enrolled at or after this time (the period); default all. */
  enrolledFrom?: Date | undefined;
  /** 1-based. */
  page: number;
  perPage: number;
}

export interface Recipients {
  /** Rows in the cell: equal to the funnel's figure. */
  total: number;
  rows: Recipient[];
}

/**
 * The recipients of one funnel cell, newest send first (then by message id and order time,
 * so pages never overlap), `perPage` from page `page`, and the cell's count. One read-only
 * snapshot for both, as the report reads.
 */
export async function funnelRecipients(db: Db, query: RecipientsQuery): Promise<Recipients> {
  await independently(db, [() => refreshAttribution(db, query.attribution), () => refreshEngagement(db)]);
  return db.transaction(async (tx) => {
    await tx.execute(sql`set transaction isolation level repeatable read, read only`);
    const engagement = await engagementAsOf(tx, query.asOf);
    const cell = cellRows(query, engagement);
    const [counted] = await parsedRows(tx, sql`with ${cell} select count(*)::int as n from cell`, z.object({ n: z.number().int() }));
    const rows = await parsedRows(
      tx,
      sql`with ${cell}
          select c.*,
                 (select min(ev.occurred_at) from events ev where ev.message_id = c.message_id and ev.type = 'open' and ev.is_human
                    and ev.occurred_at <= ${query.asOf.toISOString()}::timestamptz) as first_open,
                 (select min(ev.occurred_at) from events ev where ev.message_id = c.message_id and ev.type = 'click' and ev.is_human
                    and ev.occurred_at <= ${query.asOf.toISOString()}::timestamptz) as first_click,
                 (select count(*)::int from credited k where k.message_id = c.message_id) as orders
          from cell c order by c.sent_at desc, c.message_id desc, c.ordered_at nulls last
          limit ${query.perPage} offset ${(query.page - 1) * query.perPage}`,
      recipientRow,
    );
    return { total: counted?.n ?? 0, rows };
  });
}

/**
 * The CTEs `sent` (the report's, narrowed to one arm and maybe one step), `credited` (its
 * attributed orders, one row per order) and `cell` (the rows of the stage), for a `with`.
 */
function cellRows(query: RecipientsQuery, engagement: SQL): SQL {
  const at = query.asOf.toISOString();
  const from = query.enrolledFrom?.toISOString() ?? '-infinity';
  const step = query.step === undefined ? sql`true` : sql`m.step = ${query.step}`;
  const stage: Record<Exclude<FunnelStage, 'ordered'>, SQL> = {
    sent: sql`true`,
    delivered: sql`not coalesce(t.bounced, false)`,
    bounced: sql`coalesce(t.bounced, false)`,
    opened: sql`coalesce(t.human_open, false)`,
    clicked: sql`coalesce(t.human_click, false)`,
    unsubscribed: sql`coalesce(t.unsubscribed, false)`,
  };
  // An ordered row is one attributed order; any other row is one email, with its first order.
  const orders =
    query.stage === 'ordered'
      ? sql`join credited k on k.message_id = s.id`
      : sql`left join lateral (select * from credited k where k.message_id = s.id order by k.ordered_at, k.order_id limit 1) k on true`;
  const where = query.stage === 'ordered' ? sql`true` : stage[query.stage];
  return sql`sent as materialized (
        select m.id, m.step, m.sent_at, m.message_id as rfc_message_id, m.recipient, m.customer_id
        from messages m join enrollments e on e.id = m.enrollment_id
        where e.sequence_version_id = ${query.versionId} and e.arm = ${query.arm} and ${step}
          and m.state = 'sent' and e.enrolled_at >= ${from}::timestamptz and m.sent_at <= ${at}::timestamptz
      ), credited as (
        -- As the report's: net of the refunds made by as-of; a cancelled order earns no credit.
        select a.message_id, o.external_id as order_id, o.ordered_at,
               greatest(o.total - coalesce(rf.amount, 0), 0)::float8 as revenue
        from attributions a join orders o on o.id = a.order_id and o.cancelled_at is null join sent s on s.id = a.message_id
        left join lateral (select sum(r.amount) as amount from refunds r
                           where r.order_id = o.id and r.refunded_at <= ${at}::timestamptz) rf on true
        where a.model = ${attributionKey(query.attribution)} and o.ordered_at <= ${at}::timestamptz
      ), cell as (
        select s.id as message_id, s.rfc_message_id, c.external_id as customer, s.recipient, s.step, s.sent_at,
               coalesce(t.bounced, false) as bounced, coalesce(t.unsubscribed, false) as unsubscribed,
               k.order_id, k.ordered_at, k.revenue as order_revenue
        from sent s join customers c on c.id = s.customer_id left join ${engagement} t on t.message_id = s.id ${orders}
        where ${where}
      )`;
}
