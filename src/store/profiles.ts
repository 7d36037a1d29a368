/**
 * Customer profiles (the `customer_profiles` table): per customer, the orders not cancelled,
 * their spend net of refunds (never below 0 an order, as every revenue figure counts it), the
 * first and last of them, and the median days between consecutive ones. The ingest calls
 * `refreshProfiles` with the customers a batch touched, in the batch's transaction, so a
 * profile never disagrees with the orders it summarises; `rebuildProfiles` recomputes all.
 */
import { sql, type SQL } from 'drizzle-orm';
import { z } from 'zod';
import { jsonParam, queryRows, type Db } from '../db/client.ts';
import type { ProfileFacts } from '../core/profile.ts';
import { parsedRows } from './rows.ts';

/**
 * The profile of every customer `affected` selects (a query of one `id` column), written
 * whole: a customer whose last order was cancelled gets a profile of 0 orders.
 *
 * Each customer's orders are read by a lateral lookup by `orders_customer_time_idx` (`offset 0`
 * keeps the planner from flattening it into a join): a batch's few hundred customers are
 * otherwise hashed against a scan of the whole orders table, once per batch, a cost that
 * grows with the shop's history instead of with the batch.
 */
function profileUpsert(affected: SQL): SQL {
  return sql`
    with affected as (${affected}),
    net as (
      select a.id as customer_id, o.ordered_at,
             greatest(o.total - coalesce((select sum(r.amount) from refunds r where r.order_id = o.id), 0), 0) as net
      from affected a
      cross join lateral (select o.id, o.total, o.ordered_at from orders o where o.customer_id = a.id and o.cancelled_at is null offset 0) o
    ),
    gaps as (
      select customer_id,
             extract(epoch from ordered_at - lag(ordered_at) over (partition by customer_id order by ordered_at)) / 86400 as gap
      from net
    ),
    totals as (
      select customer_id, count(*)::int as orders, sum(net) as spend, min(ordered_at) as first_at, max(ordered_at) as last_at
      from net group by customer_id
    ),
    typical as (
      select customer_id, percentile_cont(0.5) within group (order by gap) as days from gaps where gap is not null group by customer_id
    )
    insert into customer_profiles (customer_id, orders, spend, first_order_at, last_order_at, typical_gap_days)
    select a.id, coalesce(t.orders, 0), coalesce(t.spend, 0), t.first_at, t.last_at, g.days
    from affected a left join totals t on t.customer_id = a.id left join typical g on g.customer_id = a.id
    on conflict (customer_id) do update set
      orders = excluded.orders, spend = excluded.spend, first_order_at = excluded.first_order_at,
      last_order_at = excluded.last_order_at, typical_gap_days = excluded.typical_gap_days, updated_at = now()
    where (customer_profiles.orders, customer_profiles.spend, customer_profiles.first_order_at,
           customer_profiles.last_order_at, customer_profiles.typical_gap_days)
      is distinct from (excluded.orders, excluded.spend, excluded.first_order_at, excluded.last_order_at, excluded.typical_gap_days)`;
}

/** Recomputes the profiles of the customers with these internal ids (the ingest's call, per batch). */
export async function refreshProfiles(db: Db, customerIds: Iterable<number>): Promise<void> {
  const ids = [...new Set(customerIds)];
  if (ids.length === 0) return;
  // Prepared: one per ingest batch and API request, of fixed text.
  await queryRows(db, profileUpsert(sql`select distinct (v #>> '{}')::int as id from jsonb_array_elements(${jsonParam(ids)}) v`), {
    prepared: true,
  });
}

/** Recomputes the profiles of the customers owning these orders (external ids): refunds and cancellations. */
export async function refreshProfilesOfOrders(db: Db, orderExternalIds: Iterable<string>): Promise<void> {
  const ids = [...new Set(orderExternalIds)];
  if (ids.length === 0) return;
  await db.execute(
    profileUpsert(
      sql`select distinct o.customer_id as id from orders o join jsonb_array_elements_text(${jsonParam(ids)}) k(v) on o.external_id = k.v`,
    ),
  );
}

