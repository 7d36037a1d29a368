/**
 * The dashboard's Webhooks page and `campaign webhooks`, on the real Postgres, with
 * deliveries posted signed to the real POST /webhooks/shopify: in Debian's Chromium at 375
 * and 1280 px the page counts the week per outcome and lists the dead letter with its reason,
 * the privacy requests and the ignored topic; a dead letter's page shows its payload as text
 * (a script in it is never run, its 64-bit id exact); a data request's export downloads as a
 * JSON attachment; the overview's notice leads there; an unknown or malformed delivery is a
 * 404 page. `webhooks list --json` and `show` print the same rows.
 */
import { createHmac } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { sign as signCookie } from '@fastify/cookie';
import type { FastifyInstance } from 'fastify';
import { LosslessNumber, parse, stringify } from 'lossless-json';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sessionKey, sessionValue } from '../src/dashboard/auth.ts';
import { buildServer } from '../src/http/app.ts';
import { campaignInProcess } from './helpers/cli.ts';
import { recordingErrors, serveToChromium } from './helpers/dashboard.ts';
import { freshDatabase, type TestDatabase } from './helpers/db.ts';
import { FIXTURES } from './helpers/files.ts';

const TOKEN = 'webhooks-page-token-123';
const SECRET = 'webhooks-page-secret-webhooks-0000';
const SHOPIFY_SECRET = 'shpss_dashboard_webhooks_0123';
const DAY = 86_400_000;
const WIDTHS = [375, 1280];
const SCRIPT = '<script>alert(1)</script>';
/** Beyond 2^53: JSON.parse would make it 9007199254740992. */
const BIG_ORDER_ID = '9007199254740993';
const CUSTOMER_ID = '706405506930370084';

const fixture = (name: string) => parse(readFileSync(`${FIXTURES}shopify/${name}.json`, 'utf8')) as Record<string, unknown>;
const hmac = (body: string) => createHmac('sha256', SHOPIFY_SECRET).update(body, 'utf8').digest('base64');

