import { sql } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.ts';
import { DEFAULT_RULES, type Rules, type Strategy } from '../src/core/recommend.ts';
import { prng } from '../src/core/random.ts';
import { signToken } from '../src/core/tokens.ts';
import { queryRows } from '../src/db/client.ts';
import { buildServer } from '../src/http/app.ts';
import { storefrontCustomerToken } from '../src/core/tokens.ts';
import { storefrontSettings } from '../src/http/routes/storefront.ts';
import { ingestCustomers } from '../src/ingest/batch.ts';
import { importRows } from '../src/ingest/import.ts';
import { openRows } from '../src/ingest/read.ts';
import { buildStatistics } from '../src/recs/build.ts';
import { recommendationsFor, strategySettings } from '../src/recs/service.ts';
import { DB_KINDS, freshDatabase, type TestDatabase } from './helpers/db.ts';
import { TEST_SHOP } from './helpers/engine.ts';
import { FIXTURES } from './helpers/files.ts';
import { orderIdOf, orderIngester } from './helpers/orders.ts';
import { seedCatalog } from './helpers/seed.ts';

const TOKEN = 'admin-token-123';
const KEY = 'storefront-key-0123456789';
const SECRET = 'storefront-test-secret-storefront-test-secret';
/** The shop's server signs a signed-in customer's id with this; the storefront key alone never personalises. */
const CUSTOMER_SECRET = 'storefront-customer-secret-0123';
const token = (customer: string) => storefrontCustomerToken(customer, CUSTOMER_SECRET);
const ORIGIN = 'https://shop.example';
const PUBLIC_URL = 'https://track.shop.example';
const NOW = new Date('2026-07-01T12:00:00Z');
const SHOP = { ...TEST_SHOP, freeShippingThreshold: '300' };
// A rule, so the answers exercise the marketer's rules as the emails do.
const RULES: Rules = { ...DEFAULT_RULES, consumableCategories: ['beans'] };
const withKey = { 'x-storefront-key': KEY };

interface Card {
  sku: string;
  name: string;
  category: string;
  price: string;
  image: string;
  reason: string;
  url: string;
  productUrl: string;
}
interface Answer {
  strategy: string;
  builtAt: string | null;
  recommendations: Card[];
  upsells: Card[];
  unknownSkus: string[];
}

/** A card in the emails' suggestion shape: `productUrl` is the email's `url`. */
const asSuggestion = ({ sku, name, category, price, image, reason, productUrl }: Card) => ({
  sku,
  name,
  category,
  price,
  url: productUrl,
  image,
  reason,
});