/** Recomputes every customer's profile. */
export async function rebuildProfiles(db: Db): Promise<void> {
  await db.execute(profileUpsert(sql`select id from customers`));
}

const profileRow = z.object({
  customer: z.string(),
  orders: z.number().int(),
  spend: z.string(),
  first_order_at: z.coerce.date().nullable(),
  last_order_at: z.coerce.date().nullable(),
  typical_gap_days: z.number().nullable(),
});
export type StoredProfile = z.output<typeof profileRow>;

/** Every customer's profile (or only `customer`'s), by customer (external id), spend as a decimal string; a customer who never ordered has 0 orders. */
export async function storedProfiles(db: Db, customer?: string): Promise<StoredProfile[]> {
  return parsedRows(
    db,
    sql`select c.external_id as customer, coalesce(p.orders, 0) as orders, coalesce(p.spend, 0)::text as spend,
               p.first_order_at, p.last_order_at, p.typical_gap_days
        from customers c left join customer_profiles p on p.customer_id = c.id
        ${customer === undefined ? sql`` : sql`where c.external_id = ${customer}`}
        order by c.external_id`,
    profileRow,
  );
}

const factsRow = z.object({
  customer_id: z.number().int(),
  customer: z.string(),
  orders: z.number().int(),
  spend: z.string(),
  last_order_at: z.coerce.date().nullable(),
  typical_gap_days: z.number().nullable(),
});
export type ProfileRow = z.output<typeof factsRow>;

/** Every profile of a customer who ordered (what the shop's quantiles are taken over), or only `customer`'s (external id). */
export async function profileRows(db: Db, customer?: string): Promise<ProfileRow[]> {
  return parsedRows(
    db,
    sql`select p.customer_id, c.external_id as customer, p.orders, p.spend::text as spend, p.last_order_at, p.typical_gap_days
        from customer_profiles p join customers c on c.id = p.customer_id
        where p.orders > 0 ${customer === undefined ? sql`` : sql`and c.external_id = ${customer}`}
        order by p.customer_id`,
    factsRow,
  );
}

const beforeRow = z.object({
  orders: z.number().int(),
  spend: z.string(),
  last_order_at: z.coerce.date().nullable(),
  typical_gap_days: z.number().nullable(),
});

/**
 * The customer's profile just before each of the given orders (in one statement), as it
 * stood then: their earlier orders
 * (by time, then id) not cancelled by the order's time, net of the refunds made by then (the
 * rules of the enrollment's pre-spend). What a trigger's segment filter and the enrollment's
 * `segment` are decided on, so a returning lapsed customer is `lapsed`, not what the new
 * order makes them.
 */
export async function profilesBeforeOrders(db: Db, orderIds: readonly number[]): Promise<Map<number, ProfileFacts>> {
  const rows = await parsedRows(
    db,
    sql`select t.id as order_id, b.* from orders t cross join lateral (
          with earlier as (
            select p.ordered_at,
                   greatest(p.total - coalesce((select sum(r.amount) from refunds r
                                                 where r.order_id = p.id and r.refunded_at < t.ordered_at), 0), 0) as net
            from orders p
            where p.customer_id = t.customer_id and (p.ordered_at, p.id) < (t.ordered_at, t.id)
              and (p.cancelled_at is null or p.cancelled_at >= t.ordered_at)
          ),
          gaps as (select extract(epoch from ordered_at - lag(ordered_at) over (order by ordered_at)) / 86400 as gap from earlier)
          select count(*)::int as orders, coalesce(sum(net), 0)::text as spend, max(ordered_at) as last_order_at,
                 (select percentile_cont(0.5) within group (order by gap) from gaps where gap is not null) as typical_gap_days
          from earlier) b
        where t.id in (select (jsonb_array_elements_text(${jsonParam(orderIds)}))::bigint)`,
    beforeRow.extend({ order_id: z.coerce.number().int() }),
  );
  return new Map(
    rows.map((r) => [r.order_id, { orders: r.orders, spend: r.spend, lastOrderAt: r.last_order_at, typicalGapDays: r.typical_gap_days }]),
  );
}
