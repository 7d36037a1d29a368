/**
 * Enrollments: a customer in one version of one sequence, in one arm, with the next step
 * and when it is due. Every state change is conditional on the state the caller saw
 * (`state = 'active'`, `next_step = step`), so two workers racing on one enrollment move it
 * once: the loser's update matches no row.
 */
import { sql } from 'drizzle-orm';
import { z } from 'zod';
import { CONSENT_STATES } from '../core/consent.ts';
import type { OfferedStep } from '../core/offers.ts';
import type { StoredDefinition } from '../core/sequence.ts';
import type { Db } from '../db/client.ts';
import { addressHash } from './customer-data.ts';
import { addOutcome } from './outcomes.ts';
import { parsedRow, parsedRows } from './rows.ts';

const id = z.coerce.number().int();
const when = z.coerce.date();

const stepFactsRow = z.object({
  id,
  customer_id: id,
  sequence_id: z.string(),
  arm: z.string(),
  state: z.string(),
  next_step: z.number().int(),
  trigger_order_id: id,
  /** The trigger order's time: a refill step counts from it. */
  trigger_ordered_at: when,
  /** The learned refill interval of the trigger order in days, null when nothing was learned (or the sequence has no refill step). */
  replenish_days: z.number().nullable(),
  definition: z.custom<StoredDefinition>((value) => typeof value === 'object' && value !== null),
  sequence_status: z.string(),
  email: z.string(),
  timezone: z.string().nullable(),
  unsubscribed_at: when.nullable(),
  accepts_marketing: z.enum(CONSENT_STATES),
  suppression: z.string().nullable(),
  ordered_again: z.boolean(),
});
export type StepFactsRow = z.output<typeof stepFactsRow>;

/**
 * Everything the step policy needs about one enrollment, in one read: the enrollment, its
 * pinned sequence version, the sequence's pause switch, the customer (with their marketing
 * consent now), the suppression of
 * the customer's address (keyed by the lower-cased address, as `suppress()` writes it; or
 * `erased` for an erased customer, and for anyone whose address hashes to one in
 * `erased_addresses`) and whether the customer ordered again after the trigger order
 * (strictly later, another order), and what a refill step is timed by (the trigger order's
 * time, the learned interval).
 */
export async function findStepFacts(db: Db, enrollmentId: number): Promise<StepFactsRow | undefined> {
  return parsedRow(
    db,
    sql`select e.id, e.customer_id, e.sequence_id, e.arm, e.state, e.next_step, e.trigger_order_id,
               (select ordered_at from orders where id = e.trigger_order_id) as trigger_ordered_at, e.replenish_days,
               v.definition, s.status as sequence_status, c.email, c.timezone, c.unsubscribed_at, c.accepts_marketing,
               coalesce((select reason from suppressions where email = lower(c.email)),
                        case when c.erased_at is not null then 'erased' end,
                        (select 'erased' from erased_addresses where email_hash = ${addressHash(sql`c.email`)})) as suppression,
               exists (select 1 from orders o, orders t where t.id = e.trigger_order_id and o.customer_id = e.customer_id
                         and o.id <> t.id and o.ordered_at > t.ordered_at) as ordered_again
        from enrollments e join sequence_versions v on v.id = e.sequence_version_id
        join sequences s on s.id = e.sequence_id join customers c on c.id = e.customer_id
        where e.id = ${enrollmentId}`,
    stepFactsRow,
  );
}

/** A message the SMTP server accepted, marked `sent` in the same statement as the advance. */
export interface SentMark {
  messageId: number;
  sentAt: Date;
  response: string;
}

/**
 * Moves an active enrollment from `step` to `next` (due at `dueAt`), or completes it when
 * `dueAt` is null. With `sent`, the message's sent mark is written by the same statement:
 * the two are true together or not at all, so a crash can never leave a sent email whose
 * enrollment still waits to send it. Returns false when the enrollment had already moved
 * (another worker, a retry).
 */
export async function advanceEnrollment(
  db: Db,
  move: { id: number; step: number; next: number; dueAt: Date | null },
  sent?: SentMark,
): Promise<boolean> {
  const alongside = sent
    ? sql`update messages set state = 'sent', sent_at = ${sent.sentAt.toISOString()}, smtp_response = ${sent.response},
            error = null, claimed_until = null where id = ${sent.messageId}`
    : undefined;
  const update = sql`update enrollments set next_step = ${move.next}, next_due_at = ${move.dueAt?.toISOString() ?? null},
          state = ${move.dueAt ? 'active' : 'completed'}, updated_at = now()
        where id = ${move.id} and next_step = ${move.step} and state = 'active' returning id`;
  const rows = await parsedRows(db, alongside ? sql`with alongside as (${alongside} returning 1) ${update}` : update, z.object({ id }));
  return rows.length > 0;
}

/** Ends an active enrollment for `reason` (unsubscribed, bounced, ...); an ended one stays as it is. */
export async function exitEnrollment(db: Db, enrollmentId: number, reason: string): Promise<void> {
  await db.execute(sql`update enrollments set state = 'exited', exit_reason = ${reason}, next_due_at = null, updated_at = now()
                       where id = ${enrollmentId} and state = 'active'`);
}

/** Moves the due time of an enrollment's next step (quiet hours, the frequency cap, a pause). */
export async function delayEnrollment(db: Db, enrollmentId: number, until: Date): Promise<void> {
  await db.execute(sql`update enrollments set next_due_at = ${until.toISOString()}, updated_at = now() where id = ${enrollmentId}`);
}

