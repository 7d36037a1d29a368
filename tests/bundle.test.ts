/**
 * Bundles through the real engine (Postgres, BullMQ, an in-process SMTP server): products
 * imported with their variant ids, co-purchase statistics built from an order history, and
 * a sequence whose variant offers `bundle: { size: 2, discount: 10% }`. The email shows each
 * item's price, the struck total, the bundle price and the saving exactly, and its one cart
 * link (behind the click tracking) is `{shop}/cart/V1:1,V2:1`; a customer with no complement
 * left gets the email without the bundle block. Also: `variant_id` in the products import
 * and the API, a bad one refused by its line or field.
 */
import { sql } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryRows } from '../src/db/client.ts';
import { buildServer } from '../src/http/app.ts';
import { ingestCustomers, ingestOrders } from '../src/ingest/batch.ts';
import { importRows, type Rejection } from '../src/ingest/import.ts';
import { formatOf, openRows } from '../src/ingest/read.ts';
import { buildStatistics } from '../src/recs/build.ts';
import { eventually, startTestEngine, type TestEngine } from './helpers/engine.ts';
import { tempFile } from './helpers/files.ts';

// Repeat orders only: the order history below (everyone's first order) enrolls nobody.
const SEQUENCE = `
id: bundles
name: Bundles
trigger: { event: order_placed, filters: { customer: repeat_order } }
variants:
  - key: bundle
    weight: 1
    bundle: { size: 2, discount: 10% }
steps:
  - { delay: 1h, template: accessories }
`;

const PRODUCTS = [
  'sku,name,category,price,in_stock,variant_id',
  'KIT-1,Moka Pot,brewers,39.99,true,V1',
  'KIT-2,Moka Filters,filters,4.50,true,V2',
  'KIT-3,Moka Gasket,spares,12.00,true,',
].join('\n');

const DAY_MS = 86_400_000;

