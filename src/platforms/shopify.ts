/**
 * Shopify's webhooks, the pure part: the signature check and the mapping of each topic's
 * payload to the engine's own records (src/core/records.ts), which then go through the same
 * ingest as the API's. No IO.
 *
 * The mapping, as Shopify documents the payloads (REST Admin API webhooks):
 * - an order: `id` → order_id; `customer.id` → customer_id (a guest checkout, without a
 *   customer, is keyed `guest:<sha-256 of the email>`; a customer without an email must be known already); `created_at` → ordered_at; each line item's `sku`
 *   (or `shopify-<variant_id>` when the variant has none) with `quantity` and `price` (a
 *   decimal string in the shop's currency: `price_set.shop_money`, never the presentment
 *   currency the customer saw); the first of `discount_codes` and `total_discounts`; an order
 *   whose `currency` is not the shop's (SHOP_CURRENCY) cannot be mapped;
 * - `cancelled_at` → a cancellation; each of `refunds` (and a `refunds/create` payload) → a
 *   refund of the item revenue it gave back (its refunded lines' subtotals in shop money);
 * - a product: one product per variant: sku as above, `title` (with the variant's own title
 *   unless it is "Default Title"), `product_type` as the category ("uncategorised" when
 *   empty), the variant's `price`, the product's image, a link on SHOP_URL, in
 *   stock while the product is `active` and the variant has stock or sells without it;
 * - a customer: `email`, names, `tags` (comma-separated), `default_address.country_code`, and
 *   `email_marketing_consent.state` (subscribed → yes; not_subscribed, unsubscribed → no;
 *   anything else → unknown) with its `consent_updated_at`.
 */
import type { z } from 'zod';
import { MappingError } from '../errors.ts';
import { cents, guestKey, isObject, list, need, text, type Json } from './payload.ts';
import type { cancellationRecord, customerRecord, orderRecord, productRecord, refundRecord } from '../core/records.ts';

/** The records as mapped, before the ingest's own checks (src/core/records.ts) validate them. */
export type CustomerInput = z.input<typeof customerRecord>;
export type OrderInput = z.input<typeof orderRecord>;
export type ProductInput = z.input<typeof productRecord>;
export type RefundInput = z.input<typeof refundRecord>;
export type CancellationInput = z.input<typeof cancellationRecord>;

/** The sku of a variant or line item: its own, else one made from the variant id. */
function skuOf(item: Json): string {
  const sku = text(item.sku);
  if (sku) return sku;
  const variant = text(item.variant_id) ?? text(item.id);
  if (!variant) throw new MappingError('a line item has neither a sku nor a variant_id');
  return `shopify-${variant}`;
}

/** What Shopify's consent state means here. */
function consentOf(state: unknown): 'yes' | 'no' | 'unknown' {
  if (state === 'subscribed') return 'yes';
  if (state === 'not_subscribed' || state === 'unsubscribed') return 'no';
  return 'unknown';
}

/** A Shopify customer (a `customers/*` payload, or an order's `customer`), or undefined without an email address. */
export function shopifyCustomer(payload: Json, fallbackEmail?: string): CustomerInput | undefined {
  const email = text(payload.email) ?? fallbackEmail;
  if (!email) return undefined;
  const consent = isObject(payload.email_marketing_consent) ? payload.email_marketing_consent : undefined;
  const address = isObject(payload.default_address) ? payload.default_address : undefined;
  const tags = text(payload.tags)
    ?.split(',')
    .map((t) => t.trim())
    .filter(Boolean);
  return {
    customer_id: need(payload, 'id'),
    email,
    first_name: text(payload.first_name),
    last_name: text(payload.last_name),
    accepts_marketing: consent ? consentOf(consent.state) : undefined,
    accepts_marketing_updated_at: consent ? text(consent.consent_updated_at) : undefined,
    consent_source: consent ? 'shopify' : undefined,
    country: text(address?.country_code),
    tags: tags?.length ? tags : undefined,
  };
}

/** What an order payload (orders/create, orders/updated, orders/cancelled) holds. */
export interface ShopifyOrder {
  /** When Shopify last changed the order (`updated_at`), to tell a late delivery from the latest; undefined when absent. */
  updatedAt: Date | undefined;
  customer: CustomerInput | undefined;
  order: OrderInput;
  cancellation: CancellationInput | undefined;
  refunds: RefundInput[];
}

