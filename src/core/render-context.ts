/**
 * The render context: everything a template may use, as one zod schema and the type it
 * infers. `campaign templates check` walks this schema to reject any variable a template
 * names that is not here, so the schema is the contract between engine and marketers.
 */
import { z } from 'zod';

/** A product the email suggests: a cross-sell recommendation or an upsell. */
export const suggestionSchema = z.object({
  sku: z.string(),
  name: z.string(),
  category: z.string(),
  /** Decimal string in the shop's currency; format it with `{{money price}}`. */
  price: z.string(),
  url: z.string(),
  /** Image URL; may be empty when the catalog has none. */
  image: z.string(),
  /** Why it is suggested, in words, e.g. "bought together with Burr Grinder by 23% of its buyers". */
  reason: z.string(),
});
export type Suggestion = z.infer<typeof suggestionSchema>;

export const orderItemSchema = z.object({
  sku: z.string(),
  name: z.string(),
  category: z.string(),
  quantity: z.number(),
  unitPrice: z.string(),
  url: z.string(),
  image: z.string(),
});

export const renderContextSchema = z.object({
  customer: z.object({
    id: z.string(),
    email: z.string(),
    firstName: z.string(),
    lastName: z.string(),
    /** First name, or "there" when the shop does not know it: "Hi {{customer.greetingName}}". */
    greetingName: z.string(),
    /** IANA zone the `date` helper formats in. */
    timezone: z.string(),
  }),
  /** The order that enrolled the customer. */
  order: z.object({
    id: z.string(),
    orderedAt: z.string(),
    total: z.string(),
    itemCount: z.number(),
    items: z.array(orderItemSchema),
    /**
     * How far this order was from free shipping, when the shop sets
     * SHOP_FREE_SHIPPING_THRESHOLD; absent otherwise, so wrap it in `{{#if order.freeShipping}}`.
     */
    freeShipping: z
      .object({
        /** The order total that ships free (decimal string; `{{money order.freeShipping.threshold}}`). */
        threshold: z.string(),
        /** What this order was short of it (decimal string), "0.00" when it reached it. */
        gap: z.string(),
        /** The order reached the threshold: its shipping was free. */
        reached: z.boolean(),
      })
      .optional(),
  }),
  /** Complementary products (cross-sell), best first. */
  recommendations: z.array(suggestionSchema),
  /** Better versions of what was bought (upsell), best first. */
  upsells: z.array(suggestionSchema),
  shop: z.object({
    name: z.string(),
    url: z.string(),
    currency: z.string(),
    /** Postal address, required in the footer of commercial email. */
    address: z.string(),
    supportEmail: z.string(),
    /** Zone for dates when the customer's is unknown. */
    timezone: z.string(),
  }),
  links: z.object({
    /** One-click unsubscribe page for this recipient. Every email must link to it. */
    unsubscribe: z.string(),
    /** The shop's home page (click-tracked like every link). */
    shop: z.string(),
  }),
  /** The email's rendered preheader (from its front matter). */
  preheader: z.string(),
  /**
   * The discount code this email offers, when its step or variant says `offer: { pool }`;
   * absent when it offers none (or its pool was empty and the step says
   * `on_empty: send_without_offer`), so wrap the offer block in `{{#if offer}}`.
   */
  offer: z
    .object({
      /** The code to type at checkout, one per customer. */
      code: z.string(),
      /** What it takes off, for people: "10%" or "$5.00" (in the shop's currency). */
      value: z.string(),
      /** `percent` or `amount`. */
      kind: z.enum(['percent', 'amount']),
      /** When the code stops working (ISO time; format it with `{{date offer.expiresAt}}`), or "" when it never expires. */
      expiresAt: z.string(),
      /**
       * The same moment for people, in the customer's zone: "Sunday 13 December, 23:59" (the
       * year added when it is not this year's), or "" when the code never expires. It is the
       * code's real expiry, enforced by the shop and by the engine (an expired code is never
       * issued nor sent): "Use it by {{offer.expiresAtText}}".
       */
      expiresAtText: z.string(),
      /**
       * Whole days from the send to the expiry (0 on its last day; the engine's clock at the
       * send, not a countdown that resets), absent when the code never expires.
       */
      daysLeft: z.number().optional(),
      /** A link that applies the code at the shop (SHOP_DISCOUNT_URL), click-tracked like every link. */
      url: z.string(),
    })
    .optional(),
  /**
   * The bundle this email offers, when its step or variant says `bundle: { size, discount }`:
   * the ordered product (the order's most expensive) with its best complements, one of each,
   * at one price. Absent when it offers none or there are too few complements in stock, so
   * wrap the bundle block in `{{#if bundle}}`.
   */
  bundle: z
    .object({
      /** The products, the ordered one first, then its complements, best first. */
      items: z.array(
        z.object({
          sku: z.string(),
          name: z.string(),
          /** Today's price of one, a decimal string; format it with `{{money price}}`. */
          price: z.string(),
          /** The product's page (click-tracked like every link). */
          url: z.string(),
          /** Image URL; may be empty when the catalog has none. */
          image: z.string(),
          /** How many the cart link adds: 1. */
          quantity: z.number(),
        }),
      ),
      /** The sum of the items' prices, before the discount: strike it through beside `price`. */
      total: z.string(),
      /** What the bundle costs: `total` less the discount, rounded to the cent. */
      price: z.string(),
      /** What the customer saves: `total` − `price`, exactly. */
      saving: z.string(),
      /** The discount, for people: "10%". */
      discount: z.string(),
      /** One link that puts every item in the cart (SHOP_CART_URL), click-tracked like every link. */
      url: z.string(),
    })
    .optional(),
});

/** Everything a template may use. See the field comments for meaning. */
export type RenderContext = z.infer<typeof renderContextSchema>;

/**
 * Resolves a dotted path (`customer.firstName`, `order.items`) against the schema.
 * Returns the schema found there, or undefined when the path does not exist.
 */
export function schemaAt(schema: z.ZodType, path: string[]): z.ZodType | undefined {
  let current: z.ZodType = schema;
  for (const part of path) {
    // An optional part of the context (`offer`) is looked into as what it holds when present.
    while (current instanceof z.ZodOptional) current = current.unwrap() as z.ZodType;
    if (current instanceof z.ZodObject) {
      const next = (current.shape as Record<string, z.ZodType>)[part];
      if (!next) return undefined;
      current = next;
    } else if (current instanceof z.ZodArray && (part === 'length' || /^\d+$/.test(part))) {
      current = part === 'length' ? z.number() : (current.element as z.ZodType);
    } else return undefined;
  }
  return current;
}

/** The element schema when `schema` is an array (what `{{#each}}` iterates over). */
export function elementOf(schema: z.ZodType): z.ZodType | undefined {
  return schema instanceof z.ZodArray ? (schema.element as z.ZodType) : undefined;
}