describe('the webhooks page and `campaign webhooks`', () => {
  let database: TestDatabase;
  let app: FastifyInstance;
  let base: string;
  let browser: Browser;
  let context: BrowserContext;
  let cookie: string;
  let env: Record<string, string>;
  const problems: string[] = [];
  const dialogs: string[] = [];

  /** Posts `payload` as Shopify would, signed, with delivery id `id`: the outcome the route answers. */
  const deliver = async (topic: string, id: string, payload: unknown) => {
    const body = stringify(payload)!;
    const res = await app.inject({
      method: 'POST',
      url: '/webhooks/shopify',
      headers: {
        'content-type': 'application/json',
        'x-shopify-topic': topic,
        'x-shopify-webhook-id': id,
        'x-shopify-shop-domain': 'demo-shop.myshopify.com',
        'x-shopify-hmac-sha256': hmac(body),
      },
      payload: body,
    });
    expect(res.statusCode).toBe(200);
    return res.json<{ outcome: string }>().outcome;
  };
  const get = (url: string) => app.inject({ method: 'GET', url, headers: { cookie } });

  beforeAll(async () => {
    database = await freshDatabase('postgres');
    env = { DATABASE_URL: database.url!, LOG_LEVEL: 'silent' };
    app = await buildServer({
      db: database.db,
      apiToken: TOKEN,
      bodyLimitBytes: 1 << 20,
      webhooks: { shopifySecret: SHOPIFY_SECRET, shopCurrency: 'USD' },
      dashboard: { apiToken: TOKEN, secret: SECRET, sessionHours: 1, currency: 'USD', timeZone: 'Europe/Berlin' },
    });
    // A customer (stored), their data request (the export kept), an order in another
    // currency carrying markup and a 64-bit id (a dead letter), an unknown topic (ignored)
    // and a customer redaction of someone never stored (privacy, nothing kept).
    expect(await deliver('customers/create', 'customer-1', fixture('customer-create'))).toBe('stored');
    const request = {
      shop_id: 954889,
      shop_domain: 'demo-shop.myshopify.com',
      orders_requested: [],
      customer: { id: new LosslessNumber(CUSTOMER_ID), email: 'bob@example.com', phone: null },
      data_request: { id: 9999 },
    };
    expect(await deliver('customers/data_request', 'request-1', request)).toBe('privacy');
    const order = { ...fixture('order-create'), id: new LosslessNumber(BIG_ORDER_ID), currency: 'CAD', note: SCRIPT };
    expect(await deliver('orders/create', 'dead-1', order)).toBe('dead_letter');
    expect(await deliver('inventory_levels/update', 'unknown-1', { inventory_item_id: 1, available: 3 })).toBe('ignored');
    expect(
      await deliver('customers/redact', 'shop-redact-1', {
        shop_id: 954889,
        customer: { id: 42, email: 'gone@example.com' },
        orders_to_redact: [],
      }),
    ).toBe('privacy');

    ({ base, browser } = await serveToChromium(app));
    const session = signCookie(sessionValue(Date.now() + DAY, 'W'.repeat(22)), sessionKey({ secret: SECRET, apiToken: TOKEN }));
    cookie = `campaign_session=${encodeURIComponent(session)}`;
    context = await browser.newContext({ acceptDownloads: true });
    await context.addCookies([{ name: 'campaign_session', value: session, url: base }]);
  }, 120_000);

  afterAll(async () => {
    await context?.close();
    await browser?.close();
    await app?.close();
    await database?.drop();
  });

  async function open(width: number): Promise<Page> {
    const page = await context.newPage();
    await page.setViewportSize({ width, height: 900 });
    page.on('dialog', (dialog) => {
      dialogs.push(dialog.message());
      void dialog.dismiss();
    });
    return recordingErrors(page, problems, `${width}px `);
  }

  it('lists the week per outcome, the dead letter with its reason, the privacy requests and the ignored topic, at 375 and 1280 px', async () => {
    for (const width of WIDTHS) {
      const page = await open(width);
      const response = await page.goto(`${base}/webhooks`, { waitUntil: 'load' });
      expect(response?.status()).toBe(200);
      expect(await page.locator('header nav a[aria-current=page]').textContent()).toBe('Webhooks');
      const { scroll, client } = await page.evaluate(() => ({
        scroll: document.documentElement.scrollWidth,
        client: document.documentElement.clientWidth,
      }));
      expect(scroll, `at ${width} px`).toBeLessThanOrEqual(client);
      expect(await page.locator('table').evaluateAll((tables) => tables.filter((t) => !t.closest('.scroll')).length)).toBe(0);

      const counts = (field: string) => page.locator(`#delivery-counts tr[data-platform=shopify] [data-field=${field}]`).textContent();
      expect([await counts('stored'), await counts('ignored'), await counts('dead_letter'), await counts('privacy')]).toEqual([
        '1',
        '1',
        '1',
        '2',
      ]);
      expect(await counts('total')).toBe('5');

      const dead = page.locator('#dead-letters tr[data-delivery="dead-1"]');
      expect(await dead.locator('[data-field=topic]').textContent()).toBe('orders/create');
      expect(await dead.locator('[data-field=platform]').textContent()).toBe('shopify');
      expect(await dead.locator('[data-field=reason]').textContent()).toBe(`order ${BIG_ORDER_ID} is in CAD; this shop reports in USD`);
      expect(await dead.locator('[data-field=deliveryId] a').getAttribute('href')).toBe('/webhooks/shopify/dead-1');

      const request = page.locator('#privacy-requests tr[data-delivery="request-1"]');
      expect(await request.locator('[data-field=reason]').textContent()).toContain(`customer ${CUSTOMER_ID}`);
      expect(await request.locator('[data-field=export] a').getAttribute('href')).toBe('/webhooks/shopify/request-1/payload.json');
      // A redaction keeps nothing: no export, and its reason says what was done.
      const redact = page.locator('#privacy-requests tr[data-delivery="shop-redact-1"]');
      expect(await redact.locator('[data-field=export]').textContent()).toBe('—');
      expect(await redact.locator('[data-field=reason]').textContent()).toContain('customer 42: not-found');

      expect(await page.locator('#ignored tr[data-delivery="unknown-1"] [data-field=reason]').textContent()).toBe(
        'unknown topic "inventory_levels/update"',
      );
      await page.close();
    }
    expect(problems).toEqual([]);
  });

  it("shows a dead letter's payload as text, never run, its 64-bit id exact", async () => {
    for (const width of WIDTHS) {
      const page = await open(width);
      await page.goto(`${base}/webhooks`);
      await Promise.all([page.waitForLoadState('load'), page.click('#dead-letters tr[data-delivery="dead-1"] [data-field=deliveryId] a')]);
      expect(new URL(page.url()).pathname).toBe('/webhooks/shopify/dead-1');
      expect(await page.locator('#delivery [data-field=reason]').textContent()).toBe(
        `order ${BIG_ORDER_ID} is in CAD; this shop reports in USD`,
      );
      const payload = (await page.locator('#payload').textContent())!;
      expect(payload).toContain(`"note": ${JSON.stringify(SCRIPT)}`);
      // The route keeps a 64-bit id exact, as text.
      expect(payload).toContain(`"id": "${BIG_ORDER_ID}",`);
      // The markup is text: no element of it in the page, nothing run.
      expect(await page.locator('main script').count()).toBe(0);
      expect(await page.locator('#payload *').count()).toBe(0);
      const { scroll, client } = await page.evaluate(() => ({
        scroll: document.documentElement.scrollWidth,
        client: document.documentElement.clientWidth,
      }));
      expect(scroll, `at ${width} px`).toBeLessThanOrEqual(client);
      await page.close();
    }
    const html = (await get('/webhooks/shopify/dead-1')).body;
    expect(html).toContain('&lt;script>alert(1)&lt;/script>');
    expect(html).not.toContain(SCRIPT);
    expect(dialogs).toEqual([]);
    expect(problems).toEqual([]);
  });

  it("downloads a data request's export as a JSON attachment", async () => {
    const page = await open(1280);
    await page.goto(`${base}/webhooks`);
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.click('#privacy-requests tr[data-delivery="request-1"] [data-field=export] a'),
    ]);
    expect(download.suggestedFilename()).toBe('shopify-request-1.json');
    const exported = await readFile(await download.path(), 'utf8');
    expect(Object.keys(parse(exported) as object)).toContain('customer');
    expect(exported).toContain('bob@example.com');
    await page.close();

    const res = await get('/webhooks/shopify/request-1/payload.json');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.headers['content-disposition']).toBe('attachment; filename="shopify-request-1.json"');
    expect(problems).toEqual([]);
  });

  it('leads from the overview to the dead letters', async () => {
    const page = await open(375);
    await page.goto(`${base}/`);
    expect(await page.locator('#dead-letters').textContent()).toContain('one delivery from the shop platform could not be stored');
    await Promise.all([page.waitForLoadState('load'), page.click('#dead-letters a[href="/webhooks"]')]);
    expect(new URL(page.url()).pathname).toBe('/webhooks');
    expect(await page.locator('#dead-letters tr[data-delivery="dead-1"]').count()).toBe(1);
    await page.close();
    expect(problems).toEqual([]);
  });

  it('answers an unknown or malformed delivery with a 404 page, never a 500', async () => {
    for (const url of [
      '/webhooks/shopify/no-such-delivery',
      '/webhooks/shopify/no-such-delivery/payload.json',
      '/webhooks/magento/dead-1',
      '/webhooks/magento/dead-1/payload.json',
      '/webhooks/shopify/dead%00letter',
      '/webhooks/shopify/%0A',
      `/webhooks/shopify/${'x'.repeat(100)}`,
      '/webhooks/shopify/%E2%80%AE-1',
      // Kept nothing: no payload to download.
      '/webhooks/shopify/unknown-1/payload.json',
      '/webhooks/shopify/shop-redact-1/payload.json',
    ]) {
      const res = await get(url);
      expect(res.statusCode, url).toBe(404);
      expect(res.headers['content-type'], url).toMatch(/^text\/html/);
      expect(res.body, url).toContain('No such webhook delivery');
    }
    // Longer than any parameter the router takes (100 characters): its own 414, not a 5xx.
    expect((await get(`/webhooks/shopify/${'x'.repeat(300)}`)).statusCode).toBe(414);
    // A stored delivery has a page, without a payload.
    const stored = await get('/webhooks/shopify/customer-1');
    expect(stored.statusCode).toBe(200);
    expect(stored.body).toContain('id="no-payload"');
    // Behind the session like every page.
    const stranger = await app.inject({ method: 'GET', url: '/webhooks/shopify/dead-1' });
    expect(stranger.statusCode).toBe(303);
  });

  it('`webhooks list --json` and `show` print the same deliveries', async () => {
    const listed = await campaignInProcess(['webhooks', 'list', '--json'], env);
    expect([listed.code, listed.stderr]).toEqual([0, '']);
    const dead = JSON.parse(listed.stdout) as Record<string, unknown>[];
    expect(dead).toEqual([
      {
        platform: 'shopify',
        deliveryId: 'dead-1',
        topic: 'orders/create',
        outcome: 'dead_letter',
        reason: `order ${BIG_ORDER_ID} is in CAD; this shop reports in USD`,
        receivedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
        payloadKept: true,
      },
    ]);
    const privacy = JSON.parse((await campaignInProcess(['webhooks', 'list', '--outcome', 'privacy', '--json'], env)).stdout) as {
      deliveryId: string;
      payloadKept: boolean;
    }[];
    expect(privacy.map((p) => [p.deliveryId, p.payloadKept]).sort()).toEqual([
      ['request-1', true],
      ['shop-redact-1', false],
    ]);
    const one = await campaignInProcess(['webhooks', 'list', '--outcome', 'privacy', '--limit', '1', '--json'], env);
    expect((JSON.parse(one.stdout) as unknown[]).length).toBe(1);
    const text = await campaignInProcess(['webhooks', 'list'], env);
    expect(text.stdout).toMatch(/shopify +orders\/create +dead-1 +order 9007199254740993 is in CAD/);

    const shown = await campaignInProcess(['webhooks', 'show', 'shopify', 'dead-1', '--json'], env);
    expect(shown.code).toBe(0);
    // The payload as received: the 64-bit id exact, the markup as it came.
    expect(shown.stdout).toContain(`"id": "${BIG_ORDER_ID}",`);
    const body = parse(shown.stdout) as Record<string, unknown> & { payload: { note: string } };
    expect({ ...body, payload: undefined }).toEqual({ ...dead[0], payload: undefined });
    expect(body.payload.note).toBe(SCRIPT);
    const plain = await campaignInProcess(['webhooks', 'show', 'shopify', 'dead-1'], env);
    expect(plain.stdout).toContain('reason       order 9007199254740993 is in CAD');
    expect(plain.stdout).toContain(`"note": ${JSON.stringify(SCRIPT)}`);

    const missing = await campaignInProcess(['webhooks', 'show', 'shopify', 'no-such'], env);
    expect([missing.code, missing.stderr]).toEqual([1, 'campaign: no shopify delivery "no-such"\n']);
    const badOutcome = await campaignInProcess(['webhooks', 'list', '--outcome', 'lost'], env);
    expect(badOutcome.code).toBe(2);
    expect(badOutcome.stderr).toContain('--outcome: expected one of dead_letter, privacy, ignored, stored');
    const badPlatform = await campaignInProcess(['webhooks', 'show', 'magento', 'dead-1'], env);
    expect(badPlatform.code).toBe(2);
  });
});
