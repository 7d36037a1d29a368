/**
 * Recommendation performance of a sequence version, per arm, by strategy and by product: the
 * products shown, the human clicks on them, the customers who bought them and the revenue
 * they brought. Beside the report's slot table (./series.ts `slotPerformance`), which only
 * knows positions, this says which recommender and which products earn their place.
 *
 * The population is the report's offer KPIs' (./kpis.ts `kpiMoments`): the measured
 * customers (first enrollment per customer, enrolled from `from`, window closed by as-of,
 * ./cohort.ts `customerUnits`), their emails sent by as-of, their human clicks by as-of, and
 * what they bought of their offer set in the window after enrolling (the trigger order
 * excluded, cancelled orders no orders, revenue net of the refunds made by as-of, a partial
 * refund spread over the order's lines in proportion to their totals). So each arm's total
 * row is the report's `kpis.acceptance.any.accepted` (buyers) and
 * `kpis.recommendedRevenue.total` (revenue: to the cent, but for the rounding of each line's
 * share of a partially refunded order, below). The offer set includes what a step would have
 * offered when its email was not sent by as-of (the holdout, skipped steps, exits):
 * those purchases are rows of their own ("not sent"), with nothing shown.
 *
 * Money is integer cents: each bought line's share of its order's net revenue is rounded to
 * the cent once, in the database, and every figure is a sum of those, so an arm's product rows
 * add up exactly to its total and the page and its CSV export show the same cents.
 */
import { sql, type SQL } from 'drizzle-orm';
import { z } from 'zod';
import { stepStrategies } from '../core/offers.ts';
import { STRATEGIES } from '../core/recommend.ts';
import { measurementWindowMs, type SequenceDefinition } from '../core/sequence.ts';
import type { Db } from '../db/client.ts';
import { parsedRows } from '../store/rows.ts';
import { customerUnits } from './cohort.ts';

/** Products listed one by one per arm, by revenue; the rest are summed in an "other products" row. */
export const DEFAULT_TOP_PRODUCTS = 20;

export type OfferKind = 'cross-sell' | 'upsell';
/** Where an offer was made: in a sent email, or at a step whose email was not sent by as-of. */
export type OfferedIn = 'email' | 'not sent';

const count = z.coerce.number().int();

/** One row of the statement: a strategy row, a product row, or an arm's totals. */
const recRow = z.object({
  /** `strategy`: (arm, strategy, kind, offered in); `product`: one sku; `other`: the products past the top N; `total`: the arm. */
  level: z.enum(['strategy', 'product', 'other', 'total']),
  arm: z.string(),
  strategy: z.string().nullable(),
  kind: z.enum(['cross-sell', 'upsell']).nullable(),
  emailed: z.boolean().nullable(),
  sku: z.string().nullable(),
  name: z.string().nullable(),
  /** Products in the row: 1 for a product, how many for `other`, the arm's for `total`. */
  products: count,
  /** Measured customers of the arm (total rows only; 0 elsewhere). */
  customers: count,
  emails: count,
  shown: count,
  clicked: count,
  buyers: count,
  units: count,
  cents: count,
});
export type RecRow = z.output<typeof recRow>;

export interface RecommendationOptions {
  asOf: Date;
  /** Only customers enrolled at or after this time; default all. */
  from?: Date | undefined;
  /** Products listed one by one per arm; default 20. */
  top?: number | undefined;
}

