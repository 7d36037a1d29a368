/**
 * POST /webhooks/shopify, on Postgres and PGlite, with payloads shaped as Shopify's
 * documentation shows them (tests/fixtures/shopify): products with and without a sku, a
 * customer with marketing consent, an order in a presentment currency other than the shop's
 * with a discount code, a refund with a failed transaction beside the successful one, a
 * cancellation, a guest checkout, a deleted product, and the privacy topics. Checked: the
 * stored rows; a wrong or missing signature is a 401 and stores nothing; a redelivery is a
 * 200 and stores nothing twice; an unknown topic is a 200, recorded and ignored; a payload
 * that cannot be mapped or is refused is a 200, kept as a dead letter with its reason, with
 * nothing of it half-stored.
 */
import { createHash, createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { sql } from 'drizzle-orm';
import { LosslessNumber, parse, stringify } from 'lossless-json';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryRows } from '../src/db/client.ts';
import { buildServer } from '../src/http/app.ts';
import { DB_KINDS, freshDatabase, type TestDatabase } from './helpers/db.ts';
import { FIXTURES } from './helpers/files.ts';

const SECRET = 'shpss_test_secret_0123456789';
// Shopify's ids are 64-bit: fixtures are read and sent with their integers exact, as Shopify sends them.
const fixture = (name: string) => parse(readFileSync(`${FIXTURES}shopify/${name}.json`, 'utf8')) as Record<string, unknown>;
const big = (digits: string) => new LosslessNumber(digits);
const sign = (body: string, secret = SECRET) => createHmac('sha256', secret).update(body, 'utf8').digest('base64');

