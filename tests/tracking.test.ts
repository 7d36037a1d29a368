import { sql } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { classify, type MachineReason, type TrackedRequest } from '../src/core/classify.ts';
import { signToken } from '../src/core/tokens.ts';
import { queryRows } from '../src/db/client.ts';
import { buildServer } from '../src/http/app.ts';
import { ingestOrders } from '../src/ingest/batch.ts';
import { createEventSink, type EventSink, type TrackedEvent } from '../src/tracking/events.ts';
import { freshDatabase, type TestDatabase } from './helpers/db.ts';
import { eventually, startTestEngine, type TestEngine } from './helpers/engine.ts';

const SEQUENCE = `
id: tracked
name: Tracked
trigger: { event: order_placed }
variants: [{ key: only, weight: 1 }]
steps:
  - { delay: 1h, template: thank-you }
  - { delay: 2d, template: accessories }
`;
const BROWSER = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15';

describe('tracking endpoints', () => {
  let t: TestEngine;
  let app: FastifyInstance;
  let events: EventSink;
  let message: { id: number; customer_id: number; links: string[]; raw: string };
  beforeAll(async () => {
    t = await startTestEngine(SEQUENCE, { clockScale: 86_400 });
    events = createEventSink(t.database.db);
    app = await buildServer({
      db: t.database.db,
      apiToken: 'token-123456',
      bodyLimitBytes: 1 << 20,
      tracking: { secret: t.engine.settings.secretKey, clock: t.engine.clock, events },
    });
    await ingestOrders(t.database.db, [
      {
        order_id: 'tr-1',
        customer_id: 'c-1',
        ordered_at: t.engine.clock.now().toISOString(),
        items: [{ sku: 'ESP-100', quantity: 1, unit_price: '249.00' }],
      },
    ]);
    t.relay.kick();
    const [row] = await eventually(
      async () => {
        const rows = await queryRows<{ id: number; customer_id: number; links: string[] }>(
          t.database.db,
          sql`select id, customer_id, links from messages where state = 'sent' and step = 0`,
        );
        return rows.length > 0 && rows;
      },
      20_000,
      'the first email',
    );
    message = { ...row!, raw: t.smtp.received[0]!.raw.replace(/=\r?\n/g, '').replace(/=3D/g, '=') };
  });
  afterAll(async () => {
    await app.close();
    await events.close();
    await t.stop();
  });

  const token = () => signToken({ kind: 'message', message: message.id }, t.engine.settings.secretKey);
  const eventsOf = (type: string) =>
    queryRows<{ is_human: boolean; machine_reason: string | null; link_index: number | null }>(
      t.database.db,
      sql`select is_human, machine_reason, link_index from events where type = ${type} order by id`,
    );

  it('the pixel is always a GIF with no-store, and stores the open with its verdict', async () => {
    for (const url of [
      `/t/o/${token()}.gif`,
      `/t/o/${token().slice(0, -2)}xx.gif`,
      '/t/o/nonsense.gif',
      `/t/o/${signToken({ kind: 'message', message: message.id }, 'another-secret-another-secret-xx')}.gif`,
    ]) {
      const response = await app.inject({ method: 'GET', url, headers: { 'user-agent': BROWSER } });
      expect(response.statusCode).toBe(200);
      expect(response.headers['content-type']).toBe('image/gif');
      expect(response.headers['cache-control']).toMatch(/no-store/);
      expect(response.rawPayload.subarray(0, 6).toString()).toBe('GIF89a');
    }
    await app.inject({ method: 'GET', url: `/t/o/${token()}.gif`, headers: { 'user-agent': BROWSER }, remoteAddress: '17.58.20.5' });
    await app.inject({
      method: 'GET',
      url: `/t/o/${token()}.gif`,
      headers: { 'user-agent': 'Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)' },
    });
    await app.inject({ method: 'HEAD', url: `/t/o/${token()}.gif`, headers: { 'user-agent': BROWSER } });
    expect((await eventsOf('open')).map((e) => e.machine_reason)).toEqual([null, 'apple-mpp', 'image-proxy', 'head-request']);
  });

  it('a click redirects only to the stored destination, with UTM parameters; bad tokens get 404', async () => {
    const index = message.links.length - 1;
    expect(index).toBeGreaterThanOrEqual(0);
    const good = await app.inject({
      method: 'GET',
      url: `/t/c/${token()}/${index}?url=https://evil.example/`,
      headers: { 'user-agent': BROWSER },
    });
    expect(good.statusCode).toBe(302);
    const location = new URL(good.headers.location as string);
    expect(location.origin + location.pathname).toBe(message.links[index]);
    expect(Object.fromEntries(location.searchParams)).toMatchObject({
      utm_medium: 'email',
      utm_campaign: 'tracked',
      utm_content: 'only-step1',
    });
    for (const url of [
      `/t/c/${token().replace(/.$/, (c) => (c === 'A' ? 'B' : 'A'))}/${index}`,
      `/t/c/${signToken({ kind: 'message', message: message.id }, 'another-secret-another-secret-xx')}/${index}`,
      `/t/c/${token()}/999`,
      `/t/c/${signToken({ kind: 'message', message: 987654 }, t.engine.settings.secretKey)}/0`,
      `/t/c/${signToken({ kind: 'unsubscribe', message: message.id, customer: message.customer_id }, t.engine.settings.secretKey)}/0`,
    ]) {
      const response = await app.inject({ method: 'GET', url });
      expect(response.statusCode, url).toBe(404);
      expect(response.headers.location).toBeUndefined();
    }
    expect(await eventsOf('click')).toEqual([{ is_human: true, machine_reason: null, link_index: index }]);
  });

  it('an expired link still shows the pixel and sends a click to the shop, storing nothing', async () => {
    const later = { ...t.engine.clock, now: () => new Date(t.engine.clock.now().getTime() + 400 * 86_400_000) };
    const expired = await buildServer({
      db: t.database.db,
      apiToken: 'token-123456',
      bodyLimitBytes: 1 << 20,
      tracking: {
        secret: t.engine.settings.secretKey,
        clock: later,
        events,
        linkLifetimeDays: 365,
        expiredLinkUrl: 'https://shop.example/',
      },
    });
    try {
      const before = { opens: (await eventsOf('open')).length, clicks: (await eventsOf('click')).length };
      const pixel = await expired.inject({ method: 'GET', url: `/t/o/${token()}.gif`, headers: { 'user-agent': BROWSER } });
      expect(pixel.statusCode).toBe(200);
      expect(pixel.headers['content-type']).toBe('image/gif');
      const click = await expired.inject({ method: 'GET', url: `/t/c/${token()}/0`, headers: { 'user-agent': BROWSER } });
      expect(click.statusCode).toBe(302);
      expect(click.headers.location).toBe('https://shop.example/');
      // A forged token stays a 404, expired or not.
      expect(
        (
          await expired.inject({
            method: 'GET',
            url: `/t/c/${signToken({ kind: 'message', message: message.id }, 'another-secret-another-secret-xx')}/0`,
          })
        ).statusCode,
      ).toBe(404);
      expect({ opens: (await eventsOf('open')).length, clicks: (await eventsOf('click')).length }).toEqual(before);
    } finally {
      await expired.close();
    }
  });

  it('stores every event of many simultaneous requests (group commit)', async () => {
    const before = (await eventsOf('open')).length;
    const responses = await Promise.all(
      Array.from({ length: 100 }, () => app.inject({ method: 'GET', url: `/t/o/${token()}.gif`, headers: { 'user-agent': BROWSER } })),
    );
    expect(responses.every((r) => r.statusCode === 200)).toBe(true);
    expect((await eventsOf('open')).length).toBe(before + 100);
  });

  it('one-click unsubscribe works at once, twice, and stops the next step; a moved token is refused', async () => {
    // The https one-click URL alone: no mailto that nothing would read.
    const header = /^List-Unsubscribe: (.*)$/im.exec(message.raw.replace(/\r?\n[ \t]+/g, ' '))![1]!.trim();
    expect(header).toMatch(/^<https:\/\/[^>]+>$/);
    expect(message.raw).toMatch(/^List-Unsubscribe-Post: List-Unsubscribe=One-Click\r?$/im);
    const link = /^<(https:\/\/[^>]+)>$/.exec(header)![1]!;
    const path = new URL(link).pathname;
    const page = await app.inject({ method: 'GET', url: path });
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('<form method="post">');
    const moved = signToken({ kind: 'unsubscribe', message: message.id, customer: message.customer_id + 1 }, t.engine.settings.secretKey);
    expect((await app.inject({ method: 'POST', url: `/u/${moved}` })).statusCode).toBe(404);
    for (let i = 0; i < 2; i++) {
      const response = await app.inject({
        method: 'POST',
        url: path,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: 'List-Unsubscribe=One-Click',
      });
      expect(response.statusCode).toBe(200);
    }
    const [customer] = await queryRows<{ unsubscribed: boolean; suppressed: string }>(
      t.database.db,
      sql`select c.unsubscribed_at is not null as unsubscribed, (select reason from suppressions where email = lower(c.email)) as suppressed from customers c where c.id = ${message.customer_id}`,
    );
    expect(customer).toEqual({ unsubscribed: true, suppressed: 'unsubscribe' });
    const [enrollment] = await eventually(
      async () => {
        const rows = await queryRows<{ state: string; exit_reason: string }>(
          t.database.db,
          sql`select state, exit_reason from enrollments where customer_id = ${message.customer_id}`,
        );
        return rows[0]?.state === 'exited' && rows;
      },
      20_000,
      'the exit',
    );
    expect(enrollment!.exit_reason).toBe('unsubscribed');
    const [steps] = await queryRows<{ n: number }>(
      t.database.db,
      sql`select count(*)::int as n from messages where customer_id = ${message.customer_id}`,
    );
    expect(steps!.n).toBe(1);
    expect((await eventsOf('unsubscribe')).length).toBe(2);
  });
});