/**
 * The figures of a version's recommendations as plain rows, per arm (see the module comment
 * for the population). Why it is correct, CTE by CTE:
 * - `unit`: the measured customers of the version (the report's units);
 * - `step_strategy`: each arm's strategy per step, from the definition (src/core/offers.ts
 *   `stepStrategies`: the step's own, else the variant's; the holdout's the control's), as
 *   the step processor picks it for the email it sends;
 * - `sent`: the units' emails sent by as-of;
 * - `clicked`: the (email, product) pairs a person clicked by as-of: a human click on a link
 *   of that email whose destination is the product's URL (a link to anything else is no
 *   product's click);
 * - `impression`: one row per product an email showed and how (cross-sell, upsell), with the
 *   strategy of its step, and whether it was clicked (once at most however many clicks, so
 *   the click rate is a share of impressions);
 * - `offer`: the offer set of each unit as the report builds it (./kpis.ts): the products of
 *   its sent emails, and `enrollments.offered[step]` for the steps with no email sent by
 *   as-of, each with its strategy, kind and whether it was emailed;
 * - `bought`, `bought_line`: each unit's window orders (trigger excluded, uncancelled) with
 *   their net revenue as of as-of, and their lines with each line's share of it (line total ×
 *   net / total) rounded to the cent; `line`: those whose product is in the unit's offer set
 *   (two steps, so the planner joins the few bought lines to the offers, not the reverse);
 * - strategy rows: impressions, emails and clicks per (arm, strategy, kind), full-joined with
 *   the purchases of the products each (strategy, kind, emailed) offered: a product offered
 *   by two strategies (or as both kinds) counts in both rows, as the report's cross-sell and
 *   upsell acceptance count it in both;
 * - product rows: per (arm, sku), ranked by revenue (then buyers, impressions, sku); the
 *   first `top` as they are, the rest summed in one `other` row whose buyers are counted
 *   distinct;
 * - total rows: per arm, each impression, email, customer, unit and cent once.
 */