/** An order payload as the engine's records; `shopCurrency` is SHOP_CURRENCY. */
export function shopifyOrder(payload: Json, shopCurrency: string): ShopifyOrder {
  const orderId = need(payload, 'id');
  const currency = text(payload.currency);
  if (currency && currency.toUpperCase() !== shopCurrency.toUpperCase())
    throw new MappingError(`order ${orderId} is in ${currency}; this shop reports in ${shopCurrency}`);
  const email = text(payload.email) ?? text(payload.contact_email);
  const buyer = isObject(payload.customer) ? payload.customer : undefined;
  // A customer with an email is upserted with the order; one without (a phone-only customer)
  // must be known already; a guest checkout is keyed by its email.
  const customer = buyer ? shopifyCustomer(buyer, email) : undefined;
  const customerId = customer?.customer_id ?? text(buyer?.id) ?? (email ? guestKey(email) : undefined);
  if (!customerId) throw new MappingError(`order ${orderId} has no customer and no email`);
  const guest = customer ?? (!buyer && email ? { customer_id: customerId, email } : undefined);
  const items = list(payload.line_items)
    .filter(isObject)
    .map((item) => {
      const shop = isObject(item.price_set) && isObject(item.price_set.shop_money) ? item.price_set.shop_money : undefined;
      return { sku: skuOf(item), quantity: item.quantity, unit_price: text(shop?.amount) ?? text(item.price) };
    });
  const codes = list(payload.discount_codes).filter(isObject);
  const discountTotal = text(payload.total_discounts);
  const cancelledAt = text(payload.cancelled_at);
  const updated = text(payload.updated_at);
  const updatedAt = updated === undefined ? undefined : new Date(updated);
  return {
    updatedAt: updatedAt && !Number.isNaN(updatedAt.getTime()) ? updatedAt : undefined,
    customer: guest,
    order: {
      order_id: orderId,
      customer_id: customerId,
      ordered_at: text(payload.created_at) ?? need(payload, 'processed_at'),
      discount_code: codes.length ? text(codes[0]!.code) : undefined,
      discount_total: discountTotal && Number(discountTotal) > 0 ? discountTotal : undefined,
      items,
    },
    cancellation: cancelledAt ? { order_id: orderId, cancelled_at: cancelledAt } : undefined,
    refunds: list(payload.refunds)
      .filter(isObject)
      .flatMap((r) => shopifyRefund({ ...r, order_id: r.order_id ?? orderId }) ?? []),
  };
}

/**
 * A refund (a `refunds/create` payload, or one of an order's `refunds`): the item revenue it
 * gave back, its refunded lines' subtotals in the shop's money (`subtotal_set.shop_money`,
 * else `subtotal`). Not its transactions: they also return tax and shipping, which an order's
 * revenue here never counted, and are in the currency the customer paid in. Undefined when
 * no item revenue went back (a refund of shipping alone, a restock).
 */
export function shopifyRefund(payload: Json): RefundInput | undefined {
  const lines = list(payload.refund_line_items)
    .filter(isObject)
    .map((l) => {
      const set = isObject(l.subtotal_set) && isObject(l.subtotal_set.shop_money) ? l.subtotal_set.shop_money : undefined;
      return text(set?.amount) ?? text(l.subtotal);
    });
  const amount = lines.reduce<number>((sum, line) => sum + cents(line), 0);
  if (!Number.isFinite(amount)) throw new MappingError(`refund ${text(payload.id) ?? '?'} has an amount that is not a number`);
  if (amount <= 0) return undefined;
  return {
    refund_id: need(payload, 'id'),
    order_id: need(payload, 'order_id'),
    refunded_at: text(payload.created_at) ?? need(payload, 'processed_at'),
    amount: (amount / 100).toFixed(2),
    reason: text(payload.note),
  };
}

/** A product payload as one product per variant, and the product's id that groups them. */
export function shopifyProducts(payload: Json, shopUrl: string | undefined): { productId: string; products: ProductInput[] } {
  const productId = need(payload, 'id');
  const title = need(payload, 'title');
  const active = payload.status === undefined || payload.status === 'active';
  const image = isObject(payload.image)
    ? text(payload.image.src)
    : list(payload.images)
        .filter(isObject)
        .map((i) => text(i.src))[0];
  const handle = text(payload.handle);
  const url = shopUrl && handle ? `${shopUrl.replace(/\/+$/, '')}/products/${handle}` : undefined;
  const variants = list(payload.variants).filter(isObject);
  if (variants.length === 0) throw new MappingError(`product ${productId} has no variants`);
  return {
    productId,
    products: variants.map((v) => {
      const own = text(v.title);
      const stocked = v.inventory_management == null || v.inventory_policy === 'continue' || Number(v.inventory_quantity) > 0;
      return {
        sku: skuOf(v),
        name: own && own !== 'Default Title' ? `${title} - ${own}` : title,
        category: text(payload.product_type) ?? 'uncategorised',
        price: text(v.price),
        url,
        image_url: image,
        in_stock: active && stocked,
        variant_id: text(v.id),
        published_at: text(payload.published_at),
      };
    }),
  };
}
