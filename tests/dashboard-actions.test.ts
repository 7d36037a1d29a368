/**
 * The dashboard's actions in a real browser (Debian's Chromium through playwright-core)
 * against the engine's HTTP server on the real Postgres: pause and resume ask first and
 * leave an audit line naming who logged in; promoting and ending a test show the evidence
 * first (the command's own words), refuse against the evidence unless forced, and carry the
 * decision out as `campaign sequences promote` does; a login from a deep link returns to it,
 * and nowhere else; the new POSTs hold to the same-origin rule; every page fits at 375 px.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sign } from '@fastify/cookie';
import { sql } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import type { Browser, Page } from 'playwright-core';
import { renderToString } from 'preact-render-to-string';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_ATTRIBUTION } from '../src/core/attribution.ts';
import { fixedClock } from '../src/core/clock.ts';
import { sequenceSchema } from '../src/core/sequence.ts';
import { sessionKey, sessionValue } from '../src/dashboard/auth.ts';
import { actorName, localPath } from '../src/dashboard/query.ts';
import { AuditList, SequenceActions } from '../src/dashboard/views/actions.tsx';
import { queryRows } from '../src/db/client.ts';
import { buildServer } from '../src/http/app.ts';
import { parseYaml } from '../src/yaml-source.ts';
import { campaign, campaignInProcess } from './helpers/cli.ts';
import { logInAt, recordingErrors, serveToChromium } from './helpers/dashboard.ts';
import { freshDatabase, type TestDatabase } from './helpers/db.ts';
import { preparePromotionShop } from './helpers/promotion-shop.ts';

const DAY = 86_400_000;
const TOKEN = 'actions-token-123';
const PASSWORD = 'actions-password-456';
const SECRET = 'actions-secret-actions-secret-0000000';
/** The dashboard's clock: every action is taken at this moment. */
const AS_OF = new Date('2026-12-06T14:02:00Z');
const WHEN = '6 Dec 2026, 14:02 UTC';