export async function recommendationRows(
  db: Db,
  versionId: number,
  definition: SequenceDefinition,
  options: RecommendationOptions,
): Promise<RecRow[]> {
  const at = sql`${options.asOf.toISOString()}::timestamptz`;
  const windowMs = measurementWindowMs(definition);
  const top = options.top ?? DEFAULT_TOP_PRODUCTS;
  if (!Number.isInteger(top) || top < 1) throw new RangeError(`top must be a whole number of at least 1 (got ${top})`);
  const units = customerUnits(versionId, { from: (options.from ?? new Date(0)).toISOString(), windowMs, asOf: options.asOf });
  const query = sql`with unit as materialized (
          select u.id, u.customer_id, u.arm, u.enrolled_at, u.trigger_order_id from (${units}) u where u.measured
        ), step_strategy (arm, step, strategy) as (
          values ${strategyValues(definition)}
        ), sent as materialized (
          select m.id, m.enrollment_id as unit, u.arm, m.step, m.recommendations, m.upsells, m.links
          from unit u join messages m on m.enrollment_id = u.id
          where m.state = 'sent' and m.sent_at <= ${at}
        ), clicked as materialized (
          select distinct s.id as message_id, p.sku
          from sent s join events ev on ev.message_id = s.id join products p on p.url = s.links ->> ev.link_index
          where ev.type = 'click' and ev.is_human and ev.occurred_at <= ${at} and ev.link_index is not null
        ), impression as materialized (
          select x.message_id, x.unit, x.arm, x.sku, x.kind, coalesce(st.strategy, 'unknown') as strategy,
                 c.message_id is not null as clicked
          from (select distinct s.id as message_id, s.unit, s.arm, s.step, r.sku, r.kind
                from sent s cross join lateral (
                  select c.sku, 'cross-sell' from jsonb_array_elements_text(s.recommendations) c(sku)
                  union all
                  select c.sku, 'upsell' from jsonb_array_elements_text(s.upsells) c(sku)
                ) r(sku, kind)) x
          left join step_strategy st on st.arm = x.arm and st.step = x.step
          left join clicked c on c.message_id = x.message_id and c.sku = x.sku
        ), offer as materialized (
          select distinct unit, arm, sku, kind, strategy, emailed from (
            select i.unit, i.arm, i.sku, i.kind, i.strategy, true as emailed from impression i
            union all
            select u.id, u.arm, x.sku, x.kind, coalesce(st.strategy, 'unknown'), false
            from unit u join enrollments en on en.id = u.id
            cross join lateral jsonb_array_elements(coalesce(en.offered, '[]'::jsonb)) with ordinality as o(offer, ordinal)
            cross join lateral (
              select c.sku, 'cross-sell' from jsonb_array_elements_text(o.offer -> 'crossSell') c(sku)
              union all
              select c.sku, 'upsell' from jsonb_array_elements_text(o.offer -> 'upsell') c(sku)
            ) x(sku, kind)
            left join step_strategy st on st.arm = u.arm and st.step = o.ordinal - 1
            where not exists (select 1 from sent s where s.unit = u.id and s.step = o.ordinal - 1)
          ) raw
        ), bought as materialized (
          select u.id as unit, u.arm, o.id as order_id, o.total, greatest(o.total - coalesce(rf.amount, 0), 0) as net
          from unit u
          join orders o on o.customer_id = u.customer_id and o.id <> u.trigger_order_id and o.cancelled_at is null
               and o.ordered_at > u.enrolled_at and o.ordered_at <= u.enrolled_at + ${windowMs} * interval '1 millisecond'
          left join lateral (select sum(r.amount) as amount from refunds r
                             where r.order_id = o.id and r.refunded_at <= ${at}) rf on true
        ), bought_line as materialized (
          select b.unit, b.arm, p.sku, oi.quantity,
                 round(case when b.total > 0 then oi.quantity * oi.unit_price * b.net / b.total * 100 else 0 end)::bigint as cents
          from bought b join order_items oi on oi.order_id = b.order_id join products p on p.id = oi.product_id
        ), line as materialized (
          select l.* from bought_line l where exists (select 1 from offer f where f.unit = l.unit and f.sku = l.sku)
        ), product as (
          select coalesce(s.arm, b.arm) as arm, coalesce(s.sku, b.sku) as sku,
                 coalesce(s.shown, 0) as shown, coalesce(s.clicked, 0) as clicked,
                 coalesce(b.buyers, 0) as buyers, coalesce(b.units, 0) as units, coalesce(b.cents, 0) as cents
          from (select arm, sku, count(*) as shown, count(*) filter (where clicked) as clicked from impression group by arm, sku) s
          full join (select arm, sku, count(distinct unit) as buyers, sum(quantity) as units, sum(cents) as cents
                     from line group by arm, sku) b on b.arm = s.arm and b.sku = s.sku
        ), ranked as materialized (
          select p.*, row_number() over (partition by p.arm order by p.cents desc, p.buyers desc, p.shown desc, p.sku collate "C") as rank
          from product p
        ), other_buyers as (
          select l.arm, count(distinct l.unit) as buyers
          from line l join ranked r on r.arm = l.arm and r.sku = l.sku where r.rank > ${top} group by l.arm
        ), arm_total as (
          select a.arm, a.customers, coalesce(i.emails, 0) as emails, coalesce(i.shown, 0) as shown, coalesce(i.clicked, 0) as clicked,
                 coalesce(l.buyers, 0) as buyers, coalesce(l.units, 0) as units, coalesce(l.cents, 0) as cents,
                 (select count(*) from product p where p.arm = a.arm) as products
          from (select arm, count(*) as customers from unit group by arm) a
          left join (select arm, count(distinct message_id) as emails, count(*) as shown, count(*) filter (where clicked) as clicked
                     from impression group by arm) i on i.arm = a.arm
          left join (select arm, count(distinct unit) as buyers, sum(quantity) as units, sum(cents) as cents
                     from line group by arm) l on l.arm = a.arm
        )
        select 'strategy' as level, coalesce(s.arm, b.arm) as arm, coalesce(s.strategy, b.strategy) as strategy,
               coalesce(s.kind, b.kind) as kind, coalesce(s.emailed, b.emailed) as emailed, null as sku, null as name,
               0 as products, 0 as customers, coalesce(s.emails, 0)::int as emails, coalesce(s.shown, 0)::int as shown,
               coalesce(s.clicked, 0)::int as clicked, coalesce(b.buyers, 0)::int as buyers,
               coalesce(b.units, 0)::bigint as units, coalesce(b.cents, 0)::bigint as cents
        from (select arm, strategy, kind, true as emailed, count(distinct message_id) as emails, count(*) as shown,
                     count(*) filter (where clicked) as clicked
              from impression group by arm, strategy, kind) s
        full join (select f.arm, f.strategy, f.kind, f.emailed, count(distinct l.unit) as buyers, sum(l.quantity) as units,
                          sum(l.cents) as cents
                   from offer f join line l on l.unit = f.unit and l.sku = f.sku
                   group by f.arm, f.strategy, f.kind, f.emailed) b
             on b.arm = s.arm and b.strategy = s.strategy and b.kind = s.kind and b.emailed = s.emailed
        union all
        select 'product', r.arm, null, null, null, r.sku, p.name, 1, 0, 0, r.shown::int, r.clicked::int, r.buyers::int,
               r.units::bigint, r.cents::bigint
        from ranked r left join products p on p.sku = r.sku
        where r.rank <= ${top}
        union all
        select 'other', r.arm, null, null, null, null, null, count(*)::int, 0, 0, sum(r.shown)::int, sum(r.clicked)::int,
               coalesce(min(ob.buyers), 0)::int, sum(r.units)::bigint, sum(r.cents)::bigint
        from ranked r left join other_buyers ob on ob.arm = r.arm
        where r.rank > ${top} group by r.arm
        union all
        select 'total', t.arm, null, null, null, null, null, t.products::int, t.customers::int, t.emails::int, t.shown::int,
               t.clicked::int, t.buyers::int, t.units::bigint, t.cents::bigint
        from arm_total t`;
  // One statement, so one snapshot. As the report: JIT compiling costs more than it saves on
  // these CTEs, and their sorts and hashes want more than the default work_mem.
  return db.transaction(async (tx) => {
    await tx.execute(sql`set transaction isolation level repeatable read, read only`);
    await tx.execute(sql`set local jit = off`);
    await tx.execute(sql`set local work_mem = '64MB'`);
    return parsedRows(tx, query, recRow);
  });
}

