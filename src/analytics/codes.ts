/**
 * Discount codes in the report: per arm and step of a sequence version, the codes its sent
 * emails issued, how many were redeemed by as-of, and what those redemptions cost (the
 * redeeming orders' `discount_total`, as the shop reported it). A code is counted at the step
 * that issued it (first offered it); later steps of the enrollment showing it again issue
 * nothing new. Money is summed exactly (numeric, read as text).
 */
import { sql } from 'drizzle-orm';
import { sumMoney } from '../core/money.ts';
import { queryRows, type Db } from '../db/client.ts';

export interface CodeCounts {
  /** Codes issued by the sent emails (by as-of). */
  issued: number;
  /** Of those, redeemed by an order placed by as-of and not cancelled. */
  redeemed: number;
  /** redeemed / issued; null when none was issued. */
  redemptionRate: number | null;
  /** Σ discount_total of the redeeming orders, an exact decimal string in the shop's currency. */
  discountCost: string;
}

export interface CodeRow {
  arm: string;
  step: number;
  issued: number;
  redeemed: number;
  cost: string;
}

/**
 * Per arm and step (0-based) of `versionId`: codes issued by emails sent by `asOf` to
 * customers enrolled from `from`, those redeemed by `asOf`, and their discount cost.
 * Redemptions are those recorded by attribution's refresh (src/store/discount-codes.ts
 * `refreshRedemptions`), which the report runs first.
 */
export async function codeRows(db: Db, versionId: number, options: { from: string; asOf: Date }): Promise<CodeRow[]> {
  const at = options.asOf.toISOString();
  const rows = await queryRows<{ arm: string; step: number; issued: number; redeemed: number; cost: string }>(
    db,
    sql`select e.arm, m.step, count(*)::int as issued,
               count(o.id)::int as redeemed, coalesce(sum(o.discount_total), 0)::text as cost
        from discount_codes c join messages m on m.id = c.message_id join enrollments e on e.id = c.enrollment_id
        left join orders o on o.id = c.redeemed_order_id and o.ordered_at <= ${at}::timestamptz and o.cancelled_at is null
        where e.sequence_version_id = ${versionId} and e.enrolled_at >= ${options.from}::timestamptz
          and m.state = 'sent' and m.sent_at <= ${at}::timestamptz
        group by e.arm, m.step`,
  );
  return rows.map((r) => ({ arm: r.arm, step: Number(r.step), issued: r.issued, redeemed: r.redeemed, cost: r.cost }));
}

/** The counts of some rows (one step's, or an arm's steps), summed exactly. */
export function codeCounts(rows: readonly CodeRow[]): CodeCounts {
  const issued = rows.reduce((n, r) => n + r.issued, 0);
  const redeemed = rows.reduce((n, r) => n + r.redeemed, 0);
  return {
    issued,
    redeemed,
    redemptionRate: issued > 0 ? redeemed / issued : null,
    discountCost: sumMoney(rows.map((r) => r.cost)),
  };
}