describe.each(DB_KINDS)('storefront recommendations on %s', (kind) => {
  let database: TestDatabase;
  let app: FastifyInstance;
  const order = () => orderIngester(database.db, `sf-${kind}-`);
  let ingest: ReturnType<typeof order>;

  beforeAll(async () => {
    database = await freshDatabase(kind);
    await seedCatalog(database.db);
    await importRows(database.db, 'orders', await openRows(`${FIXTURES}orders.csv`, 'csv'), { batchSize: 100 });
    const customers = await ingestCustomers(database.db, [{ customer_id: 'c-new', email: 'new@example.com' }] as never);
    expect(customers.ok).toBe(true);
    ingest = order();
    app = await buildServer({
      db: database.db,
      apiToken: TOKEN,
      bodyLimitBytes: 1 << 20,
      clock: { now: () => NOW } as never,
      storefront: {
        key: KEY,
        customerSecret: CUSTOMER_SECRET,
        origins: [ORIGIN],
        secret: SECRET,
        publicUrl: PUBLIC_URL,
        rules: RULES,
        shop: SHOP,
        newArrivalsDays: 30,
        // Every request checks copurchase_state.built_at: a rebuild shows at the next request.
        refreshMs: 0,
      },
    });
  });
  afterAll(async () => {
    await app.close();
    await database.drop();
  });

  const get = (query: string, headers: Record<string, string> = withKey) =>
    app.inject({ method: 'GET', url: `/api/recommendations?${query}`, headers });
  const post = (payload: unknown, headers: Record<string, string> = withKey) =>
    app.inject({ method: 'POST', url: '/api/recommendations', headers, payload: payload as object });

  it('answers with the products, order and reasons the emails give for an order of the same skus, for a customer and a visitor', async () => {
    // Each customer's latest order is the cart: what they own is the same either way.
    const lines = {
      owner: [['BEAN-1', 1, '24.90']] as [string, number, string][],
      cart: [
        ['ESP-100', 1, '249.00'],
        ['GRN-10', 2, '129.50'],
      ] as [string, number, string][],
      visitor: [['ESP-200', 1, '549.00']] as [string, number, string][],
    };
    const owner = await orderIdOf(database.db, await ingest('c-1', '2026-06-01T10:00:00Z', lines.owner));
    const cart = await orderIdOf(database.db, await ingest('c-2', '2026-06-02T10:00:00Z', lines.cart));
    const visitor = await orderIdOf(database.db, await ingest('c-new', '2026-06-03T10:00:00Z', lines.visitor));
    await buildStatistics(database.db);
    const id = async (external: string) =>
      Number((await queryRows<{ id: number }>(database.db, sql`select id from customers where external_id = ${external}`))[0]!.id);
    const settings = strategySettings(SHOP, NOW, 30);

    const items = lines.cart.map(([sku, quantity]) => ({ sku, quantity }));
    const cases: { customer: number; orderId: number; ask: (strategy: Strategy) => ReturnType<typeof get> }[] = [
      // c-1 owns ESP-100 and BEAN-1 (beans are consumable here: still suggested).
      {
        customer: await id('c-1'),
        orderId: owner,
        ask: (s) => get(`skus=BEAN-1&customer=c-1&customer_token=${token('c-1')}&strategy=${s}`),
      },
      // A cart of two lines, one of them twice: shipping-gap reads its total.
      { customer: await id('c-2'), orderId: cart, ask: (s) => post({ items, customer: 'c-2', customer_token: token('c-2'), strategy: s }) },
      // A customer whose only order is the cart owns nothing else: a visitor.
      { customer: await id('c-new'), orderId: visitor, ask: (s) => get(`skus=ESP-200&strategy=${s}`) },
    ];
    let seen = 0;
    for (const strategy of ['co-purchase', 'upsell-only', 'popularity', 'shipping-gap'] as Strategy[])
      for (const c of cases) {
        const email = await recommendationsFor(database.db, {
          customerId: c.customer,
          orderId: c.orderId,
          strategy,
          rules: RULES,
          settings,
        });
        const response = await c.ask(strategy);
        expect(response.statusCode, response.body).toBe(200);
        const answer = response.json<Answer>();
        expect(answer.strategy).toBe(strategy);
        expect({ recommendations: answer.recommendations.map(asSuggestion), upsells: answer.upsells.map(asSuggestion) }).toEqual(email);
        seen += email.recommendations.length + email.upsells.length;
      }
    expect(seen).toBeGreaterThan(20);

    // What the customer owns is left out as the emails leave it out; a visitor gets it.
    const forOwner = (await get(`skus=GRN-10&customer=c-1&customer_token=${token('c-1')}&limit=20`)).json<Answer>();
    const forVisitor = (await get('skus=GRN-10&limit=20')).json<Answer>();
    expect(forVisitor.recommendations.map((r) => r.sku)).toContain('ESP-100');
    expect(forOwner.recommendations.map((r) => r.sku)).not.toContain('ESP-100');
    // Visitors' answers are kept per snapshot: asked again, the same bytes; a customer's never come from them.
    expect((await get('skus=GRN-10&limit=20')).body).toBe(JSON.stringify(forVisitor));
    expect((await get(`skus=GRN-10&customer=c-1&customer_token=${token('c-1')}&limit=20`)).json<Answer>()).toEqual(forOwner);
    // The co-purchase reason of the cart's answer, in the emails' words.
    const cartAnswer = (await get('skus=ESP-100')).json<Answer>();
    expect(cartAnswer.recommendations.map((r) => r.reason)).toContainEqual(
      expect.stringMatching(/^Bought together with Espresso Machine Classic by \d+% of its buyers$/),
    );
  });

  it('refreshes from memory after recs build runs again: new pairs without a restart', async () => {
    const before = (await get('skus=GRN-10&limit=20')).json<Answer>();
    expect(before.recommendations.find((r) => r.sku === 'TAMP-1')).toBeUndefined();
    await database.db.execute(sql`update products set in_stock = true where sku = 'TAMP-1'`);
    for (let i = 0; i < 3; i++)
      await ingest('c-3', `2026-06-1${i}T10:00:00Z`, [
        ['GRN-10', 1, '129.50'],
        ['TAMP-1', 1, '19.00'],
      ]);
    // Nothing changes until the statistics are built: the snapshot is the build's.
    const stale = (await get('skus=GRN-10&limit=20')).json<Answer>();
    expect(stale.builtAt).toBe(before.builtAt);
    await buildStatistics(database.db);
    const after = (await get('skus=GRN-10&limit=20')).json<Answer>();
    expect(after.builtAt).not.toBe(before.builtAt);
    expect(after.recommendations.find((r) => r.sku === 'TAMP-1')).toMatchObject({
      sku: 'TAMP-1',
      reason: expect.stringMatching(/^Bought together with Burr Grinder by \d+% of its buyers$/),
    });
  });

  it('lists unknown skus and answers for the known ones', async () => {
    const response = await get('skus=NOPE-1,GRN-10,NOPE-1');
    expect(response.statusCode).toBe(200);
    expect(response.json<Answer>().unknownSkus).toEqual(['NOPE-1']);
    expect(response.json<Answer>().recommendations.length).toBeGreaterThan(0);
    expect(response.headers['cache-control']).toBe('private, max-age=60');
    expect((await get(`skus=GRN-10&customer=c-1&customer_token=${token('c-1')}`)).headers['cache-control']).toBe('private, no-store');
  });

  it('wants the storefront key, never the API token', async () => {
    const refused: Record<string, string>[] = [
      {},
      { 'x-storefront-key': 'wrong-key-0123456789' },
      { authorization: `Bearer ${TOKEN}` },
      { 'x-storefront-key': TOKEN },
      { authorization: `Bearer ${KEY}` },
    ];
    for (const headers of refused) expect((await get('skus=GRN-10', headers)).statusCode).toBe(401);
    expect((await get(`skus=GRN-10&key=${TOKEN}`, {})).statusCode).toBe(401);
    expect((await post({ skus: ['GRN-10'] }, {})).statusCode).toBe(401);
    expect((await get(`skus=GRN-10&key=${KEY}`, {})).statusCode).toBe(200);
    expect((await get('skus=GRN-10')).statusCode).toBe(200);
    // The key opens nothing of the API.
    expect((await app.inject({ method: 'GET', url: '/api/code-pools', headers: withKey })).statusCode).toBe(401);
    expect((await app.inject({ method: 'GET', url: '/api/code-pools', headers: { authorization: `Bearer ${TOKEN}` } })).statusCode).toBe(
      200,
    );
  });

  it("personalises only for a customer id signed by the shop's server: the public key alone never tells what someone bought", async () => {
    const unsigned = await get('skus=GRN-10&customer=c-1');
    expect([unsigned.statusCode, unsigned.json<{ issues: { path: string }[] }>().issues.map((i) => i.path)]).toEqual([
      400,
      ['customer_token'],
    ]);
    const posted = await post({ skus: ['GRN-10'], customer: 'c-1' });
    expect(posted.statusCode).toBe(400);
    // Another customer's token, a made-up one, one signed with the public key: refused, nothing told.
    for (const wrong of [token('c-2'), 'a'.repeat(64), storefrontCustomerToken('c-1', KEY)]) {
      const res = await get(`skus=GRN-10&customer=c-1&customer_token=${wrong}`);
      expect([res.statusCode, res.json<{ message: string }>().message]).toEqual([401, 'customer_token does not match customer']);
    }
    // Signed, upper-case hex too: answered for c-1.
    expect((await get(`skus=GRN-10&customer=c-1&customer_token=${token('c-1').toUpperCase()}`)).statusCode).toBe(200);
  });

  it('gives CORS headers to the listed origin only, on its own route only; preflight works', async () => {
    const allowed = await get('skus=GRN-10', { ...withKey, origin: ORIGIN });
    expect(allowed.headers['access-control-allow-origin']).toBe(ORIGIN);
    const other = await get('skus=GRN-10', { ...withKey, origin: 'https://evil.example' });
    expect(other.statusCode).toBe(200);
    expect(other.headers['access-control-allow-origin']).toBeUndefined();

    const preflight = (origin: string, url = '/api/recommendations') =>
      app.inject({
        method: 'OPTIONS',
        url,
        headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,x-storefront-key' },
      });
    const ok = await preflight(ORIGIN);
    expect(ok.statusCode).toBe(204);
    expect(ok.headers['access-control-allow-origin']).toBe(ORIGIN);
    expect(String(ok.headers['access-control-allow-headers'])).toContain('x-storefront-key');
    expect(String(ok.headers['access-control-allow-methods'])).toContain('POST');
    expect((await preflight('https://evil.example')).headers['access-control-allow-origin']).toBeUndefined();
    // Neither the API nor anything else answers a preflight or carries CORS headers.
    const api = await preflight(ORIGIN, '/api/products');
    expect(api.headers['access-control-allow-origin']).toBeUndefined();
    expect(api.statusCode).not.toBe(204);
    const apiGet = await app.inject({
      method: 'GET',
      url: '/api/code-pools',
      headers: { authorization: `Bearer ${TOKEN}`, origin: ORIGIN },
    });
    expect(apiGet.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('is listed in the OpenAPI document under the storefront key', async () => {
    const doc = (await app.inject({ method: 'GET', url: '/openapi.json' })).json<{
      paths: Record<string, Record<string, { security?: unknown }>>;
      components: { securitySchemes: Record<string, unknown> };
    }>();
    expect(Object.keys(doc.paths['/api/recommendations'] ?? {}).sort()).toEqual(['get', 'post']);
    expect(doc.paths['/api/recommendations']!.get!.security).toEqual([{ storefrontKey: [] }]);
    expect(doc.components.securitySchemes.storefrontKey).toEqual({ type: 'apiKey', in: 'header', name: 'X-Storefront-Key' });
  });

  it('refuses bad questions with 400 naming the field', async () => {
    const many = Array.from({ length: 500 }, (_, i) => `S${i}`).join(',');
    const bad: [string, string][] = [
      ['skus=GRN-10&limit=0', 'limit'],
      ['skus=GRN-10&limit=21', 'limit'],
      ['skus=GRN-10&limit=abc', 'limit'],
      [`skus=${many}`, 'skus'],
      ['skus=', 'skus'],
      ['', 'skus'],
      ['skus=GRN-10&strategy=magic', 'strategy'],
      ['skus=GRN-10&upsells=-1', 'upsells'],
      ['skus=GRN-10&customer=', 'customer'],
      ['skus=GRN-10&colour=red', ''],
    ];
    for (const [query, field] of bad) {
      const response = await get(query);
      expect(response.statusCode, query).toBe(400);
      const paths = response.json<{ issues: { path: string }[] }>().issues.map((i) => i.path);
      expect(paths, query).toContain(field);
    }
    const badBodies: [unknown, string][] = [
      [{ items: [{ sku: 'GRN-10', quantity: 0 }] }, 'items[0].quantity'],
      [{ items: [] }, 'items'],
      [{ skus: ['GRN-10'], items: [{ sku: 'GRN-10' }] }, 'skus'],
      [{}, 'skus'],
      [{ skus: Array.from({ length: 51 }, (_, i) => `S${i}`) }, 'skus'],
      [{ skus: ['GRN-10'], limit: 100 }, 'limit'],
      [{ skus: 'GRN-10' }, 'skus'],
    ];
    for (const [payload, field] of badBodies) {
      const response = await post(payload);
      expect(response.statusCode, JSON.stringify(payload)).toBe(400);
      expect(response.json<{ issues: { path: string }[] }>().issues.map((i) => i.path)).toContain(field);
    }
    const garbage = await app.inject({
      method: 'POST',
      url: '/api/recommendations',
      headers: { ...withKey, 'content-type': 'application/json' },
      payload: '{"skus": [',
    });
    expect(garbage.statusCode).toBe(400);
  });

  it('answers hostile questions with 200, 400, 401 or 415 (a body not JSON), never a 5xx', async () => {
    const random = prng(18);
    const pick = <T>(list: T[]): T => list[Math.floor(random() * list.length)]!;
    const values: unknown[] = [
      '',
      'GRN-10',
      'x'.repeat(5_000),
      '%00',
      '\u0000',
      '☕',
      '1e309',
      '-0',
      '4.5',
      'NaN',
      ['a', 'b'],
      { a: 1 },
      null,
      true,
      0,
      -1,
      20,
      1e20,
      [],
      [{ sku: 'GRN-10', quantity: '2' }],
      [{ sku: 'GRN-10', quantity: 1, extra: 1 }],
      [{ sku: null }],
    ];
    const fields = ['skus', 'items', 'customer', 'limit', 'upsells', 'strategy', 'key', '__proto__', 'constructor'];
    for (let i = 0; i < 200; i++) {
      const question: Record<string, unknown> = {};
      for (let j = 0; j < 1 + Math.floor(random() * 4); j++) question[pick(fields)] = pick(values);
      const search = Object.entries(question)
        .flatMap(([k, v]) =>
          [v].flat().map((one) => `${encodeURIComponent(k)}=${encodeURIComponent(typeof one === 'string' ? one : JSON.stringify(one))}`),
        )
        .join('&');
      const responses = [await get(search), await post(question), await post(pick(values))];
      for (const response of responses) expect([200, 400, 401, 415], `${search} ${response.body}`).toContain(response.statusCode);
    }
  });

  it('links go through the tracked redirect, tagged storefront, and record the click', async () => {
    const card = (await get('skus=BEAN-1')).json<Answer>().recommendations.find((r) => r.productUrl !== '')!;
    expect(card).toBeDefined();
    expect(card.url).toMatch(new RegExp(`^${PUBLIC_URL}/t/p/[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+\\?placement=storefront$`));
    const path = card.url.slice(PUBLIC_URL.length);
    const response = await app.inject({ method: 'GET', url: path, headers: { 'user-agent': 'Mozilla/5.0 (Macintosh) Safari/605.1.15' } });
    expect(response.statusCode).toBe(302);
    const location = new URL(response.headers.location!);
    expect(`${location.origin}${location.pathname}`).toBe(card.productUrl);
    expect(Object.fromEntries(location.searchParams)).toEqual({
      utm_source: 'recommendations',
      utm_medium: 'storefront',
      utm_campaign: 'storefront-recommendations',
    });
    const clicks = await queryRows<{ sku: string; placement: string; is_human: boolean; occurred_at: Date | string }>(
      database.db,
      sql`select p.sku, c.placement, c.is_human, c.occurred_at from storefront_clicks c join products p on p.id = c.product_id`,
    );
    expect(clicks).toHaveLength(1);
    expect(clicks[0]).toMatchObject({ sku: card.sku, placement: 'storefront', is_human: true });
    expect(new Date(clicks[0]!.occurred_at).toISOString()).toBe(NOW.toISOString());

    // A forged or foreign token goes nowhere and records nothing.
    const tampered = path.replace(/\/t\/p\/(.)/, (_m, c: string) => `/t/p/${c === 'A' ? 'B' : 'A'}`);
    expect((await app.inject({ method: 'GET', url: tampered })).statusCode).toBe(404);
    const messageToken = signToken({ kind: 'message', message: 1 }, SECRET);
    expect((await app.inject({ method: 'GET', url: `/t/p/${messageToken}` })).statusCode).toBe(404);
    expect(
      (await app.inject({ method: 'GET', url: `/t/p/${signToken({ kind: 'product', message: 0, product: 999_999 }, SECRET)}` })).statusCode,
    ).toBe(404);
    expect(await queryRows(database.db, sql`select 1 from storefront_clicks`)).toHaveLength(1);
  });
});

describe('storefront settings', () => {
  it('mounts nothing without STOREFRONT_KEY', async () => {
    expect(storefrontSettings(loadConfig({}), DEFAULT_RULES)).toBeUndefined();
    const database = await freshDatabase('postgres');
    const app = await buildServer({ db: database.db, apiToken: TOKEN, bodyLimitBytes: 1 << 20 });
    try {
      expect((await app.inject({ method: 'GET', url: '/api/recommendations?skus=GRN-10', headers: withKey })).statusCode).toBe(404);
    } finally {
      await app.close();
      await database.drop();
    }
  });

  it('reads STOREFRONT_KEY, STOREFRONT_ORIGINS and STOREFRONT_REFRESH_SECONDS, and refuses a key equal to the API token', () => {
    const config = loadConfig({ STOREFRONT_KEY: KEY, STOREFRONT_ORIGINS: 'https://shop.example, https://www.shop.example/' });
    expect(config.storefront).toEqual({
      key: KEY,
      origins: ['https://shop.example', 'https://www.shop.example'],
      refreshSeconds: 30,
      customerSecret: undefined,
    });
    expect(storefrontSettings(config, DEFAULT_RULES)).toMatchObject({ key: KEY, refreshMs: 30_000 });
    expect(() => loadConfig({ STOREFRONT_KEY: 'same-as-the-api-token', API_TOKEN: 'same-as-the-api-token' })).toThrow(
      /STOREFRONT_KEY: must differ from API_TOKEN.*not shown/,
    );
    expect(() => loadConfig({ STOREFRONT_ORIGINS: 'https://shop.example/path' })).toThrow(
      /STOREFRONT_ORIGINS: must be comma-separated origins/,
    );
    expect(() => loadConfig({ STOREFRONT_KEY: 'short' })).toThrow(/STOREFRONT_KEY: must be at least 16 characters/);
  });
});