describe('the dashboard’s actions', { timeout: 120_000 }, () => {
  let database: TestDatabase;
  let app: FastifyInstance;
  let base: string;
  let browser: Browser;
  let dir: string;
  let env: Record<string, string>;
  let original: Record<string, string>;
  const file = (id: string) => join(dir, `${id}.yaml`);
  const problems: string[] = [];

  const status = async (id: string) =>
    (await queryRows<{ status: string }>(database.db, sql`select status from sequences where id = ${id}`))[0]!.status;
  const audit = async (id: string) =>
    (
      await queryRows<{ actor: string; action: string; at: string; detail: Record<string, unknown> }>(
        database.db,
        sql`select actor, action, at, detail from audit_log where sequence_id = ${id} order by id`,
      )
    ).map((row) => ({ ...row, at: new Date(row.at) }));
  const decisions = async (id: string) =>
    (
      await queryRows<{ id: number; variant: string; forced: boolean; decided_by: string; note: string | null; decided_at: string }>(
        database.db,
        sql`select id, variant, forced, decided_by, note, decided_at from experiment_decisions where sequence_id = ${id} order by id`,
      )
    ).map((row) => ({ ...row, decided_at: new Date(row.decided_at) }));
  const variantsOf = (id: string) => parseYaml(readFileSync(file(id), 'utf8'), `${id}.yaml`, sequenceSchema).variants.map((v) => v.key);

  beforeAll(async () => {
    database = await freshDatabase('postgres');
    // Enrolled 40 days before the dashboard's moment, one order two days after enrolling: every window has closed.
    ({ dir, original } = await preparePromotionShop(database.db, 'campaign-actions-', AS_OF.getTime() - 40 * DAY));
    env = { DATABASE_URL: database.url!, REPORT_MIN_SAMPLE: '10' };

    app = await buildServer({
      db: database.db,
      apiToken: TOKEN,
      bodyLimitBytes: 1 << 20,
      clock: fixedClock(AS_OF),
      reports: { attribution: DEFAULT_ATTRIBUTION, minSample: 10 },
      dashboard: {
        apiToken: TOKEN,
        password: PASSWORD,
        secret: SECRET,
        sessionHours: 1,
        loginsPerMinute: 100,
        currency: 'USD',
        sequencesDir: dir,
      },
    });
    ({ base, browser } = await serveToChromium(app));
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await app?.close();
    await database?.drop();
  });

  /** A page that records console errors and uncaught exceptions (a refused POST's 409 aside, expected where it happens). */
  const open = async (width = 1280): Promise<Page> =>
    recordingErrors(await browser.newPage({ viewport: { width, height: 900 } }), problems);

  /** Logs in from `path` (redirected to the login page and back), with `name` for the audit log. */
  const logIn = async (name?: string, path = '/', secret = TOKEN, width = 1280): Promise<Page> =>
    logInAt(await open(width), `${base}${path}`, secret, name);

  /** Clicks `selector` (a submit button) and waits for the answer to the POST it sends (303 when done, 409 when refused). */
  async function submit(page: Page, selector = '#confirm'): Promise<number> {
    const [response] = await Promise.all([page.waitForResponse((r) => r.request().method() === 'POST'), page.click(selector)]);
    await page.waitForLoadState('load');
    return response.status();
  }

  /** True when the page is no wider than the window (no horizontal page scroll). */
  const fits = (page: Page) => page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);

  it('a login from a deep link returns to it, query string and all', async () => {
    const page = await open();
    await page.goto(`${base}/sequences/clear/promote?variant=b`);
    const login = new URL(page.url());
    expect(login.pathname).toBe('/login');
    expect(login.searchParams.get('next')).toBe('/sequences/clear/promote?variant=b');
    expect(await page.inputValue('input[name=next]')).toBe('/sequences/clear/promote?variant=b');
    // A wrong secret keeps the destination (and the name) for the next try.
    await page.fill('input[name=secret]', 'wrong');
    await page.fill('input[name=name]', 'Ada');
    await Promise.all([page.waitForLoadState('load'), page.click('button[type=submit]')]);
    expect(await page.textContent('.error')).toContain('not right');
    expect(await page.inputValue('input[name=next]')).toBe('/sequences/clear/promote?variant=b');
    expect(await page.inputValue('input[name=name]')).toBe('Ada');
    await page.fill('input[name=secret]', TOKEN);
    await Promise.all([page.waitForURL(`${base}/sequences/clear/promote?variant=b`), page.click('button[type=submit]')]);
    expect(await page.textContent('h1')).toBe('Promote b in Clear winner?');
    await page.close();
    problems.length = 0; // the refused login logged its 401 on purpose
  });

  it('open-redirect attempts land on /', async () => {
    const attempts = [
      '//evil.example/',
      '/\\evil.example/',
      '\\/evil.example/',
      '/\t/evil.example/',
      '/\n/evil.example/',
      'https://evil.example/',
      'javascript:alert(1)',
      'evil.example',
      '/login',
      '/a b',
      '/caf\u00e9',
      `/${'x'.repeat(2001)}`,
    ];
    for (const next of attempts) expect(localPath(next), JSON.stringify(next)).toBeUndefined();
    for (const next of ['/', '/sequences/flat', '/sequences/flat/promote?variant=b&x=%2F%2Fevil', '/logins', '/messages?q=a%40b'])
      expect(localPath(next)).toBe(next);

    // The form posts whatever it is given: the server decides.
    for (const next of attempts.slice(0, 8)) {
      const answer = await app.inject({ method: 'POST', url: '/login', payload: { secret: TOKEN, next } });
      expect(answer.statusCode, JSON.stringify(next)).toBe(303);
      expect(answer.headers.location, JSON.stringify(next)).toBe('/');
    }
    // In the browser, from the login page's own link.
    for (const next of ['//evil.example/', '/\\evil.example/', 'https://evil.example/']) {
      const page = await open();
      await page.goto(`${base}/login?next=${encodeURIComponent(next)}`);
      expect(await page.inputValue('input[name=next]')).toBe('');
      await page.fill('input[name=secret]', TOKEN);
      await Promise.all([page.waitForLoadState('load'), page.click('button[type=submit]')]);
      expect(page.url(), next).toBe(`${base}/`);
      await page.close();
    }
  });

  it('the name for the audit log is checked: at most 80 characters, no control characters', async () => {
    expect(actorName.parse('  Ada Lovelace ')).toBe('Ada Lovelace');
    expect(actorName.parse('   ')).toBeUndefined();
    for (const bad of ['Ada\u0000', 'Ada\nEve', 'Ada\u0007', 'Ada\u202eevE', 'x'.repeat(81), 'Ada\ud800'])
      expect(actorName.safeParse(bad).success, JSON.stringify(bad)).toBe(false);
    for (const [name, says] of [
      ['Ada\u0007', 'Your name must not contain control characters.'],
      ['x'.repeat(81), 'Your name must be at most 80 characters.'],
    ] as const) {
      const answer = await app.inject({ method: 'POST', url: '/login', payload: { secret: TOKEN, name, next: '/sequences/flat' } });
      expect(answer.statusCode).toBe(400);
      expect(answer.body).toContain(says);
      // No session: the form again, keeping where to go.
      expect(answer.headers['set-cookie']).toBeUndefined();
      expect(answer.body).toContain('name="next" value="/sequences/flat"');
    }
  });

  it('pause asks first, then pauses and leaves its audit line with the name given at login', async () => {
    const page = await logIn('Ada', '/sequences/flat/pause');
    expect(page.url()).toBe(`${base}/sequences/flat/pause`);
    expect(await page.textContent('h1')).toBe('Pause No difference?');
    // What pausing does, as the engine does it.
    const what = (await page.textContent('#what-it-does'))!;
    expect(what).toContain('New orders are not enrolled while it is paused, and not later either');
    expect(what).toContain('Scheduled emails wait.');
    expect(what).toContain('looked at again every hour');
    expect(what).toContain('or who orders again,');
    expect(await status('flat')).toBe('active');
    expect(await audit('flat')).toEqual([]);

    await Promise.all([page.waitForURL(`${base}/sequences/flat`), page.click('#confirm')]);
    expect(await status('flat')).toBe('paused');
    expect(await audit('flat')).toEqual([{ actor: 'Ada', action: 'pause', at: AS_OF, detail: { from: 'active', to: 'paused' } }]);
    // Asking again says it is done already, and lists who did it.
    await page.goto(`${base}/sequences/flat/pause`);
    expect(await page.textContent('#already')).toContain('It is already paused');
    expect(await page.locator('#confirm').count()).toBe(0);
    expect(await page.textContent('#audit-log li')).toBe(`paused by Ada, ${WHEN}`);
    await page.close();
  });

  it('resume asks first too, and its line follows the pause’s; without a name the session says how it logged in', async () => {
    const page = await logIn('Ada', '/sequences/flat/resume');
    expect(await page.textContent('h1')).toBe('Resume No difference?');
    expect(await page.textContent('#what-it-does')).toContain('New orders enroll again from now on');
    await Promise.all([page.waitForURL(`${base}/sequences/flat`), page.click('#confirm')]);
    expect(await status('flat')).toBe('active');
    await page.goto(`${base}/sequences/flat/pause`);
    expect(await page.locator('#audit-log li').allTextContents()).toEqual([`resumed by Ada, ${WHEN}`, `paused by Ada, ${WHEN}`]);
    await page.close();

    // No name: "dashboard (password)" or "dashboard (API token)".
    for (const [secret, actor, action] of [
      [PASSWORD, 'dashboard (password)', 'pause'],
      [TOKEN, 'dashboard (API token)', 'resume'],
    ] as const) {
      const unnamed = await logIn(undefined, `/sequences/clear/${action}`, secret);
      await Promise.all([unnamed.waitForURL(`${base}/sequences/clear`), unnamed.click('#confirm')]);
      expect((await audit('clear')).at(-1)).toMatchObject({ actor, action });
      await unnamed.close();
    }
    expect(await status('clear')).toBe('active');
  });

  it('the command line’s pause and resume leave their audit lines too (--by)', async () => {
    const paused = await campaign(['sequences', 'pause', 'steady', '--by', 'Grace'], env);
    expect(paused.stdout, paused.stderr).toBe('steady: paused\n');
    const resumed = await campaignInProcess(['sequences', 'resume', 'steady', '--by', 'Grace'], env);
    expect(resumed.stdout, resumed.stderr).toBe('steady: active\n');
    expect((await audit('steady')).map((a) => [a.actor, a.action])).toEqual([
      ['Grace', 'pause'],
      ['Grace', 'resume'],
    ]);
  });

  it('unknown sequences and variants, and malformed forms, are answered as such', async () => {
    const value = sign(
      sessionValue(Date.now() + 60_000, 'D'.repeat(22), { via: 'token', name: 'Ada' }),
      sessionKey({ secret: SECRET, apiToken: TOKEN, password: PASSWORD }),
    );
    const headers = { cookie: `campaign_session=${encodeURIComponent(value)}`, 'sec-fetch-site': 'same-origin' };
    expect((await app.inject({ method: 'GET', url: '/sequences/ghost/pause', headers })).statusCode).toBe(404);
    expect((await app.inject({ method: 'POST', url: '/sequences/ghost/resume', headers })).statusCode).toBe(404);
    expect((await app.inject({ method: 'GET', url: '/sequences/ghost/end', headers })).statusCode).toBe(404);
    expect((await app.inject({ method: 'GET', url: '/sequences/flat/decisions/99999', headers })).statusCode).toBe(404);
    const noVariant = await app.inject({ method: 'GET', url: '/sequences/clear/promote', headers });
    expect(noVariant.statusCode).toBe(400);
    expect(noVariant.body).toContain('variant');
    const badForce = await app.inject({
      method: 'POST',
      url: '/sequences/clear/promote',
      headers,
      payload: { variant: 'b', force: 'yes' },
    });
    expect(badForce.statusCode).toBe(400);
    // A variant the version does not have: blocked, force or not.
    const unknown = await app.inject({
      method: 'POST',
      url: '/sequences/steady/promote',
      headers,
      payload: { variant: 'zzz', force: 'on' },
    });
    expect(unknown.statusCode).toBe(409);
    expect(unknown.body).toContain('&quot;zzz&quot; is not a variant of version 1 (its variants: a, b).');
    expect(await decisions('steady')).toEqual([]);
  });

  it('every action page fits at 375 px', async () => {
    const page = await logIn('Ada', '/', TOKEN, 375);
    for (const path of [
      '/sequences/flat/pause',
      '/sequences/flat/resume',
      '/sequences/clear/promote?variant=b',
      '/sequences/flat/promote?variant=b',
      '/sequences/steady/end',
      '/sequences/ghost/pause',
    ]) {
      await page.goto(`${base}${path}`);
      expect(await fits(page), path).toBe(true);
    }
    await page.context().clearCookies();
    await page.goto(`${base}/login?next=%2Fsequences%2Fflat`);
    expect(await fits(page)).toBe(true);
    await page.close();
  });

  it('promote shows the evidence in the command’s words, refuses without force when it falls short, and force promotes', async () => {
    // The command's own answer on the same evidence (it refuses, so changes nothing).
    const cli = await campaignInProcess(['sequences', 'promote', 'flat', 'b', '--dir', dir, '--as-of', AS_OF.toISOString()], env);
    expect(cli.code, cli.stderr).toBe(1);

    const page = await logIn('Ada', '/sequences/flat/promote?variant=b');
    expect(await page.getAttribute('#verdict', 'data-supported')).toBe('false');
    const reasons = await page.locator('#reasons li').allTextContents();
    expect(reasons.length).toBeGreaterThan(0);
    for (const reason of reasons) expect(cli.stderr).toContain(`  - ${reason}\n`);
    expect(cli.stdout).toContain(`${await page.textContent('#split')}\n`);
    const cards = page.locator('#evidence .card');
    expect(await cards.count()).toBe(2);
    for (const card of await cards.all()) {
      expect(cli.stdout).toContain(`${await card.locator('h3').textContent()}:\n`);
      for (const line of await card.locator('li').allTextContents()) expect(cli.stdout).toContain(`  ${line}\n`);
    }
    expect(await page.textContent('#decide')).toContain('Force, against the evidence');

    // Not forced: refused, nothing written or logged.
    await page.fill('textarea[name=note]', 'ran the planned 60 days');
    expect(await submit(page)).toBe(409);
    expect(await page.textContent('#refused')).toContain('the evidence does not support promoting b. Nothing was written or logged.');
    expect(await page.inputValue('textarea[name=note]')).toBe('ran the planned 60 days');
    await page.setViewportSize({ width: 375, height: 900 });
    expect(await fits(page)).toBe(true);
    await page.setViewportSize({ width: 1280, height: 900 });
    expect(readFileSync(file('flat'), 'utf8')).toBe(original.flat);
    expect(await decisions('flat')).toEqual([]);
    expect((await audit('flat')).map((a) => a.action)).toEqual(['pause', 'resume']);

    // Forced: promoted, and both logs say so.
    await page.check('input[name=force]');
    expect(await submit(page)).toBe(303);
    const [decision] = await decisions('flat');
    expect(decision).toMatchObject({ variant: 'b', forced: true, decided_by: 'Ada', note: 'ran the planned 60 days', decided_at: AS_OF });
    expect(page.url()).toBe(`${base}/sequences/flat/decisions/${decision!.id}`);
    expect(await page.textContent('h1')).toBe('Promoted b in No difference');
    expect(await page.textContent('#decision')).toContain('forced, against the evidence');
    expect(await page.textContent('main')).toContain('campaign sequences apply flat');
    expect(variantsOf('flat')).toEqual(['b']);
    expect(readdirSync(dir).sort()).toEqual(['clear.yaml', 'flat.yaml', 'steady.yaml']);
    expect((await audit('flat')).at(-1)).toMatchObject({
      actor: 'Ada',
      action: 'promote',
      at: AS_OF,
      detail: { variant: 'b', decisionId: decision!.id, forced: true, version: 1 },
    });
    expect(await page.locator('#audit-log li').first().textContent()).toBe(
      `promoted b (forced, against the evidence) by Ada, ${WHEN} (decision ${decision!.id})`,
    );
    // The command's log says the same.
    const log = await campaignInProcess(['sequences', 'log', 'flat'], env);
    expect(log.stdout).toContain('promote b (forced)  by Ada');

    // The file now differs from the live version: the page says so and offers nothing to do.
    await page.goto(`${base}/sequences/flat/promote?variant=b`);
    expect(await page.textContent('#problem')).toContain('is not what version 1 (the live one) says');
    expect(await page.locator('#confirm').count()).toBe(0);
    await page.close();
  });

  it('promote carries out a supported decision without force, as the command would', async () => {
    const page = await logIn('Ada Analyst', '/sequences/clear/promote?variant=b');
    expect(await page.getAttribute('#verdict', 'data-supported')).toBe('true');
    expect(await page.textContent('#verdict')).toBe('The evidence supports promoting b.');
    expect(await page.locator('#evidence .card[data-against=control] li').first().textContent()).toMatch(
      /^sequential verdict: better; always-valid 95% interval \[\$[\d.]+, \$[\d.]+\]$/,
    );
    expect(await page.locator('input[name=force]').count()).toBe(0);
    expect(await page.textContent('main')).toContain('by Ada Analyst');
    expect(await submit(page)).toBe(303);
    const [decision] = await decisions('clear');
    expect(decision).toMatchObject({ variant: 'b', forced: false, decided_by: 'Ada Analyst', note: null });
    expect(page.url()).toBe(`${base}/sequences/clear/decisions/${decision!.id}`);
    expect(variantsOf('clear')).toEqual(['b']);
    expect(await page.locator('#audit-log li').first().textContent()).toBe(`promoted b by Ada Analyst, ${WHEN} (decision ${decision!.id})`);
    await page.close();
  });

  it('end test keeps the control, after showing its evidence and what the test could have detected', async () => {
    const page = await logIn('Ada', '/sequences/steady/end');
    expect(await page.textContent('h1')).toBe('End the test of Steady control: keep the control a?');
    expect(await page.getAttribute('#verdict', 'data-supported')).toBe('true');
    expect(await page.textContent('#caveats')).toMatch(/could only detect a difference of \$[\d.]+ per customer/);
    await page.fill('textarea[name=note]', 'no difference after 40 days');
    expect(await submit(page)).toBe(303);
    const [decision] = await decisions('steady');
    expect(decision).toMatchObject({ variant: 'a', forced: false, decided_by: 'Ada', note: 'no difference after 40 days' });
    expect(await page.textContent('h1')).toBe('Ended the test of Steady control: kept the control a');
    expect(variantsOf('steady')).toEqual(['a']);
    expect((await audit('steady')).at(-1)).toMatchObject({ actor: 'Ada', action: 'end', detail: { variant: 'a', forced: false } });
    // Listed newest first; the command line's lines above were stamped with the real time, not this clock's.
    expect(await page.locator('#audit-log li').allTextContents()).toContain(
      `ended the test, kept the control a by Ada, ${WHEN} (decision ${decision!.id})`,
    );
    // The decision's page fits a phone too.
    await page.setViewportSize({ width: 375, height: 900 });
    expect(await fits(page)).toBe(true);
    const log = await campaignInProcess(['sequences', 'log', 'steady'], env);
    expect(log.stdout).toContain('keep the control a  by Ada');
    await page.close();
  });

  it('the new POSTs are refused from another origin or from nowhere, even with a session', async () => {
    const value = sign(
      sessionValue(Date.now() + 60_000, 'C'.repeat(22)),
      sessionKey({ secret: SECRET, apiToken: TOKEN, password: PASSWORD }),
    );
    const cookie = `campaign_session=${encodeURIComponent(value)}`;
    const before = { status: await status('flat'), audit: (await audit('flat')).length, decisions: (await decisions('flat')).length };
    for (const [url, payload] of [
      ['/sequences/flat/pause', {}],
      ['/sequences/flat/resume', {}],
      ['/sequences/flat/promote', { variant: 'a', force: 'on' }],
      ['/sequences/flat/end', { force: 'on' }],
    ] as const)
      for (const headers of [
        { 'sec-fetch-site': 'same-site' },
        { origin: 'https://evil.example' },
        { referer: 'https://evil.example/x' },
        {},
      ]) {
        const answer = await app.inject({ method: 'POST', url, payload, headers: { cookie, ...headers } });
        expect(answer.statusCode, `${url} ${JSON.stringify(headers)}`).toBe(403);
      }
    expect({ status: await status('flat'), audit: (await audit('flat')).length, decisions: (await decisions('flat')).length }).toEqual(
      before,
    );
    // The same session from the dashboard's own origin is let through (and a session cookie
    // of the old form, without a name, goes by "dashboard").
    const own = await app.inject({ method: 'POST', url: '/sequences/flat/pause', headers: { cookie, 'sec-fetch-site': 'same-origin' } });
    expect(own.statusCode).toBe(303);
    expect((await audit('flat')).at(-1)).toMatchObject({ actor: 'dashboard', action: 'pause' });
  });

  it('SequenceActions has Pause or Resume, Promote per challenger and End test; AuditList says who did what, when', () => {
    const version = {
      live: true,
      control: 'a',
      arms: [
        { arm: 'a', holdout: false },
        { arm: 'b', holdout: false },
        { arm: 'holdout', holdout: true },
      ],
    } as Parameters<typeof SequenceActions>[0]['version'];
    const active = renderToString(SequenceActions({ sequence: { id: 'post purchase', status: 'active' }, version }));
    expect(active).toContain('href="/sequences/post%20purchase/pause"');
    expect(active).toContain('href="/sequences/post%20purchase/promote?variant=b"');
    expect(active).not.toContain('variant=a');
    expect(active).not.toContain('variant=holdout');
    expect(active).toContain('href="/sequences/post%20purchase/end"');
    const paused = renderToString(SequenceActions({ sequence: { id: 'x', status: 'paused' }, version: { ...version, live: false } }));
    expect(paused).toContain('href="/sequences/x/resume"');
    expect(paused).not.toContain('/promote');
    expect(paused).not.toContain('/end');
    const lines = renderToString(
      AuditList({
        audit: [
          { id: 2, at: AS_OF, actor: 'Ada <b>', action: 'end', sequenceId: 'x', detail: { variant: 'a', decisionId: 7, forced: false } },
          { id: 1, at: new Date('2026-12-05T09:05:00Z'), actor: 'Ada', action: 'pause', sequenceId: 'x', detail: {} },
        ],
      }),
    );
    expect(lines).toContain(`ended the test, kept the control a by Ada &lt;b>, ${WHEN}`);
    expect(lines).toContain('href="/sequences/x/decisions/7"');
    expect(lines).toContain('paused by Ada, 5 Dec 2026, 09:05 UTC');
  });

  it('logged no console error on any page', () => {
    // A refused POST answers 409, and the unknown sequence's page 404, on purpose.
    expect(problems.filter((p) => !/status of 409|ghost\/pause: .* 404/.test(p))).toEqual([]);
  });
});
