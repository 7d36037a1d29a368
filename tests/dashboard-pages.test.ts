/**
 * The dashboard's Preview and Messages pages and the funnel drill-down, on the real Postgres
 * and Redis, in Debian's Chromium (playwright-core) at 375 and 1280 px: no sideways page
 * scroll, no console errors; the captured inbox filtered by the chosen customer; each
 * message linking to its email and its sequence; every drill-down cell counting what the
 * report's funnel counts; every moment in the shop's time zone (not UTC), the columns naming
 * it; a way back from Bull Board.
 */
import { sign } from '@fastify/cookie';
import { sql } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildReport, type Funnel, type VersionReport } from '../src/analytics/report.ts';
import { FUNNEL_STAGES, type FunnelStage } from '../src/analytics/recipients.ts';
import { DEFAULT_ATTRIBUTION } from '../src/core/attribution.ts';
import { fixedClock } from '../src/core/clock.ts';
import { sessionKey, sessionValue } from '../src/dashboard/auth.ts';
import { humanDate, shortDate } from '../src/dashboard/views/format.ts';
import { recipientsLink } from '../src/dashboard/views/messages.tsx';
import { queryRows } from '../src/db/client.ts';
import { startInbox, type Inbox } from '../src/demo/inbox.ts';
import { runStep } from '../src/engine/step.ts';
import { customerExport } from '../src/store/customer-data.ts';
import { rebuildProfiles } from '../src/store/profiles.ts';
import { buildServer } from '../src/http/app.ts';
import { freshDatabase, type TestDatabase } from './helpers/db.ts';
import { AS_OF, dueEnrollment, inboxEngine, prepareExpShop, recordingErrors, serveToChromium, T0 } from './helpers/dashboard.ts';
import { testPreview } from './helpers/engine.ts';
import { freshQueues, type TestQueues } from './helpers/redis.ts';
import { Rows } from './helpers/rows.ts';

const TOKEN = 'pages-token-123';
const SECRET = 'pages-secret-pages-secret-pages-0000';
const DAY = 86_400_000;
const HOUR = 3_600_000;
/** The shop's time zone: UTC-4 in May and June, so a moment written in UTC would show. */
const ZONE = 'America/New_York';
const WIDTHS = [375, 1280];
const BLANK_GIF = 'R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7';

/** The funnel figure a stage's count equals. */
const FIGURE: Record<FunnelStage, (f: Funnel) => number> = {
  sent: (f) => f.sent,
  delivered: (f) => f.delivered,
  opened: (f) => f.opens.human,
  clicked: (f) => f.clicks.human,
  ordered: (f) => f.conversions,
  unsubscribed: (f) => f.unsubscribes,
  bounced: (f) => f.bounced,
};

