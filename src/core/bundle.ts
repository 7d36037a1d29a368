/**
 * Bundles: the ordered product with its best complements at one price, and one link that
 * puts them all in the cart. Pure.
 *
 * A variant or a step says `bundle: { size: 2, discount: 10% }`. The step builds the bundle
 * from the trigger order (its anchor) and the recommendations it already computed (the
 * complements, best first, which exclude what the customer owns and what is out of stock).
 * Money is exact: prices are summed in 1/10,000 units (core/money.ts) and the bundle price
 * is rounded half up to the cent once, so the price and the saving shown always add up to
 * the total.
 */
import { z } from 'zod';
import { parseDiscountValue } from './discount.ts';
import { fromUnits, toUnits } from './money.ts';

/** The smallest and largest bundles: the anchor and one to three complements. */
export const BUNDLE_SIZES = { min: 2, max: 4 } as const;

/** The `bundle` of a variant or a step in a sequence file. */
export const bundleSchema = z
  .object({
    /** How many products the bundle holds: the ordered product and `size − 1` complements. */
    size: z
      .number({ error: 'must be a whole number from 2 to 4' })
      .int('must be a whole number from 2 to 4')
      .min(BUNDLE_SIZES.min, 'must be a whole number from 2 to 4')
      .max(BUNDLE_SIZES.max, 'must be a whole number from 2 to 4'),
    /** What the bundle takes off the sum of its prices: a percentage such as `10%` (above 0, at most 100, up to 4 decimals). */
    discount: z
      .string({ error: 'must be a percentage such as 10%' })
      // The pattern is for editors (it lands in the JSON Schema); the range is checked below.
      .regex(/^\s*\d{1,3}(\.\d{1,4})?\s*%\s*$/, 'must be a percentage such as 10% or 12.5%')
      .superRefine((text, ctx) => {
        const parsed = parseDiscountValue(text);
        if ('problem' in parsed) ctx.addIssue({ code: 'custom', message: parsed.problem });
      }),
  })
  .strict();
export type BundleOffer = z.output<typeof bundleSchema>;

/** The parts of a sequence definition that say what bundles it offers (structural: sequence.ts imports this file). */
export interface BundlesOf {
  variants: readonly { key: string; bundle?: BundleOffer | undefined }[];
  steps: readonly { bundle?: BundleOffer | undefined }[];
}

/**
 * The bundle of one step for an arm: the step's own `bundle`, else the arm's variant's. The
 * holdout is never emailed, so it has none.
 */
export function bundleFor(definition: BundlesOf, arm: string, step: number): BundleOffer | undefined {
  const stepDef = definition.steps[step];
  if (!stepDef) return undefined;
  if (stepDef.bundle) return stepDef.bundle;
  return definition.variants.find((v) => v.key === arm)?.bundle;
}

/** A product as a bundle needs it (from the catalog, at today's price). */
export interface BundleProduct {
  sku: string;
  name: string;
  /** Today's catalog price, a decimal string. */
  price: string;
  url: string;
  image: string;
  /** The shop platform's variant id; the cart link falls back to the sku without one. */
  variantId: string | null;
  inStock: boolean;
}

/** One product of a built bundle, as the render context shows it. */
export interface BundleItem {
  sku: string;
  name: string;
  price: string;
  url: string;
  image: string;
  quantity: number;
}

/** A built bundle: what the render context's `bundle` holds. */
export interface Bundle {
  items: BundleItem[];
  /** Σ of the items' prices (4 decimals). */
  total: string;
  /** The total less the discount, rounded half up to the cent. */
  price: string;
  /** total − price, exact. */
  saving: string;
  /** The discount for people: "10%". */
  discount: string;
  /** The link that puts every item in the cart (SHOP_CART_URL). */
  url: string;
}

/** Default SHOP_CART_URL: Shopify's cart permalink, `/cart/VARIANT:QTY,VARIANT:QTY`. */
export const DEFAULT_CART_URL = '{shop}/cart/{items}';

/**
 * The sku of the order line the bundle is built around: the most expensive one (by unit
 * price; the first of equals). An order of a machine and a bag of beans is about the
 * machine: its complements are what the co-purchase statistics rank highest, and a bundle
 * around the cheap consumable would offer little to save. Lines whose product is out of
 * stock are passed over (`inStock`), since a cart link to them would fail at the shop.
 */
