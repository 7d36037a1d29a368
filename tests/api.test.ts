import { sql } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryRows } from '../src/db/client.ts';
import { buildServer } from '../src/http/app.ts';
import { drainOutbox } from '../src/outbox/relay.ts';
import { DB_KINDS, freshDatabase, type TestDatabase } from './helpers/db.ts';
import { freshQueues, type TestQueues } from './helpers/redis.ts';
import { seedCatalog } from './helpers/seed.ts';

const TOKEN = 'test-token-123';
const auth = { authorization: `Bearer ${TOKEN}` };

const order = (id: string, items = [{ sku: 'ESP-100', quantity: 1, unit_price: '249.00' }]) => ({
  order_id: id,
  customer_id: 'c-1',
  ordered_at: '2026-06-01T10:00:00Z',
  items,
});

describe.each(DB_KINDS)('HTTP API on %s', (kind) => {
  let database: TestDatabase;
  let app: FastifyInstance;
  beforeAll(async () => {
    database = await freshDatabase(kind);
    await seedCatalog(database.db);
    app = await buildServer({ db: database.db, apiToken: TOKEN, bodyLimitBytes: 64 * 1024 });
  });
  afterAll(async () => {
    await app.close();
    await database.drop();
  });

  const count = async (table: string, where = sql`true`) =>
    (await queryRows<{ n: number }>(database.db, sql`select count(*)::int as n from ${sql.identifier(table)} where ${where}`))[0]!.n;

  it('refuses /api without the right bearer token, with 401', async () => {
    for (const headers of [{}, { authorization: 'Bearer wrong-token' }, { authorization: TOKEN }]) {
      const response = await app.inject({ method: 'POST', url: '/api/products', headers, payload: [] });
      expect(response.statusCode).toBe(401);
      expect(response.headers['www-authenticate']).toMatch(/^Bearer/);
    }
    expect((await app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
  });

  it('upserts one object or an array', async () => {
    const one = await app.inject({
      method: 'POST',
      url: '/api/customers',
      headers: auth,
      payload: { customer_id: 'c-50', email: 'fifty@example.com', timezone: 'Asia/Tokyo' },
    });
    expect(one.statusCode).toBe(200);
    expect(one.json()).toMatchObject({ inserted: 1, results: [{ key: 'c-50', outcome: 'inserted' }] });
    const many = await app.inject({
      method: 'POST',
      url: '/api/customers',
      headers: auth,
      payload: [
        { customer_id: 'c-50', email: 'fifty@example.com', timezone: 'Asia/Tokyo' },
        { customer_id: 'c-51', email: 'fiftyone@example.com' },
      ],
    });
    expect(many.json()).toMatchObject({ inserted: 1, updated: 0, unchanged: 1 });
  });

  it('answers 400 naming each failing field, and stores nothing of a rejected batch', async () => {
    const response = await app.inject({
      method: 'POST',
      url: '/api/products',
      headers: auth,
      payload: [
        { sku: 'NEW-1', name: 'Fine', category: 'misc', price: '1.00' },
        { sku: 'NEW-2', name: 'Bad price', category: 'misc', price: 'cheap' },
        { sku: 'NEW-3', category: 'misc', price: '2.00' },
      ],
    });
    expect(response.statusCode).toBe(400);
    const body = response.json();
    expect(body.issues).toEqual([
      { path: '[1].price', message: expect.stringMatching(/decimal amount.*\(got "cheap"\)/) },
      { path: '[2].name', message: 'is required' },
    ]);
    expect(await count('products', sql`sku like 'NEW-%'`)).toBe(0);

    const single = await app.inject({
      method: 'POST',
      url: '/api/products',
      headers: auth,
      payload: { sku: 'NEW-4', name: 'x', category: 'y', price: -1 },
    });
    expect(single.statusCode).toBe(400);
    expect(single.json().issues[0].path).toBe('price');
  });

  it('rejects an order batch with an unknown sku or customer whole', async () => {
    const response = await app.inject({
      method: 'POST',
      url: '/api/orders',
      headers: auth,
      payload: [order('api-1'), { ...order('api-2', [{ sku: 'GHOST', quantity: 1, unit_price: '1.00' }]), customer_id: 'nobody' }],
    });
    expect(response.statusCode).toBe(400);
    expect(response.json().issues).toEqual([
      { path: '[1].customer_id', message: 'no customer "nobody"' },
      { path: '[1].items[0].sku', message: 'no product "GHOST"' },
    ]);
    expect(await count('orders')).toBe(0);
    expect(await count('outbox')).toBe(0);
  });

  it('rejects duplicate keys within one request', async () => {
    const response = await app.inject({ method: 'POST', url: '/api/orders', headers: auth, payload: [order('dup'), order('dup')] });
    expect(response.statusCode).toBe(400);
    expect(response.json().issues[0].path).toBe('[1].order_id');
  });

  it('answers 413 to a body over the limit, and 400 to malformed JSON', async () => {
    const big = Array.from({ length: 900 }, (_, i) => ({ sku: `BIG-${i}`, name: 'x'.repeat(80), category: 'misc', price: '1.00' }));
    const tooLarge = await app.inject({ method: 'POST', url: '/api/products', headers: auth, payload: big });
    expect(tooLarge.statusCode).toBe(413);
    const malformed = await app.inject({
      method: 'POST',
      url: '/api/products',
      headers: { ...auth, 'content-type': 'application/json' },
      payload: '{"sku": ',
    });
    expect(malformed.statusCode).toBe(400);
    expect(await count('products', sql`sku like 'BIG-%'`)).toBe(0);
  });

  it('refuses text the database cannot store (NUL, lone surrogates) with 400 naming the field', async () => {
    const post = (url: string, payload: unknown) => app.inject({ method: 'POST', url, headers: auth, payload: payload as object });
    const nul = await post('/api/products', [{ sku: 'NUL-1', name: 'a\u0000b', category: 'misc', price: '1.00' }]);
    expect(nul.statusCode).toBe(400);
    expect(nul.json().issues).toEqual([{ path: '[0].name', message: 'must not contain a NUL character (got "a\\u0000b")' }]);
    const lone = await post('/api/customers', { customer_id: 'c-lone', email: 'lone@example.com', first_name: 'x\ud800' });
    expect(lone.statusCode).toBe(400);
    expect(lone.json().issues[0]).toMatchObject({
      path: 'first_name',
      message: expect.stringMatching(/^must be valid Unicode text \(a lone surrogate at position 2\)/),
    });
    const event = await post('/api/events', { type: 'bounce', email: 'x@example.com', reason: '\udfff' });
    expect(event.statusCode).toBe(400);
    expect(event.json().issues[0].path).toBe('reason');
    expect(await count('products', sql`sku = 'NUL-1'`)).toBe(0);
    expect(await count('customers', sql`external_id = 'c-lone'`)).toBe(0);
  });

  it('refuses an order whose total overflows numeric(16,4), and times outside the years 0001-9999, with 400', async () => {
    const line = { sku: 'ESP-100', quantity: 1, unit_price: '999999999999' };
    const total = await app.inject({ method: 'POST', url: '/api/orders', headers: auth, payload: order('huge', [line, line]) });
    expect(total.statusCode).toBe(400);
    expect(total.json().issues).toEqual([
      { path: 'items', message: expect.stringMatching(/^the order's total .* must be at most 999999999999\.9999/) },
    ]);
    const amount = await app.inject({
      method: 'POST',
      url: '/api/orders',
      headers: auth,
      payload: [order('huge', [{ ...line, quantity: 2 }])],
    });
    expect(amount.json().issues[0].path).toBe('[0].items[0]');
    for (const ordered_at of ['0001-01-01T00:00:00+01:00', '9999-12-31T23:30:00-01:00']) {
      const time = await app.inject({ method: 'POST', url: '/api/orders', headers: auth, payload: { ...order('old'), ordered_at } });
      expect(time.statusCode).toBe(400);
      expect(time.json().issues[0].path).toBe('ordered_at');
    }
    expect(await count('orders')).toBe(0);
  });

  it('answers 400 to a body nested thousands deep', async () => {
    const json = { ...auth, 'content-type': 'application/json' };
    for (const payload of [
      '['.repeat(20_000) + ']'.repeat(20_000),
      `{"sku":${'['.repeat(20_000)}${']'.repeat(20_000)},"name":"x","category":"y","price":"1"}`,
    ]) {
      const response = await app.inject({ method: 'POST', url: '/api/products', headers: json, payload });
      expect(response.statusCode).toBe(400);
    }
  });

  it('refuses ids sent as JSON numbers that are not safe integers, so two customers never merge', async () => {
    const json = { ...auth, 'content-type': 'application/json' };
    const payload = '[{"customer_id":9007199254740993,"email":"a@example.com"},{"customer_id":1e308,"email":"b@example.com"}]';
    const response = await app.inject({ method: 'POST', url: '/api/customers', headers: json, payload });
    expect(response.statusCode).toBe(400);
    const { issues } = response.json<{ issues: { path: string; message: string }[] }>();
    expect(issues.map((i) => i.path)).toEqual(['[0].customer_id', '[1].customer_id']);
    expect(issues[0]!.message).toMatch(/send larger or non-integer ids as strings/);
    const safe = await app.inject({
      method: 'POST',
      url: '/api/customers',
      headers: json,
      payload: '{"customer_id":9007199254740991,"email":"s@example.com"}',
    });
    expect(safe.json().results).toEqual([{ key: '9007199254740991', outcome: 'inserted' }]);
  });

  it('refuses a body that is not valid UTF-8 with 400, as the file import does', async () => {
    const json = { ...auth, 'content-type': 'application/json' };
    const bad = Buffer.concat([
      Buffer.from('{"customer_id":"c-utf","email":"u@example.com","first_name":"'),
      Buffer.from([0xc3, 0x28]),
      Buffer.from('"}'),
    ]);
    const response = await app.inject({ method: 'POST', url: '/api/customers', headers: json, payload: bad });
    expect(response.statusCode).toBe(400);
    expect(response.json().message).toMatch(/valid UTF-8/);
    expect(await count('customers', sql`external_id = 'c-utf'`)).toBe(0);
    const good = Buffer.from('{"customer_id":"c-utf","email":"u@example.com","first_name":"Zoë"}', 'utf8');
    expect((await app.inject({ method: 'POST', url: '/api/customers', headers: json, payload: good })).statusCode).toBe(200);
    const [row] = await queryRows<{ first_name: string }>(database.db, sql`select first_name from customers where external_id = 'c-utf'`);
    expect(row!.first_name).toBe('Zoë');
  });

  it('accepts internationalised email domains and refuses over-long local parts', async () => {
    const ok = await app.inject({
      method: 'POST',
      url: '/api/customers',
      headers: auth,
      payload: [
        { customer_id: 'c-idn-1', email: 'ana@xn--mnchen-3ya.de' },
        { customer_id: 'c-idn-2', email: 'ana@münchen.de' },
      ],
    });
    expect(ok.statusCode).toBe(200);
    const long = await app.inject({
      method: 'POST',
      url: '/api/customers',
      headers: auth,
      payload: { customer_id: 'c-long', email: `${'a'.repeat(250)}@x.de` },
    });
    expect(long.statusCode).toBe(400);
    expect(long.json().issues[0]).toMatchObject({ path: 'email', message: expect.stringMatching(/at most 64 characters before the @/) });
  });

  it('describes the API as OpenAPI', async () => {
    const spec = (await app.inject({ method: 'GET', url: '/openapi.json' })).json();
    expect(spec.openapi).toMatch(/^3\./);
    expect(Object.keys(spec.paths)).toEqual(expect.arrayContaining(['/api/products', '/api/customers', '/api/orders', '/healthz']));
    expect(spec.paths['/api/orders'].post.requestBody).toBeDefined();
  });
});

describe('order.placed jobs', () => {
  let database: TestDatabase;
  let redis: TestQueues;
  let app: FastifyInstance;
  beforeAll(async () => {
    database = await freshDatabase('postgres');
    redis = await freshQueues();
    await seedCatalog(database.db);
  });
  afterAll(async () => {
    await app?.close();
    await redis.cleanup();
    await database.drop();
  });

  it('an order posted to the API (twice) makes exactly one job', async () => {
    const { startRelay } = await import('../src/outbox/relay.ts');
    const relay = startRelay(database.db, redis.queues, { intervalMs: 60_000 });
    app = await buildServer({ db: database.db, apiToken: TOKEN, bodyLimitBytes: 1 << 20, relay });
    for (let i = 0; i < 2; i++) {
      const response = await app.inject({ method: 'POST', url: '/api/orders', headers: auth, payload: order('api-job') });
      expect(response.statusCode).toBe(200);
    }
    await relay.drain();
    await relay.stop();
    const jobs = await redis.queues.enroll.getJobs(['waiting', 'delayed', 'active', 'completed']);
    const [stored] = await queryRows<{ id: number }>(database.db, sql`select id from orders where external_id = 'api-job'`);
    expect(jobs.map((j) => [j.id, j.name, j.data.orderId])).toEqual([[`order-${stored!.id}-placed`, 'order.placed', stored!.id]]);
  });

  it('survives a crash between commit and enqueue, and a crash between enqueue and mark', async () => {
    // Commit with no relay running: the process "died" before it could enqueue.
    await app.inject({ method: 'POST', url: '/api/orders', headers: auth, payload: order('crash-1') });
    // Publish, then roll back the mark: the process "died" after enqueueing.
    await expect(
      database.db.transaction(async (tx) => {
        await drainOutbox(tx, redis.queues);
        throw new Error('killed before commit');
      }),
    ).rejects.toThrow('killed before commit');
    expect(await drainOutbox(database.db, redis.queues)).toBe(1);
    expect(await drainOutbox(database.db, redis.queues)).toBe(0);
    const jobs = await redis.queues.enroll.getJobs(['waiting', 'delayed', 'active', 'completed']);
    expect(jobs).toHaveLength(2);
    expect(new Set(jobs.map((j) => j.id)).size).toBe(2);
  });
});
