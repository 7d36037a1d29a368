/**
 * The HTTP app's defences, through `inject` on the real Postgres and Redis: one-click
 * unsubscribe whatever the form encoding, TRUST_PROXY, the pixel under malformed paths,
 * /healthz without error text, dashboard sessions that end at logout, the origin check on
 * every change, security headers, and NUL characters in dashboard queries.
 */
import { sign } from '@fastify/cookie';
import { sql } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixedClock } from '../src/core/clock.ts';
import { signToken } from '../src/core/tokens.ts';
import { sessionKey, sessionValue } from '../src/dashboard/auth.ts';
import { CONTENT_SECURITY_POLICY } from '../src/dashboard/headers.ts';
import { queryRows } from '../src/db/client.ts';
import { buildApp, buildServer, type ServerDeps } from '../src/http/app.ts';
import { createEventSink, type EventSink } from '../src/tracking/events.ts';
import { freshDatabase, type TestDatabase } from './helpers/db.ts';
import { prepareShop, testPreview } from './helpers/engine.ts';
import { freshQueues, type TestQueues } from './helpers/redis.ts';
import { Rows } from './helpers/rows.ts';

const SECRET = 'hardening-secret-hardening-secret-00';
const TOKEN = 'hardening-token-1';
const AT = new Date('2026-06-01T12:00:00Z');
const SENT = '2026-06-01T09:00:00Z';
const BROWSER = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15';
const SEQUENCE = `
id: hard
name: Hard
trigger: { event: order_placed }
variants: [{ key: a, weight: 1 }]
steps:
  - { delay: 1h, template: thank-you }
`;

