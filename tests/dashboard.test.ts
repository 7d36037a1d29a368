/**
 * The dashboard in a real browser (Debian's Chromium through playwright-core) against the
 * engine's HTTP server on the real Postgres and Redis, with seeded data.
 */
import { sql } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Report } from '../src/analytics/report.ts';
import { queryRows } from '../src/db/client.ts';
import { buildServer } from '../src/http/app.ts';
import { createEventSink, type EventSink } from '../src/tracking/events.ts';
import { fixedClock } from '../src/core/clock.ts';
import { DEFAULT_RULES } from '../src/core/recommend.ts';
import { openRows } from '../src/ingest/read.ts';
import { buildContext } from '../src/templates/context.ts';
import { tempFile } from './helpers/files.ts';
import { startInbox, type Inbox } from '../src/demo/inbox.ts';
import { sign } from '@fastify/cookie';
import { sessionKey, sessionValue } from '../src/dashboard/auth.ts';
import { runStep } from '../src/engine/step.ts';
import { campaign } from './helpers/cli.ts';
import { freshDatabase, type TestDatabase } from './helpers/db.ts';
import { AS_OF, dueEnrollment, inboxEngine, logInAt, prepareExpShop, recordingErrors, serveToChromium, T0 } from './helpers/dashboard.ts';
import { TEST_SHOP, testPreview } from './helpers/engine.ts';
import { freshQueues, type TestQueues } from './helpers/redis.ts';
import { Rows } from './helpers/rows.ts';
import { importCodes, poolSummaries } from '../src/store/discount-codes.ts';
import { buildReport } from '../src/analytics/report.ts';
import { moneyFormat } from '../src/analytics/format.ts';
import { sequenceSummaries } from '../src/analytics/overview.ts';
import { attributionInWords, DEFAULT_ATTRIBUTION } from '../src/core/attribution.ts';
import { evidentWinner } from '../src/core/promote.ts';
import { progressWords } from '../src/dashboard/views/decision.tsx';
import { humanDate } from '../src/dashboard/views/format.ts';

/** What the tests read of Chart.js in the page. */
interface ChartGlobal {
  getChart(
    canvas: HTMLCanvasElement | string,
  ):
    | { chartArea: { top: number; bottom: number }; data: { labels: unknown[]; datasets: { label: string }[] }; options: unknown }
    | undefined;
}

const TOKEN = 'dashboard-token-123';
const SHOP = TEST_SHOP;
const SECRET = 'dashboard-secret-dashboard-secret-0000';
const DAY = 86_400_000;

