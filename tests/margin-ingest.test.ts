/**
 * Product cost and order discounts in (issue 16): `cost` on products, `discount_code` and
 * `discount_total` on orders, through the file import (CSV and JSONL) and the API, on
 * Postgres and PGlite. Bad money is refused naming the line and the field; good values
 * round-trip exactly; an absent value keeps what is stored.
 */
import { sql } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryRows } from '../src/db/client.ts';
import { buildServer } from '../src/http/app.ts';
import { importRows, type Rejection } from '../src/ingest/import.ts';
import { formatOf, openRows } from '../src/ingest/read.ts';
import type { RecordKind } from '../src/core/records.ts';
import { DB_KINDS, freshDatabase, type TestDatabase } from './helpers/db.ts';
import { FIXTURES, tempFile } from './helpers/files.ts';

describe.each(DB_KINDS)('product cost and order discounts on %s', (kind) => {
  let database: TestDatabase;
  let app: FastifyInstance;
  const TOKEN = 'test-token-123';
  const auth = { authorization: `Bearer ${TOKEN}` };

  const run = async (what: RecordKind, content: string, name = 'in.csv') => {
    const path = tempFile(name, content);
    const rejections: Rejection[] = [];
    const summary = await importRows(database.db, what, await openRows(path, formatOf(path)), {
      batchSize: 2,
      onReject: (r) => rejections.push(r),
    });
    rejections.sort((a, b) => a.line - b.line);
    return { counts: [summary.inserted, summary.updated, summary.unchanged, summary.rejected], rejections };
  };
  const costs = () =>
    queryRows<{ sku: string; cost: string | null }>(database.db, sql`select sku, cost::text as cost from products order by sku`);
  const discounts = () =>
    queryRows<{ external_id: string; discount_code: string | null; discount_total: string }>(
      database.db,
      sql`select external_id, discount_code, discount_total::text as discount_total from orders order by external_id`,
    );

  beforeAll(async () => {
    database = await freshDatabase(kind);
    for (const what of ['products', 'customers'] as const)
      await importRows(database.db, what, await openRows(`${FIXTURES}${what}.csv`, 'csv'), { batchSize: 100 });
    app = await buildServer({ db: database.db, apiToken: TOKEN, bodyLimitBytes: 64 * 1024 });
  });
  afterAll(async () => {
    await app.close();
    await database.drop();
  });

  it('imports a product cost, refuses a negative or malformed one naming the line, and keeps it when absent', async () => {
    const file = [
      'sku,name,category,price,cost',
      'ESP-100,Espresso Machine Classic,espresso-machines,249.00,151.25',
      'ESP-200,Espresso Machine Pro,espresso-machines,549.00,-3',
      'GRN-10,Burr Grinder,grinders,129.50,12.34567',
      'BEAN-1,"House Blend Beans, 1kg",beans,24.90,',
    ].join('\n');
    const first = await run('products', file);
    expect(first.rejections).toEqual([
      { line: 3, reason: 'cost: must not be negative (a decimal amount such as 19.99) (got "-3")' },
      { line: 4, reason: 'cost: must be a decimal amount such as 19.99, with at most 4 decimals (got "12.34567")' },
    ]);
    expect(first.counts).toEqual([0, 1, 1, 2]);
    // JSONL, a number from JSON; then a price feed without the column keeps the costs.
    expect(
      (await run('products', '{"sku":"GRN-10","name":"Burr Grinder","category":"grinders","price":"129.50","cost":60}', 'p.jsonl')).counts,
    ).toEqual([0, 1, 0, 0]);
    expect((await run('products', 'sku,name,category,price\nESP-100,Espresso Machine Classic,espresso-machines,249.00\n')).counts).toEqual([
      0, 0, 1, 0,
    ]);
    expect((await costs()).filter((p) => ['BEAN-1', 'ESP-100', 'ESP-200', 'GRN-10'].includes(p.sku))).toEqual([
      { sku: 'BEAN-1', cost: null },
      { sku: 'ESP-100', cost: '151.2500' },
      { sku: 'ESP-200', cost: null },
      { sku: 'GRN-10', cost: '60.0000' },
    ]);
  });

  it('imports an order discount given on every line or on one, refusing a bad, disagreeing or too large discount_total naming the line', async () => {
    const file = [
      'order_id,customer_id,ordered_at,sku,quantity,unit_price,discount_code,discount_total',
      'd-1,c-1,2026-03-01T10:00:00Z,ESP-100,1,249.00,WELCOME10,24.90',
      'd-1,c-1,2026-03-01T10:00:00Z,BEAN-1,1,24.90,,',
      'd-2,c-2,2026-03-02T10:00:00Z,GRN-10,1,129.50,,-5',
      'd-3,c-3,2026-03-03T10:00:00Z,BEAN-1,1,24.90,BIG,30',
      'd-4,c-3,2026-03-04T10:00:00Z,BEAN-1,1,24.90,X,1',
      'd-4,c-3,2026-03-04T10:00:00Z,BEAN-1,1,24.90,X,2',
      'd-5,c-1,2026-03-05T10:00:00Z,GRN-10,1,129.50,,',
    ].join('\n');
    const first = await run('orders', file);
    expect(first.rejections).toEqual([
      { line: 4, reason: 'discount_total: must not be negative (a decimal amount such as 19.99) (got "-5")' },
      {
        line: 5,
        reason: "discount_total: must be at most the order's total before the discount (Σ quantity × unit_price = 24.9000) (got 30)",
      },
      { line: 6, reason: 'order d-4 not imported: its line 7 was rejected' },
      { line: 7, reason: 'discount_total: must match line 6 of order d-4 (1, got 2)' },
    ]);
    expect(await discounts()).toEqual([
      { external_id: 'd-1', discount_code: 'WELCOME10', discount_total: '24.9000' },
      { external_id: 'd-5', discount_code: null, discount_total: '0.0000' },
    ]);
    // The same file again writes nothing; JSONL; an order sent again without its discount keeps it.
    expect((await run('orders', file)).counts).toEqual([0, 0, 3, 4]);
    const jsonl =
      '{"order_id":"d-6","customer_id":"c-2","ordered_at":"2026-03-06T10:00:00Z","sku":"GRN-10","quantity":2,"unit_price":"129.50","discount_total":25.5}';
    expect((await run('orders', jsonl, 'o.jsonl')).counts).toEqual([1, 0, 0, 0]);
    expect(
      (
        await run(
          'orders',
          'order_id,customer_id,ordered_at,sku,quantity,unit_price\nd-1,c-1,2026-03-01T10:00:00Z,ESP-100,1,249.00\nd-1,c-1,2026-03-01T10:00:00Z,BEAN-1,1,24.90\n',
        )
      ).counts[3],
    ).toBe(0);
    expect((await discounts()).filter((o) => ['d-1', 'd-6'].includes(o.external_id))).toEqual([
      { external_id: 'd-1', discount_code: 'WELCOME10', discount_total: '24.9000' },
      { external_id: 'd-6', discount_code: null, discount_total: '25.5000' },
    ]);
  });

  it('takes cost and the discount through the API, naming the failing field', async () => {
    const product = await app.inject({
      method: 'POST',
      url: '/api/products',
      headers: auth,
      payload: [{ sku: 'API-1', name: 'Tamper', category: 'tools', price: '30', cost: '-1' }],
    });
    expect(product.statusCode).toBe(400);
    expect(product.json().issues).toEqual([
      { path: '[0].cost', message: 'must not be negative (a decimal amount such as 19.99) (got "-1")' },
    ]);
    const good = await app.inject({
      method: 'POST',
      url: '/api/products',
      headers: auth,
      payload: { sku: 'API-1', name: 'Tamper', category: 'tools', price: '30', cost: '9.5' },
    });
    expect(good.statusCode).toBe(200);
    expect((await costs()).find((p) => p.sku === 'API-1')).toEqual({ sku: 'API-1', cost: '9.5000' });

    const order = (discount_total: unknown) => ({
      order_id: 'api-o-1',
      customer_id: 'c-1',
      ordered_at: '2026-03-07T10:00:00Z',
      discount_code: 'SPRING',
      discount_total,
      items: [{ sku: 'API-1', quantity: 2, unit_price: '30' }],
    });
    for (const [bad, message] of [
      ['abc', 'must be a decimal amount such as 19.99, with at most 4 decimals (got "abc")'],
      ['-2', 'must not be negative (a decimal amount such as 19.99) (got "-2")'],
      ['60.01', 'must be at most the order\'s total before the discount (Σ quantity × unit_price = 60.0000) (got "60.01")'],
    ] as const) {
      const refused = await app.inject({ method: 'POST', url: '/api/orders', headers: auth, payload: [order(bad)] });
      expect(refused.statusCode).toBe(400);
      expect(refused.json().issues).toEqual([{ path: '[0].discount_total', message }]);
    }
    const stored = await app.inject({ method: 'POST', url: '/api/orders', headers: auth, payload: order('12.5') });
    expect(stored.statusCode).toBe(200);
    expect((await discounts()).find((o) => o.external_id === 'api-o-1')).toEqual({
      external_id: 'api-o-1',
      discount_code: 'SPRING',
      discount_total: '12.5000',
    });
  });
});
