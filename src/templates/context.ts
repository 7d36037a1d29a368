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

export class ContextError extends Error {
  override name = 'ContextError';
}

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

export async function buildContext(db: Db, config: Pick<Config, 'shop'>, request: ContextRequest): Promise<Omit<RenderContext, 'preheader'>> {
  const [customer] = await queryRows<{ id: number; external_id: string; email: string; first_name: string | null; last_name: string | null; timezone: string | null }>(
    db,
    sql`select id, external_id, email, first_name, last_name, timezone from customers where external_id = ${request.customerId}`,
  );
  if (!customer) throw new ContextError(`no customer "${request.customerId}"`);
  const [order] = await queryRows<{ id: number; external_id: string; ordered_at: Date; total: string; item_count: number }>(
    db,
    request.orderId
      ? sql`select id, external_id, ordered_at, total::text, item_count from orders where external_id = ${request.orderId} and customer_id = ${customer.id}`
      : sql`select id, external_id, ordered_at, total::text, item_count from orders where customer_id = ${customer.id} order by ordered_at desc, id desc limit 1`,
  );
  if (!order)
    throw new ContextError(
      request.orderId ? `customer "${request.customerId}" has no order "${request.orderId}"` : `customer "${request.customerId}" has no orders to preview with`,
    );
  const items = await queryRows<{ sku: string; name: string; category: string; quantity: number; unit_price: string; url: string | null; image_url: string | null }>(
    db,
    sql`select p.sku, p.name, p.category, oi.quantity, oi.unit_price::text, p.url, p.image_url
        from order_items oi join products p on p.id = oi.product_id where oi.order_id = ${order.id} order by oi.position`,
  );
  return {
    customer: {
      id: customer.external_id,
      email: customer.email,
      firstName: customer.first_name ?? '',
      lastName: customer.last_name ?? '',
      greetingName: customer.first_name || 'there',
      timezone: customer.timezone ?? config.shop.timezone,
    },
    order: {
      id: order.external_id,
      orderedAt: new Date(order.ordered_at).toISOString(),
      total: order.total,
      itemCount: order.item_count,
      items: items.map((i) => ({
        sku: i.sku,
        name: i.name,
        category: i.category,
        quantity: i.quantity,
        unitPrice: i.unit_price,
        url: i.url ?? config.shop.url,
        image: i.image_url ?? '',
      })),
    },
    ...(await recommendationsFor(db, {
      customerId: customer.id,
      orderId: order.id,
      strategy: request.strategy ?? 'co-purchase',
      rules: request.rules ?? DEFAULT_RULES,
      recommendations: request.recommendations,
      upsells: request.upsells,
    })),
    shop: { ...config.shop },
    links: request.links,
  };
}
