/**
 * Discount code pools and their codes: importing a file of codes (all or nothing), the
 * pools' counts, the claim of a code with the message row that shows it, and which order
 * redeemed each issued code.
 *
 * The claim is the heart of it: a code goes to one enrollment only, in the same transaction
 * that writes the message row of the step that first offers it, and the row keeps the code
 * it shows. So a retry, a resumed job or a rebuilt schedule finds the row and renders the
 * same code; a worker killed before the commit leaves neither the row nor the claim; two
 * workers claiming from one pool skip each other's locked codes (`for update skip locked`)
 * and cannot take the same one.
 */
import { sql } from 'drizzle-orm';
import { z } from 'zod';
import type { CodeLine, DiscountValue, LineProblem } from '../core/discount.ts';
import { plainValue, poolIsLow, sameValue } from '../core/discount.ts';
import { jsonParam, type Db } from '../db/client.ts';
import type { MessageRow } from './messages.ts';
import { parsedRow, parsedRows } from './rows.ts';

const id = z.coerce.number().int();
const count = z.coerce.number().int();
const when = z.coerce.date();

const poolRow = z.object({ id, name: z.string(), value_kind: z.enum(['percent', 'amount']), value: z.string() });

/** A pool as stored. */
export interface Pool {
  id: number;
  name: string;
  value: DiscountValue;
}

/** The pool called `name`, or undefined. */
export async function findPool(db: Db, name: string): Promise<Pool | undefined> {
  const row = await parsedRow(db, sql`select id, name, value_kind, value::text as value from code_pools where name = ${name}`, poolRow);
  return row && { id: row.id, name: row.name, value: { kind: row.value_kind, value: row.value } };
}

/** The names of every pool (for `sequences check`). */
export async function poolNames(db: Db): Promise<string[]> {
  const rows = await parsedRows(db, sql`select name from code_pools order by name`, z.object({ name: z.string() }));
  return rows.map((r) => r.name);
}

export type ImportResult =
  | { ok: true; created: boolean; pool: Pool; inserted: number; alreadyThere: number }
  | { ok: false; problems: LineProblem[]; error?: undefined }
  | { ok: false; error: string; problems?: undefined };

/**
 * Imports checked codes (src/core/discount.ts `checkCodes`) into a pool, creating it with
 * `value` when it does not exist. All or nothing: a code already in another pool is a
 * problem at its line and nothing is written; codes already in this pool are left as they
 * are (importing a file again is a no-op). A value that differs from the pool's is refused.
 *
 * Why it is correct: imports take one transaction-scoped advisory lock, so two imports of
 * overlapping files cannot both pass the check; the unique index on upper(code) backs it.
 */
