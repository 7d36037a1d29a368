/**
 * POST /webhooks/woocommerce, on Postgres and PGlite, with payloads shaped as WooCommerce's
 * REST API v3 documentation shows its resources (tests/fixtures/woocommerce): the unsigned
 * ping sent when a webhook is saved; a simple product, a variable one (its variations come
 * from the catalog import), a product without a sku; a customer; an order that is pending,
 * then paid, with a coupon and a line without a sku; a refund and a cancellation by order
 * update; a guest order. A wrong signature is a 401 and stores nothing; a redelivery stores
 * nothing twice; an unknown topic is ignored; an order in another currency or naming an
 * unknown product is a dead letter with nothing half-stored.
 */
import { createHash, createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { sql } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryRows } from '../src/db/client.ts';
import { buildServer } from '../src/http/app.ts';
import { DB_KINDS, freshDatabase, type TestDatabase } from './helpers/db.ts';
import { FIXTURES } from './helpers/files.ts';

const SECRET = 'woo-webhook-secret-123';
const fixture = (name: string) => JSON.parse(readFileSync(`${FIXTURES}woocommerce/${name}.json`, 'utf8')) as Record<string, unknown>;
const sign = (body: string, secret = SECRET) => createHmac('sha256', secret).update(body, 'utf8').digest('base64');

