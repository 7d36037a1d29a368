/**
 * Bundles without IO: the anchor of an order, the exact bundle price and saving, the cart
 * link, the sequence format's `bundle`, which bundle a step offers, SHOP_CART_URL, and
 * `templates check` knowing `bundle.*`.
 */
import { describe, expect, it } from 'vitest';
import {
  buildBundle,
  bundleAnchor,
  bundleFor,
  bundlePrice,
  cartUrl,
  cartUrlProblem,
  type BundleFacts,
  type BundleProduct,
} from '../src/core/bundle.ts';
import { sequenceSchema } from '../src/core/sequence.ts';
import { loadConfig } from '../src/config.ts';
import { checkVariables } from '../src/templates/variables.ts';

const product = (sku: string, price: string, variantId: string | null = `v-${sku}`, inStock = true): BundleProduct => ({
  sku,
  name: `Product ${sku}`,
  price,
  url: `https://shop.example/p/${sku}`,
  image: '',
  variantId,
  inStock,
});

const facts = (products: BundleProduct[], orderItems: BundleFacts['orderItems'], complementSkus: string[]): BundleFacts => ({
  orderItems,
  complementSkus,
  products: new Map(products.map((p) => [p.sku, p])),
  cart: { pattern: '{shop}/cart/{items}', shopUrl: 'https://shop.example/' },
});

describe('the bundle price', () => {
  it('is the total less the discount, rounded half up to the cent, computed exactly', () => {
    // 36.49 × 0.85 = 31.0165 → 31.02
    expect(bundlePrice('36.49', '15')).toBe('31.0200');
    // 24.49 × 0.9 = 22.041 → 22.04
    expect(bundlePrice('24.49', '10')).toBe('22.0400');
    // Exactly half a cent goes up: 0.05 × 0.5 = 0.025 → 0.03; 0.01 × 0.5 = 0.005 → 0.01.
    expect(bundlePrice('0.05', '50')).toBe('0.0300');
    expect(bundlePrice('0.01', '50')).toBe('0.0100');
    // A float would say 0.1 + 0.2 ≠ 0.3; 4-decimal prices and a 12.5% discount stay exact.
    expect(bundlePrice('0.3000', '12.5')).toBe('0.2600');
    expect(bundlePrice('19.9999', '0.0001')).toBe('20.0000');
    expect(bundlePrice('100.00', '100')).toBe('0.0000');
    // Large amounts (numeric(16,4)) do not lose a cent.
    expect(bundlePrice('999999999999.99', '10')).toBe('899999999999.9900');
  });
});

describe('the anchor of an order', () => {
  it('is the most expensive line (the first of equals), passing over what is out of stock', () => {
    const lines = [
      { sku: 'BEANS', unitPrice: '14.90' },
      { sku: 'MACHINE', unitPrice: '349.00' },
      { sku: 'MACHINE-2', unitPrice: '349.0000' },
    ];
    expect(bundleAnchor(lines)).toBe('MACHINE');
    expect(bundleAnchor(lines, (sku) => !sku.startsWith('MACHINE'))).toBe('BEANS');
    expect(bundleAnchor([])).toBeUndefined();
  });
});

