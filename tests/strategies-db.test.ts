/**
 * The shipping-gap and new-arrivals strategies and the free-shipping context on the real
 * store (Postgres and PGlite): products imported with `first_seen_at` or Shopify's
 * `published_at` (a bad time refused by line; an import never moves a stored first-seen time
 * later), the new products of the customer's categories loaded as of the clock given, the
 * order's stored total against the threshold, and `order.freeShipping` in exact money.
 */
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_RULES, type Strategy } from '../src/core/recommend.ts';
import { queryRows } from '../src/db/client.ts';
import { importRows, type Rejection } from '../src/ingest/import.ts';
import { formatOf, openRows } from '../src/ingest/read.ts';
import type { RecordKind } from '../src/core/records.ts';
import { recommendationsFor, strategySettings } from '../src/recs/service.ts';
import { findCustomerOrder } from '../src/store/orders.ts';
import { buildContext } from '../src/templates/context.ts';
import { DB_KINDS, freshDatabase, type TestDatabase } from './helpers/db.ts';
import { tempFile } from './helpers/files.ts';

const SHOP = {
  name: 'Test Shop',
  currency: 'USD',
  url: 'https://shop.example/',
  address: '1 Test Street',
  supportEmail: 'help@shop.example',
  timezone: 'UTC',
};
const NOW = new Date('2026-12-06T12:00:00.000Z');

const PRODUCTS = [
  'sku,name,category,price,first_seen_at,published_at',
  'BEAN-1,House Beans,beans,24.90,2026-01-01T00:00:00Z,',
  'BEAN-2,Kenya Beans,beans,26.00,2026-11-20T10:00:00Z,',
  'BEAN-3,Peru Beans,beans,19.00,,2026-12-01T08:00:00+00:00',
  'BEAN-4,Old Beans,beans,30.00,2026-10-01T00:00:00Z,',
  'FLT-1,Paper Filters,filters,9.00,2026-01-01T00:00:00Z,',
  'MUG-1,Mug,mugs,8.00,2026-01-01T00:00:00Z,',
  'MUG-2,New Mug,mugs,12.00,2026-12-02T00:00:00Z,',
].join('\n');
const ORDERS = [
  'order_id,customer_id,ordered_at,sku,quantity,unit_price',
  'o-1,c-1,2026-11-01T10:00:00Z,BEAN-1,1,24.90',
  'o-1,c-1,2026-11-01T10:00:00Z,FLT-1,1,9.00',
  'o-2,c-2,2026-11-02T10:00:00Z,MUG-1,1,8.00',
  'o-2,c-2,2026-11-02T10:00:00Z,BEAN-4,1,30.00',
].join('\n');

