/**
 * Builds the render context of a real customer and order from the database, for previews
 * and test sends (and, with the real recommender, for sends).
 */
import { sql } from 'drizzle-orm';
import type { Config } from '../config.ts';
import type { RenderContext } from '../core/render-context.ts';
import { queryRows, type Db } from '../db/client.ts';
import { DEFAULT_RULES, type Rules, type Strategy } from '../core/recommend.ts';
import { recommendationsFor } from '../recs/service.ts';
import { ContextError } from '../errors.ts';

export interface ContextRequest {
  customerId: string;
  /** External order id; the customer's latest order when absent. */
  orderId?: string | undefined;
  links: RenderContext['links'];
  recommendations?: number;
  upsells?: number;
  strategy?: Strategy;
  rules?: Rules;
}

/**
 * The render context of a real customer and order: resolves the external ids (the
 * customer's latest order when none is named), asks the recommender, and assembles.
 */
export async function buildContext(db: Db, config: Pick<Config, 'shop'>, request: ContextRequest): Promise<Omit<RenderContext, 'preheader'>> {
  const [customer] = await queryRows<{ id: number }>(db, sql`select id from customers where external_id = ${request.customerId}`);
  if (!customer) throw new ContextError(`no customer "${request.customerId}"`);
  const [order] = await queryRows<{ id: number }>(
    db,
    request.orderId
      ? sql`select id from orders where external_id = ${request.orderId} and customer_id = ${customer.id}`
      : sql`select id from orders where customer_id = ${customer.id} order by ordered_at desc, id desc limit 1`,
  );
  if (!order)
    throw new ContextError(
      request.orderId ? `customer "${request.customerId}" has no order "${request.orderId}"` : `customer "${request.customerId}" has no orders to preview with`,
    );
  const suggestions = await recommendationsFor(db, {
    customerId: customer.id,
    orderId: order.id,
    strategy: request.strategy ?? 'co-purchase',
    rules: request.rules ?? DEFAULT_RULES,
    recommendations: request.recommendations,
    upsells: request.upsells,
  });
  return orderContext(db, config.shop, order.id, suggestions, request.links);
}

/**
 * The render context of an order (by internal id) and its customer, with the given
 * suggestions and links: what previews and sends both render.
 */
export async function orderContext(
  db: Db,
  shop: Config['shop'],
  orderId: number,
  suggestions: Pick<RenderContext, 'recommendations' | 'upsells'>,
  links: RenderContext['links'],
): Promise<Omit<RenderContext, 'preheader'>> {
  const [row] = await queryRows<{
    external_id: string;
    ordered_at: Date;
    total: string;
    item_count: number;
    customer_key: string;
    email: string;
    first_name: string | null;
    last_name: string | null;
    timezone: string | null;
  }>(
    db,
    sql`select o.external_id, o.ordered_at, o.total::text as total, o.item_count,
               c.external_id as customer_key, c.email, c.first_name, c.last_name, c.timezone
        from orders o join customers c on c.id = o.customer_id where o.id = ${orderId}`,
  );
  if (!row) throw new ContextError(`no order ${orderId}`);
  const items = await queryRows<{ sku: string; name: string; category: string; quantity: number; unit_price: string; url: string | null; image_url: string | null }>(
    db,
    sql`select p.sku, p.name, p.category, oi.quantity, oi.unit_price::text, p.url, p.image_url
        from order_items oi join products p on p.id = oi.product_id where oi.order_id = ${orderId} order by oi.position`,
  );
  return {
    customer: {
      id: row.customer_key,
      email: row.email,
      firstName: row.first_name ?? '',
      lastName: row.last_name ?? '',
      greetingName: row.first_name || 'there',
      timezone: row.timezone ?? shop.timezone,
    },
    order: {
      id: row.external_id,
      orderedAt: new Date(row.ordered_at).toISOString(),
      total: row.total,
      itemCount: row.item_count,
      items: items.map((i) => ({
        sku: i.sku,
        name: i.name,
        category: i.category,
        quantity: i.quantity,
        unitPrice: i.unit_price,
        url: i.url ?? shop.url,
        image: i.image_url ?? '',
      })),
    },
    ...suggestions,
    shop: { ...shop },
    links,
  };
}