export async function importCodes(
  db: Db,
  input: { pool: string; value: DiscountValue | undefined; expiresAt: Date | null; codes: readonly CodeLine[] },
): Promise<ImportResult> {
  return db.transaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(hashtext('discount-codes-import'))`);
    let pool = await findPool(tx, input.pool);
    let created = false;
    if (pool && input.value && !sameValue(pool.value, input.value))
      return {
        ok: false,
        error: `pool "${pool.name}" is ${describe(pool.value)}, not ${describe(input.value)}: import into a new pool for another value`,
      };
    if (!pool) {
      if (!input.value)
        return {
          ok: false,
          error: `pool "${input.pool}" does not exist yet: give its value (--value; "value" in the API), e.g. 10% or 5.00`,
        };
      const row = await parsedRow(
        tx,
        sql`insert into code_pools (name, value_kind, value) values (${input.pool}, ${input.value.kind}, ${input.value.value})
            returning id, name, value_kind, value::text as value`,
        poolRow,
      );
      pool = { id: row!.id, name: row!.name, value: { kind: row!.value_kind, value: row!.value } };
      created = true;
    }
    const existing = await parsedRows(
      tx,
      sql`select c.code, p.name as pool from discount_codes c join code_pools p on p.id = c.pool_id
          where upper(c.code) in (select upper(x) from jsonb_array_elements_text(${jsonParam(input.codes.map((c) => c.code))}) x)`,
      z.object({ code: z.string(), pool: z.string() }),
    );
    const held = new Map(existing.map((e) => [e.code.toUpperCase(), e]));
    const problems: LineProblem[] = [];
    const fresh: CodeLine[] = [];
    let alreadyThere = 0;
    for (const line of input.codes) {
      const other = held.get(line.code.toUpperCase());
      if (!other) fresh.push(line);
      else if (other.pool === pool.name) alreadyThere++;
      else problems.push({ line: line.line, message: `code "${line.code}" is already in pool "${other.pool}"` });
    }
    if (problems.length) {
      // Nothing half-imported: not even the pool this import would have created.
      if (created) await tx.execute(sql`delete from code_pools where id = ${pool.id}`);
      return { ok: false, problems };
    }
    for (let i = 0; i < fresh.length; i += 5_000)
      await tx.execute(sql`insert into discount_codes (pool_id, code, expires_at)
                           select ${pool.id}, x, ${input.expiresAt?.toISOString() ?? null}::timestamptz
                           from jsonb_array_elements_text(${jsonParam(fresh.slice(i, i + 5_000).map((c) => c.code))}) x`);
    return { ok: true, created, pool, inserted: fresh.length, alreadyThere };
  });
}

function describe(value: DiscountValue): string {
  return value.kind === 'percent' ? `${Number(value.value)}%` : `${value.value} off`;
}

const poolCountsRow = z.object({
  name: z.string(),
  value_kind: z.enum(['percent', 'amount']),
  value: z.string(),
  size: count,
  issued: count,
  redeemed: count,
  expired: count,
  left: count,
  next_expiry: when.nullable(),
});
export type PoolCounts = z.output<typeof poolCountsRow>;

/**
 * Per pool: its codes, those issued, those redeemed (as last recorded by
 * {@link refreshRedemptions}), those never issued that expired by `now`, and those left to
 * issue (never issued, not expired), with the soonest expiry among those left.
 */
export async function poolCounts(db: Db, now: Date): Promise<PoolCounts[]> {
  const at = now.toISOString();
  return parsedRows(
    db,
    sql`select p.name, p.value_kind, p.value::text as value, count(c.id) as size,
               count(c.enrollment_id) as issued, count(c.redeemed_order_id) as redeemed,
               count(c.id) filter (where c.enrollment_id is null and c.expires_at <= ${at}::timestamptz) as expired,
               count(c.id) filter (where c.enrollment_id is null and (c.expires_at is null or c.expires_at > ${at}::timestamptz)) as left,
               min(c.expires_at) filter (where c.enrollment_id is null and c.expires_at > ${at}::timestamptz) as next_expiry
        from code_pools p left join discount_codes c on c.pool_id = p.id
        group by p.id order by p.name`,
    poolCountsRow,
  );
}

/**
 * Each pool as `campaign codes list --json`, `GET /api/code-pools` and the dashboard's
 * Discount codes page show it (field names are a contract, README "Discount codes"):
 * redemptions refreshed first, `low` when fewer than `lowWater` codes are left to issue.
 */
export interface PoolSummary {
  pool: string;
  kind: 'percent' | 'amount';
  /** The percentage ("10", "12.5") or the amount ("5.00") each code takes off: {@link plainValue}. */
  value: string;
  size: number;
  issued: number;
  redeemed: number;
  /** Never issued and past their expiry: lost to the pool. */
  expired: number;
  /** Left to issue: never issued, not expired. */
  left: number;
  low: boolean;
  /** The soonest expiry among the codes left, ISO 8601; null when none of them expires. */
  nextExpiry: string | null;
}

export async function poolSummaries(db: Db, now: Date, lowWater: number): Promise<PoolSummary[]> {
  await refreshRedemptions(db);
  const pools = await poolCounts(db, now);
  return pools.map((p) => ({
    pool: p.name,
    kind: p.value_kind,
    value: plainValue({ kind: p.value_kind, value: p.value }),
    size: p.size,
    issued: p.issued,
    redeemed: p.redeemed,
    expired: p.expired,
    left: p.left,
    low: poolIsLow(p.left, lowWater),
    nextExpiry: p.next_expiry?.toISOString() ?? null,
  }));
}

/** A code as an email shows it. */
export interface IssuedCode {
  id: number;
  code: string;
  pool: string;
  value: DiscountValue;
  expiresAt: Date | null;
}

const issuedRow = z.object({
  id,
  code: z.string(),
  pool: z.string(),
  value_kind: z.enum(['percent', 'amount']),
  value: z.string(),
  expires_at: when.nullable(),
});
const issued = (r: z.output<typeof issuedRow>): IssuedCode => ({
  id: r.id,
  code: r.code,
  pool: r.pool,
  value: { kind: r.value_kind, value: r.value },
  expiresAt: r.expires_at,
});
const issuedColumns = sql`c.id, c.code, p.name as pool, p.value_kind, p.value::text as value, c.expires_at`;

export type OfferMessage =
  | {
      kind: 'opened';
      message: MessageRow;
      /** The code the email shows; null when it shows none. */
      code: IssuedCode | null;
      /** Claimed for this message now (not found on the row, nor held by the enrollment from an earlier step). */
      claimed: boolean;
      /**
       * Codes left in the pool after a claim, counted up to `countUpTo` (claims other workers
       * have not committed yet still look free here: an estimate, for the low-pool warning);
       * null when nothing was claimed.
       */
      left: number | null;
      /** The enrollment's code from an earlier step had expired: this email shows none. */
      expired: boolean;
      /** Written now without a code because the pool was empty (`withoutCode`). */
      withheld: boolean;
    }
  | { kind: 'empty' };

/**
 * The message row of (enrollment, step) for a step that offers `pool`, with the code it
 * shows, in one transaction:
 * - the row exists (a retry, a rebuilt schedule): it and the code it was written with;
 * - else the enrollment already holds a code of the pool (an earlier step): that code, unless
 *   it has expired by `now` (then the email shows none);
 * - else one free, unexpired code of the pool is claimed for the enrollment;
 * - none left: nothing is written and `empty` comes back, unless `withoutCode` allows the row
 *   to be written without one (`on_empty: send_without_offer`).
 *
 * Why it is correct: a transaction-scoped advisory lock per enrollment serialises two
 * runners of one step (a lost job and its replacement), so the second finds the first's row;
 * the claim skips codes other transactions have locked, and a code is claimed only while
 * free, so two enrollments never get the same one; the unique (enrollment, pool) index makes
 * a second code for one enrollment impossible. Row, claim and the code's `message_id` commit
 * together or not at all.
 */
export async function openMessageWithCode(
  db: Db,
  m: { enrollmentId: number; step: number; templateVersionId: number; customerId: number; recipient: string; rfcMessageId: string },
  offer: { pool: string; now: Date; withoutCode: boolean; countUpTo: number },
): Promise<OfferMessage> {
  return db.transaction(async (tx): Promise<OfferMessage> => {
    await tx.execute(sql`select pg_advisory_xact_lock(hashtext('message-offer'), hashtext(${String(m.enrollmentId)}))`);
    const existing = await parsedRow(
      tx,
      sql`select id, state, attempts, discount_code_id from messages where enrollment_id = ${m.enrollmentId} and step = ${m.step}`,
      z.object({ id, state: z.string(), attempts: z.number().int(), discount_code_id: id.nullable() }),
    );
    if (existing) {
      const code =
        existing.discount_code_id === null
          ? undefined
          : await parsedRow(
              tx,
              sql`select ${issuedColumns} from discount_codes c join code_pools p on p.id = c.pool_id where c.id = ${existing.discount_code_id}`,
              issuedRow,
            );
      const message = { id: existing.id, state: existing.state, attempts: existing.attempts };
      return { kind: 'opened', message, code: code ? issued(code) : null, claimed: false, left: null, expired: false, withheld: false };
    }

    const now = offer.now.toISOString();
    const held = await parsedRow(
      tx,
      sql`select ${issuedColumns} from discount_codes c join code_pools p on p.id = c.pool_id
          where p.name = ${offer.pool} and c.enrollment_id = ${m.enrollmentId}`,
      issuedRow,
    );
    let code: IssuedCode | null = null;
    let expired = false;
    let claimed = false;
    if (held) {
      expired = held.expires_at !== null && held.expires_at.getTime() <= offer.now.getTime();
      if (!expired) code = issued(held);
    } else {
      const row = await parsedRow(
        tx,
        sql`update discount_codes c set enrollment_id = ${m.enrollmentId}, issued_at = ${now}::timestamptz
            from code_pools p
            where p.id = c.pool_id and c.enrollment_id is null and c.id = (
              select f.id from discount_codes f join code_pools fp on fp.id = f.pool_id
              where fp.name = ${offer.pool} and f.enrollment_id is null and (f.expires_at is null or f.expires_at > ${now}::timestamptz)
              order by f.id limit 1 for update of f skip locked)
            returning ${issuedColumns}`,
        issuedRow,
      );
      if (row) {
        code = issued(row);
        claimed = true;
      }
    }
    if (!code && !expired && !offer.withoutCode) return { kind: 'empty' };

    const inserted = await parsedRow(
      tx,
      sql`insert into messages (enrollment_id, step, template_version_id, customer_id, recipient, state, message_id, discount_code_id)
          values (${m.enrollmentId}, ${m.step}, ${m.templateVersionId}, ${m.customerId}, ${m.recipient}, 'pending', ${m.rfcMessageId},
                  ${code?.id ?? null})
          returning id, state, attempts`,
      z.object({ id, state: z.string(), attempts: z.number().int() }),
    );
    let left: number | null = null;
    if (claimed && code) {
      await tx.execute(sql`update discount_codes set message_id = ${inserted!.id} where id = ${code.id}`);
      const counted = await parsedRow(
        tx,
        sql`select count(*) as n from (select 1 from discount_codes f join code_pools fp on fp.id = f.pool_id
              where fp.name = ${offer.pool} and f.enrollment_id is null and (f.expires_at is null or f.expires_at > ${now}::timestamptz)
              limit ${offer.countUpTo}) x`,
        z.object({ n: count }),
      );
      left = counted?.n ?? 0;
    }
    return { kind: 'opened', message: inserted!, code, claimed, left, expired, withheld: !code && !expired };
  });
}

/**
 * When the email that issued each of these codes was sent (by the engine's clock), keyed by
 * the code in upper case; a code whose email is not marked sent is absent. Attribution
 * credits a redemption to its email only when the order came at or after that send; the
 * demo's ledger reads the same times to apply the same rule.
 */
export async function codeSendTimes(db: Db, codes: readonly string[]): Promise<Map<string, Date>> {
  if (codes.length === 0) return new Map();
  const rows = await parsedRows(
    db,
    sql`select upper(c.code) as code, m.sent_at from discount_codes c join messages m on m.id = c.message_id
        where m.state = 'sent' and upper(c.code) in (select upper(jsonb_array_elements_text(${jsonParam(codes)})))`,
    z.object({ code: z.string(), sent_at: z.coerce.date() }),
  );
  return new Map(rows.map((r) => [r.code, r.sent_at]));
}

/**
 * Records which order redeemed each issued code: the first order, not cancelled, whose
 * `discount_code` is the code (compared without case) and that was placed at or after the
 * code was issued. Recomputed for every issued code and written only where it changed, so
 * a later cancellation takes the redemption back and an order sent again is counted once.
 * Attribution runs it before crediting (src/analytics/attribution.ts), and `codes list`
 * before counting. Returns the codes whose redemption changed.
 */
export async function refreshRedemptions(db: Db): Promise<number> {
  // A shop that never issued a code pays one index probe, not a pass over its orders.
  const any = await parsedRow(
    db,
    sql`select exists (select 1 from discount_codes where issued_at is not null) as any`,
    z.object({ any: z.boolean() }),
  );
  if (!any?.any) return 0;
  const rows = await parsedRows(
    db,
    sql`with firsts as (
          select distinct on (c.id) c.id, o.id as order_id, o.ordered_at
          from discount_codes c join orders o on upper(o.discount_code) = upper(c.code)
          where c.issued_at is not null and o.discount_code is not null and o.cancelled_at is null and o.ordered_at >= c.issued_at
          order by c.id, o.ordered_at, o.id
        ), wanted as (
          select c.id, f.order_id, f.ordered_at from discount_codes c left join firsts f on f.id = c.id
          where c.issued_at is not null
        )
        update discount_codes d set redeemed_order_id = w.order_id, redeemed_at = w.ordered_at
        from wanted w where d.id = w.id and d.redeemed_order_id is distinct from w.order_id
        returning d.id`,
    z.object({ id }),
  );
  return rows.length;
}