export function bundleAnchor(
  lines: readonly { sku: string; unitPrice: string }[],
  inStock: (sku: string) => boolean = () => true,
): string | undefined {
  let best: { sku: string; units: bigint } | undefined;
  for (const line of lines) {
    if (!inStock(line.sku)) continue;
    const units = toUnits(line.unitPrice);
    if (!best || units > best.units) best = { sku: line.sku, units };
  }
  return best?.sku;
}

/**
 * The bundle price of `total` with `percent` off, rounded half up to the cent: both are
 * exact decimals, so the product is computed in integers (1/10,000 units times 1/10,000
 * percent) and divided once.
 */
export function bundlePrice(total: string, percent: string): string {
  const totalUnits = toUnits(total);
  // 100% in 1/10,000 of a percent.
  const whole = 1_000_000n;
  const keep = totalUnits * (whole - toUnits(percent));
  // From (units × 1/10,000 percent) to cents: ÷ 1,000,000 for the percent, ÷ 100 for units → cents.
  const perCent = whole * 100n;
  const cents = (keep + perCent / 2n) / perCent;
  return fromUnits(cents * 100n);
}

/**
 * The link that puts `items` in the cart: the SHOP_CART_URL pattern with `{shop}` (the
 * shop's URL without its trailing slash) and `{items}` (each item's variant id, or its sku
 * when it has none, with `:quantity`, comma-joined; each id URL-encoded) filled in.
 */
export function cartUrl(pattern: string, shopUrl: string, items: readonly { id: string; quantity: number }[]): string {
  const list = items.map((i) => `${encodeURIComponent(i.id)}:${i.quantity}`).join(',');
  return pattern.replaceAll('{shop}', shopUrl.replace(/\/+$/, '')).replaceAll('{items}', list);
}

/** Why a `SHOP_CART_URL` pattern is unusable, or undefined. */
export function cartUrlProblem(pattern: string): string | undefined {
  if (!pattern.includes('{items}')) return 'must contain {items}, e.g. {shop}/cart/{items}';
  try {
    const url = new URL(cartUrl(pattern, 'https://shop.example', [{ id: '1', quantity: 1 }]));
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return 'must give an http(s) URL once {shop} and {items} are filled in';
  } catch {
    return 'must give a URL once {shop} and {items} are filled in, e.g. {shop}/cart/{items}';
  }
  return undefined;
}

/** What a bundle is built from: the order's lines, the complements best first, and the products they name. */
export interface BundleFacts {
  orderItems: readonly { sku: string; unitPrice: string }[];
  /** The skus of the step's recommendations, best first. */
  complementSkus: readonly string[];
  /** The catalog products of the order's lines and of the complements, by sku. */
  products: ReadonlyMap<string, BundleProduct>;
  /** The SHOP_CART_URL pattern and the shop's URL. */
  cart: { pattern: string; shopUrl: string };
}

/**
 * The bundle `offer` makes of an order: its anchor (see {@link bundleAnchor}) and the
 * first `size − 1` complements in stock (never the anchor, never one twice), one of each,
 * at the anchor's and complements' catalog prices. Undefined when there is no anchor in
 * stock or fewer complements than `size − 1`: the email then goes without its bundle.
 */
export function buildBundle(offer: BundleOffer, facts: BundleFacts): Bundle | undefined {
  const parsed = parseDiscountValue(offer.discount);
  if (!('value' in parsed) || parsed.value.kind !== 'percent') return undefined;
  const anchorSku = bundleAnchor(facts.orderItems, (sku) => facts.products.get(sku)?.inStock ?? false);
  if (anchorSku === undefined) return undefined;
  const chosen = [facts.products.get(anchorSku)!];
  for (const sku of facts.complementSkus) {
    if (chosen.length === offer.size) break;
    const product = facts.products.get(sku);
    if (product?.inStock && !chosen.some((c) => c.sku === sku)) chosen.push(product);
  }
  if (chosen.length < offer.size) return undefined;

  const totalUnits = chosen.reduce((sum, p) => sum + toUnits(p.price), 0n);
  const total = fromUnits(totalUnits);
  const price = bundlePrice(total, parsed.value.value);
  return {
    items: chosen.map((p) => ({ sku: p.sku, name: p.name, price: p.price, url: p.url, image: p.image, quantity: 1 })),
    total,
    price,
    saving: fromUnits(totalUnits - toUnits(price)),
    discount: `${String(Number(parsed.value.value))}%`,
    url: cartUrl(
      facts.cart.pattern,
      facts.cart.shopUrl,
      chosen.map((p) => ({ id: p.variantId ?? p.sku, quantity: 1 })),
    ),
  };
}