describe('building a bundle', () => {
  it('three items at 19.99 + 4.50 + 12.00 with 15% off: total 36.49, price 31.02, saving 5.47, one cart link', () => {
    const bundle = buildBundle(
      { size: 3, discount: '15%' },
      facts(
        [product('A', '19.99', '111'), product('B', '4.50', '222'), product('C', '12.00', null), product('D', '3.00', '444')],
        [{ sku: 'A', unitPrice: '19.99' }],
        ['B', 'C', 'D'],
      ),
    );
    expect(bundle).toEqual({
      items: [
        { sku: 'A', name: 'Product A', price: '19.99', url: 'https://shop.example/p/A', image: '', quantity: 1 },
        { sku: 'B', name: 'Product B', price: '4.50', url: 'https://shop.example/p/B', image: '', quantity: 1 },
        { sku: 'C', name: 'Product C', price: '12.00', url: 'https://shop.example/p/C', image: '', quantity: 1 },
      ],
      total: '36.4900',
      price: '31.0200',
      saving: '5.4700',
      discount: '15%',
      // C has no variant id: its sku stands in.
      url: 'https://shop.example/cart/111:1,222:1,C:1',
    });
  });

  it('is built around the order’s most expensive item, skips complements out of stock, the anchor and repeats', () => {
    const bundle = buildBundle(
      { size: 2, discount: '10%' },
      facts(
        [product('CUP', '9.00'), product('MACHINE', '249.00'), product('SOLD-OUT', '5.00', 'x', false), product('TAMPER', '24.50')],
        [
          { sku: 'CUP', unitPrice: '9.00' },
          { sku: 'MACHINE', unitPrice: '249.00' },
        ],
        ['SOLD-OUT', 'MACHINE', 'TAMPER'],
      ),
    )!;
    expect(bundle.items.map((i) => i.sku)).toEqual(['MACHINE', 'TAMPER']);
    // 273.50 × 0.9 = 246.15
    expect(bundle).toMatchObject({ total: '273.5000', price: '246.1500', saving: '27.3500', discount: '10%' });
    expect(bundle.url).toBe('https://shop.example/cart/v-MACHINE:1,v-TAMPER:1');
  });

  it('is undefined with fewer complements than size − 1, or no anchor in stock', () => {
    const products = [product('A', '10.00'), product('B', '5.00'), product('C', '5.00', 'c', false)];
    const order = [{ sku: 'A', unitPrice: '10.00' }];
    expect(buildBundle({ size: 2, discount: '10%' }, facts(products, order, []))).toBeUndefined();
    expect(buildBundle({ size: 3, discount: '10%' }, facts(products, order, ['B', 'C']))).toBeUndefined();
    expect(buildBundle({ size: 2, discount: '10%' }, facts(products, order, ['B']))).toBeDefined();
    expect(
      buildBundle({ size: 2, discount: '10%' }, facts([product('A', '10.00', 'a', false), product('B', '5.00')], order, ['B'])),
    ).toBeUndefined();
  });
});

describe('the cart link', () => {
  it('fills {shop} without its trailing slash and {items} as VARIANT:QTY, comma-joined, each id encoded', () => {
    expect(
      cartUrl('{shop}/cart/{items}', 'https://shop.example/', [
        { id: '123', quantity: 1 },
        { id: '456', quantity: 2 },
      ]),
    ).toBe('https://shop.example/cart/123:1,456:2');
    expect(cartUrl('{shop}/?add-to-cart={items}', 'https://shop.example', [{ id: 'a b/c', quantity: 1 }])).toBe(
      'https://shop.example/?add-to-cart=a%20b%2Fc:1',
    );
  });

  it('SHOP_CART_URL must hold {items} and give an http(s) URL; default {shop}/cart/{items}', () => {
    expect(cartUrlProblem('{shop}/cart/{items}')).toBeUndefined();
    expect(cartUrlProblem('{shop}/cart')).toMatch(/must contain \{items\}/);
    expect(cartUrlProblem('ftp://x/{items}')).toMatch(/http\(s\)/);
    expect(cartUrlProblem('cart {items}')).toMatch(/must give a URL/);
    expect(() => loadConfig({ SHOP_CART_URL: '{shop}/cart' })).toThrow(/SHOP_CART_URL: must contain \{items\}/);
    expect(loadConfig({}).cartUrl).toBe('{shop}/cart/{items}');
    expect(loadConfig({ SHOP_CART_URL: '{shop}/?add-to-cart={items}' }).cartUrl).toBe('{shop}/?add-to-cart={items}');
  });
});

