/**
 * A realistic render context, used where no real customer is involved: the size check of
 * `campaign templates check`, the screenshots script, the benchmark and the tests.
 */
import type { RenderContext, Suggestion } from '../core/render-context.ts';

const product = (sku: string, name: string, category: string, price: string, reason: string): Suggestion => ({
  sku,
  name,
  category,
  price,
  url: `https://shop.example/p/${sku}`,
  image: `https://shop.example/img/${sku}.jpg`,
  reason,
});

const bundleItem = ({ sku, name, price, url, image }: Suggestion) => ({ sku, name, price, url, image, quantity: 1 });

export function sampleContext(): Omit<RenderContext, 'preheader'> {
  return {
    customer: {
      id: 'cust-42',
      email: 'ada@example.com',
      firstName: 'Ada',
      lastName: 'Lovelace',
      greetingName: 'Ada',
      timezone: 'Europe/London',
    },
    order: {
      id: 'demo-1042',
      orderedAt: '2026-03-01T10:15:00.000Z',
      total: '402.70',
      itemCount: 3,
      items: [
        {
          sku: 'ESP0-121',
          name: 'Espresso Machine Plus No. 2',
          category: 'espresso-machines',
          quantity: 1,
          unitPrice: '349.00',
          url: 'https://shop.example/p/ESP0-121',
          image: 'https://shop.example/img/ESP0-121.jpg',
        },
        {
          sku: 'COF2-111',
          name: 'Espresso Blend Classic No. 1',
          category: 'coffee-beans',
          quantity: 2,
          unitPrice: '14.90',
          url: 'https://shop.example/p/COF2-111',
          image: 'https://shop.example/img/COF2-111.jpg',
        },
        {
          sku: 'MIL3-131',
          name: 'Milk Jug Classic No. 3',
          category: 'milk-jugs',
          quantity: 1,
          unitPrice: '23.90',
          url: 'https://shop.example/p/MIL3-131',
          image: 'https://shop.example/img/MIL3-131.jpg',
        },
      ],
    },
    recommendations: [
      product(
        'GRI1-121',
        'Burr Grinder Plus No. 2',
        'grinders',
        '189.00',
        'Bought together with Espresso Machine Plus No. 2 by 34% of its buyers',
      ),
      product('SCA4-111', 'Brew Scale Classic No. 1', 'scales', '37.50', 'Bought together with Burr Grinder by 21% of its buyers'),
      product('THE8-111', 'Milk Thermometer Classic No. 1', 'thermometers', '11.40', 'Bought together with Milk Jug by 29% of its buyers'),
      product(
        'COF2-211',
        'Single Origin Classic No. 1',
        'coffee-beans',
        '15.60',
        'Bought together with Espresso Machine by 31% of its buyers',
      ),
    ],
    upsells: [
      product('ESP0-123', 'Espresso Machine Pro No. 2', 'espresso-machines', '569.00', 'The Pro tier of what you bought'),
      product('ESP0-143', 'Espresso Machine Pro No. 4', 'espresso-machines', '612.00', 'The Pro tier of what you bought'),
    ],
    shop: {
      name: 'Demo Coffee',
      url: 'https://shop.example/',
      currency: 'USD',
      address: '1 Roastery Lane, Portland, OR 97201, USA',
      supportEmail: 'help@shop.example',
      timezone: 'America/Los_Angeles',
    },
    links: { unsubscribe: 'https://campaigns.shop.example/u/preview', shop: 'https://shop.example/' },
    // What `bundle: { size: 2, discount: 10% }` makes of this order: its most expensive line
    // and its best complement (skus stand in for variant ids in the cart link).
    bundle: {
      items: [
        bundleItem(product('ESP0-121', 'Espresso Machine Plus No. 2', 'espresso-machines', '349.00', '')),
        bundleItem(product('GRI1-121', 'Burr Grinder Plus No. 2', 'grinders', '189.00', '')),
      ],
      total: '538.00',
      price: '484.20',
      saving: '53.80',
      discount: '10%',
      url: 'https://shop.example/cart/ESP0-121:1,GRI1-121:1',
    },
  };
}
