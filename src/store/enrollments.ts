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
import { jsonParam, type Db } from '../db/client.ts';
import { addressHash } from './customer-data.ts';
import { addOutcomes } from './outcomes.ts';
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
 * Everything the step policy needs about each of the given enrollments, in one read (a
 * batch of due steps reads them together): the enrollment, its
 * pinned sequence version, the sequence's pause switch, the customer (with their marketing
 * consent now), the suppression of
 * the customer's address (keyed by the lower-cased address, as `suppress()` writes it; or
 * `erased` for an erased customer, and for anyone whose address hashes to one in
 * `erased_addresses`) and whether the customer ordered again after the trigger order
 * (strictly later, another order), and what a refill step is timed by (the trigger order's
 * time, the learned interval).
 */
export async function findStepFacts(db: Db, enrollmentIds: readonly number[]): Promise<Map<number, StepFactsRow>> {
  const rows = await parsedRows(
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
        where e.id in (select (jsonb_array_elements_text(${jsonParam(enrollmentIds)}))::bigint)`,
    stepFactsRow,
  );
  return new Map(rows.map((r) => [r.id, r]));
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
  if (!sent) return (await parsedRows(db, update, z.object({ id }))).length > 0;
  // The email waits, in the same statement, for its rows of the report's rollup
  // (src/store/outcomes.ts `settleSends`): the send takes no lock of the rollup.
  const rows = await parsedRows(
    db,
    sql`with alongside as (${alongside} returning 1),
             pending as (insert into sends_to_roll_up (message_id) values (${sent.messageId}) on conflict do nothing returning 1)
        ${update}`,
    z.object({ id }),
    // One per email sent: prepared, its parse and plan cost more than its run.
    { prepared: true },
  );
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
 * Enrolls each customer unless the re-enrollment rule forbids it, and returns the new ids in
 * the order given (undefined where nothing was inserted). One transaction for the batch.
 *
 * Why it is correct: the rule check and the insert run under transaction-scoped advisory
 * locks per (sequence, customer), taken in one order by every batch, so two orders of one
 * customer handled at once cannot both enroll; within a batch, the enrollments of one
 * (sequence, customer) go in by successive statements (rounds), each seeing the last. The
 * unique (sequence, trigger order) key makes a second delivery of the same order a no-op.
 * `pre_spend` (the CUPED covariate) is the customer's spend in the 90 days before the
 * trigger order, other orders only, net of the refunds and cancellations known by then (only
 * what happened before enrolling, so the covariate stays independent of the arm).
 * `enrolled_at` is the order's time (or now, if earlier), so a queue backlog never shifts
 * measurement windows. `offered` is written by the same insert, so an enrollment never
 * exists without its offers, and a duplicate stores none. The report's rollup rows
 * (./outcomes.ts) are written in the same transaction.
 */
export async function insertEnrollments(db: Db, enrollments: readonly NewEnrollment[]): Promise<(number | undefined)[]> {
  if (enrollments.length === 0) return [];
  const pairKey = (e: NewEnrollment) => `${e.sequenceId}\u0000${e.customerId}`;
  const rounds: { index: number; e: NewEnrollment }[][] = [];
  const seen = new Map<string, number>();
  enrollments.forEach((e, index) => {
    const round = seen.get(pairKey(e)) ?? 0;
    seen.set(pairKey(e), round + 1);
    (rounds[round] ??= []).push({ index, e });
  });
  const ids = new Array<number | undefined>(enrollments.length).fill(undefined);
  await db.transaction(async (tx) => {
    const pairs = [...new Map(enrollments.map((e) => [pairKey(e), { sequence: e.sequenceId, customer: e.customerId }])).values()];
    await tx.execute(sql`select pg_advisory_xact_lock(k1, k2) from (
                           select hashtext(sequence) as k1, customer as k2
                           from jsonb_to_recordset(${jsonParam(pairs)}) as p(sequence text, customer int)
                           order by 1, 2 offset 0) locks`);
    for (const round of rounds) {
      const inserted = await insertRound(
        tx,
        round.map((r) => r.e),
      );
      for (const { index, e } of round) ids[index] = inserted.get(`${e.sequenceId}\u0000${e.orderId}`);
    }
    // The report's rollup rows, in the enrollments' transaction (./outcomes.ts).
    await addOutcomes(
      tx,
      ids.filter((id) => id !== undefined),
    );
  });
  return ids;
}

/** One statement of {@link insertEnrollments}: no two rows of one (sequence, customer). Keyed by sequence and trigger order. */
async function insertRound(tx: Db, enrollments: readonly NewEnrollment[]): Promise<Map<string, number>> {
  const values = jsonParam(
    enrollments.map((e) => ({
      customer_id: e.customerId,
      sequence_id: e.sequenceId,
      sequence_version_id: e.sequenceVersionId,
      arm: e.arm,
      holdout: e.holdout,
      order_id: e.orderId,
      due_at: e.holdout ? null : e.dueAt.toISOString(),
      now: e.now.toISOString(),
      reenroll_after_days: e.reenrollAfterDays,
      offered: e.offered ?? null,
      segment: e.segment ?? null,
      replenish_days: e.replenish?.days ?? null,
      replenish_source: e.replenish?.source ?? null,
    })),
  );
  const rows = await parsedRows(
    tx,
    sql`insert into enrollments (customer_id, sequence_id, sequence_version_id, arm, is_holdout, trigger_order_id,
                                 state, next_step, next_due_at, pre_spend, enrolled_at, offered, segment,
                                 replenish_days, replenish_source)
        select v.customer_id, v.sequence_id, v.sequence_version_id, v.arm, v.holdout, t.id,
               case when v.holdout then 'holdout' else 'active' end, 0, v.due_at,
               coalesce((select sum(greatest(p.total - coalesce((select sum(r.amount) from refunds r
                                                                  where r.order_id = p.id and r.refunded_at < t.ordered_at), 0), 0))
                         from orders p where p.customer_id = v.customer_id and p.id <> t.id
                           and (p.cancelled_at is null or p.cancelled_at >= t.ordered_at)
                           and p.ordered_at >= t.ordered_at - interval '90 days' and p.ordered_at < t.ordered_at), 0),
               least(t.ordered_at, v.now), v.offered, v.segment, v.replenish_days, v.replenish_source
        from jsonb_to_recordset(${values}) as v(customer_id bigint, sequence_id text, sequence_version_id bigint, arm text,
                                                holdout boolean, order_id bigint, due_at timestamptz, now timestamptz,
                                                reenroll_after_days int, offered jsonb, segment text, replenish_days float8,
                                                replenish_source text)
        join orders t on t.id = v.order_id
        where not exists (
          select 1 from enrollments x where x.sequence_id = v.sequence_id and x.customer_id = v.customer_id
            and x.trigger_order_id <> v.order_id
            and x.enrolled_at > v.now - make_interval(days => v.reenroll_after_days))
        on conflict (sequence_id, trigger_order_id) do nothing
        returning id, sequence_id, trigger_order_id`,
    z.object({ id, sequence_id: z.string(), trigger_order_id: id }),
  );
  return new Map(rows.map((r) => [`${r.sequence_id}\u0000${r.trigger_order_id}`, r.id]));
}