describe('the sequence format’s bundle', () => {
  const definition = (variant: string, step: string) =>
    sequenceSchema.safeParse({
      id: 's',
      name: 'S',
      trigger: { event: 'order_placed' },
      variants: [{ key: 'a', weight: 1, ...(JSON.parse(variant) as object) }],
      steps: [{ delay: '1d', template: 't', ...(JSON.parse(step) as object) }],
    });

  it('takes size 2 to 4 and a percentage on a variant or a step; a step’s own bundle wins', () => {
    const parsed = sequenceSchema.parse({
      id: 's',
      name: 'S',
      trigger: { event: 'order_placed' },
      variants: [
        { key: 'a', weight: 1, bundle: { size: 2, discount: '10%' } },
        { key: 'b', weight: 1 },
      ],
      steps: [
        { delay: '1d', template: 't' },
        { delay: '1d', template: 't', bundle: { size: 3, discount: '12.5%' } },
      ],
    });
    expect(bundleFor(parsed, 'a', 0)).toEqual({ size: 2, discount: '10%' });
    expect(bundleFor(parsed, 'b', 0)).toBeUndefined();
    expect(bundleFor(parsed, 'holdout', 0)).toBeUndefined();
    expect(bundleFor(parsed, 'a', 1)).toEqual({ size: 3, discount: '12.5%' });
    expect(bundleFor(parsed, 'b', 1)).toEqual({ size: 3, discount: '12.5%' });
    expect(bundleFor(parsed, 'a', 2)).toBeUndefined();
  });

  it('refuses a size out of 2..4, a discount that is no percentage, and unknown keys, at their paths', () => {
    const bad = [
      ['{"bundle":{"size":1,"discount":"10%"}}', '{}', 'variants.0.bundle.size', /from 2 to 4/],
      ['{"bundle":{"size":2.5,"discount":"10%"}}', '{}', 'variants.0.bundle.size', /from 2 to 4/],
      ['{}', '{"bundle":{"size":5,"discount":"10%"}}', 'steps.0.bundle.size', /from 2 to 4/],
      ['{}', '{"bundle":{"size":2,"discount":"5.00"}}', 'steps.0.bundle.discount', /percentage/],
      ['{}', '{"bundle":{"size":2,"discount":"0%"}}', 'steps.0.bundle.discount', /above 0%/],
      ['{}', '{"bundle":{"size":2,"discount":"150%"}}', 'steps.0.bundle.discount', /at most 100%/],
      ['{}', '{"bundle":{"size":2,"discount":10}}', 'steps.0.bundle.discount', /percentage such as 10%/],
      ['{}', '{"bundle":{"size":2}}', 'steps.0.bundle.discount', /percentage such as 10%/],
      ['{"bundle":{"size":2,"discount":"10%","price":"9"}}', '{}', 'variants.0.bundle', /price/],
    ] as const;
    for (const [variant, step, path, message] of bad) {
      const result = definition(variant, step);
      expect(result.success, `${variant} ${step}`).toBe(false);
      const issue = result.error!.issues[0]!;
      expect(issue.path.join('.')).toBe(path);
      expect(issue.message).toMatch(message);
    }
  });
});

describe('templates check knows the bundle', () => {
  it('accepts bundle.items, total, price, saving, discount and url, and refuses others', () => {
    expect(
      checkVariables(
        '{{#if bundle}}{{#each bundle.items}}{{name}} {{sku}} {{money price}} {{url}} {{image}} {{quantity}}{{/each}}' +
          '{{money bundle.total}} {{money bundle.price}} {{money bundle.saving}} {{bundle.discount}} {{bundle.url}}{{/if}}',
      ),
    ).toEqual([]);
    expect(checkVariables('{{#if bundle}}\n{{bundle.nope}}{{/if}}')).toEqual([
      { line: 2, message: expect.stringContaining('"bundle.nope" is not in the render context') },
    ]);
    expect(checkVariables('{{#each bundle.items}}{{reason}}{{/each}}')).toEqual([
      { line: 1, message: expect.stringContaining('"reason" is not in the render context') },
    ]);
  });
});