/** Every arm's strategy per step (0-based), as a VALUES list: the variants, the holdout. */
function strategyValues(definition: SequenceDefinition): SQL {
  const arms = [...definition.variants.map((v) => v.key), 'holdout'];
  const values = arms.flatMap((arm) =>
    stepStrategies(definition, arm).map((strategy, step) => sql`(${arm}::text, ${step}::int, ${strategy}::text)`),
  );
  return sql.join(values, sql`, `);
}

// ---------------------------------------------------------------- the tables, pure

/** The figures every row of both tables has. Money in integer cents; rates per impression, null with none shown. */
export interface RecFigures {
  shown: number;
  /** Impressions a person clicked (one per impression at most). */
  clicked: number;
  /** Measured customers who bought, in the window, a product the row covers and had been offered. */
  buyers: number;
  /** Quantities bought. */
  units: number;
  /** Net revenue of those lines, in cents. */
  revenueCents: number;
  /** clicked / shown. */
  clickRate: number | null;
  /** buyers / shown. */
  buyRate: number | null;
}

export interface StrategyLine extends RecFigures {
  arm: string;
  /** `strategy`: one strategy, kind and place; `total`: the arm's recommendations, each counted once. */
  row: 'strategy' | 'total';
  strategy: string | null;
  kind: OfferKind | null;
  offeredIn: OfferedIn | null;
  /** Sent emails that showed at least one product of the row. */
  emails: number;
}

export interface ProductLine extends RecFigures {
  arm: string;
  /** `product`: one sku; `other`: the products past the top N, summed; `total`: the arm's, equal to its strategy total. */
  row: 'product' | 'other' | 'total';
  sku: string | null;
  name: string | null;
  /** Products the row covers. */
  products: number;
}

export interface RecommendationTables {
  /** The arms in the definition's order (the variants, then the holdout), then any other arm with rows. */
  arms: { arm: string; customers: number }[];
  top: number;
  byStrategy: StrategyLine[];
  byProduct: ProductLine[];
}

const rates = (shown: number, clicked: number, buyers: number) => ({
  clickRate: shown > 0 ? clicked / shown : null,
  buyRate: shown > 0 ? buyers / shown : null,
});