describe('the preview and messages pages', () => {
  let database: TestDatabase;
  let queues: TestQueues;
  let inbox: Inbox;
  let app: FastifyInstance;
  let base: string;
  let browser: Browser;
  let context: BrowserContext;
  let cookie: string;
  let versionId: number;
  /** Customers the engine sent a real email to (external id, address), and one with only a seeded row. */
  const mailed: { id: string; email: string }[] = [];
  let seededOnly: string;
  const problems: string[] = [];

  beforeAll(async () => {
    database = await freshDatabase('postgres');
    queues = await freshQueues();
    await prepareExpShop(database.db, 'Thanks & co');
    inbox = await startInbox(() => {});
    const rows = new Rows(database.db);
    versionId = (await queryRows<{ id: number }>(database.db, sql`select id from sequence_versions where sequence_id = 'exp'`))[0]!.id;

    // Arms a and b with two steps of sends, opens and clicks by people and machines, bounces,
    // unsubscribes and orders; the holdout with none. Arm b's first step has 60 sends (two pages).
    for (const [arm, size] of [
      ['a', 24],
      ['b', 60],
      ['holdout', 12],
    ] as const) {
      const at = (i: number, plus = 0) => new Date(T0 + (i % 38) * DAY + plus).toISOString();
      const { customers, enrollments } = await rows.enrolledArm({
        sequence: 'exp',
        version: versionId,
        arm,
        count: size,
        at,
        preSpend: (i) => i % 50,
      });
      if (arm === 'holdout') continue;
      for (const [i, enrollment] of enrollments.entries()) {
        const customer = customers[i]!;
        const first = await rows.message(enrollment, customer, 0, at(i, HOUR));
        if (i % 3 === 0) await rows.event(first, customer, 'open', at(i, 2 * HOUR));
        if (i % 4 === 0) await rows.event(first, customer, 'open', at(i, HOUR + 500), 'apple-mpp');
        if (i % 5 === 0) await rows.event(first, customer, 'click', at(i, 2 * HOUR + 60_000));
        if (i % 7 === 0) await rows.event(first, customer, 'click', at(i, HOUR + 900), 'link-scanner');
        if (i % 11 === 5) await rows.event(first, customer, 'bounce', at(i, HOUR + 1_000));
        if (i % 13 === 1) await rows.event(first, customer, 'unsubscribe', at(i, 3 * HOUR));
        if (i % 5 === 0 || i % 9 === 0) {
          // Orders after the touch: credited to it by the attribution model; some twice over.
          const orders = await rows.orders([
            { customer, at: at(i, 20 * HOUR), total: 30 + i },
            ...(i % 10 === 0 ? [{ customer, at: at(i, 30 * HOUR), total: 55 }] : []),
          ]);
          if (i % 15 === 0)
            await database.db.execute(sql`update orders set cancelled_at = ${at(i, 40 * HOUR)}::timestamptz where id = ${orders[0]!}`);
        }
        if (i % 2 === 0) {
          // The second step, for half of them: sent, one of them only after as-of.
          const sentAt = i === 2 ? new Date(AS_OF.getTime() + DAY).toISOString() : at(i, 2 * DAY + HOUR);
          const second = await rows.message(enrollment, customer, 1, sentAt);
          if (i % 4 === 0) await rows.event(second, customer, 'open', at(i, 2 * DAY + 2 * HOUR));
          if (i % 8 === 0) await rows.event(second, customer, 'click', at(i, 2 * DAY + 3 * HOUR));
          if (i === 6) await rows.event(second, customer, 'bounce', at(i, 2 * DAY + HOUR + 1_000));
        }
      }
      // One email opened only after as-of (counted by neither), one failed (never sent).
      const [late] = await queryRows<{ id: number }>(database.db, sql`select min(id)::int as id from messages`);
      await rows.event(late!.id, customers[0]!, 'open', new Date(AS_OF.getTime() + HOUR).toISOString());
      await database.db.execute(sql`update messages set state = 'failed' where id = (select max(id) from messages)`);
    }

    // Two real sends through the engine into the captured inbox, to two customers. The
    // products' images are inline, so the only address in the emails a browser would fetch
    // on its own is the open pixel's (on a host that does not exist).
    await database.db.execute(sql`update products set image_url = ${`data:image/gif;base64,${BLANK_GIF}`} where image_url is not null`);
    const engine = inboxEngine(database.db, queues, inbox, SECRET);
    const customers = await rows.customers(3);
    for (const customer of customers.slice(0, 2)) {
      const [order] = await rows.orders([{ customer, at: new Date(AS_OF.getTime() - 2 * HOUR).toISOString(), total: 80 }]);
      const enrollment = await dueEnrollment(database.db, customer, versionId, order!);
      expect((await runStep(engine, enrollment, 0)).kind).toBe('sent');
    }
    engine.transport.close();
    // The rows above were written straight to their tables, past the ingest that keeps the profiles.
    await rebuildProfiles(database.db);
    for (const id of customers) {
      const [row] = await queryRows<{ external_id: string; email: string }>(
        database.db,
        sql`select external_id, email from customers where id = ${id}`,
      );
      mailed.push({ id: row!.external_id, email: row!.email });
    }
    for (let waited = 0; inbox.emails.length < 2 && waited < 5_000; waited += 50) await new Promise((r) => setTimeout(r, 50));
    expect(inbox.emails.length).toBe(2);
    // The third customer has a seeded email only: no inbox holds it.
    const [order] = await rows.orders([{ customer: customers[2]!, at: new Date(T0).toISOString(), total: 20 }]);
    const [enrollment] = await rows.enrollments([
      {
        customer: customers[2]!,
        sequence: 'exp',
        version: versionId,
        arm: 'b',
        trigger: order!,
        at: new Date(T0).toISOString(),
        preSpend: 0,
      },
    ]);
    await rows.message(enrollment!, customers[2]!, 0, new Date(T0 + HOUR).toISOString());
    seededOnly = mailed.pop()!.id;

    app = await buildServer({
      db: database.db,
      apiToken: TOKEN,
      bodyLimitBytes: 1 << 20,
      clock: fixedClock(AS_OF),
      dashboard: {
        apiToken: TOKEN,
        secret: SECRET,
        sessionHours: 1,
        currency: 'USD',
        timeZone: ZONE,
        queues: queues.queues,
        preview: testPreview(SECRET, inbox),
      },
    });
    ({ base, browser } = await serveToChromium(app));
    const session = sign(sessionValue(Date.now() + DAY, 'P'.repeat(22)), sessionKey({ secret: SECRET, apiToken: TOKEN }));
    cookie = `campaign_session=${encodeURIComponent(session)}`;
    context = await browser.newContext();
    await context.addCookies([{ name: 'campaign_session', value: session, url: base }]);
  }, 90_000);

  afterAll(async () => {
    await context?.close();
    await browser?.close();
    await app?.close();
    await queues?.cleanup();
    await inbox?.close();
    await database?.drop();
  });

  /** A page that records console errors and uncaught exceptions. */
  async function open(width: number): Promise<Page> {
    const page = await context.newPage();
    await page.setViewportSize({ width, height: 900 });
    return recordingErrors(page, problems, `${width}px `);
  }

  const get = (url: string) => app.inject({ method: 'GET', url, headers: { cookie } });

  it('fit 375 and 1280 px without sideways page scroll or console errors, their nav link marked', async () => {
    const [message] = await queryRows<{ id: number }>(database.db, sql`select min(id)::int as id from messages where state = 'sent'`);
    const pages: [string, string][] = [
      ['/preview', 'Preview'],
      ['/preview?q=example.com', 'Preview'],
      ['/preview?customer=c-1', 'Preview'],
      ['/preview?customer=nobody-here', 'Preview'],
      ['/messages', 'Messages'],
      ['/messages?q=x-1', 'Messages'],
      [`/messages?customer=${mailed[0]!.id}`, 'Messages'],
      [recipientsLink({ sequence: 'exp', arm: 'b', step: 1, stage: 'sent' }), 'Messages'],
      [recipientsLink({ sequence: 'exp', arm: 'a', stage: 'ordered' }), 'Messages'],
      [`/messages/${message!.id}`, 'Messages'],
      ['/inbox/0', 'Messages'],
      ['/customers', 'Customers'],
      ['/customers?q=example.com', 'Customers'],
      [`/customers/${mailed[0]!.id}`, 'Customers'],
    ];
    for (const width of WIDTHS) {
      const page = await open(width);
      for (const [path, nav] of pages) {
        const response = await page.goto(`${base}${path}`, { waitUntil: 'load' });
        expect(response?.status(), path).toBe(200);
        const { scroll, client } = await page.evaluate(() => ({
          scroll: document.documentElement.scrollWidth,
          client: document.documentElement.clientWidth,
        }));
        expect(scroll, `${path} at ${width} px`).toBeLessThanOrEqual(client);
        // Every table scrolls inside its own box, so its last column is always reachable.
        expect(await page.locator('table').evaluateAll((tables) => tables.filter((t) => !t.closest('.scroll')).length), path).toBe(0);
        expect(await page.locator('header nav a[aria-current=page]').textContent(), path).toBe(nav);
      }
      // Every field of the forms fits the screen.
      await page.goto(`${base}/preview?customer=c-1`);
      for (const field of await page.locator('form.stack input:not([type=hidden]), form.stack select, form.stack button').all()) {
        const box = (await field.boundingBox())!;
        expect(box.x + box.width, `a field at ${width} px`).toBeLessThanOrEqual(width);
        expect(box.width).toBeGreaterThan(40);
      }
      await page.close();
    }
    // No console error on /inbox/0 either: its open pixel, on a host that does not exist, was never fetched.
    expect(problems).toEqual([]);
  });

  it("shows a customer's page, reached from a search and from their emails: the export's orders, sequences and emails", async () => {
    const page = await open(1280);
    const { id, email } = mailed[0]!;
    // A search that finds one customer opens their page.
    await page.goto(`${base}/customers?q=${encodeURIComponent(email)}`);
    expect(new URL(page.url()).pathname).toBe(`/customers/${id}`);
    const data = (await customerExport(database.db, id))!;
    expect(await page.locator('#profile [data-field=consent]').textContent()).toContain(data.customer.acceptsMarketing);
    expect(await page.locator('#profile [data-field=segment]').textContent()).toMatch(/^(new|active|loyal|at_risk|lapsed) · RFM \d{3}/);
    expect(await page.locator('#orders tbody tr').count()).toBe(data.orders.length);
    expect(await page.locator('#enrollments tbody tr').count()).toBe(data.enrollments.length);
    expect(await page.locator('#emails li').count()).toBe(data.messages.length);
    expect(data.messages.length).toBeGreaterThan(0);
    // Each email opens its page; the messages page leads back here.
    await Promise.all([page.waitForLoadState('load'), page.click('#emails li:first-child a')]);
    expect(new URL(page.url()).pathname).toBe(`/messages/${data.messages[0]!.id}`);
    await page.goto(`${base}/messages?customer=${id}`);
    await Promise.all([page.waitForLoadState('load'), page.click('#customer-page')]);
    expect(new URL(page.url()).pathname).toBe(`/customers/${id}`);
    // Several matches are listed; an unknown id is a 404 that says so.
    await page.goto(`${base}/customers?q=example.com`);
    expect(await page.locator('#matches li').count()).toBeGreaterThan(1);
    const unknown = await get('/customers/nobody-here');
    expect([unknown.statusCode, unknown.body]).toEqual([404, expect.stringContaining('No customer has the id')]);
    await page.close();
  });

  it('filters the captured inbox by the chosen customer', async () => {
    const page = await open(1280);
    await page.goto(`${base}/messages`);
    expect(await page.getAttribute('#inbox-count', 'data-count')).toBe(String(inbox.emails.length));
    for (const { id, email } of mailed) {
      await page.goto(`${base}/messages?customer=${id}`);
      const expected = inbox.emails.filter((e) => e.to === email).length;
      expect(expected).toBe(1);
      expect(await page.getAttribute('#inbox-count', 'data-count')).toBe(String(expected));
      expect(await page.textContent('#inbox-count')).toContain(`1 email to ${email} in the inbox`);
      expect(await page.locator('#inbox tbody td:first-child').allTextContents()).toEqual([email]);
    }
    // A search that finds one customer chooses them.
    await page.goto(`${base}/messages?q=${encodeURIComponent(mailed[1]!.email)}`);
    expect(await page.textContent('#inbox-count')).toContain(`1 email to ${mailed[1]!.email}`);
    await page.close();
  });

  it('links each message to its email and its sequence, arm and step', async () => {
    const page = await open(1280);
    // Sent through the engine: the captured inbox has it, by its Message-ID.
    const { id, email } = mailed[0]!;
    await page.goto(`${base}/messages?customer=${id}`);
    const row = page.locator('#messages tbody tr').first();
    expect(await row.locator('[data-origin]').textContent()).toBe('exp · arm a · step 1 (thank-you)');
    expect(await row.locator('[data-origin] a').getAttribute('href')).toBe('/sequences/exp#arm-a');
    const [stored] = await queryRows<{ message_id: string }>(
      database.db,
      sql`select m.message_id from messages m join customers c on c.id = m.customer_id where c.external_id = ${id}`,
    );
    const href = (await row.locator('a[data-email]').getAttribute('href'))!;
    const index = Number(/^\/inbox\/(\d+)$/.exec(href)![1]);
    expect(inbox.emails[index]!.messageId).toBe(stored!.message_id);
    expect(inbox.emails[index]!.to).toBe(email);
    await Promise.all([page.waitForURL(`${base}${href}`), row.locator('a[data-email]').click()]);
    expect(await page.textContent('h1')).toBe(inbox.emails[index]!.subject);
    await expect.poll(() => page.frameLocator('iframe[title=email]').locator('body').textContent()).toContain('Demo Coffee');

    // Seeded, in no inbox: its recorded facts, with the way to its sequence.
    await page.goto(`${base}/messages?customer=${seededOnly}`);
    const seeded = page.locator('#messages tbody tr').first();
    expect(await seeded.locator('[data-origin]').textContent()).toBe('exp · arm b · step 1');
    const recorded = (await seeded.locator('a[data-email]').getAttribute('href'))!;
    expect(recorded).toMatch(/^\/messages\/\d+$/);
    await Promise.all([page.waitForURL(`${base}${recorded}`), seeded.locator('a[data-email]').click()]);
    expect(await page.textContent('.notice')).toContain('is not stored');
    expect(await page.textContent('#origin')).toContain('exp · arm b · step 1');
    expect(await page.locator('#origin a').getAttribute('href')).toBe('/sequences/exp#arm-b');

    // The engine's message on its own page: its template version's preview, its inbox copy.
    const [sent] = await queryRows<{ id: number; template_version_id: number }>(
      database.db,
      sql`select m.id, m.template_version_id from messages m join customers c on c.id = m.customer_id where c.external_id = ${id}`,
    );
    await page.goto(`${base}/messages/${sent!.id}`);
    expect(await page.getAttribute('#preview', 'href')).toBe(`/preview?version=${sent!.template_version_id}&customer=${id}`);
    expect(await page.locator(`a[href="/inbox/${index}"]`).count()).toBe(1);
    expect(await page.locator('#links li').count()).toBeGreaterThan(0);
    expect((await get('/messages/999999999')).statusCode).toBe(404);
    await page.close();
  });

  it("counts each funnel cell's recipients as the report's funnel does, a page of 50 at a time", async () => {
    const report = async (enrolledFrom?: Date) => {
      const built = await buildReport(database.db, {
        asOf: AS_OF,
        attribution: DEFAULT_ATTRIBUTION,
        minSample: 100,
        sequenceId: 'exp',
        enrolledFrom,
      });
      return built.sequences[0]!.versions[0]!;
    };
    const countOf = async (url: string) => {
      const response = await get(url);
      expect(response.statusCode, url).toBe(200);
      return Number(/id="recipients-count" data-count="(\d+)"/.exec(response.body)![1]);
    };
    const check = async (version: VersionReport, period?: '30d') => {
      const nonzero = new Set<FunnelStage>();
      for (const arm of version.arms)
        for (const step of [undefined, ...arm.steps.map((s) => s.step)]) {
          const funnel = step === undefined ? arm : arm.steps[step - 1]!;
          for (const stage of FUNNEL_STAGES) {
            const expected = FIGURE[stage](funnel);
            if (expected > 0) nonzero.add(stage);
            const url = recipientsLink({ sequence: 'exp', version: version.versionId, arm: arm.arm, step, stage, period });
            expect(await countOf(url), url).toBe(expected);
          }
        }
      return nonzero;
    };
    // Every stage has recipients somewhere, so each comparison means something.
    expect([...(await check(await report()))].sort()).toEqual([...FUNNEL_STAGES].sort());
    expect((await check(await report(new Date(AS_OF.getTime() - 30 * DAY)), '30d')).size).toBeGreaterThan(2);

    // The live version is the default; 60 sends are two pages that never overlap.
    const cell = recipientsLink({ sequence: 'exp', arm: 'b', step: 1, stage: 'sent' });
    expect(await countOf(cell)).toBe(60);
    const ids = (body: string) => [...body.matchAll(/<tr data-message="(\d+)"/g)].map((m) => m[1]);
    const first = ids((await get(cell)).body);
    const second = ids((await get(`${cell}&page=2`)).body);
    expect([first.length, second.length]).toEqual([50, 10]);
    expect(new Set([...first, ...second]).size).toBe(60);
    // Ordered: one row per attributed order.
    const ordered = recipientsLink({ sequence: 'exp', arm: 'b', stage: 'ordered' });
    expect(ids((await get(ordered)).body).length).toBe(await countOf(ordered));
  });

  it("writes every moment in the shop's time zone, the columns naming it", async () => {
    // Compact in tables: the year only when it is not now's in the zone; the day alone.
    const june = { now: new Date('2026-06-01T12:00:00Z') };
    expect(shortDate('2025-12-31T23:30:00Z', 'Europe/Berlin', june)).toBe('1 Jan, 00:30');
    expect(shortDate('2025-12-31T23:30:00Z', ZONE, june)).toBe('31 Dec 2025, 18:30');
    expect(shortDate('2026-05-24T02:00:00Z', ZONE, { ...june, day: true })).toBe('23 May');
    expect(shortDate('2026-05-24T02:00:00Z', ZONE, { day: true })).toBe('23 May 2026');
    const short = (at: Date) => shortDate(at, ZONE, { now: AS_OF });
    const ms = (value: number | string | null) => (value === null ? null : new Date(Number(value)));
    const page = await open(1280);

    // The drill-down: its as-of line, its heads, each row's sent moment and first human click.
    await page.goto(`${base}${recipientsLink({ sequence: 'exp', arm: 'b', step: 1, stage: 'clicked' })}`);
    expect(await page.textContent('#recipients-count [data-field=asOf]')).toBe(humanDate(AS_OF, ZONE));
    expect(humanDate(AS_OF, ZONE)).toBe('13 Jun 2026, 05:00 GMT-4');
    expect(await page.locator('#recipient-rows thead th').allTextContents()).toEqual([
      'customer',
      'email',
      `sent (${ZONE})`,
      'state',
      `first human open (${ZONE})`,
      `first human click (${ZONE})`,
      `first attributed order (${ZONE})`,
    ]);
    const rows = await page.locator('#recipient-rows tbody tr').all();
    expect(rows.length).toBeGreaterThan(0);
    for (const row of rows) {
      const [m] = await queryRows<{ sent: string; click: string | null }>(
        database.db,
        sql`select (extract(epoch from m.sent_at) * 1000)::float8 as sent,
                   (select extract(epoch from min(e.occurred_at)) * 1000 from events e
                     where e.message_id = m.id and e.type = 'click' and e.is_human and e.occurred_at <= ${AS_OF.toISOString()}::timestamptz)::float8 as click
            from messages m where m.id = ${Number(await row.getAttribute('data-message'))}`,
      );
      const cells = await row.locator('td').allTextContents();
      expect(cells[2]).toBe(short(ms(m!.sent)!));
      expect(cells[5]).toBe(short(ms(m!.click)!));
    }

    // A customer's emails and one email's page.
    await page.goto(`${base}/messages?customer=${seededOnly}`);
    expect(await page.locator('#messages thead th').allTextContents()).toContain(`sent (${ZONE})`);
    const [seeded] = await queryRows<{ id: number; sent: string; made: string }>(
      database.db,
      sql`select m.id, (extract(epoch from m.sent_at) * 1000)::float8 as sent, (extract(epoch from m.created_at) * 1000)::float8 as made
          from messages m join customers c on c.id = m.customer_id where c.external_id = ${seededOnly}`,
    );
    expect(await page.locator(`#messages tr[data-message="${seeded!.id}"] td`).nth(3).textContent()).toBe(short(ms(seeded!.sent)!));
    await page.goto(`${base}/messages/${seeded!.id}`);
    const facts = await page.evaluate(() =>
      Object.fromEntries(Array.from(document.querySelectorAll('dt')).map((dt) => [dt.textContent, dt.nextElementSibling?.textContent])),
    );
    expect([facts.made, facts.sent]).toEqual([humanDate(ms(seeded!.made)!, ZONE), humanDate(ms(seeded!.sent)!, ZONE)]);

    // The captured inbox, newest first.
    await page.goto(`${base}/messages`);
    expect(await page.locator('#inbox thead th').allTextContents()).toEqual(['to', 'subject', `received (${ZONE})`]);
    expect(await page.locator('#inbox tbody td:nth-child(3)').allTextContents()).toEqual(
      [...inbox.emails].reverse().map((email) => short(email.receivedAt)),
    );

    // The preview's versions, each with the day it was published there.
    const published = await queryRows<{ id: number; at: string }>(
      database.db,
      sql`select id, (extract(epoch from published_at) * 1000)::float8 as at from template_versions`,
    );
    await page.goto(`${base}/preview`);
    const options = await page.locator('select[name=version] option').all();
    expect(options.length).toBe(published.length);
    for (const option of options) {
      const value = await option.getAttribute('value');
      const version = published.find((v) => String(v.id) === value)!;
      expect(await option.textContent()).toMatch(new RegExp(` · published ${shortDate(ms(version.at)!, ZONE, { day: true })}$`));
    }
    await page.close();
  });

  it('refuses malformed drill-down values with a 400 naming the field, and unknown cells with a 404', async () => {
    const cell = '/messages?sequence=exp&arm=a&stage=sent';
    for (const [url, field] of [
      ['/messages?sequence=exp&arm=a&stage=foo', 'stage'],
      [`${cell}&step=-1`, 'step'],
      [`${cell}&step=0`, 'step'],
      ['/messages?sequence=exp&arm=a%00&stage=sent', 'arm'],
      [`${cell}&version=x`, 'version'],
      [`${cell}&page=0`, 'page'],
      ['/messages?sequence=exp&stage=sent', 'arm'],
      ['/messages?arm=a&stage=sent', 'sequence'],
      ['/messages?sequence=exp%00&arm=a&stage=sent', 'sequence'],
    ]) {
      const response = await get(url!);
      expect(response.statusCode, url).toBe(400);
      expect(response.body, url).toMatch(new RegExp(`\\b${field}: `));
    }
    for (const url of [
      '/messages?sequence=nope&arm=a&stage=sent',
      `${cell}&version=999999`,
      '/messages?sequence=exp&arm=c&stage=sent',
      `${cell}&step=3`,
    ])
      expect((await get(url)).statusCode, url).toBe(404);
  });

  it('Bull Board has a link back to the dashboard, in sight and in its menu', async () => {
    for (const width of WIDTHS) {
      const page = await open(width);
      await page.goto(`${base}/admin/queues`);
      const back = page.locator('#back-to-dashboard');
      await back.waitFor();
      expect(await back.getAttribute('href')).toBe('/');
      expect(await back.isVisible()).toBe(true);
      // Bull Board's own menu (its `miscLinks`), behind the person icon of its header.
      await page.locator('header button[aria-haspopup=menu]').first().click();
      const item = page.getByRole('menuitem', { name: 'Back to the dashboard' });
      expect(await item.getAttribute('href')).toBe('/');
      await page.keyboard.press('Escape');
      await Promise.all([page.waitForURL(`${base}/`), back.click()]);
      await page.close();
    }
  });
});