/** The first `limit` active enrollments whose next step is due by `horizon`, soonest first (the reconciler's pass). */
export async function dueEnrollments(db: Db, horizon: Date, limit = 50_000): Promise<{ id: number; nextStep: number; nextDueAt: Date }[]> {
  const rows = await parsedRows(
    db,
    sql`select id, next_step, next_due_at from enrollments
        where state = 'active' and next_due_at <= ${horizon.toISOString()} order by next_due_at limit ${limit}`,
    z.object({ id, next_step: z.number().int(), next_due_at: when }),
  );
  return rows.map((r) => ({ id: r.id, nextStep: r.next_step, nextDueAt: r.next_due_at }));
}

/**
 * The earliest `next_due_at` of the active enrollments, or null when none is active: the
 * step the schedule is furthest behind on, for the schedule-lag gauge. `min` over
 * `state = 'active'` reads the first entry of the (state, next_due_at) index, so a scrape
 * costs the same whatever the table's size. Enrollments still active with no due time
 * (null `next_due_at`) are ignored by `min`, which is right: nothing of theirs is due.
 */
export async function earliestActiveDueAt(db: Db): Promise<Date | null> {
  const row = await parsedRow(
    db,
    sql`select min(next_due_at) as due from enrollments where state = 'active'`,
    z.object({ due: when.nullable() }),
  );
  return row?.due ?? null;
}

export interface NewEnrollment {
  customerId: number;
  sequenceId: string;
  sequenceVersionId: number;
  arm: string;
  holdout: boolean;
  /** The trigger order (its time is read from the row, to the microsecond). */
  orderId: number;
  /** Due time of the first step (ignored for a holdout, which is never scheduled). */
  dueAt: Date;
  now: Date;
  reenrollAfterDays: number;
  /**
   * What the recommender would offer at each step (index = step), for every arm, the holdout
   * too (src/core/offers.ts); stored with the row. Omitted: null, as for enrollments made
   * before offers were kept.
   */
  offered?: OfferedStep[] | null;
  /** The customer's segment just before the trigger order. */
  segment?: string | undefined;
  /** For a sequence with a refill step: the learned interval of the order's products (null: nothing learned). */
  replenish?: { days: number; source: 'customer' | 'product' | 'category' } | null;
}

/**
 * Enrolls a customer unless the re-enrollment rule forbids it, and returns the new id, or
 * undefined when nothing was inserted.
 *
 * Why it is correct: the rule check and the insert run under a transaction-scoped advisory
 * lock per (sequence, customer), so two orders of one customer handled at once cannot both
 * enroll; the unique (sequence, trigger order) key makes a second delivery of the same order
 * a no-op. `pre_spend` (the CUPED covariate) is the customer's spend in the 90 days before
 * the trigger order, other orders only, net of the refunds and cancellations known by then
 * (only what happened before enrolling, so the covariate stays independent of the arm). `enrolled_at` is the order's time (or now, if
 * earlier), so a queue backlog never shifts measurement windows. `offered` is written by the
 * same insert, so an enrollment never exists without its offers, and a duplicate stores none.
 * The report's rollup row (./outcomes.ts) is written in the same transaction.
 */
export async function insertEnrollment(db: Db, e: NewEnrollment): Promise<number | undefined> {
  return db.transaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(hashtext(${e.sequenceId}), ${e.customerId})`);
    const [row] = await parsedRows(
      tx,
      sql`insert into enrollments (customer_id, sequence_id, sequence_version_id, arm, is_holdout, trigger_order_id,
                                   state, next_step, next_due_at, pre_spend, enrolled_at, offered, segment,
                                   replenish_days, replenish_source)
          select ${e.customerId}, ${e.sequenceId}, ${e.sequenceVersionId}, ${e.arm}, ${e.holdout}, t.id,
                 ${e.holdout ? 'holdout' : 'active'}, 0, ${e.holdout ? null : e.dueAt.toISOString()},
                 coalesce((select sum(greatest(p.total - coalesce((select sum(r.amount) from refunds r
                                                                    where r.order_id = p.id and r.refunded_at < t.ordered_at), 0), 0))
                           from orders p where p.customer_id = ${e.customerId} and p.id <> t.id
                             and (p.cancelled_at is null or p.cancelled_at >= t.ordered_at)
                             and p.ordered_at >= t.ordered_at - interval '90 days' and p.ordered_at < t.ordered_at), 0),
                 least(t.ordered_at, ${e.now.toISOString()}::timestamptz),
                 ${e.offered ? JSON.stringify(e.offered) : null}::jsonb, ${e.segment ?? null},
                 ${e.replenish?.days ?? null}::float8, ${e.replenish?.source ?? null}
          from orders t
          where t.id = ${e.orderId} and not exists (
            select 1 from enrollments x where x.sequence_id = ${e.sequenceId} and x.customer_id = ${e.customerId}
              and x.trigger_order_id <> ${e.orderId}
              and x.enrolled_at > ${e.now.toISOString()}::timestamptz - make_interval(days => ${e.reenrollAfterDays}))
          on conflict (sequence_id, trigger_order_id) do nothing
          returning id`,
      z.object({ id }),
    );
    // The report's rollup row, in the enrollment's transaction (./outcomes.ts).
    if (row) await addOutcome(tx, row.id);
    return row?.id;
  });
}
