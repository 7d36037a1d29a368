/**
 * Orders as the processors and previews read them (the import writes them in bulk through
 * src/ingest/store.ts). Money comes back as decimal strings (`numeric::text`), never floats.
 */
import { sql } from 'drizzle-orm';
import { z } from 'zod';
import { CONSENT_STATES } from '../core/consent.ts';
import { jsonParam, type Db } from '../db/client.ts';
import { parsedRow, parsedRows } from './rows.ts';

const id = z.coerce.number().int();

/**
 * A customer by external id and one of their orders: the one with `externalOrderId`, or
 * their latest (by time, then id) when none is named, which is what previews and
 * `campaign recs for` use by default. Either part is undefined when it does not exist, so
 * the caller can say which is missing.
 */
export async function findCustomerOrder(
  db: Db,
  externalCustomerId: string,
  externalOrderId?: string,
): Promise<{ customerId: number | undefined; order: { id: number; externalId: string } | undefined }> {
  const customer = await parsedRow(db, sql`select id from customers where external_id = ${externalCustomerId}`, z.object({ id }));
  if (!customer) return { customerId: undefined, order: undefined };
  const order = await parsedRow(
    db,
    externalOrderId
      ? sql`select id, external_id from orders where external_id = ${externalOrderId} and customer_id = ${customer.id}`
      : sql`select id, external_id from orders where customer_id = ${customer.id} order by ordered_at desc, id desc limit 1`,
    z.object({ id, external_id: z.string() }),
  );
  return { customerId: customer.id, order: order && { id: order.id, externalId: order.external_id } };
}

const orderWithCustomerRow = z.object({
  external_id: z.string(),
  ordered_at: z.coerce.date(),
  total: z.string(),
  item_count: z.number().int(),
  customer_key: z.string(),
  email: z.string(),
  first_name: z.string().nullable(),
  last_name: z.string().nullable(),
  timezone: z.string().nullable(),
});

/** An order (by internal id) with its customer: the head of a render context. */
export async function findOrderWithCustomer(db: Db, orderId: number): Promise<z.output<typeof orderWithCustomerRow> | undefined> {
  return parsedRow(
    db,
    sql`select o.external_id, o.ordered_at, o.total::text as total, o.item_count,
               c.external_id as customer_key, c.email, c.first_name, c.last_name, c.timezone
        from orders o join customers c on c.id = o.customer_id where o.id = ${orderId}`,
    orderWithCustomerRow,
  );
}

const orderLineRow = z.object({
  sku: z.string(),
  name: z.string(),
  category: z.string(),
  quantity: z.number().int(),
  unit_price: z.string(),
  url: z.string().nullable(),
  image_url: z.string().nullable(),
});

const orderForContextRow = orderWithCustomerRow.extend({ id, lines: z.array(orderLineRow) });
export type OrderForContext = z.output<typeof orderForContextRow>;

/**
 * Orders (by internal id) with their customers and their lines in the order the shop listed
 * them, in one statement for any number: what render contexts are built from
 * (an order, its customer and its lines, for a batch).
 */
export async function ordersForContext(db: Db, orderIds: readonly number[]): Promise<Map<number, OrderForContext>> {
  const rows = await parsedRows(
    db,
    sql`select o.id, o.external_id, o.ordered_at, o.total::text as total, o.item_count,
               c.external_id as customer_key, c.email, c.first_name, c.last_name, c.timezone,
               coalesce((select jsonb_agg(jsonb_build_object('sku', p.sku, 'name', p.name, 'category', p.category,
                                                             'quantity', oi.quantity, 'unit_price', oi.unit_price::text,
                                                             'url', p.url, 'image_url', p.image_url) order by oi.position)
                         from order_items oi join products p on p.id = oi.product_id where oi.order_id = o.id), '[]') as lines
        from orders o join customers c on c.id = o.customer_id
        where o.id in (select (jsonb_array_elements_text(${jsonParam(orderIds)}))::bigint)`,
    orderForContextRow,
  );
  return new Map(rows.map((r) => [r.id, r]));
}

const triggerFactsRow = z.object({
  id,
  customer_id: id,
  customer_key: z.string(),
  total: z.string(),
  earlier_orders: z.number().int(),
  skus: z.array(z.string()),
  categories: z.array(z.string()),
  /** The customer's marketing consent now: yes, no or unknown. */
  accepts_marketing: z.enum(CONSENT_STATES),
  ordered_at: z.coerce.date(),
  country: z.string().nullable(),
  tags: z.array(z.string()),
  attributes: z.record(z.string(), z.unknown()),
});
export type TriggerFacts = z.output<typeof triggerFactsRow>;

/**
 * What the trigger filters and the enrollment need of a new order: its customer, its
 * total, distinct skus and categories, how many orders the customer placed before it, and
 * the customer's marketing consent.
 * "Before" is by time, then by id for orders of the same instant, so two orders of one
 * moment still count as first and repeat.
 */
export async function findTriggerFacts(db: Db, orderIds: readonly number[]): Promise<Map<number, TriggerFacts>> {
  const rows = await parsedRows(
    db,
    sql`select o.id, o.customer_id, c.external_id as customer_key, o.total::text as total, c.accepts_marketing, o.ordered_at, c.country, c.tags, c.attributes,
               (select count(*)::int from orders p where p.customer_id = o.customer_id
                  and (p.ordered_at < o.ordered_at or (p.ordered_at = o.ordered_at and p.id < o.id))) as earlier_orders,
               coalesce(items.skus, '{}') as skus, coalesce(items.categories, '{}') as categories
        from orders o join customers c on c.id = o.customer_id
        left join lateral (
          select array_agg(distinct p.sku) as skus, array_agg(distinct p.category) as categories
          from order_items i join products p on p.id = i.product_id where i.order_id = o.id
        ) items on true
        where o.id in (select (jsonb_array_elements_text(${jsonParam(orderIds)}))::bigint)`,
    triggerFactsRow,
  );
  return new Map(rows.map((r) => [r.id, r]));
}

/** The time of the newest order, or now when that is later (or there are none): "now" for a shop whose data ends in the past. */
export async function latestOrderTime(db: Db): Promise<Date> {
  const row = await parsedRow(
    db,
    sql`select greatest(now(), max(ordered_at)) as latest from orders`,
    z.object({ latest: z.coerce.date() }),
  );
  return row?.latest ?? new Date();
}

const orderRevenueRow = z.object({
  total: z.string(),
  refunded: z.string(),
  net: z.string(),
  cancelled_at: z.coerce.date().nullable(),
});
export type OrderRevenue = z.output<typeof orderRevenueRow>;

/**
 * What one order earned as of `asOf`, by the rule every revenue figure uses (see the
 * `refunds` table): its total less the refunds made by then, never below 0, and 0 once it
 * is cancelled (whenever that was). For a page or a processor that needs one order's net,
 * e.g. to stop a sequence whose trigger order was cancelled. Undefined for no such order.
 */
export async function orderRevenue(db: Db, orderId: number, asOf: Date): Promise<OrderRevenue | undefined> {
  return parsedRow(
    db,
    sql`select o.total::text as total, coalesce(rf.amount, 0)::numeric(16, 4)::text as refunded, o.cancelled_at,
               (case when o.cancelled_at is not null then 0 else greatest(o.total - coalesce(rf.amount, 0), 0) end)::numeric(16, 4)::text as net
        from orders o
        left join lateral (select sum(r.amount) as amount from refunds r
                           where r.order_id = o.id and r.refunded_at <= ${asOf.toISOString()}::timestamptz) rf on true
        where o.id = ${orderId}`,
    orderRevenueRow,
  );
}