describe('the dashboard', () => {
  let database: TestDatabase;
  let queues: TestQueues;
  let events: EventSink;
  let app: FastifyInstance;
  let base: string;
  let browser: Browser;
  let inbox: Inbox;
  let rows: Rows;
  const problems: string[] = [];

  beforeAll(async () => {
    database = await freshDatabase('postgres');
    queues = await freshQueues();
    // Real orders with items, so previews have recommendations; one product named with markup.
    await prepareExpShop(database.db, 'Thanks <b>bold</b> & co');
    await database.db.execute(sql`update products set name = 'Burr <b>Grinder</b>' where sku = 'GRN-10'`);
    inbox = await startInbox(() => {});
    rows = new Rows(database.db);
    const [{ id: version } = { id: 0 }] = await queryRows<{ id: number }>(
      database.db,
      sql`select id from sequence_versions where sequence_id = 'exp'`,
    );
    let n = 0;
    for (const arm of ['a', 'b', 'holdout']) {
      const at = (i: number, plus = 0) => new Date(T0 + (i % 10) * DAY + plus).toISOString();
      const { customers, enrollments } = await rows.enrolledArm({
        sequence: 'exp',
        version,
        arm,
        count: 30,
        at,
        preSpend: (i) => (i * 13) % 90,
      });
      await rows.orders(
        customers.flatMap((c, i) =>
          (i + n++) % 3 === 0 ? [{ customer: c, at: at(i, 2 * DAY), total: 25 + i + (arm === 'b' ? 10 : 0) }] : [],
        ),
      );
      // A quarter of each arm bought before (repeat buyers, enrolled as `active`), the rest are new:
      // the breakdown by buyer and segment has cells of both kinds.
      await rows.orders(customers.flatMap((c, i) => (i % 4 === 0 ? [{ customer: c, at: at(i, -60 * DAY), total: 30 }] : [])));
      await database.db.execute(
        sql`update enrollments set segment = case when id in (${sql.join(
          enrollments.filter((_, i) => i % 4 === 0).map((id) => sql`${id}`),
          sql`, `,
        )}) then 'active' else 'new' end where id in (${sql.join(
          enrollments.map((id) => sql`${id}`),
          sql`, `,
        )})`,
      );
      if (arm === 'holdout') continue;
      for (const [i, enrollment] of enrollments.slice(0, 6).entries()) {
        const message = await rows.message(enrollment, customers[i]!, 0, at(i, 3_600_000));
        await rows.event(message, customers[i]!, 'open', at(i, 2 * 3_600_000));
        if (i % 2 === 0) await rows.event(message, customers[i]!, 'click', at(i, 2 * 3_600_000 + 60_000));
        if (i === 5) await rows.event(message, customers[i]!, 'open', at(i, 3_600_000 + 500), 'apple-mpp');
      }
    }
    events = createEventSink(database.db);
    const clock = fixedClock(AS_OF);
    app = await buildServer({
      db: database.db,
      apiToken: TOKEN,
      bodyLimitBytes: 1 << 20,
      tracking: { secret: SECRET, clock, events },
      dashboard: {
        apiToken: TOKEN,
        secret: SECRET,
        sessionHours: 1,
        // The browser tests log in a dozen times a minute from one address.
        loginsPerMinute: 30,
        currency: 'USD',
        timeZone: 'Europe/Berlin',
        queues: queues.queues,
        preview: testPreview(SECRET, inbox),
      },
    });
    ({ base, browser } = await serveToChromium(app));
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await app?.close();
    await events?.close();
    await queues?.cleanup();
    await inbox?.close();
    await database?.drop();
  });

  /** A page that records console errors and uncaught exceptions. */
  const open = async (): Promise<Page> => recordingErrors(await browser.newPage(), problems);
  /** A new page logged in with `secret`, on the overview. */
  const logIn = async (secret = TOKEN): Promise<Page> => logInAt(await open(), `${base}/`, secret);

  it('requires a login, refuses a wrong token, and the session ends with logout', async () => {
    const page = await open();
    await page.goto(`${base}/sequences/exp`);
    expect(new URL(page.url()).pathname).toBe('/login');
    await page.close();

    const wrong = await logIn('not-the-token');
    expect(await wrong.textContent('.error')).toContain('not right');
    expect(new URL(wrong.url()).pathname).toBe('/login');
    await wrong.goto(`${base}/`);
    expect(new URL(wrong.url()).pathname).toBe('/login');
    await wrong.close();

    const right = await logIn();
    expect(new URL(right.url()).pathname).toBe('/');
    expect(await right.textContent('h1')).toBe('Overview');
    const [session] = await right.context().cookies();
    await Promise.all([right.waitForURL(`${base}/login`), right.click('header button')]);
    await right.goto(`${base}/`);
    expect(new URL(right.url()).pathname).toBe('/login');
    await right.close();
    // The cookie of a logged-out session, kept by whoever copied it, is no session any more.
    const copied = await open();
    await copied.context().addCookies([{ name: session!.name, value: session!.value, url: base }]);
    await copied.goto(`${base}/`);
    expect(new URL(copied.url()).pathname).toBe('/login');
    await copied.close();
    // A forged cookie is no session, and neither is a genuine one past its expiry.
    const key = sessionKey({ secret: SECRET, apiToken: TOKEN });
    // Signed with SECRET_KEY itself (a tracking token's key) is not a session either.
    const id = 'A'.repeat(22);
    for (const value of [
      sessionValue(Date.now() + DAY, id),
      sign(sessionValue(Date.now() - 1_000, id), key),
      sign(sessionValue(Date.now() + DAY, id), SECRET),
    ]) {
      const page = await open();
      await page.context().addCookies([{ name: 'campaign_session', value, url: base }]);
      await page.goto(`${base}/`);
      expect(new URL(page.url()).pathname, value).toBe('/login');
      await page.close();
    }
    const fresh = await open();
    await fresh.context().addCookies([{ name: 'campaign_session', value: sign(sessionValue(Date.now() + 60_000, id), key), url: base }]);
    await fresh.goto(`${base}/`);
    expect(new URL(fresh.url()).pathname).toBe('/');
    await fresh.close();
  });

  it('loads every page without console errors, charts included', async () => {
    problems.length = 0; // the refused login above logged its 401 on purpose
    const page = await logIn();
    for (const path of [
      '/',
      '/?period=7d',
      '/sequences/exp',
      '/sequences/exp?period=30d',
      '/preview',
      '/preview?customer=c-1',
      '/messages?q=x-0',
      '/admin/queues',
    ]) {
      const response = await page.goto(`${base}${path}`);
      expect(response?.status(), path).toBe(200);
      await page.waitForLoadState('networkidle');
    }
    await page.goto(`${base}/sequences/exp`);
    expect(await page.evaluate('typeof Chart')).toBe('function');
    expect(await page.locator('canvas#curve').count()).toBe(1);
    await page.close();
    expect(problems).toEqual([]);
  });

  it("the sequence page's numbers are those of `campaign report --json`", async () => {
    const cli = await campaign(['report', '--json', '--sequence', 'exp', '--as-of', AS_OF.toISOString()], { DATABASE_URL: database.url! });
    expect(cli.stderr).toBe('');
    const report = JSON.parse(cli.stdout) as Report;
    const version = report.sequences[0]!.versions[0]!;
    const page = await logIn();
    await page.goto(`${base}/sequences/exp`);
    const money = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD', maximumFractionDigits: 2 });
    const cell = (selector: string) => page.locator(selector).first().textContent();
    for (const arm of version.arms) {
      const row = `#funnel tr[data-arm="${arm.arm}"][data-step="all"]`;
      expect(await cell(`${row} [data-field=enrolled]`)).toBe(String(arm.enrolled));
      expect(await cell(`${row} [data-field=sent]`)).toBe(String(arm.sent));
      expect(await cell(`${row} [data-field=humanOpens]`)).toBe(String(arm.opens.human));
      expect(await cell(`${row} [data-field=humanClicks]`)).toBe(String(arm.clicks.human));
      expect(await cell(`${row} [data-field=conversions]`)).toBe(String(arm.conversions));
      expect(await cell(`${row} [data-field=revenuePerCustomer]`)).toBe(money.format(arm.measured.revenuePerCustomer!));
      // The offer KPIs per arm (JSON null is the page's dash).
      const share = (v: number | null) => (v === null ? '—' : `${(v * 100).toFixed(1)}%`);
      const offers = `#offers tr[data-arm="${arm.arm}"]`;
      expect(await cell(`${offers} [data-field=acceptanceAny]`)).toBe(share(arm.kpis.acceptance.any.rate));
      expect(await cell(`${offers} [data-field=aov]`)).toBe(arm.kpis.aov.value === null ? '—' : money.format(arm.kpis.aov.value));
    }
    // The overview: the live version's variants pooled.
    const variants = version.arms.filter((a) => !a.holdout);
    const pooled = (pick: (k: (typeof variants)[number]['kpis']) => number) => variants.reduce((s, a) => s + pick(a.kpis), 0);
    await page.goto(`${base}/?period=all`);
    const overview = '#sequences tr[data-sequence="exp"]';
    expect(await cell(`${overview} [data-field=aov]`)).toBe(money.format(pooled((k) => k.aov.revenue) / pooled((k) => k.aov.orders)));
    expect(await cell(`${overview} [data-field=acceptance]`)).toBe(
      `${((100 * pooled((k) => k.acceptance.any.accepted)) / pooled((k) => k.acceptance.any.customers)).toFixed(1)}%`,
    );
    await page.goto(`${base}/sequences/exp`);
    expect(version.comparisons.length).toBe(3);
    // Every email pooled against the holdout is a row of its own, beside the three.
    expect(version.anyEmail?.arm).toBe('any email');
    for (const c of [...version.comparisons, version.anyEmail!]) {
      const row = `#comparisons tr[data-arm="${c.arm}"][data-against="${c.against}"]`;
      expect(await cell(`${row} [data-field=n]`)).toBe(`${c.n.arm} / ${c.n.baseline}`);
      expect(await cell(`${row} [data-field=cupedDifference]`)).toBe(money.format(c.cuped.difference));
      expect(await cell(`${row} [data-field=interval]`)).toBe(
        `[${money.format(c.cuped.interval[0])}, ${money.format(c.cuped.interval[1])}]`,
      );
      expect(await cell(`${row} [data-field=verdict]`)).toBe(c.verdict);
      // The decision: always-valid interval, MDE, Holm p, guardrails, fixed-horizon verdict (JSON null is the page's dash).
      const orDash = (v: number | null, f: (v: number) => string) => (v === null ? '—' : f(v));
      const [low, high] = c.sequential.interval as [number | null, number | null];
      expect(await cell(`${row} [data-field=sequentialInterval]`)).toBe(
        `[${orDash(low, (v) => money.format(v))}, ${orDash(high, (v) => money.format(v))}]`,
      );
      expect(await cell(`${row} [data-field=mde]`)).toMatch(
        new RegExp(`^${orDash(c.mde.absolute, (v) => money.format(v)).replace(/[$.]/g, '\\$&')} `),
      );
      expect(await cell(`${row} [data-field=adjustedPValue]`)).toBe(
        orDash(c.adjustedPValue as number | null, (v) => (v < 0.001 ? '< 0.001' : v.toFixed(3))),
      );
      expect(await cell(`${row} [data-field=guardrails]`)).toBe(
        c.against === 'holdout' ? 'n/a' : c.flags.length ? `worse: ${c.flags.join(', ')}` : 'ok',
      );
      expect(await cell(`${row} [data-field=fixedHorizonVerdict]`)).toBe(c.fixedHorizonVerdict);
      const days = c.daysToDetect.days;
      expect(await cell(`${row} [data-field=daysToDetect]`)).toBe(
        c.n.arm < 2 || c.n.baseline < 2
          ? '—'
          : days === null
            ? 'not at this rate'
            : days === 0
              ? 'now'
              : `${days.toLocaleString('en-US')} more days`,
      );
    }
    expect(await page.locator('#srm').getAttribute('data-flagged')).toBe(String(version.srm.flagged));
    expect(await cell('#srm [data-field=srmPValue]')).toBe(version.srm.pValue < 0.001 ? '< 0.001' : version.srm.pValue.toFixed(3));
    const csv = await page.evaluate(async (url) => (await fetch(url)).text(), `${base}/sequences/exp/export.csv?table=comparisons`);
    expect(csv.split('\n')[0]).toMatch(/^sequence,version,arm,against/);
    const slots = await page.evaluate(async (url) => (await fetch(url)).text(), `${base}/sequences/exp/export.csv?table=slots`);
    expect(slots.split('\n')[0]).toBe('slot,clicks,orders,revenue');
    await page.close();
  });

  it("leads the sequence page with a card per variant: its figures, winner and progress are the report's", async () => {
    // Every product costs 60% of its price, so the cards show margin beside revenue.
    await database.db.execute(sql`update products set cost = round(price * 0.6, 4)`);
    const report = await buildReport(database.db, { asOf: AS_OF, attribution: DEFAULT_ATTRIBUTION, minSample: 100 });
    const version = report.sequences[0]!.versions[0]!;
    const page = await logIn();
    await page.goto(`${base}/sequences/exp`);
    const money = moneyFormat('USD');
    const cell = (selector: string) => page.locator(selector).first().textContent();
    const winner = evidentWinner(version, { minSample: 100 });
    expect(await page.locator('#decision [data-field=winner]').count()).toBe(winner ? 1 : 0);
    expect(await cell('#headline')).toBe(winner ? expect.stringContaining(winner) : 'No winner yet.');
    for (const arm of version.arms.filter((a) => !a.holdout)) {
      const card = `#decision .card[data-arm="${arm.arm}"]`;
      const interval = arm.measured.revenuePerCustomerInterval!;
      expect(await cell(`${card} [data-field=revenuePerCustomer]`)).toBe(
        `${money(arm.measured.revenuePerCustomer)} [${money(interval[0])}, ${money(interval[1])}]`,
      );
      const margin = arm.margin!;
      expect(await cell(`${card} [data-field=marginPerCustomer]`)).toBe(
        `${money(margin.perCustomer)} [${money(margin.perCustomerInterval![0])}, ${money(margin.perCustomerInterval![1])}]`,
      );
      const m = version.comparisons.find((c) => c.arm === arm.arm && c.against === 'control')?.margin?.cuped;
      const sign = (v: number) => (v > 0 ? `+${money(v)}` : money(v));
      if (m)
        expect(await cell(`${card} [data-field=marginLiftControl]`)).toBe(
          `${sign(m.difference)} [${sign(m.interval[0])}, ${sign(m.interval[1])}]`,
        );
      expect(await cell(`${card} [data-field=measured]`)).toBe(arm.measured.customers.toLocaleString('en-US'));
      const deciding = version.comparisons.find(
        (c) => c.arm === arm.arm && c.against === (arm.arm === version.control ? 'holdout' : 'control'),
      );
      expect(await cell(`${card} [data-field=progress]`)).toBe(progressWords(deciding, money));
      // Under the minimum sample the card says so in the API's own sentence.
      if (deciding?.verdict === 'not enough data yet') expect(await cell(`${card} [data-field=verdict]`)).toContain(deciding.summary);
    }
    // The plain sentence of every comparison is on the page.
    for (const c of [...version.comparisons, version.anyEmail!])
      expect(await cell(`#comparison-summaries li[data-arm="${c.arm}"][data-against="${c.against}"] [data-field=summary]`)).toBe(c.summary);
    // Dates in the shop's time zone, the attribution in words.
    expect(await cell('#meta [data-field=asOf]')).toBe(humanDate(AS_OF, 'Europe/Berlin'));
    expect(await page.locator('main').textContent()).toContain(attributionInWords(DEFAULT_ATTRIBUTION));
    await page.close();
  });

  it("the overview's table and its CSV export are the same summaries of the report", async () => {
    const report = await buildReport(database.db, { asOf: AS_OF, attribution: DEFAULT_ATTRIBUTION, minSample: 100 });
    const [summary] = sequenceSummaries(report);
    const page = await logIn();
    await page.goto(`${base}/?period=all`);
    const money = moneyFormat('USD');
    const row = '#sequences tr[data-sequence="exp"]';
    const cell = (field: string) => page.locator(`${row} [data-field=${field}]`).first().textContent();
    expect(await cell('enrolled')).toBe(summary!.customersEnrolled.toLocaleString('en-US'));
    expect(await cell('measured')).toBe(summary!.customersMeasured.toLocaleString('en-US'));
    expect(await cell('sent')).toBe(summary!.emailsSent.toLocaleString('en-US'));
    expect(await cell('attributedRevenue')).toBe(money(summary!.attributedRevenue));
    // The headline of what the emails add carries its interval and verdict, or says why not.
    const incremental = await cell('incrementalRevenue');
    if (summary!.incremental) {
      expect(incremental).toContain(money(summary!.incremental.estimate));
      expect(incremental).toContain(`[${money(summary!.incremental.interval[0])}, ${money(summary!.incremental.interval[1])}]`);
    }
    if (summary!.incrementalNote) expect(incremental).toContain(summary!.incrementalNote);
    const csv = await page.evaluate(async (url) => (await fetch(url)).text(), `${base}/export.csv?period=all&table=sequences`);
    // Read back with the importer's own CSV reader.
    const rowsRead: Record<string, unknown>[] = [];
    for await (const r of (await openRows(tempFile('overview.csv', csv), 'csv')).rows()) rowsRead.push(r.values ?? {});
    const record = rowsRead[0] as Record<string, string> | undefined;
    expect(record).toBeDefined();
    expect(Number(record!.customers_enrolled)).toBe(summary!.customersEnrolled);
    expect(Number(record!.emails_sent)).toBe(summary!.emailsSent);
    expect(Number(record!.attributed_revenue)).toBe(summary!.attributedRevenue);
    expect(record!.incremental_note ?? '').toBe(summary!.incrementalNote ?? '');
    if (summary!.incremental) expect(Number(record!.incremental_revenue_cuped)).toBeCloseTo(summary!.incremental.estimate, 6);
    // The trend has every day of the period on its axis, sends or not.
    const labels = await page.evaluate(() => (window as unknown as { Chart: ChartGlobal }).Chart.getChart('trend')!.data.labels.length);
    expect(labels).toBe(91);
    await page.close();
  });

  it('the recommendation tables equal their CSV exports, cell by cell', async () => {
    const page = await logIn();
    await page.goto(`${base}/sequences/exp`);
    for (const [table, id] of [
      ['recs-strategy', 'recs-by-strategy'],
      ['recs-product', 'recs-by-product'],
    ] as const) {
      const csv = await page.evaluate(async (url) => (await fetch(url)).text(), `${base}/sequences/exp/export.csv?table=${table}`);
      const exported: Record<string, unknown>[] = [];
      for await (const r of (await openRows(tempFile(`${table}.csv`, csv), 'csv')).rows()) exported.push(r.values ?? {});
      const shown: Record<string, string>[] = await page.evaluate(
        (selector) =>
          Array.from(document.querySelectorAll(`${selector} tbody tr`)).map((tr) =>
            Object.fromEntries(
              Array.from(tr.querySelectorAll('[data-field]')).map((td): [string, string] => [
                td.getAttribute('data-field') ?? '',
                td.textContent,
              ]),
            ),
          ),
        `#${id}`,
      );
      expect(shown.length, table).toBeGreaterThan(0);
      expect(shown.length, table).toBe(exported.length);
      // The page formats (currency sign, thousands, %), the export does not: the same figures under the formatting.
      const bare = (text: unknown) =>
        (typeof text === 'number' ? String(text) : typeof text === 'string' ? text : '').replace(/[$,%]/g, '').replace(/^—$/, '');
      for (const [i, row] of shown.entries())
        for (const [field, text] of Object.entries(row)) expect(bare(text), `${table} row ${i} ${field}`).toBe(bare(exported[i]![field]));
    }
    await page.close();
  });

  it('the exploratory breakdown by buyer and segment equals the report and its CSV export, cell by cell, at 375 and 1280 px', async () => {
    const report = await buildReport(database.db, { asOf: AS_OF, attribution: DEFAULT_ATTRIBUTION, minSample: 100 });
    const breakdown = report.sequences[0]!.versions[0]!.breakdown;
    // The seeded first-time and repeat buyers, enrolled as new and active: cells of both dimensions, both values each.
    expect(new Set(breakdown.map((r) => `${r.dimension}=${r.value}`))).toEqual(
      new Set(['buyer=first', 'buyer=repeat', 'segment=active', 'segment=new']),
    );
    const money = moneyFormat('USD');
    const p = (v: unknown) => (v === '' || v === undefined ? '—' : Number(v) < 0.001 ? '< 0.001' : Number(v).toFixed(3));
    const page = await logIn();
    for (const width of [375, 1280]) {
      await page.setViewportSize({ width, height: 900 });
      await page.goto(`${base}/sequences/exp`);
      expect(await page.locator('#breakdown-note').textContent()).toContain('EXPLORATORY');
      // The export is the one the page links to under the table.
      const href = await page.locator('a[href*="export.csv?table=breakdown"]').getAttribute('href');
      const csv = await page.evaluate(async (url) => (await fetch(url)).text(), `${base}${href}`);
      const exported: Record<string, unknown>[] = [];
      for await (const r of (await openRows(tempFile('breakdown.csv', csv), 'csv')).rows()) exported.push(r.values ?? {});
      const shown: Record<string, string>[] = await page.evaluate(() =>
        Array.from(document.querySelectorAll('#breakdown tbody tr')).map((tr) =>
          Object.fromEntries(
            Array.from(tr.querySelectorAll('[data-field]')).map((td): [string, string] => [
              td.getAttribute('data-field') ?? '',
              td.textContent,
            ]),
          ),
        ),
      );
      expect(shown.length, `${width}px`).toBe(breakdown.length);
      expect(exported.length, `${width}px`).toBe(breakdown.length);
      for (const [i, r] of breakdown.entries()) {
        const e = exported[i]!;
        const where = `${width}px row ${i}`;
        // The export is the report's row, unformatted.
        expect([e.dimension, e.value, e.arm, e.against, e.baseline], where).toEqual([r.dimension, r.value, r.arm, r.against, r.baseline]);
        expect([Number(e.n_arm), Number(e.n_baseline)], where).toEqual([r.n.arm, r.n.baseline]);
        expect(Number(e.difference), where).toBeCloseTo(r.difference!, 9);
        expect(e.p_value === '' ? null : Number(e.p_value), where).toBe(r.pValue);
        expect(e.adjusted_p_value === '' ? null : Number(e.adjusted_p_value), where).toBe(r.adjustedPValue);
        // The page is the export, formatted: every cell of the row.
        expect(shown[i], where).toEqual({
          dimension: e.dimension,
          value: e.value,
          comparison: `${String(e.arm)} vs ${e.against === 'holdout' ? 'holdout' : `${String(e.baseline)} (control)`}`,
          n: `${Number(e.n_arm).toLocaleString('en-US')} / ${Number(e.n_baseline).toLocaleString('en-US')}`,
          difference: money(Number(e.difference)),
          interval: e.ci_low === '' ? '—' : `[${money(Number(e.ci_low))}, ${money(Number(e.ci_high))}]`,
          pValue: p(e.p_value),
          adjustedPValue: p(e.adjusted_p_value),
          standsOut: e.stands_out === '1' ? 'stands out' : '',
        });
      }
    }
    await page.close();
  });

  it("the funnel's rates and counts are its CSV's, and each count opens the recipients behind it", async () => {
    const report = await buildReport(database.db, { asOf: AS_OF, attribution: DEFAULT_ATTRIBUTION, minSample: 100 });
    const version = report.sequences[0]!.versions[0]!;
    const page = await logIn();
    await page.goto(`${base}/sequences/exp`);
    const csv = await page.evaluate(async (url) => (await fetch(url)).text(), `${base}/sequences/exp/export.csv?table=arms`);
    const exported: Record<string, unknown>[] = [];
    for await (const r of (await openRows(tempFile('arms.csv', csv), 'csv')).rows()) exported.push(r.values ?? {});
    const rate = (v: unknown) => (v === '' || v === undefined ? '—' : `${(Number(v) * 100).toFixed(1)}%`);
    for (const arm of version.arms.filter((a) => !a.holdout)) {
      const line = exported.find((r) => r.arm === arm.arm && r.step === 'all')!;
      const row = `#funnel tr[data-arm="${arm.arm}"][data-step="all"]`;
      const cell = (field: string) => page.locator(`${row} [data-field=${field}]`).first().textContent();
      expect(await cell('sent')).toBe(String(line.sent));
      expect(await cell('openRate')).toBe(rate(line.open_rate));
      expect(await cell('clickRate')).toBe(rate(line.click_rate));
      expect(await cell('conversionRate')).toBe(rate(line.order_rate));
      expect(Number(line.open_rate)).toBeCloseTo(arm.opens.human / arm.delivered, 12);
    }
    // From the funnel cell to the recipients behind it: the same count.
    const a = version.arms.find((x) => x.arm === 'a')!;
    await Promise.all([page.waitForLoadState('load'), page.click('#funnel tr[data-arm="a"][data-step="all"] [data-field=humanOpens] a')]);
    expect(Number(await page.locator('#recipients-count').getAttribute('data-count'))).toBe(a.opens.human);
    await page.close();
  });

  it('names on the overview a discount code pool that is running out', async () => {
    const page = await logIn();
    await page.goto(`${base}/`);
    expect(await page.locator('#low-pools').count()).toBe(0);
    const codes = Array.from({ length: 3 }, (_, i) => ({ line: i + 1, code: `SPRING-${i}` }));
    const imported = await importCodes(database.db, { pool: 'spring', value: { kind: 'percent', value: '10' }, expiresAt: null, codes });
    expect(imported).toMatchObject({ ok: true });
    await page.goto(`${base}/`);
    // CODE_POOL_LOW is 100 by default: three codes left is low.
    expect(await page.locator('#low-pools [data-pool=spring]').textContent()).toBe('spring has 3 left');
    expect(await page.getAttribute('#low-pools', 'class')).toBe('notice');

    // The notice leads to the Discount codes page, whose row is `campaign codes list --json`'s pool.
    await Promise.all([page.waitForLoadState('load'), page.click('#low-pools a[href="/codes"]')]);
    const [spring] = (await poolSummaries(database.db, AS_OF, 100)).filter((p) => p.pool === 'spring');
    const cell = (field: string) => page.locator(`#pools tr[data-pool=spring] [data-field=${field}]`).textContent();
    expect(await cell('value')).toBe('10%');
    for (const field of ['size', 'issued', 'redeemed', 'expired', 'left'] as const) expect(await cell(field)).toBe(String(spring![field]));
    expect(await cell('status')).toBe('LOW');
    expect(await page.locator('#pools-running-out').textContent()).toContain('One pool is running out');
    await page.close();
  });

  it('every page fits 375 and 1280 px: no sideways page scroll, last columns reachable, verdicts in view, charts of real height', async () => {
    problems.length = 0;
    const page = await logIn();
    for (const width of [375, 1280]) {
      await page.setViewportSize({ width, height: 900 });
      for (const path of [
        '/',
        '/sequences/exp',
        '/sequences/exp/pause',
        '/preview?customer=c-1',
        '/messages?q=x-0',
        '/codes',
        '/admin/queues',
      ]) {
        await page.goto(`${base}${path}`, { waitUntil: 'networkidle' });
        const layout = await page.evaluate(() => {
          const doc = document.documentElement;
          const tables = Array.from(document.querySelectorAll('table')).map((table) => {
            const box = table.closest('.scroll');
            const last = table.querySelector('tr > :last-child');
            if (!last) return { id: table.id, reachable: true };
            if (!box) return { id: table.id, reachable: last.getBoundingClientRect().right <= doc.clientWidth + 1 };
            box.scrollLeft = box.scrollWidth;
            const inner = box.getBoundingClientRect();
            const cellBox = last.getBoundingClientRect();
            const reachable =
              cellBox.right <= inner.right + 1 && cellBox.left >= inner.left - 1 && getComputedStyle(box).overflowX === 'auto';
            box.scrollLeft = 0;
            return { id: table.id, reachable };
          });
          const charts = Array.from(document.querySelectorAll('canvas[data-chart]')).map((canvas) => {
            const chart = (window as unknown as { Chart: ChartGlobal }).Chart.getChart(canvas as HTMLCanvasElement);
            return chart ? chart.chartArea.bottom - chart.chartArea.top : 0;
          });
          const verdicts = Array.from(document.querySelectorAll('#decision [data-field=verdict], #comparisons [data-field=verdict]')).map(
            (el) => el.getBoundingClientRect(),
          );
          // What sticks out of the page (not inside a scrolling box), to name it when the check fails.
          const wide = Array.from(document.querySelectorAll('main *'))
            .filter((e) => e.getBoundingClientRect().right > doc.clientWidth + 1 && !e.closest('.scroll'))
            .slice(0, 3)
            .map((e) => `${e.tagName.toLowerCase()}${e.id ? `#${e.id}` : ''}.${e.className}`);
          return {
            overflow: doc.scrollWidth - doc.clientWidth,
            wide,
            tables,
            charts,
            verdicts: verdicts.map((r) => ({ left: r.left, right: r.right })),
          };
        });
        const where = `${path} at ${width}px`;
        expect(layout.overflow, `${where}: ${layout.wide.join(', ')}`).toBeLessThanOrEqual(0);
        for (const t of layout.tables) expect(t.reachable, `${where}: table ${t.id}`).toBe(true);
        for (const height of layout.charts) expect(height, `${where}: chart`).toBeGreaterThan(120);
        // The decision cards' verdicts are in view without scrolling sideways; so is the comparison table's verdict column.
        for (const r of layout.verdicts) {
          expect(r.left, where).toBeGreaterThanOrEqual(0);
          expect(r.right, where).toBeLessThanOrEqual(width);
        }
      }
      // The navigation: at 375 px behind the Menu toggle, at 1280 px in the bar; Log out reachable at both.
      await page.goto(`${base}/`);
      const logout = page.locator('header nav button', { hasText: 'Log out' });
      if (width === 375) {
        expect(await logout.isVisible()).toBe(false);
        await page.click('header label.menu');
      }
      expect(await logout.isVisible()).toBe(true);
      const box = (await logout.boundingBox())!;
      expect(box.x + box.width).toBeLessThanOrEqual(width);
    }
    // The login page, to someone without a session.
    for (const width of [375, 1280]) {
      const stranger = await open();
      await stranger.setViewportSize({ width, height: 900 });
      await stranger.goto(`${base}/login`);
      expect(
        await stranger.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth),
      ).toBeLessThanOrEqual(0);
      const field = (await stranger.locator('input[name=secret]').boundingBox())!;
      expect(field.x + field.width).toBeLessThanOrEqual(width);
      await stranger.close();
    }
    await page.close();
    expect(problems).toEqual([]);
  });

  it('draws the revenue curve with an interval band per arm, the holdout apart, and a mark per step', async () => {
    const page = await logIn();
    await page.goto(`${base}/sequences/exp`, { waitUntil: 'networkidle' });
    const chart = await page.evaluate(() => {
      const c = (window as unknown as { Chart: ChartGlobal }).Chart.getChart('curve')!;
      const options = c.options as {
        scales: Record<string, { title: { text: string } }>;
        plugins: { annotation: { annotations: Record<string, { xMin: number; label: { content: string } }> } };
      };
      return {
        labels: c.data.labels.length,
        datasets: c.data.datasets.map((d) => ({
          label: d.label,
          dash: (d as { borderDash?: number[] }).borderDash ?? [],
          band: (d as { band?: boolean }).band === true,
        })),
        x: options.scales.x!.title.text,
        y: options.scales.y!.title.text,
        marks: Object.values(options.plugins.annotation.annotations).map((m) => `${m.label.content} at ${m.xMin}`),
      };
    });
    // The window is 10 days: one point per day.
    expect(chart.labels).toBe(10);
    expect(chart.datasets.filter((d) => !d.band).map((d) => d.label)).toEqual(['a', 'b', 'holdout (no email)']);
    expect(chart.datasets.filter((d) => d.band)).toHaveLength(6);
    expect(chart.datasets.find((d) => d.label === 'holdout (no email)')!.dash.length).toBeGreaterThan(0);
    expect(chart.datasets.find((d) => d.label === 'a')!.dash).toEqual([]);
    expect(chart.x).toBe('days since enrolling');
    expect(chart.y).toBe('revenue per measured customer, USD, cumulative');
    // Step 1 an hour after enrolling (day 1, index 0), step 2 two days later (day 3, index 2).
    expect(chart.marks).toEqual(['step 1 at 0', 'step 2 at 2']);
    await page.close();
  });

  it('shows markup in names as text', async () => {
    const page = await logIn();
    expect(await page.locator('#sequences a').first().textContent()).toBe('Thanks <b>bold</b> & co');
    expect(await page.locator('#sequences b').count()).toBe(0);
    await page.goto(`${base}/sequences/exp`);
    expect(await page.locator('h1 b').count()).toBe(0);
    await page.close();
  });

  it("the preview shows the chosen customer's name and real recommendations, and sends a test", async () => {
    const expected = await buildContext(
      database.db,
      { shop: SHOP },
      { customerId: 'c-1', links: { unsubscribe: 'https://x.example/u', shop: SHOP.url }, rules: DEFAULT_RULES },
    );
    expect(expected.recommendations.length).toBeGreaterThan(0);
    const page = await logIn();
    await page.goto(`${base}/preview`);
    await page.fill('input[name=q]', 'ada@');
    await Promise.all([page.waitForLoadState('load'), page.click('#picker button[type=submit]')]);
    expect(await page.textContent('#customer-name')).toBe('Ada Lovelace');
    expect(await page.textContent('#recommended')).toBe(expected.recommendations.map((r) => r.name).join(' · '));
    expect(await page.locator('iframe').count()).toBe(2);
    const frame = page.frameLocator('iframe[title="375 px"]');
    await expect.poll(() => frame.locator('body').textContent()).toContain('Ada');
    expect(await page.textContent('#text')).toContain('Ada');
    await page.fill('input[name=to]', 'marketer@shop.example');
    await Promise.all([page.waitForURL(/sent=/), page.click('text=Send test')]);
    const sent = inbox.emails.at(-1)!;
    expect(sent.to).toBe('marketer@shop.example');
    expect(sent.subject).toMatch(/^\[TEST\]/);
    // The captured inbox lists it, and it opens.
    await page.goto(`${base}/messages`);
    expect(await page.textContent('#inbox')).toContain('[TEST]');
    await Promise.all([page.waitForLoadState('load'), page.click('#inbox a')]);
    expect(await page.textContent('h1')).toBe(sent.subject);
    await expect.poll(() => page.frameLocator('iframe[title=email]').locator('body').textContent()).toContain('Ada');
    await page.close();
  });

  it('a product name with markup shows as text in the preview', async () => {
    const page = await logIn();
    await page.goto(`${base}/preview?customer=c-1`);
    const names = (await page.textContent('#recommended')) + ' ' + (await page.textContent('#upsells'));
    if (names.includes('Grinder')) {
      expect(names).toContain('Burr <b>Grinder</b>');
      expect(await page.locator('#recommended b, #upsells b').count()).toBe(0);
    }
    const frame = page.frameLocator('iframe[title="600 px"]');
    expect(await frame.locator('b:has-text("Grinder")').count()).toBe(0);
    await page.close();
  });

  it('lists the emails of a customer with their events', async () => {
    const page = await logIn();
    await page.goto(`${base}/messages?q=x-0`);
    const text = await page.textContent('#messages');
    expect(text).toContain('exp · arm a · step 1');
    expect(text).toContain('open by a person');
    await page.close();
  });

  it('pause stops new sends, resume lets them go', async () => {
    // An enrollment whose first email is due now, and the engine that would send it.
    const [customer] = await rows.customers(1);
    const [order] = await rows.orders([{ customer: customer!, at: new Date(AS_OF.getTime() - 2 * 3_600_000).toISOString(), total: 80 }]);
    const [{ id: version } = { id: 0 }] = await queryRows<{ id: number }>(
      database.db,
      sql`select id from sequence_versions where sequence_id = 'exp'`,
    );
    const enrollment = await dueEnrollment(database.db, customer!, version, order!);
    const engine = inboxEngine(database.db, queues, inbox, SECRET);
    const [{ email } = { email: '' }] = await queryRows<{ email: string }>(
      database.db,
      sql`select email from customers where id = ${customer}`,
    );
    const sentTo = () => inbox.emails.filter((e) => e.to === email).length;
    const before = sentTo();

    const page = await logIn();
    await page.goto(`${base}/sequences/exp`);
    // Pausing asks first (what it does), then the confirmation's button pauses.
    await page.goto(`${base}/sequences/exp/pause`);
    await Promise.all([page.waitForURL(`${base}/sequences/exp`), page.click('#confirm')]);
    expect(await page.textContent('#status')).toBe('paused');
    const status = async () =>
      (await queryRows<{ status: string }>(database.db, sql`select status from sequences where id = 'exp'`))[0]!.status;
    expect(await status()).toBe('paused');
    expect((await runStep(engine, enrollment, 0)).kind).toBe('delayed');
    expect(sentTo()).toBe(before);
    await page.goto(`${base}/sequences/exp/resume`);
    await Promise.all([page.waitForURL(`${base}/sequences/exp`), page.click('#confirm')]);
    expect(await status()).toBe('active');
    expect((await runStep(engine, enrollment, 0)).kind).toBe('sent');
    await expect.poll(sentTo).toBe(before + 1);
    engine.transport.close();
    await page.close();
  });

  it('refuses changes from another origin or from nowhere, even with a session; pages carry the security headers', async () => {
    const value = sign(sessionValue(Date.now() + 60_000, 'B'.repeat(22)), sessionKey({ secret: SECRET, apiToken: TOKEN }));
    const cookie = `campaign_session=${encodeURIComponent(value)}`;
    for (const headers of [{ 'sec-fetch-site': 'same-site' }, { origin: 'https://evil.example' }, {}]) {
      const cross = await app.inject({ method: 'POST', url: '/sequences/exp/pause', headers: { cookie, ...headers } });
      expect(cross.statusCode, JSON.stringify(headers)).toBe(403);
    }
    // Pages the browser loads carry the policy (the pages above load under it without errors).
    const page = await logIn();
    const headers = (await page.request.get(`${base}/messages`)).headers();
    expect(headers['content-security-policy']).toMatch(/script-src 'self'/);
    expect(headers['cache-control']).toBe('no-store');
    await page.close();
    expect((await queryRows<{ status: string }>(database.db, sql`select status from sequences where id = 'exp'`))[0]!.status).toBe(
      'active',
    );
  });

  it('slows down guessing: past the limit, login attempts are refused', async () => {
    const codes: number[] = [];
    for (let i = 0; i < 31; i++)
      codes.push((await app.inject({ method: 'POST', url: '/login', payload: { secret: 'guess' }, remoteAddress: '10.9.8.7' })).statusCode);
    expect(codes.slice(0, 30).every((c) => c === 401)).toBe(true);
    expect(codes[30]).toBe(429);
  });
});
