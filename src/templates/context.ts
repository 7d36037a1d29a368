/**
 * Builds the render context of a real customer and order from the database, for previews
 * and test sends (and, with the real recommender, for sends).
 */
import type { Config } from '../config.ts';
import { freeShipping } from '../core/free-shipping.ts';
import type { RenderContext } from '../core/render-context.ts';
import type { Db } from '../db/client.ts';
import { findCustomerOrder, ordersForContext, type OrderForContext } from '../store/orders.ts';
import { DEFAULT_RULES, type Rules, type Strategy } from '../core/recommend.ts';
import { recommendationsFor, strategySettings } from '../recs/service.ts';
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
  /** The moment previewed (the engine's clock: what is new is relative to it); default the wall clock. */
  now?: Date | undefined;
}

/**
 * The render context of a real customer and order: resolves the external ids (the
 * customer's latest order when none is named), asks the recommender, and assembles.
 */
export async function buildContext(
  db: Db,
  config: Pick<Config, 'shop'> & Partial<Pick<Config, 'newArrivalsDays'>>,
  request: ContextRequest,
): Promise<Omit<RenderContext, 'preheader'>> {
  const { customerId, order } = await findCustomerOrder(db, request.customerId, request.orderId);
  if (customerId === undefined) throw new ContextError(`no customer "${request.customerId}"`);
  if (order === undefined)
    throw new ContextError(
      request.orderId
        ? `customer "${request.customerId}" has no order "${request.orderId}"`
        : `customer "${request.customerId}" has no orders to preview with`,
    );
  const suggestions = await recommendationsFor(db, {
    customerId,
    orderId: order.id,
    strategy: request.strategy ?? 'co-purchase',
    rules: request.rules ?? DEFAULT_RULES,
    recommendations: request.recommendations,
    upsells: request.upsells,
    settings: strategySettings(config.shop, request.now ?? new Date(), config.newArrivalsDays),
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
  const row = (await ordersForContext(db, [orderId])).get(orderId);
  if (!row) throw new ContextError(`no order ${orderId}`);
  return contextOf(shop, row, suggestions, links);
}

/** The render context of a loaded order (see ordersForContext, which loads many at once). */
export function contextOf(
  shop: Config['shop'],
  row: OrderForContext,
  suggestions: Pick<RenderContext, 'recommendations' | 'upsells'>,
  links: RenderContext['links'],
): Omit<RenderContext, 'preheader'> {
  const items = row.lines;
  // The threshold is the shop's setting, not a field of the context's `shop`: it shows as the order's distance to it.
  const { freeShippingThreshold, ...shopFields } = shop;
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
      orderedAt: row.ordered_at.toISOString(),
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
      ...(freeShippingThreshold !== undefined && { freeShipping: freeShipping(row.total, freeShippingThreshold) }),
    },
    // A product the catalog gives no page links to the shop, as an order line does.
    recommendations: suggestions.recommendations.map((r) => ({ ...r, url: r.url || shop.url })),
    upsells: suggestions.upsells.map((r) => ({ ...r, url: r.url || shop.url })),
    shop: shopFields,
    links,
  };
}
