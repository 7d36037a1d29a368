/**
 * WooCommerce's webhooks, the pure part: the mapping of each topic's payload (the REST API
 * v3 resources) to the engine's own records (src/core/records.ts). No IO.
 *
 * The mapping:
 * - an order: `id` → order_id; `customer_id` (0 for a guest, then keyed `guest:<sha-256 of
 *   the billing email>`) with `billing.email`, names and `billing.country`; `date_created_gmt` (UTC
 *   without a zone, as WooCommerce writes it) → ordered_at; each line item's `sku` (or
 *   `woo-<variation_id or product_id>`) with `quantity` and its unit price, `subtotal` ÷
 *   quantity (before coupons); the first of `coupon_lines` and `discount_total`; an order in
 *   a `currency` other than the shop's cannot be mapped. Only a paid order is an order:
 *   `pending`, `failed`, `checkout-draft` and `trash` are left until an update says it is
 *   paid; `cancelled` adds a cancellation (at `date_modified_gmt`); each of `refunds` (id,
 *   `total` as a negative decimal, with tax and shipping) is a refund at `date_modified_gmt`,
 *   capped at the item revenue the order has left;
 * - a product (`simple`, `grouped`, `external`): one product, `sku` (or `woo-<id>`),
 *   `name`, the first of `categories` (its slug) as the category, `price`, `permalink`,
 *   the first image, in stock while `publish`ed and not `outofstock`. A `variable` product's
 *   variations are separate resources its webhook does not carry: they come from the
 *   catalog import (a Merchant Center feed lists each);
 * - a customer: `email`, names, `billing.country`; WooCommerce keeps no marketing consent,
 *   so consent is left as it is.
 */
import type { z } from 'zod';
import type { cancellationRecord, customerRecord, orderRecord, productRecord, refundRecord } from '../core/records.ts';
import { MappingError } from '../errors.ts';
import { cents, guestKey, isObject, list, need, text, type Json } from './payload.ts';

/** WooCommerce's `_gmt` times are UTC written without a zone. */
const gmt = (value: unknown): string | undefined => {
  const t = text(value);
  return t && /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/.test(t) ? `${t}Z` : t;
};

/** Statuses of an order not (yet) paid: not an order until an update says otherwise. */
export const UNPAID_STATUSES = new Set(['pending', 'failed', 'checkout-draft', 'trash']);

export interface WooOrder {
  /** When WooCommerce last changed the order (`date_modified_gmt`), to tell a late delivery from the latest. */
  updatedAt: Date | undefined;
  customer: z.input<typeof customerRecord>;
  order: z.input<typeof orderRecord>;
  cancellation: z.input<typeof cancellationRecord> | undefined;
  refunds: z.input<typeof refundRecord>[];
}

/** An order payload as the engine's records, or undefined for an order not paid yet. */
export function wooOrder(payload: Json, shopCurrency: string): WooOrder | undefined {
  const orderId = need(payload, 'id');
  if (UNPAID_STATUSES.has(String(payload.status))) return undefined;
  const currency = text(payload.currency);
  if (currency && currency.toUpperCase() !== shopCurrency.toUpperCase())
    throw new MappingError(`order ${orderId} is in ${currency}; this shop reports in ${shopCurrency}`);
  const billing = isObject(payload.billing) ? payload.billing : {};
  const email = text(billing.email);
  if (!email) throw new MappingError(`order ${orderId} has no billing email`);
  const wooCustomer = Number(payload.customer_id) > 0 ? String(payload.customer_id) : undefined;
  const customerId = wooCustomer ?? guestKey(email);
  const items = list(payload.line_items)
    .filter(isObject)
    .map((item) => {
      const quantity = Number(item.quantity);
      const subtotal = cents(item.subtotal);
      const unit = Number.isFinite(subtotal) && quantity > 0 ? subtotal / quantity : cents(item.price);
      const variant = Number(item.variation_id) > 0 ? item.variation_id : item.product_id;
      return {
        sku: text(item.sku) ?? `woo-${text(variant) ?? '?'}`,
        quantity,
        unit_price: Number.isFinite(unit) ? (Math.round(unit) / 100).toFixed(2) : text(item.price),
      };
    });
  const coupons = list(payload.coupon_lines).filter(isObject);
  const discount = text(payload.discount_total);
  const changedAt = gmt(payload.date_modified_gmt) ?? need(payload, 'date_modified');
  const updatedAt = new Date(changedAt);
  return {
    updatedAt: Number.isNaN(updatedAt.getTime()) ? undefined : updatedAt,
    customer: {
      customer_id: customerId,
      email,
      first_name: text(billing.first_name),
      last_name: text(billing.last_name),
      country: text(billing.country),
    },
    order: {
      order_id: orderId,
      customer_id: customerId,
      ordered_at: gmt(payload.date_created_gmt) ?? need(payload, 'date_created'),
      discount_code: coupons.length ? text(coupons[0]!.code) : undefined,
      discount_total: discount && Number(discount) > 0 ? discount : undefined,
      items,
    },
    cancellation: payload.status === 'cancelled' ? { order_id: orderId, cancelled_at: changedAt } : undefined,
    refunds: itemRefunds(payload, orderId, changedAt),
  };
}

/**
 * An order's `refunds` (each `total` a negative decimal that includes tax and shipping),
 * oldest first as WooCommerce lists them newest first, each capped at the item revenue the
 * order has left (its lines' subtotals less the refunds before it): revenue here counts
 * items only, and a refund can never give back more than was counted.
 */
function itemRefunds(payload: Json, orderId: string, at: string): z.input<typeof refundRecord>[] {
  let left = list(payload.line_items)
    .filter(isObject)
    .reduce((sum, item) => sum + (Number.isFinite(cents(item.subtotal)) ? cents(item.subtotal) : 0), 0);
  return list(payload.refunds)
    .filter(isObject)
    .reverse()
    .flatMap((r) => {
      const amount = Math.min(Math.abs(cents(r.total)), left);
      if (!(amount > 0)) return [];
      left -= amount;
      return [{ refund_id: need(r, 'id'), order_id: orderId, refunded_at: at, amount: (amount / 100).toFixed(2), reason: text(r.reason) }];
    });
}

/** A product payload as one product, or undefined for a variable product (its variations come from the catalog import). */
export function wooProduct(payload: Json): { productId: string; product: z.input<typeof productRecord> } | undefined {
  const productId = need(payload, 'id');
  if (payload.type === 'variable') return undefined;
  const category = list(payload.categories).filter(isObject)[0];
  const image = list(payload.images).filter(isObject)[0];
  return {
    productId,
    product: {
      sku: text(payload.sku) ?? `woo-${productId}`,
      name: need(payload, 'name'),
      category: text(category?.slug) ?? text(category?.name) ?? 'uncategorised',
      price: text(payload.price) ?? need(payload, 'regular_price'),
      url: text(payload.permalink),
      image_url: text(image?.src),
      in_stock: (payload.status === undefined || payload.status === 'publish') && payload.stock_status !== 'outofstock',
      published_at: gmt(payload.date_created_gmt),
    },
  };
}

/** A customer payload, or undefined without an email address. */
export function wooCustomer(payload: Json): z.input<typeof customerRecord> | undefined {
  const email = text(payload.email);
  if (!email) return undefined;
  const billing = isObject(payload.billing) ? payload.billing : {};
  return {
    customer_id: need(payload, 'id'),
    email,
    first_name: text(payload.first_name) ?? text(billing.first_name),
    last_name: text(payload.last_name) ?? text(billing.last_name),
    country: text(billing.country),
  };
}
