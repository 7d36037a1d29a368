/**
 * The measured customers of a version per arm within each value of the breakdown's
 * dimensions (src/core/breakdown.ts): `buyer` (first-time or repeat: an order before the
 * trigger order), `segment` (the RFM segment the enrollment was made in; `unknown` for
 * enrollments older than segments) and, when asked, `attribute:NAME` (the customer's
 * attribute as text, `(none)` without it). Revenue is the comparisons' own: the window's
 * orders net of refunds (./cohort.ts).
 */
import { sql, type SQL } from 'drizzle-orm';
import type { CellSample } from '../core/breakdown.ts';
import { queryRows, type Db } from '../db/client.ts';
import { customerUnits, NET_WINDOW_REVENUE, rollupUnits, windowOrders } from './cohort.ts';

export async function breakdownCells(
  db: Db,
  versionId: number,
  options: { windowMs: number; asOf: Date; from: string; attribute?: string | undefined; rollup: boolean },
): Promise<CellSample[]> {
  const { attribute } = options;
  const byAttribute =
    attribute === undefined
      ? sql``
      : sql`union all
            select ${`attribute:${attribute}`}, attribute, arm, count(*)::int, avg(y), var_samp(y) from unit group by attribute, arm`;
  const rows = await queryRows<{ dimension: string; value: string; arm: string; n: number; mean: number; variance: number | null }>(
    db,
    sql`with unit as (${options.rollup ? rollupUnit(versionId, options) : rawUnit(versionId, options)})
        select * from (
          select 'buyer' as dimension, buyer as value, arm, count(*)::int as n, avg(y) as mean, var_samp(y) as variance
          from unit group by buyer, arm
          union all
          select 'segment', segment, arm, count(*)::int, avg(y), var_samp(y) from unit group by segment, arm
          ${byAttribute}
        ) cells
        -- Buyer, then segment, then the attribute; values and arms by name.
        order by case dimension when 'buyer' then 0 when 'segment' then 1 else 2 end, value, arm`,
  );
  return rows.map((r) => ({ ...r, mean: Number(r.mean), variance: r.variance === null ? NaN : Number(r.variance) }));
}

/** A measured unit's arm, buyer, segment, attribute and window revenue, from the raw rows. */
function rawUnit(versionId: number, options: { windowMs: number; asOf: Date; from: string; attribute?: string | undefined }): SQL {
  const { windowMs, asOf, from, attribute } = options;
  return sql`select e.arm,
                 case when exists (select 1 from orders p where p.customer_id = e.customer_id and p.id <> t.id
                                     and (p.ordered_at, p.id) < (t.ordered_at, t.id)) then 'repeat' else 'first' end as buyer,
                 coalesce(en.segment, 'unknown') as segment,
                 coalesce(c.attributes ->> ${attribute ?? ''}, '(none)') as attribute,
                 ${NET_WINDOW_REVENUE} as y
          from (${customerUnits(versionId, { from, windowMs, asOf })}) e
          join enrollments en on en.id = e.id
          join orders t on t.id = e.trigger_order_id
          join customers c on c.id = e.customer_id
          ${windowOrders({ windowMs, asOf })}
          where e.measured
          group by e.id, e.arm, e.customer_id, t.id, t.ordered_at, en.segment, c.attributes`;
}

/**
 * {@link rawUnit} from the per-enrollment rollup (src/store/outcomes.ts): the buyer and
 * segment it keeps, the revenue it nets (exact when no refund is later than as-of).
 */
function rollupUnit(versionId: number, options: { asOf: Date; from: string; attribute?: string | undefined }): SQL {
  const attribute =
    options.attribute === undefined
      ? sql`'(none)'`
      : sql`coalesce((select c.attributes ->> ${options.attribute} from customers c where c.id = e.customer_id), '(none)')`;
  return sql`select e.arm, case when e.repeat_buyer then 'repeat' else 'first' end as buyer, e.segment, ${attribute} as attribute, e.y
             from (${rollupUnits(versionId, options, ['customer_id', 'arm', 'repeat_buyer', 'segment', 'y', 'measured'])}) e
             where e.measured`;
}