describe.each(DB_KINDS)('shipping-gap, new-arrivals and first_seen_at on %s', (kind) => {
  let database: TestDatabase;
  let orderId: number;
  let customerId: number;

  const run = async (what: RecordKind, content: string) => {
    const path = tempFile('in.csv', content);
    const rejections: Rejection[] = [];
    const summary = await importRows(database.db, what, await openRows(path, formatOf(path)), {
      batchSize: 3,
      onReject: (r) => rejections.push(r),
    });
    return { counts: [summary.inserted, summary.updated, summary.unchanged, summary.rejected], rejections };
  };
  const firstSeen = async (sku: string) => {
    const [row] = await queryRows<{ ms: string }>(
      database.db,
      sql`select (extract(epoch from first_seen_at) * 1000)::bigint::text as ms from products where sku = ${sku}`,
    );
    return new Date(Number(row!.ms)).toISOString();
  };
  const recommend = async (strategy: Strategy, settings = strategySettings({ ...SHOP, freeShippingThreshold: '40' }, NOW, 30)) =>
    (
      await recommendationsFor(database.db, { customerId, orderId, strategy, rules: DEFAULT_RULES, upsells: 0, settings })
    ).recommendations.map((r) => [r.sku, r.reason]);

  beforeAll(async () => {
    database = await freshDatabase(kind);
    expect((await run('products', PRODUCTS)).rejections).toEqual([]);
    await run('customers', 'customer_id,email\nc-1,ada@example.com\nc-2,grace@example.com');
    await run('orders', ORDERS);
    const found = await findCustomerOrder(database.db, 'c-1', 'o-1');
    customerId = found.customerId!;
    orderId = found.order!.id;
  });
  afterAll(() => database.drop());

  it('imports first_seen_at or published_at, and never moves a stored first-seen time later', async () => {
    expect(await firstSeen('BEAN-2')).toBe('2026-11-20T10:00:00.000Z');
    expect(await firstSeen('BEAN-3')).toBe('2026-12-01T08:00:00.000Z');
    const again = await run(
      'products',
      [
        'sku,name,category,price,first_seen_at',
        'BEAN-2,Kenya Beans,beans,26.00,2026-12-05T00:00:00Z', // later: kept as stored
        'BEAN-4,Old Beans,beans,30.00,2026-09-01T00:00:00Z', // earlier: moved
        'FLT-1,Paper Filters,filters,9.00,', // absent: kept
        'MUG-1,Mug,mugs,8.00,yesterday',
      ].join('\n'),
    );
    expect(again.rejections).toEqual([{ line: 5, reason: expect.stringMatching(/^first_seen_at: must be an ISO 8601 time/) }]);
    expect(again.counts).toEqual([0, 1, 2, 1]);
    expect(await firstSeen('BEAN-2')).toBe('2026-11-20T10:00:00.000Z');
    expect(await firstSeen('BEAN-4')).toBe('2026-09-01T00:00:00.000Z');
    expect(await firstSeen('FLT-1')).toBe('2026-01-01T00:00:00.000Z');
  });

  it('new-arrivals: the new products of the categories the customer buys, as of the clock given', async () => {
    expect(await recommend('new-arrivals')).toEqual([
      ['BEAN-3', 'New in beans since 1 December'],
      ['BEAN-2', 'New in beans since 20 November'],
      ['MUG-1', 'One of our best-sellers (1 orders)'],
    ]);
    // Ten days earlier Peru Beans were not listed yet, and Old Beans no longer new.
    const earlier = strategySettings(SHOP, new Date('2026-11-26T12:00:00.000Z'), 30);
    expect(await recommend('new-arrivals', earlier)).toEqual([
      ['BEAN-2', 'New in beans since 20 November'],
      ['BEAN-4', 'A best-seller in beans (1 orders)'],
      ['MUG-1', 'One of our best-sellers (1 orders)'],
    ]);
  });

  it('shipping-gap: what closes the gap between the stored order total and the threshold first', async () => {
    // o-1 is $33.90, $6.10 short of $40: the $8 mug closes it before the $30 beans.
    expect(await recommend('shipping-gap')).toEqual([
      ['MUG-1', 'Adds the $6.10 your order was short of free shipping'],
      ['BEAN-4', 'Adds the $6.10 your order was short of free shipping'],
    ]);
    expect(await recommend('co-purchase')).toEqual([
      ['BEAN-4', 'A best-seller in beans (1 orders)'],
      ['MUG-1', 'One of our best-sellers (1 orders)'],
    ]);
    // Without a threshold, or one the order reached, it is co-purchase.
    expect(await recommend('shipping-gap', strategySettings(SHOP, NOW, 30))).toEqual(await recommend('co-purchase'));
    expect(await recommend('shipping-gap', strategySettings({ ...SHOP, freeShippingThreshold: '33.90' }, NOW, 30))).toEqual(
      await recommend('co-purchase'),
    );
  });

  it('the render context says how far the order was from free shipping, in exact money', async () => {
    const links = { unsubscribe: 'https://t.example/u/x', shop: SHOP.url };
    const short = await buildContext(
      database.db,
      { shop: { ...SHOP, freeShippingThreshold: '40' } },
      { customerId: 'c-1', links, now: NOW },
    );
    expect(short.order.total).toBe('33.9000');
    expect(short.order.freeShipping).toEqual({ threshold: '40.00', gap: '6.10', reached: false });
    expect(short.shop).toEqual(SHOP);
    // These products have no page: every suggestion links to the shop, as an order line does, never to "".
    const suggested = [...short.recommendations, ...short.upsells];
    expect(suggested.length).toBeGreaterThan(0);
    expect(new Set(suggested.map((p) => p.url))).toEqual(new Set([SHOP.url]));
    const reached = await buildContext(database.db, { shop: { ...SHOP, freeShippingThreshold: '33.9' } }, { customerId: 'c-1', links });
    expect(reached.order.freeShipping).toEqual({ threshold: '33.90', gap: '0.00', reached: true });
    expect((await buildContext(database.db, { shop: SHOP }, { customerId: 'c-1', links })).order.freeShipping).toBeUndefined();
  });
});