describe.each(DB_KINDS)('Shopify webhooks on %s', (kind) => {
  let database: TestDatabase;
  let app: FastifyInstance;
  let n = 0;
  /** Posts `payload` as Shopify would: the raw body signed, a fresh delivery id unless one is given. */
  const deliver = (topic: string, payload: unknown, options: { id?: string; signature?: string | null } = {}) => {
    const body = stringify(payload)!;
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'x-shopify-topic': topic,
      'x-shopify-webhook-id': options.id ?? `delivery-${kind}-${++n}`,
      'x-shopify-shop-domain': 'demo-shop.myshopify.com',
      'x-shopify-api-version': '2026-10',
    };
    if (options.signature !== null) headers['x-shopify-hmac-sha256'] = options.signature ?? sign(body);
    return app.inject({ method: 'POST', url: '/webhooks/shopify', headers, payload: body });
  };
  const rows = <T>(query: ReturnType<typeof sql>) => queryRows<T>(database.db, query);
  const count = async (table: string) => (await rows<{ n: number }>(sql`select count(*)::int as n from ${sql.identifier(table)}`))[0]!.n;

  beforeAll(async () => {
    database = await freshDatabase(kind);
    app = await buildServer({
      db: database.db,
      apiToken: 'webhook-test-token',
      bodyLimitBytes: 256 * 1024,
      webhooks: { shopifySecret: SECRET, shopCurrency: 'USD', shopUrl: 'https://demo-shop.example/' },
    });
  }, 120_000);
  afterAll(async () => {
    await app?.close();
    await database?.drop();
  });

  it('stores a product as one product per variant, a variant without a sku keyed by its id', async () => {
    const res = await deliver('products/create', fixture('product-create'));
    expect([res.statusCode, res.json()]).toEqual([200, { outcome: 'stored' }]);
    const products = await rows<Record<string, unknown>>(
      sql`select sku, name, category, price::text as price, url, image_url, in_stock, variant_id, platform_product_id
          from products order by sku`,
    );
    const common = {
      category: 'coffee-beans',
      url: 'https://demo-shop.example/products/house-espresso-blend',
      image_url: 'https://cdn.shopify.com/s/files/1/0000/0001/products/heb.jpg',
      platform_product_id: '788032119674292922',
    };
    expect(products).toEqual([
      {
        sku: 'HEB-1KG',
        name: 'House Espresso Blend - 1 kg',
        price: '24.9000',
        in_stock: true,
        variant_id: '642667041472713922',
        ...common,
      },
      {
        sku: 'shopify-757650484644203962',
        name: 'House Espresso Blend - 250 g',
        price: '8.5000',
        in_stock: false,
        variant_id: '757650484644203962',
        ...common,
      },
    ]);
  });

  it('stores a customer with their marketing consent, tags and country', async () => {
    const res = await deliver('customers/create', fixture('customer-create'));
    expect(res.json()).toEqual({ outcome: 'stored' });
    const [customer] = await rows<Record<string, unknown>>(
      sql`select external_id, email, first_name, last_name, accepts_marketing, consent_source, country, tags from customers`,
    );
    expect(customer).toEqual({
      external_id: '706405506930370084',
      email: 'bob@example.com',
      first_name: 'Bob',
      last_name: 'Biller',
      accepts_marketing: 'yes',
      consent_source: 'shopify',
      country: 'CA',
      tags: ['vip', 'espresso'],
    });
  });

  it("stores an order in the shop's money with its discount code, and a redelivery stores nothing twice", async () => {
    const order = fixture('order-create');
    const first = await deliver('orders/create', order, { id: `order-${kind}` });
    expect(first.json()).toEqual({ outcome: 'stored' });
    const stored = await rows<Record<string, unknown>>(
      sql`select o.external_id, c.external_id as customer, o.ordered_at, o.total::text as total, o.discount_code, o.discount_total::text as discount_total
          from orders o join customers c on c.id = o.customer_id`,
    );
    expect(stored).toEqual([
      {
        external_id: '820982911946154508',
        customer: '706405506930370084',
        ordered_at: expect.anything(),
        // The lines' total; the discount is kept beside it (revenue and margin count it as the rest of the engine does).
        total: '58.8000',
        discount_code: 'WELCOME10',
        discount_total: '4.5000',
      },
    ]);
    expect(new Date(stored[0]!.ordered_at as string).toISOString()).toBe('2026-10-03T20:13:13.000Z');
    const lines = await rows<Record<string, unknown>>(
      sql`select p.sku, oi.quantity, oi.unit_price::text as unit_price from order_items oi join products p on p.id = oi.product_id order by p.sku`,
    );
    expect(lines).toEqual([
      { sku: 'HEB-1KG', quantity: 2, unit_price: '24.9000' },
      { sku: 'shopify-757650484644203962', quantity: 1, unit_price: '9.0000' },
    ]);
    const outbox = await count('outbox');
    const again = await deliver('orders/create', order, { id: `order-${kind}` });
    expect([again.statusCode, again.json()]).toEqual([200, { outcome: 'duplicate' }]);
    expect([await count('orders'), await count('order_items'), await count('outbox')]).toEqual([1, 2, outbox]);
  });

  it('never lets a late delivery put an older version of an order back', async () => {
    const order = fixture('order-create');
    const [first, second] = order.line_items as Record<string, unknown>[];
    const newer = { ...order, updated_at: '2026-10-04T10:00:00-04:00', line_items: [{ ...first, quantity: 3 }, second] };
    expect((await deliver('orders/updated', newer)).json()).toEqual({ outcome: 'stored' });
    const quantity = async () =>
      (
        await rows<{ quantity: number }>(
          sql`select oi.quantity from order_items oi join products p on p.id = oi.product_id where p.sku = 'HEB-1KG'`,
        )
      )[0]!.quantity;
    expect(await quantity()).toBe(3);
    // The creation, delayed, arrives under its own delivery id after the update.
    const late = await deliver('orders/create', order);
    expect(late.json()).toEqual({ outcome: 'ignored', reason: 'a late delivery: a newer version of order 820982911946154508 is stored' });
    expect(await quantity()).toBe(3);
  });

  it('stores a refund of the item revenue its lines gave back (in shop money), and a cancellation', async () => {
    expect((await deliver('refunds/create', fixture('refund-create'))).json()).toEqual({ outcome: 'stored' });
    const refunds = await rows<Record<string, unknown>>(sql`select external_id, amount::text as amount, reason from refunds`);
    // The refunded line's subtotal in shop money: not the transactions, which also return tax and shipping.
    expect(refunds).toEqual([{ external_id: '509562969', amount: '22.4100', reason: 'it came damaged' }]);
    // A refund of shipping alone gave no item revenue back.
    const shipping = { ...fixture('refund-create'), id: 509562970, refund_line_items: [], note: 'shipping' };
    expect((await deliver('refunds/create', shipping)).json()).toEqual({ outcome: 'ignored', reason: 'the refund gave no money back' });
    const cancelled = {
      ...fixture('order-create'),
      updated_at: '2026-10-06T08:00:00-04:00',
      cancelled_at: '2026-10-06T08:00:00-04:00',
      cancel_reason: 'customer',
    };
    expect((await deliver('orders/cancelled', cancelled)).json()).toEqual({ outcome: 'stored' });
    const [order] = await rows<{ cancelled_at: string }>(sql`select cancelled_at from orders`);
    expect(new Date(order!.cancelled_at).toISOString()).toBe('2026-10-06T12:00:00.000Z');
  });

  it('stores a guest checkout under its email, with the missing optional fields left out', async () => {
    const order = fixture('order-create');
    const guest = {
      ...order,
      id: 1001,
      customer: null,
      email: 'Guest@Example.com',
      discount_codes: [],
      total_discounts: '0.00',
      line_items: [{ id: 1, sku: 'HEB-1KG', quantity: 1, price: '24.90', variant_id: big('642667041472713922') }],
    };
    expect((await deliver('orders/create', guest)).json()).toEqual({ outcome: 'stored' });
    const [row] = await rows<Record<string, unknown>>(
      sql`select c.external_id, c.email, c.accepts_marketing, o.total::text as total, o.discount_code from orders o join customers c on c.id = o.customer_id
          where o.external_id = '1001'`,
    );
    expect(row).toEqual({
      // Keyed by the address's hash, so an erase leaves no address in the id.
      external_id: `guest:${createHash('sha256').update('guest@example.com').digest('hex')}`,
      email: 'Guest@Example.com',
      accepts_marketing: 'unknown',
      total: '24.9000',
      discount_code: null,
    });
  });

  it('keeps what it cannot map or store as a dead letter, with the reason and nothing half-stored', async () => {
    const before = await Promise.all(['customers', 'orders', 'order_items', 'outbox'].map(count));
    const order = fixture('order-create');
    const unknownSku = {
      ...order,
      id: 2002,
      customer: { ...(order.customer as object), id: 99, email: 'new@example.com' },
      line_items: [{ id: 1, sku: 'NO-SUCH', quantity: 1, price: '5.00', variant_id: 1 }],
    };
    const dead = await deliver('orders/create', unknownSku, { id: `dead-${kind}` });
    expect([dead.statusCode, dead.json()]).toEqual([200, { outcome: 'dead_letter', reason: 'order: items.0.sku: no product "NO-SUCH"' }]);
    const cad = await deliver('orders/create', { ...order, id: 2003, currency: 'CAD' });
    expect(cad.json()).toEqual({ outcome: 'dead_letter', reason: 'order 2003 is in CAD; this shop reports in USD' });
    const badQuantity = { ...order, id: 2004, line_items: [{ id: 1, sku: 'HEB-1KG', quantity: -1, price: '5.00' }] };
    expect((await deliver('orders/create', badQuantity)).json()).toMatchObject({
      outcome: 'dead_letter',
      reason: expect.stringMatching(/^order: items\.0\.quantity: /),
    });
    const notJson = await app.inject({
      method: 'POST',
      url: '/webhooks/shopify',
      headers: {
        'content-type': 'application/json',
        'x-shopify-topic': 'orders/create',
        'x-shopify-webhook-id': `garbage-${kind}`,
        'x-shopify-hmac-sha256': sign('{"id": 1,'),
      },
      payload: '{"id": 1,',
    });
    expect(notJson.json()).toEqual({ outcome: 'dead_letter', reason: 'the body is not a JSON object' });
    // A payload Postgres cannot keep (a NUL in a string) is still a dead letter, its payload dropped: never a 5xx.
    const nul = await deliver('orders/create', { ...order, id: 2005, note: 'a\u0000b', currency: 'CAD' }, { id: `nul-${kind}` });
    expect([nul.statusCode, nul.json()]).toEqual([
      200,
      { outcome: 'dead_letter', reason: 'order 2005 is in CAD; this shop reports in USD' },
    ]);
    expect(await rows(sql`select reason, payload from webhook_deliveries where delivery_id = ${`nul-${kind}`}`)).toEqual([
      { reason: 'order 2005 is in CAD; this shop reports in USD (payload not kept: it cannot be stored)', payload: null },
    ]);
    // The new customer of the refused order was not stored either.
    expect(await Promise.all(['customers', 'orders', 'order_items', 'outbox'].map(count))).toEqual(before);
    const [letter] = await rows<{ outcome: string; reason: string; payload: { id: number } }>(
      sql`select outcome, reason, payload from webhook_deliveries where delivery_id = ${`dead-${kind}`}`,
    );
    expect(letter).toMatchObject({ outcome: 'dead_letter', reason: 'order: items.0.sku: no product "NO-SUCH"', payload: { id: 2002 } });
  });

  it('refuses a wrong or missing signature with a 401 and stores nothing; answers an unknown topic 200 and ignores it', async () => {
    const deliveries = await count('webhook_deliveries');
    const payload = fixture('customer-create');
    const wrong = await deliver('customers/update', { ...payload, email: 'mallory@example.com' }, { signature: sign(stringify(payload)!) });
    const otherSecret = await deliver('customers/update', payload, { signature: sign(stringify(payload)!, 'another-secret-entirely') });
    const missing = await deliver('customers/update', payload, { signature: null });
    const garbage = await deliver('customers/update', payload, { signature: '!!not base64!!' });
    for (const res of [wrong, otherSecret, missing, garbage]) expect(res.statusCode).toBe(401);
    expect(await count('webhook_deliveries')).toBe(deliveries);
    expect((await rows<{ email: string }>(sql`select email from customers where external_id = '706405506930370084'`))[0]!.email).toBe(
      'bob@example.com',
    );

    const unknown = await deliver('inventory_levels/update', { inventory_item_id: 1, available: 3 });
    expect([unknown.statusCode, unknown.json()]).toEqual([200, { outcome: 'ignored', reason: 'unknown topic "inventory_levels/update"' }]);
    expect(await count('webhook_deliveries')).toBe(deliveries + 1);
  });

  it('withdraws a deleted product from recommendations, keeping it for the orders that name it', async () => {
    const res = await deliver('products/delete', { id: big('788032119674292922') });
    expect(res.json()).toEqual({ outcome: 'stored', reason: '2 variants withdrawn (out of stock; kept for the orders that name them)' });
    expect(await rows(sql`select sku, in_stock from products order by sku`)).toEqual([
      { sku: 'HEB-1KG', in_stock: false },
      { sku: 'shopify-757650484644203962', in_stock: false },
    ]);
  });

  it('answers a data request with the export, and erases a customer on customers/redact', async () => {
    const request = {
      shop_id: 954889,
      shop_domain: 'demo-shop.myshopify.com',
      orders_requested: [big('820982911946154508')],
      customer: { id: big('706405506930370084'), email: 'bob@example.com', phone: null },
      data_request: { id: 9999 },
    };
    const exported = await deliver('customers/data_request', request, { id: `request-${kind}` });
    expect(exported.json()).toEqual({
      outcome: 'privacy',
      reason: 'exported everything stored about customer 706405506930370084: send it to the shop owner',
    });
    const [kept] = await rows<{ payload: { customer: { email: string } } }>(
      sql`select payload from webhook_deliveries where delivery_id = ${`request-${kind}`}`,
    );
    expect(JSON.stringify(kept!.payload)).toContain('bob@example.com');

    const redact = {
      shop_id: 954889,
      shop_domain: 'demo-shop.myshopify.com',
      customer: { id: big('706405506930370084'), email: 'bob@example.com', phone: null },
      orders_to_redact: [big('820982911946154508')],
    };
    expect((await deliver('customers/redact', redact)).json()).toEqual({
      outcome: 'privacy',
      reason: 'customer 706405506930370084: erased',
    });
    const [customer] = await rows<{ email: string; erased_at: string | null }>(
      sql`select email, erased_at from customers where external_id = '706405506930370084'`,
    );
    expect(customer!.email).not.toContain('bob@example.com');
    expect(customer!.erased_at).not.toBeNull();
    // A guest checkout's customer is found by the address's hash.
    const guest = { shop_id: 954889, customer: { id: 123456, email: 'guest@example.com' }, orders_to_redact: [1001] };
    expect((await deliver('customers/redact', guest)).json()).toEqual({ outcome: 'privacy', reason: 'customer 123456: erased' });
    expect(await rows(sql`select 1 from customers where email ilike 'guest@example.com'`)).toEqual([]);
    // Nothing kept of a delivery quotes the address any more: the data request's export went with the erase.
    expect(await rows(sql`select delivery_id from webhook_deliveries where payload::text ilike '%bob@example.com%'`)).toEqual([]);
    // The order stays, for the reports.
    expect(await count('orders')).toBeGreaterThan(0);
  });

  it("erases every customer's personal data on shop/redact, keeping the orders", async () => {
    expect((await deliver('customers/create', { ...fixture('customer-create'), id: 555, email: 'last@example.com' })).json()).toEqual({
      outcome: 'stored',
    });
    const orders = await count('orders');
    const res = await deliver('shop/redact', { shop_id: 954889, shop_domain: 'demo-shop.myshopify.com' });
    expect(res.json()).toMatchObject({
      outcome: 'privacy',
      reason: expect.stringMatching(/^the shop's data was erased: [1-9]\d* customers$/),
    });
    expect(await rows(sql`select email from customers where erased_at is null or email not like 'erased-%@erased.invalid'`)).toEqual([]);
    expect(await rows(sql`select delivery_id from webhook_deliveries where payload is not null`)).toEqual([]);
    expect(await rows(sql`select 1 from webhook_deliveries where payload::text ilike '%@example.com%'`)).toEqual([]);
    expect(await count('orders')).toBe(orders);
  });
});