describe.each(DB_KINDS)('WooCommerce webhooks on %s', (kind) => {
  let database: TestDatabase;
  let app: FastifyInstance;
  let n = 0;
  const deliver = (topic: string, payload: unknown, options: { id?: string; signature?: string | null } = {}) => {
    const body = JSON.stringify(payload);
    const [resource, event] = topic.split('.');
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'user-agent': 'WooCommerce/9.4.0 Hookshot (WordPress/6.7)',
      'x-wc-webhook-source': 'https://example.com/',
      'x-wc-webhook-topic': topic,
      'x-wc-webhook-resource': resource!,
      'x-wc-webhook-event': event!,
      'x-wc-webhook-id': '12',
      'x-wc-webhook-delivery-id': options.id ?? `${kind}-${++n}`,
    };
    if (options.signature !== null) headers['x-wc-webhook-signature'] = options.signature ?? sign(body);
    return app.inject({ method: 'POST', url: '/webhooks/woocommerce', headers, payload: body });
  };
  const rows = <T = Record<string, unknown>>(query: ReturnType<typeof sql>) => queryRows<T>(database.db, query);
  const count = async (table: string) => (await rows<{ n: number }>(sql`select count(*)::int as n from ${sql.identifier(table)}`))[0]!.n;

  beforeAll(async () => {
    database = await freshDatabase(kind);
    app = await buildServer({
      db: database.db,
      apiToken: 'webhook-test-token',
      bodyLimitBytes: 256 * 1024,
      webhooks: { wooCommerceSecret: SECRET, shopCurrency: 'USD' },
    });
  }, 120_000);
  afterAll(async () => {
    await app?.close();
    await database?.drop();
  });

  it('answers the unsigned ping WooCommerce sends when a webhook is saved, and stores nothing', async () => {
    const ping = await app.inject({
      method: 'POST',
      url: '/webhooks/woocommerce',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'user-agent': 'WooCommerce/9.4.0 Hookshot (WordPress/6.7)' },
      payload: 'webhook_id=12',
    });
    expect([ping.statusCode, ping.json()]).toEqual([200, { ping: true }]);
    expect(await count('webhook_deliveries')).toBe(0);
    // Anything else unsigned is refused.
    const unsigned = await app.inject({
      method: 'POST',
      url: '/webhooks/woocommerce',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'webhook_id=12&sku=X',
    });
    expect(unsigned.statusCode).toBe(401);
  });

  it('stores a simple product and one without a sku; ignores a variable one', async () => {
    expect((await deliver('product.created', fixture('product'))).json()).toEqual({ outcome: 'stored' });
    const noSku = { ...fixture('product'), id: 23, name: 'Ship Your Idea - Black', sku: '', price: '22.00', categories: [], images: [] };
    expect((await deliver('product.created', noSku)).json()).toEqual({ outcome: 'stored' });
    const variable = { ...fixture('product'), id: 22, type: 'variable', variations: [23, 24] };
    expect((await deliver('product.created', variable)).json()).toEqual({
      outcome: 'ignored',
      reason: 'a variable product: its variations come from the catalog import',
    });
    expect(
      await rows(
        sql`select sku, name, category, price::text as price, url, image_url, in_stock, platform_product_id from products order by sku`,
      ),
    ).toEqual([
      {
        sku: 'MUG-1',
        name: 'Premium Quality Mug',
        category: 'mugs',
        price: '21.9900',
        url: 'https://example.com/product/premium-quality-mug/',
        image_url: 'https://example.com/wp-content/uploads/2026/09/mug-front.jpg',
        in_stock: true,
        platform_product_id: '794',
      },
      {
        sku: 'woo-23',
        name: 'Ship Your Idea - Black',
        category: 'uncategorised',
        price: '22.0000',
        url: 'https://example.com/product/premium-quality-mug/',
        image_url: null,
        in_stock: true,
        platform_product_id: '23',
      },
    ]);
  });

  it('stores a customer', async () => {
    expect((await deliver('customer.created', fixture('customer'))).json()).toEqual({ outcome: 'stored' });
    expect(await rows(sql`select external_id, email, first_name, last_name, country, accepts_marketing from customers`)).toEqual([
      {
        external_id: '25',
        email: 'john.doe@example.com',
        first_name: 'John',
        last_name: 'Doe',
        country: 'US',
        accepts_marketing: 'unknown',
      },
    ]);
  });

  it('leaves a pending order until it is paid, then stores it with its coupon; a redelivery stores nothing twice', async () => {
    const pending = await deliver('order.created', { ...fixture('order'), status: 'pending' });
    expect(pending.json()).toEqual({ outcome: 'ignored', reason: 'order 727 is pending: stored once it is paid' });
    expect(await count('orders')).toBe(0);
    const paid = await deliver('order.updated', fixture('order'), { id: `${kind}-paid` });
    expect(paid.json()).toEqual({ outcome: 'stored' });
    const [order] = await rows<Record<string, unknown>>(
      sql`select o.external_id, c.external_id as customer, o.ordered_at, o.total::text as total, o.discount_code, o.discount_total::text as discount_total
          from orders o join customers c on c.id = o.customer_id`,
    );
    expect({ ...order, ordered_at: new Date(order!.ordered_at as string).toISOString() }).toEqual({
      external_id: '727',
      customer: '25',
      ordered_at: '2026-10-03T20:13:13.000Z',
      total: '65.9800',
      discount_code: 'mug10',
      discount_total: '4.4000',
    });
    expect(
      await rows(
        sql`select p.sku, oi.quantity, oi.unit_price::text as unit_price from order_items oi join products p on p.id = oi.product_id order by p.sku`,
      ),
    ).toEqual([
      { sku: 'MUG-1', quantity: 2, unit_price: '21.9900' },
      { sku: 'woo-23', quantity: 1, unit_price: '22.0000' },
    ]);
    const again = await deliver('order.updated', fixture('order'), { id: `${kind}-paid` });
    expect(again.json()).toEqual({ outcome: 'duplicate' });
    expect([await count('orders'), await count('order_items')]).toEqual([1, 2]);
  });

  it('stores the refunds and the cancellation an order update carries', async () => {
    const refunded = {
      ...fixture('order'),
      status: 'refunded',
      date_modified_gmt: '2026-10-05T09:00:00',
      refunds: [{ id: 730, reason: 'broken handle', total: '-21.99' }],
    };
    expect((await deliver('order.updated', refunded)).json()).toEqual({ outcome: 'stored' });
    expect(await rows(sql`select external_id, amount::text as amount, reason, refunded_at from refunds`)).toEqual([
      { external_id: '730', amount: '21.9900', reason: 'broken handle', refunded_at: expect.anything() },
    ]);
    const [first] = await rows<{ refunded_at: string }>(sql`select refunded_at from refunds`);
    expect(new Date(first!.refunded_at).toISOString()).toBe('2026-10-05T09:00:00.000Z');
    // A later change of the order carries the same refund: its date stays the first one's.
    const cancelled = { ...refunded, status: 'cancelled', date_modified_gmt: '2026-10-06T08:00:00' };
    expect((await deliver('order.updated', cancelled)).json()).toEqual({ outcome: 'stored' });
    const [row] = await rows<{ cancelled_at: string }>(sql`select cancelled_at from orders`);
    expect(new Date(row!.cancelled_at).toISOString()).toBe('2026-10-06T08:00:00.000Z');
    const [kept] = await rows<{ refunded_at: string }>(sql`select refunded_at from refunds`);
    expect(new Date(kept!.refunded_at).toISOString()).toBe('2026-10-05T09:00:00.000Z');
    // A refund with tax and shipping in it never gives back more item revenue than the order has left (65.98 less 21.99).
    const more = {
      ...refunded,
      date_modified_gmt: '2026-10-07T08:00:00',
      refunds: [{ id: 731, reason: 'all of it', total: '-80.00' }, ...refunded.refunds],
    };
    expect((await deliver('order.updated', more)).json()).toEqual({ outcome: 'stored' });
    expect(await rows(sql`select external_id, amount::text as amount from refunds order by external_id`)).toEqual([
      { external_id: '730', amount: '21.9900' },
      { external_id: '731', amount: '43.9900' },
    ]);
  });

  it('stores a guest order under its billing email', async () => {
    const guest = {
      ...fixture('order'),
      id: 801,
      customer_id: 0,
      billing: { ...(fixture('order').billing as object), email: 'Guest@Example.com' },
    };
    expect((await deliver('order.created', guest)).json()).toEqual({ outcome: 'stored' });
    expect(
      await rows(sql`select c.external_id, c.email from orders o join customers c on c.id = o.customer_id where o.external_id = '801'`),
    ).toEqual([{ external_id: `guest:${createHash('sha256').update('guest@example.com').digest('hex')}`, email: 'Guest@Example.com' }]);
  });

  it('refuses a wrong signature, ignores an unknown topic, and keeps what it cannot store as a dead letter', async () => {
    const before = await Promise.all(['customers', 'orders', 'order_items', 'outbox', 'webhook_deliveries'].map(count));
    const payload = fixture('customer');
    expect((await deliver('customer.updated', payload, { signature: sign(JSON.stringify(payload), 'not-the-secret') })).statusCode).toBe(
      401,
    );
    expect((await deliver('customer.updated', payload, { signature: null })).statusCode).toBe(401);
    expect(await Promise.all(['customers', 'orders', 'order_items', 'outbox', 'webhook_deliveries'].map(count))).toEqual(before);

    expect((await deliver('coupon.created', { id: 5, code: 'x' })).json()).toEqual({
      outcome: 'ignored',
      reason: 'unknown topic "coupon.created"',
    });
    const euro = await deliver('order.created', { ...fixture('order'), id: 900, currency: 'EUR' });
    expect(euro.json()).toEqual({ outcome: 'dead_letter', reason: 'order 900 is in EUR; this shop reports in USD' });
    const newCustomer = {
      ...fixture('order'),
      id: 901,
      customer_id: 77,
      billing: { email: 'new@example.com' },
      discount_total: '0.00',
      coupon_lines: [],
      line_items: [{ id: 1, product_id: 5, variation_id: 0, quantity: 1, subtotal: '3.00', sku: 'GONE' }],
    };
    const unknown = await deliver('order.created', newCustomer);
    expect(unknown.json()).toEqual({ outcome: 'dead_letter', reason: 'order: items.0.sku: no product "GONE"' });
    const [customers, orders, lines, outbox, deliveries] = await Promise.all(
      ['customers', 'orders', 'order_items', 'outbox', 'webhook_deliveries'].map(count),
    );
    // The refused order's new customer was not stored either; three deliveries were recorded.
    expect([customers, orders, lines, outbox, deliveries]).toEqual([before[0], before[1], before[2], before[3], before[4]! + 3]);
  });

  it('withdraws a deleted product', async () => {
    expect((await deliver('product.deleted', { id: 794 })).json()).toEqual({
      outcome: 'stored',
      reason: '1 products withdrawn (out of stock; kept for the orders that name them)',
    });
    expect(await rows(sql`select in_stock from products where sku = 'MUG-1'`)).toEqual([{ in_stock: false }]);
  });
});