const figures = (r: RecRow): RecFigures => ({
  shown: r.shown,
  clicked: r.clicked,
  buyers: r.buyers,
  units: r.units,
  revenueCents: r.cents,
  ...rates(r.shown, r.clicked, r.buyers),
});

/**
 * The two tables from the statement's rows: per arm (the definition's order), the strategy
 * rows (emailed before not sent, strategies in their list's order, cross-sell before upsell)
 * then the arm's total; the product rows by revenue, the "other products" row, then the
 * arm's total, the same figures as the strategy table's. An arm without rows still gets its
 * total row, zeros, so every arm of the report shows.
 */
export function recommendationTables(
  rows: readonly RecRow[],
  definition: SequenceDefinition,
  top = DEFAULT_TOP_PRODUCTS,
): RecommendationTables {
  const armKeys = [...definition.variants.map((v) => v.key), ...(definition.holdout > 0 ? ['holdout'] : [])];
  for (const r of rows) if (!armKeys.includes(r.arm)) armKeys.push(r.arm);
  const totalOf = (arm: string): RecRow =>
    rows.find((r) => r.level === 'total' && r.arm === arm) ?? {
      level: 'total',
      arm,
      strategy: null,
      kind: null,
      emailed: null,
      sku: null,
      name: null,
      products: 0,
      customers: 0,
      emails: 0,
      shown: 0,
      clicked: 0,
      buyers: 0,
      units: 0,
      cents: 0,
    };
  const strategyOrder = (s: string | null) => {
    const i = STRATEGIES.indexOf(s as (typeof STRATEGIES)[number]);
    return i < 0 ? STRATEGIES.length : i;
  };
  const byStrategy: StrategyLine[] = [];
  const byProduct: ProductLine[] = [];
  for (const arm of armKeys) {
    const total = totalOf(arm);
    const strategies = rows
      .filter((r) => r.level === 'strategy' && r.arm === arm)
      .sort(
        (a, b) =>
          Number(b.emailed) - Number(a.emailed) ||
          strategyOrder(a.strategy) - strategyOrder(b.strategy) ||
          (a.strategy ?? '').localeCompare(b.strategy ?? '') ||
          (a.kind ?? '').localeCompare(b.kind ?? ''),
      );
    for (const r of strategies)
      byStrategy.push({
        arm,
        row: 'strategy',
        strategy: r.strategy,
        kind: r.kind,
        offeredIn: r.emailed ? 'email' : 'not sent',
        emails: r.emails,
        ...figures(r),
      });
    byStrategy.push({ arm, row: 'total', strategy: null, kind: null, offeredIn: null, emails: total.emails, ...figures(total) });

    const products = rows
      .filter((r) => r.level === 'product' && r.arm === arm)
      .sort((a, b) => b.cents - a.cents || b.buyers - a.buyers || b.shown - a.shown || (a.sku! < b.sku! ? -1 : a.sku! > b.sku! ? 1 : 0));
    for (const r of products) byProduct.push({ arm, row: 'product', sku: r.sku, name: r.name ?? r.sku, products: 1, ...figures(r) });
    const other = rows.find((r) => r.level === 'other' && r.arm === arm);
    if (other) byProduct.push({ arm, row: 'other', sku: null, name: null, products: other.products, ...figures(other) });
    byProduct.push({ arm, row: 'total', sku: null, name: null, products: total.products, ...figures(total) });
  }
  return { arms: armKeys.map((arm) => ({ arm, customers: totalOf(arm).customers })), top, byStrategy, byProduct };
}

/**
 * Recommendation performance of a version by strategy and by product, per arm: the
 * statement's rows (`recommendationRows`) shaped into the two tables. What the sequence
 * page renders (src/dashboard/views/recommendations.tsx), its CSV exports
 * (./recommendations-format.ts) and the API's JSON are this one structure.
 */
export async function recommendationPerformance(
  db: Db,
  versionId: number,
  definition: SequenceDefinition,
  options: RecommendationOptions,
): Promise<RecommendationTables> {
  const top = options.top ?? DEFAULT_TOP_PRODUCTS;
  return recommendationTables(await recommendationRows(db, versionId, definition, { ...options, top }), definition, top);
}