describe('bundles through the engine', () => {
  let t: TestEngine;
  let app: FastifyInstance;
  const db = () => t.database.db;

  const importProducts = async (content: string, name = 'products.csv') => {
    const path = tempFile(name, content);
    const rejections: Rejection[] = [];
    const summary = await importRows(db(), 'products', await openRows(path, formatOf(path)), {
      batchSize: 10,
      onReject: (r) => rejections.push(r),
    });
    return { counts: [summary.inserted, summary.updated, summary.unchanged, summary.rejected], rejections };
  };
  const variants = async () =>
    Object.fromEntries(
      (
        await queryRows<{ sku: string; variant_id: string | null }>(
          db(),
          sql`select sku, variant_id from products where sku like 'KIT-%' or sku like 'API-%' order by sku`,
        )
      ).map((r) => [r.sku, r.variant_id]),
    );

  beforeAll(async () => {
    t = await startTestEngine(SEQUENCE, { clockScale: 86_400 });
    app = await buildServer({ db: db(), apiToken: 'token-123456', bodyLimitBytes: 1 << 20 });
    expect((await importProducts(PRODUCTS)).counts).toEqual([3, 0, 0, 0]);

    // The history: the moka pot bought with its filters 10 times and with a gasket 4 times,
    // among 26 orders of other things. KIT-2 is the pot's best complement, KIT-3 the next.
    const past = (days: number) => new Date(t.engine.clock.now().getTime() - days * DAY_MS).toISOString();
    const baskets = [
      ...Array.from({ length: 10 }, () => ['KIT-1', 'KIT-2']),
      ...Array.from({ length: 4 }, () => ['KIT-1', 'KIT-3']),
      ...Array.from({ length: 26 }, (_, i) => [i % 2 ? 'BEAN-1' : 'GRN-10']),
    ];
    await ingestCustomers(
      db(),
      [...baskets.map((_, i) => `h-${i}`), 'b-1', 'n-1'].map((id) => ({
        customer_id: id,
        email: `${id}@example.com`,
        first_name: id,
        accepts_marketing: 'yes' as const,
      })),
    );
    const prices: Record<string, string> = { 'KIT-1': '39.99', 'KIT-2': '4.50', 'KIT-3': '12.00', 'BEAN-1': '24.90', 'GRN-10': '129.50' };
    const order = (id: string, customer: string, at: string, skus: string[]) => ({
      order_id: id,
      customer_id: customer,
      ordered_at: at,
      items: skus.map((sku) => ({ sku, quantity: 1, unit_price: prices[sku] ?? '549.00' })),
    });
    expect(
      (
        await ingestOrders(
          db(),
          baskets.map((skus, i) => order(`h-${i}`, `h-${i}`, past(30), skus)),
        )
      ).ok,
    ).toBe(true);
    await buildStatistics(db());

    // b-1 owns beans and now buys the pot: the bundle is the pot and its filters. n-1 owns
    // everything else in stock and buys the classic machine (whose upsell, the Pro, it
    // owns too): no complement is left, so no bundle.
    expect(
      (
        await ingestOrders(db(), [
          order('b-0', 'b-1', past(10), ['BEAN-1']),
          order('n-0', 'n-1', past(10), ['ESP-200', 'GRN-10', 'BEAN-1', 'KIT-1', 'KIT-2', 'KIT-3']),
        ])
      ).ok,
    ).toBe(true);
    const now = t.engine.clock.now().toISOString();
    expect(
      (
        await ingestOrders(db(), [
          order('b-2', 'b-1', now, ['KIT-1']),
          { ...order('n-2', 'n-1', now, []), items: [{ sku: 'ESP-100', quantity: 1, unit_price: '249.00' }] },
        ])
      ).ok,
    ).toBe(true);
    t.relay.kick();
    await eventually(async () => t.smtp.received.length >= 2, 30_000, 'both emails');
    // The server's 250 comes before the row says `sent` (the same statement advances the
    // enrollment): the tests read the rows, so wait for both marks too.
    await eventually(
      async () => (await queryRows<{ n: number }>(db(), sql`select count(*)::int as n from messages where state = 'sent'`))[0]!.n >= 2,
      30_000,
      'both emails marked sent',
    );
  }, 90_000);
  afterAll(async () => {
    await app?.close();
    await t?.stop();
  });

  /** The HTML of the email to `to`, and the destinations its message row recorded (by link index). */
  const emailTo = async (to: string) => {
    const mail = t.smtp.received.find((m) => m.to.includes(to))!;
    const html = (await simpleParser(mail.raw)).html || '';
    const [row] = await queryRows<{ links: string[] }>(
      db(),
      sql`select m.links from messages m join customers c on c.id = m.customer_id where c.email = ${to} and m.state = 'sent'`,
    );
    return { html, links: row!.links };
  };

  it('shows each price, the struck total, the bundle price and the saving exactly, and one cart link to V1:1,V2:1', async () => {
    const { html, links } = await emailTo('b-1@example.com');
    const block = /Better together[\s\S]*Add the bundle to your cart/.exec(html)?.[0];
    expect(block).toBeDefined();
    const text = block!.replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ');
    expect(text).toContain('10% off the set');
    // The pot (the ordered product) first, then its best complement, each at its price.
    expect(text).toMatch(/Moka Pot \$39\.99 Moka Filters \$4\.50 The set \$40\.04 instead of \$44\.49 You save \$4\.45/);
    expect(text).not.toContain('Moka Gasket');
    expect(block).toMatch(/<s[^>]*>\$44\.49<\/s>/);

    // The button goes through the click tracking to the one cart link.
    const href = /href="([^"]+)"[^>]*>\s*Add the bundle to your cart/.exec(html)?.[1];
    expect(href).toMatch(/^https:\/\/track\.shop\.example\/t\/c\/[^/]+\/\d+$/);
    expect(links[Number(href!.split('/').pop())]).toBe('https://shop.example/cart/V1:1,V2:1');
  });

  it('sends the email without the bundle block when no complement is left', async () => {
    const { html, links } = await emailTo('n-1@example.com');
    expect(html).toContain('Made for your Espresso Machine Classic');
    expect(html).not.toContain('Better together');
    expect(html).not.toContain('Add the bundle to your cart');
    expect(links.some((l) => l.includes('/cart/'))).toBe(false);
  });

  it('imports variant_id from CSV, JSONL and the API, refuses a bad one by line or field, and keeps it when absent', async () => {
    const bad = await importProducts(
      [
        'sku,name,category,price,variant_id',
        'KIT-3,Moka Gasket,spares,12.00,V3',
        'KIT-4,Moka Handle,spares,8.00,"12,34"',
        'KIT-5,Moka Funnel,spares,6.00,a b',
        'KIT-6,Moka Lid,spares,7.00,x:1',
      ].join('\n'),
    );
    expect(bad.rejections.sort((a, b) => a.line - b.line)).toEqual([
      { line: 3, reason: expect.stringMatching(/^variant_id: must not contain a comma or a colon .*\(got "12,34"\)$/) },
      { line: 4, reason: expect.stringMatching(/^variant_id: must not contain spaces/) },
      { line: 5, reason: expect.stringMatching(/^variant_id: must not contain a comma or a colon/) },
    ]);
    expect(bad.counts).toEqual([0, 1, 0, 3]);
    // A price feed without the column keeps the variant ids; JSONL takes a number.
    expect((await importProducts('sku,name,category,price\nKIT-1,Moka Pot,brewers,39.99\n')).counts).toEqual([0, 0, 1, 0]);
    expect(
      (
        await importProducts(
          '{"sku":"KIT-2","name":"Moka Filters","category":"filters","price":"4.50","variant_id":40123456789012}',
          'p.jsonl',
        )
      ).counts,
    ).toEqual([0, 1, 0, 0]);

    const post = (variant_id: unknown) =>
      app.inject({
        method: 'POST',
        url: '/api/products',
        headers: { authorization: 'Bearer token-123456' },
        payload: [{ sku: 'API-1', name: 'Tamper', category: 'tools', price: '30', variant_id }],
      });
    const refused = await post('7:7');
    expect(refused.statusCode).toBe(400);
    expect(refused.json().issues).toEqual([
      { path: '[0].variant_id', message: expect.stringMatching(/must not contain a comma or a colon/) },
    ]);
    expect((await post('gid-77')).statusCode).toBe(200);
    expect(await variants()).toEqual({ 'API-1': 'gid-77', 'KIT-1': 'V1', 'KIT-2': '40123456789012', 'KIT-3': 'V3' });
  });
});
