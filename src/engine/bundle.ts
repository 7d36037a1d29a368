/**
 * The bundle a step offers, carried out: load the catalog facts of the trigger order's
 * products and of the step's recommendations (today's prices, stock, variant ids), and let
 * the core build it (src/core/bundle.ts).
 */
import { buildBundle, DEFAULT_CART_URL, type Bundle, type BundleOffer } from '../core/bundle.ts';
import type { Recommended } from '../recs/service.ts';
import { bundleProducts } from '../store/catalog.ts';
import type { Engine } from './context.ts';

/**
 * The bundle of the trigger order: its lines and the step's recommendations (best first)
 * with the catalog facts the cart link needs; undefined when there are too few complements.
 */
export async function orderBundle(
  engine: Engine,
  offer: BundleOffer,
  orderItems: { sku: string; unitPrice: string }[],
  recs: Recommended,
): Promise<Bundle | undefined> {
  const { shop, cartUrl } = engine.settings;
  const complementSkus = recs.recommendations.map((r) => r.sku);
  const rows = await bundleProducts(engine.db, [...orderItems.map((i) => i.sku), ...complementSkus]);
  const products = new Map(
    rows.map((p) => [
      p.sku,
      {
        sku: p.sku,
        name: p.name,
        price: p.price,
        url: p.url ?? shop.url,
        image: p.image_url ?? '',
        variantId: p.variant_id,
        inStock: p.in_stock,
      },
    ]),
  );
  return buildBundle(offer, { orderItems, complementSkus, products, cart: { pattern: cartUrl ?? DEFAULT_CART_URL, shopUrl: shop.url } });
}