describe('POST /api/events (ESP webhooks)', () => {
  let t: TestEngine;
  let app: FastifyInstance;
  beforeAll(async () => {
    t = await startTestEngine(SEQUENCE, { clockScale: 86_400 });
    app = await buildServer({ db: t.database.db, apiToken: 'token-123456', bodyLimitBytes: 1 << 20 });
  });
  afterAll(async () => {
    await app.close();
    await t.stop();
  });

  it('suppresses hard bounces and complaints, not soft bounces, and the suppressed are never mailed', async () => {
    const auth = { authorization: 'Bearer token-123456' };
    const refused = await app.inject({ method: 'POST', url: '/api/events', payload: { type: 'bounce', email: 'ada@example.com' } });
    expect(refused.statusCode).toBe(401);
    const bad = await app.inject({
      method: 'POST',
      url: '/api/events',
      headers: auth,
      payload: [{ type: 'bounce', email: 'not-an-email' }],
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().issues[0].path).toBe('[0].email');
    const response = await app.inject({
      method: 'POST',
      url: '/api/events',
      headers: auth,
      payload: [
        { type: 'bounce', email: 'Ada@Example.com', reason: '550 5.1.1 no such user' },
        { type: 'bounce', bounce: 'soft', email: 'grace@example.com' },
        { type: 'complaint', email: 'alan@example.com' },
      ],
    });
    expect(response.json()).toEqual({ stored: 3, suppressed: 2 });
    const suppressed = await queryRows<{ email: string; reason: string }>(
      t.database.db,
      sql`select email, reason from suppressions order by email`,
    );
    expect(suppressed).toEqual([
      { email: 'ada@example.com', reason: 'hard-bounce' },
      { email: 'alan@example.com', reason: 'complaint' },
    ]);
    // An order from a suppressed customer enrolls, but nothing is sent.
    await ingestOrders(t.database.db, [
      {
        order_id: 'ev-1',
        customer_id: 'c-1',
        ordered_at: t.engine.clock.now().toISOString(),
        items: [{ sku: 'ESP-100', quantity: 1, unit_price: '249.00' }],
      },
    ]);
    t.relay.kick();
    const [enrollment] = await eventually(
      async () => {
        const rows = await queryRows<{ state: string; exit_reason: string }>(
          t.database.db,
          sql`select state, exit_reason from enrollments`,
        );
        return rows[0]?.state === 'exited' && rows;
      },
      20_000,
      'the exit',
    );
    expect(enrollment!.exit_reason).toBe('bounced');
    expect(t.smtp.received).toHaveLength(0);
  });
});

describe('human or machine', () => {
  const base = {
    type: 'open' as const,
    method: 'GET',
    userAgent: BROWSER,
    ip: '203.0.113.9',
    sentAt: new Date('2026-01-01T10:00:00Z'),
    at: new Date('2026-01-01T12:00:00Z'),
  };
  it.each<[Partial<TrackedRequest>, MachineReason | null]>([
    [{}, null],
    [{ method: 'HEAD' }, 'head-request'],
    [{ ip: '17.58.1.1' }, 'apple-mpp'],
    [{ userAgent: 'Mozilla/5.0 (via ggpht.com GoogleImageProxy)' }, 'image-proxy'],
    [{ userAgent: 'Mimecast URL scanner' }, 'scanner-ua'],
    [{ userAgent: 'python-requests/2.31' }, 'scanner-ua'],
    [{ at: new Date('2026-01-01T10:00:01Z') }, 'too-fast'],
    [{ type: 'click' as const, at: new Date('2026-01-01T10:00:05Z') }, 'too-fast'],
    [{ type: 'click' as const, ip: '17.58.1.1' }, null],
    // HTTP client libraries and tools are programs, not people.
    ...[
      'axios/1.7.2',
      'node-fetch/1.0 (+https://github.com/bitinn/node-fetch)',
      'node-fetch',
      'undici',
      'node',
      'got (https://github.com/sindresorhus/got)',
      'curl/8.5.0',
      'Wget/1.21.4',
      'Go-http-client/1.1',
      'Go-http-client/2.0',
      'okhttp/4.12.0',
      'Java/17.0.2',
      'Java-http-client/21.0.1',
      'Apache-HttpClient/4.5.14 (Java/17.0.2)',
      'libwww-perl/6.72',
      'python-urllib3/2.0.7',
      'Python/3.11 aiohttp/3.9.1',
      'python-httpx/0.27.0',
      'GuzzleHttp/7',
      'Ruby',
      'Faraday v2.9.0',
      'Dart/3.3 (dart:io)',
      'reqwest/0.12.4',
      'PostmanRuntime/7.39.0',
      'Deno/1.44.0',
      'Bun/1.1.12',
      'Scrapy/2.11.2 (+https://scrapy.org)',
    ].map((userAgent): [Partial<TrackedRequest>, MachineReason] => [{ userAgent }, 'scanner-ua']),
    // Mail clients and browsers stay people.
    ...[
      'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148',
      'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/125.0.0.0 Safari/537.36 Edg/125.0.0.0',
      'Mozilla/5.0 (X11; Linux x86_64; rv:115.0) Gecko/20100101 Thunderbird/115.11.0',
      'Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17126; Pro)',
      'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/125.0.6422.113 Mobile Safari/537.36',
    ].map((userAgent): [Partial<TrackedRequest>, null] => [{ userAgent }, null]),
  ])('%o → %s', (change, reason) => {
    expect(classify({ ...base, ...change }).reason).toBe(reason);
  });
});

describe('the event sink (group commit)', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await freshDatabase('postgres');
  });
  afterAll(() => database.drop());

  const event = (ip: string): TrackedEvent => ({
    messageId: null,
    customerId: null,
    type: 'open',
    isHuman: true,
    machineReason: null,
    linkIndex: null,
    userAgent: 'test',
    ip,
    occurredAt: new Date(),
  });
  /** The transactions that stored the events of `ips`, as how many events each stored, in commit order. */
  const commits = async (prefix: string) =>
    (
      await queryRows<{ n: number }>(
        database.db,
        sql`select count(*)::int as n from events where ip like ${`${prefix}%`} group by xmin::text::bigint order by xmin::text::bigint`,
      )
    ).map((r) => r.n);

  it('stores the events of one turn of the event loop in one insert, with no wait, and those arriving while it runs in the next', async () => {
    const sink = createEventSink(database.db);
    try {
      // Ten in one turn: one insert. Ten more while it runs: the next one.
      const first = Array.from({ length: 10 }, (_, i) => sink.record(event(`10.1.0.${i}`)));
      await new Promise((resolve) => setImmediate(resolve));
      const second = Array.from({ length: 10 }, (_, i) => sink.record(event(`10.1.1.${i}`)));
      await Promise.all([...first, ...second]);
      expect(await commits('10.1.')).toEqual([10, 10]);
      // A lone event is stored at once, not after a fixed wait: it resolves before a 20 ms timer.
      const lone = sink.record(event('10.2.0.1'));
      const winner = await Promise.race([lone.then(() => 'stored'), new Promise((resolve) => setTimeout(() => resolve('timer'), 20))]);
      expect(winner).toBe('stored');
    } finally {
      await sink.close();
    }
  });
});