describe('the HTTP app under hostile requests', () => {
  let database: TestDatabase;
  let queues: TestQueues;
  let events: EventSink;
  let rows: Rows;
  const apps: FastifyInstance[] = [];
  /** A sent message and its customer, one per test that needs its own. */
  let sent: () => Promise<{ message: number; customer: number }>;

  beforeAll(async () => {
    database = await freshDatabase('postgres');
    queues = await freshQueues();
    await prepareShop(database.db, SEQUENCE);
    events = createEventSink(database.db);
    rows = new Rows(database.db);
    const [{ id: version } = { id: 0 }] = await queryRows<{ id: number }>(
      database.db,
      sql`select id from sequence_versions where sequence_id = 'hard'`,
    );
    sent = async () => {
      const [customer] = await rows.customers(1);
      const [order] = await rows.orders([{ customer: customer!, at: SENT, total: 10 }]);
      const [enrollment] = await rows.enrollments([
        { customer: customer!, sequence: 'hard', version, arm: 'a', trigger: order!, at: SENT, preSpend: 0 },
      ]);
      return { message: await rows.message(enrollment!, customer!, 0, SENT), customer: customer! };
    };
  }, 60_000);
  afterAll(async () => {
    for (const app of apps) await app.close();
    await events?.close();
    await queues?.cleanup();
    await database?.drop();
  });

  const dashboardDeps = {
    apiToken: TOKEN,
    secret: SECRET,
    sessionHours: 1,
    loginsPerMinute: 3,
    currency: 'USD',
    publicUrl: 'https://dash.example',
    preview: testPreview(SECRET),
  };

  /** The server as `campaign serve` builds it, with the given changes. */
  async function server(changes: Partial<ServerDeps> = {}): Promise<FastifyInstance> {
    const app = await buildServer({
      db: database.db,
      apiToken: TOKEN,
      bodyLimitBytes: 1 << 20,
      tracking: { secret: SECRET, clock: fixedClock(AT), events },
      dashboard: dashboardDeps,
      ...changes,
    });
    apps.push(app);
    return app;
  }

  const eventsOf = (message: number) =>
    queryRows<{ type: string; is_human: boolean; machine_reason: string | null; ip: string | null }>(
      database.db,
      sql`select type, is_human, machine_reason, ip from events where message_id = ${message} order by id`,
    );
  const unsubscribed = async (customer: number) =>
    (
      await queryRows<{ done: boolean }>(database.db, sql`select unsubscribed_at is not null as done from customers where id = ${customer}`)
    )[0]!.done;

  it('one-click unsubscribe accepts a urlencoded form, a multipart form and no body at all', async () => {
    const app = await server();
    const multipart = ['--XyZ', 'Content-Disposition: form-data; name="List-Unsubscribe"', '', 'One-Click', '--XyZ--', ''].join('\r\n');
    const bodies = [
      { headers: { 'content-type': 'multipart/form-data; boundary=XyZ' }, payload: multipart },
      { headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'List-Unsubscribe=One-Click' },
      { headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: '' },
      { headers: {}, payload: undefined },
    ];
    for (const body of bodies) {
      const { message, customer } = await sent();
      const token = signToken({ kind: 'unsubscribe', message, customer }, SECRET);
      const response = await app.inject({ method: 'POST', url: `/u/${token}`, ...body });
      expect(response.statusCode, JSON.stringify(body.headers)).toBe(200);
      expect(await unsubscribed(customer), JSON.stringify(body.headers)).toBe(true);
    }
    // The multipart parser is the unsubscribe route's alone.
    const elsewhere = await app.inject({
      method: 'POST',
      url: '/api/orders',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'multipart/form-data; boundary=XyZ' },
      payload: multipart,
    });
    expect(elsewhere.statusCode).toBe(415);
  });

  it('with TRUST_PROXY the forwarded address is the client: Apple MPP is recognised, logins are limited per client', async () => {
    const { message } = await sent();
    const pixel = `/t/o/${signToken({ kind: 'message', message }, SECRET)}.gif`;
    const viaProxy = { 'user-agent': BROWSER, 'x-forwarded-for': '17.58.20.5' };
    const ignoring = await server();
    await ignoring.inject({ method: 'GET', url: pixel, headers: viaProxy, remoteAddress: '10.0.0.2' });
    for (const trustProxy of [['10.0.0.0/8'], 1, true]) {
      const trusting = await server({ trustProxy });
      await trusting.inject({ method: 'GET', url: pixel, headers: viaProxy, remoteAddress: '10.0.0.2' });
    }
    // A proxy outside the trusted list is not believed.
    const elsewhere = await server({ trustProxy: ['192.168.0.0/16'] });
    await elsewhere.inject({ method: 'GET', url: pixel, headers: viaProxy, remoteAddress: '10.0.0.2' });
    expect((await eventsOf(message)).map((e) => [e.machine_reason, e.ip])).toEqual([
      [null, '10.0.0.2'],
      ['apple-mpp', '17.58.20.5'],
      ['apple-mpp', '17.58.20.5'],
      ['apple-mpp', '17.58.20.5'],
      [null, '10.0.0.2'],
    ]);

    const attempts = async (app: FastifyInstance, client: string, n: number) => {
      const codes: number[] = [];
      for (let i = 0; i < n; i++)
        codes.push(
          (
            await app.inject({
              method: 'POST',
              url: '/login',
              payload: { secret: 'guess' },
              headers: { 'x-forwarded-for': client },
              remoteAddress: '10.0.0.2',
            })
          ).statusCode,
        );
      return codes;
    };
    const trusting = await server({ trustProxy: ['10.0.0.0/8'] });
    expect(await attempts(trusting, '198.51.100.1', 4)).toEqual([401, 401, 401, 429]);
    expect(await attempts(trusting, '198.51.100.2', 1)).toEqual([401]);
    // Without the setting every client behind the proxy shares the proxy's one bucket.
    const untrusting = await server();
    expect(await attempts(untrusting, '198.51.100.1', 3)).toEqual([401, 401, 401]);
    expect(await attempts(untrusting, '198.51.100.2', 1)).toEqual([429]);
  });

  it('every path under the pixel answers the GIF, and a bad one stores nothing', async () => {
    const app = await server();
    const { message } = await sent();
    const token = signToken({ kind: 'message', message }, SECRET);
    for (const url of [
      '/t/o/.gif',
      '/t/o/%00.gif',
      `/t/o/${'a'.repeat(5_000)}.gif`,
      `/t/o/${token}${'a'.repeat(300)}.gif`,
      '/t/o/x',
      `/t/o/${token}`,
      '/t/o//x.gif',
      `/t/o//${token}.gif.gif`,
      '/t/o/a/b.gif',
      '/t/o/',
      '/t/o',
      '/t/o/%ZZ.gif',
      '/t/o/%E0%A4%A.gif',
      `/t/o/${token}.gif/`,
      `/t/o/${token.replace('.', '%2E')}.gif`,
    ]) {
      const response = await app.inject({ method: 'GET', url, headers: { 'user-agent': BROWSER } });
      expect(response.statusCode, url.slice(0, 60)).toBe(200);
      expect(response.headers['content-type'], url.slice(0, 60)).toBe('image/gif');
      expect(response.headers['cache-control']).toMatch(/no-store/);
      expect(response.rawPayload.subarray(0, 6).toString()).toBe('GIF89a');
    }
    expect(await eventsOf(message)).toEqual([]);
    // The genuine pixel still counts, with its slashes doubled too.
    for (const url of [`/t/o/${token}.gif`, `//t/o//${token}.gif`])
      expect((await app.inject({ method: 'GET', url, headers: { 'user-agent': BROWSER } })).statusCode).toBe(200);
    expect(await eventsOf(message)).toHaveLength(2);
    // Elsewhere an undecodable URL is still Fastify's 400.
    expect((await app.inject({ method: 'GET', url: '/u/%ZZ' })).statusCode).toBe(400);
  });

  it('/healthz says which dependency is down, never why', async () => {
    const failing = (why: string) => ({ ping: () => Promise.reject(new Error(why)) });
    const healthy = await buildApp({ health: { db: database.db, redis: { ping: async () => 'PONG' } } });
    const down = await buildApp({ health: { db: database.db, redis: failing('connect ECONNREFUSED 10.1.2.3:6379') } });
    const noDb = await buildApp({
      health: { db: { execute: () => Promise.reject(new Error('password authentication failed for user "shop"')) } as never },
    });
    apps.push(healthy, down, noDb);
    const ok = await healthy.inject({ method: 'GET', url: '/healthz' });
    expect([ok.statusCode, ok.json()]).toEqual([200, { status: 'ok', database: 'ok', redis: 'ok' }]);
    const degraded = await down.inject({ method: 'GET', url: '/healthz' });
    expect([degraded.statusCode, degraded.json()]).toEqual([503, { status: 'degraded', database: 'ok', redis: 'down' }]);
    const dbDown = await noDb.inject({ method: 'GET', url: '/healthz' });
    expect([dbDown.statusCode, dbDown.json()]).toEqual([503, { status: 'degraded', database: 'down' }]);
    expect(degraded.body + dbDown.body).not.toMatch(/ECONNREFUSED|10\.1\.2\.3|password|shop/);
  });

  describe('dashboard sessions', () => {
    const own = { origin: 'http://dash.internal:8080', host: 'dash.internal:8080' };
    const logIn = async (app: FastifyInstance) => {
      const response = await app.inject({ method: 'POST', url: '/login', payload: { secret: TOKEN }, headers: own });
      expect(response.statusCode).toBe(303);
      const cookie = response.cookies.find((c) => c.name === 'campaign_session')!;
      return `campaign_session=${cookie.value}`;
    };
    const page = (app: FastifyInstance, cookie: string) => app.inject({ method: 'GET', url: '/', headers: { cookie } });

    it('logout is a change like any other: refused from elsewhere, and the cookie is dead after it, on every server', async () => {
      // Logged-out ids in this process's memory, and in Redis.
      for (const store of [{}, { redis: queues.redis, redisPrefix: queues.prefix }]) {
        const one = await server({ dashboard: { ...dashboardDeps, ...store } });
        const cookie = await logIn(one);
        expect((await page(one, cookie)).statusCode).toBe(200);
        const foreign = [{}, { origin: 'https://evil.example' }, { referer: 'https://evil.example/x' }, { 'sec-fetch-site': 'cross-site' }];
        for (const headers of foreign) {
          const refused = await one.inject({ method: 'POST', url: '/logout', headers: { cookie, host: own.host, ...headers } });
          expect(refused.statusCode, JSON.stringify(headers)).toBe(403);
        }
        expect((await page(one, cookie)).statusCode).toBe(200);
        const out = await one.inject({ method: 'POST', url: '/logout', headers: { cookie, ...own } });
        expect([out.statusCode, out.headers.location]).toEqual([303, '/login']);
        // The cookie, kept by whoever copied it, is no session any more.
        const again = await page(one, cookie);
        expect([again.statusCode, again.headers.location]).toEqual([303, '/login']);
      }
    });

    it('with Redis, a session logged out on one server is refused by another', async () => {
      const shared = { dashboard: { ...dashboardDeps, redis: queues.redis, redisPrefix: queues.prefix } };
      const one = await server(shared);
      const two = await server(shared);
      const cookie = await logIn(one);
      expect((await page(two, cookie)).statusCode).toBe(200);
      await one.inject({ method: 'POST', url: '/logout', headers: { cookie, ...own } });
      expect((await page(two, cookie)).headers.location).toBe('/login');
      const keys = await queues.redis.keys(`${queues.prefix}:dashboard:logged-out:*`);
      expect(keys.length).toBeGreaterThan(0);
      // Remembered for the session's remaining life (an hour here), then forgotten.
      const ttl = await queues.redis.pttl(keys.at(-1)!);
      expect(ttl).toBeGreaterThan(3_000_000);
      expect(ttl).toBeLessThanOrEqual(3_600_000);
    });

    it("a change needs the dashboard's origin (Origin, else Referer, else Sec-Fetch-Site: same-origin)", async () => {
      const app = await server();
      const cookie = await logIn(app);
      const post = (headers: Record<string, string>) =>
        app.inject({ method: 'POST', url: '/sequences/none/pause', headers: { cookie, host: own.host, ...headers } });
      // 404: let through (there is no such sequence); 403: refused before anything ran.
      const cases: [Record<string, string>, number][] = [
        [{}, 403],
        [{ origin: 'https://evil.example' }, 403],
        [{ origin: 'null' }, 403],
        [{ origin: 'http://dash.internal:8081' }, 403],
        [{ referer: 'https://evil.example/sequences/none' }, 403],
        [{ referer: 'not a url' }, 403],
        [{ origin: 'https://evil.example', referer: 'http://dash.internal:8080/' }, 403],
        [{ origin: own.origin, 'sec-fetch-site': 'same-site' }, 403],
        [{ 'sec-fetch-site': 'same-site' }, 403],
        [{ origin: own.origin }, 404],
        [{ origin: 'HTTP://DASH.INTERNAL:8080' }, 404],
        [{ origin: 'https://dash.example' }, 404],
        [{ referer: 'http://dash.internal:8080/sequences/none' }, 404],
        [{ 'sec-fetch-site': 'same-origin' }, 404],
        [{ origin: own.origin, 'sec-fetch-site': 'same-origin' }, 404],
      ];
      for (const [headers, code] of cases) expect((await post(headers)).statusCode, JSON.stringify(headers)).toBe(code);
      // Behind a trusted proxy the origin asked for is the forwarded one.
      const proxied = await server({ trustProxy: true });
      const proxiedCookie = await logIn(proxied);
      const forwarded = await proxied.inject({
        method: 'POST',
        url: '/sequences/none/pause',
        headers: {
          cookie: proxiedCookie,
          host: '127.0.0.1:3000',
          'x-forwarded-host': 'campaigns.shop.example',
          'x-forwarded-proto': 'https',
          origin: 'https://campaigns.shop.example',
        },
      });
      expect(forwarded.statusCode).toBe(404);
    });

    it('a cookie in the old format (an expiry alone) or signed with another key is no session', async () => {
      const app = await server();
      const key = sessionKey({ secret: SECRET, apiToken: TOKEN });
      const later = Date.now() + 60_000;
      const id = 'A'.repeat(22);
      for (const value of [sign(String(later), key), sign(sessionValue(later, id), SECRET), sign(sessionValue(Date.now() - 1, id), key)])
        expect((await page(app, `campaign_session=${encodeURIComponent(value)}`)).headers.location, value).toBe('/login');
      expect((await page(app, `campaign_session=${encodeURIComponent(sign(sessionValue(later, id), key))}`)).statusCode).toBe(200);
    });

    it('pages carry the security headers, and pages with personal data are not stored', async () => {
      const app = await server();
      const cookie = await logIn(app);
      const login = await app.inject({ method: 'GET', url: '/login' });
      for (const response of [login, await page(app, cookie)]) {
        expect(response.headers['content-security-policy']).toBe(CONTENT_SECURITY_POLICY);
        expect(response.headers['x-frame-options']).toBe('DENY');
        expect(response.headers['x-content-type-options']).toBe('nosniff');
        expect(response.headers['referrer-policy']).toBe('same-origin');
      }
      expect(CONTENT_SECURITY_POLICY).toMatch(/frame-ancestors 'none'/);
      expect(CONTENT_SECURITY_POLICY).toMatch(/script-src 'self'(;|$)/);
      for (const url of ['/messages', '/messages?q=x-0', '/preview', '/preview?q=x-0', '/preview?customer=x-0']) {
        const response = await app.inject({ method: 'GET', url, headers: { cookie } });
        expect(response.statusCode, url).toBe(200);
        expect(response.headers['cache-control'], url).toBe('no-store');
      }
      // The chart scripts keep their own caching.
      const script = await app.inject({ method: 'GET', url: '/assets/chart.umd.min.js', headers: { cookie } });
      expect(script.headers['cache-control']).toMatch(/max-age/);
      // Tracking answers are not the dashboard's: no dashboard policy on the pixel.
      const pixel = await app.inject({ method: 'GET', url: '/t/o/x.gif' });
      expect(pixel.headers['content-security-policy']).toBeUndefined();
    });

    it('a NUL in a query string, path or form is a 400, not a 500', async () => {
      const app = await server();
      const cookie = await logIn(app);
      for (const url of [
        '/messages?q=%00',
        '/messages?customer=a%00b',
        '/preview?q=%00',
        '/preview?customer=%00',
        '/sequences/%00',
        '/?period=%00',
      ]) {
        const response = await app.inject({ method: 'GET', url, headers: { cookie } });
        expect(response.statusCode, url).toBe(400);
        expect(response.body, url).not.toMatch(/Internal Server Error/);
      }
      const send = await app.inject({
        method: 'POST',
        url: '/preview/send',
        headers: { cookie, ...own, 'content-type': 'application/x-www-form-urlencoded' },
        payload: 'version=1&customer=a%00&to=x%40example.com',
      });
      expect(send.statusCode).toBe(400);
      expect(send.body).toMatch(/customer: must not contain a NUL/);
    });
  });
});
