/**
 * The demo's shop platform and storefront, through the real routes: one customer in 20
 * orders on a Shopify shop, so their orders reach the engine as signed `orders/create`
 * webhooks (each delivered twice, as a platform retrying would: the second must store
 * nothing) instead of API calls; and at the end, a product page asks the storefront API what
 * to show beside a machine, set against the planted truth of which accessories go with it.
 */
import { createHmac } from 'node:crypto';
import type { PlacedOrder } from './recipients.ts';
import { plantedComplements, type DemoProduct } from './shop.ts';

/** What came of the orders sent as webhooks. */
export interface WebhookTally {
  orders: number;
  stored: number;
  duplicates: number;
  /** Anything else (a dead letter, an ignored delivery): always 0 in a sound run. */
  other: number;
}

/** An order as Shopify's `orders/create` payload carries it (the fields the engine maps). */
export function shopifyOrderPayload(order: PlacedOrder, currency: string): Record<string, unknown> {
  return {
    id: order.order_id,
    created_at: order.ordered_at,
    currency,
    presentment_currency: currency,
    // A known customer, referenced by id (as a phone-only customer is): their email is already stored.
    customer: { id: order.customer_id },
    line_items: order.items.map((item, i) => ({ id: i + 1, sku: item.sku, quantity: item.quantity, price: item.unit_price })),
    discount_codes: order.discount_code ? [{ code: order.discount_code, amount: order.discount_total ?? '0.00', type: 'percentage' }] : [],
    total_discounts: order.discount_total ?? '0.00',
  };
}

/** The demo's Shopify shop: which customers order there, and the signed deliveries of their orders. */
export class ShopifyFeed {
  readonly tally: WebhookTally = { orders: 0, stored: 0, duplicates: 0, other: 0 };

  constructor(
    private readonly baseUrl: string,
    private readonly secret: string,
    private readonly currency: string,
  ) {}

  /** One customer in 20 (cust-20, cust-40, …) buys on the Shopify shop. */
  static takes(order: PlacedOrder): boolean {
    const n = /^cust-(\d+)$/.exec(order.customer_id);
    return n !== null && Number(n[1]) % 20 === 0;
  }

  /** Delivers the order twice under one webhook id; throws when the engine does not store it once. */
  async deliver(order: PlacedOrder): Promise<void> {
    const body = JSON.stringify(shopifyOrderPayload(order, this.currency));
    const headers = {
      'content-type': 'application/json',
      'x-shopify-topic': 'orders/create',
      'x-shopify-webhook-id': `demo-${order.order_id}`,
      'x-shopify-shop-domain': 'demo-shop.myshopify.com',
      'x-shopify-hmac-sha256': createHmac('sha256', this.secret).update(body).digest('base64'),
    };
    this.tally.orders += 1;
    for (let attempt = 0; attempt < 2; attempt++) {
      const response = await fetch(`${this.baseUrl}/webhooks/shopify`, { method: 'POST', headers, body });
      if (!response.ok) throw new Error(`POST /webhooks/shopify answered ${response.status}: ${await response.text()}`);
      const { outcome, reason } = (await response.json()) as { outcome: string; reason?: string };
      if (outcome === 'stored') this.tally.stored += 1;
      else if (outcome === 'duplicate') this.tally.duplicates += 1;
      else {
        this.tally.other += 1;
        throw new Error(`the webhook of order ${order.order_id} was not stored: ${outcome} (${reason ?? ''})`);
      }
    }
  }
}

/** One product page's recommendations, as the storefront API answered them, beside the planted truth. */
export interface StorefrontLook {
  sku: string;
  name: string;
  milliseconds: number;
  shown: { sku: string; name: string; reason: string; complement: boolean; sameLine: boolean }[];
}

/**
 * Asks the storefront API, as a theme would with the public key (once to load it, then the
 * answer timed), what to show on the page of
 * the shop's first espresso machine; each answer is marked against the planted truth: a
 * category its buyers add, and the accessory of the same model line.
 */
export async function storefrontLook(baseUrl: string, key: string, catalog: readonly DemoProduct[]): Promise<StorefrontLook> {
  const machine = catalog.find((p) => p.category === 'espresso-machines')!;
  const bySku = new Map(catalog.map((p) => [p.sku, p]));
  const complements = new Set(plantedComplements().get(machine.category) ?? []);
  const ask = () =>
    fetch(`${baseUrl}/api/recommendations?skus=${encodeURIComponent(machine.sku)}&limit=4`, { headers: { 'x-storefront-key': key } });
  // The first question loads the recommender into memory; the page's answer is the second's.
  await (await ask()).arrayBuffer();
  const started = performance.now();
  const response = await ask();
  const milliseconds = performance.now() - started;
  if (!response.ok) throw new Error(`GET /api/recommendations answered ${response.status}: ${await response.text()}`);
  const body = (await response.json()) as { recommendations: { sku: string; name: string; reason: string }[] };
  return {
    sku: machine.sku,
    name: machine.name,
    milliseconds,
    shown: body.recommendations.map((r) => {
      const product = bySku.get(r.sku);
      const complement = product !== undefined && complements.has(product.category);
      return { sku: r.sku, name: r.name, reason: r.reason, complement, sameLine: complement && product.variant === machine.variant };
    }),
  };
}
