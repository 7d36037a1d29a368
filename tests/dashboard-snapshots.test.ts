/**
 * The dashboard's page snapshots (src/dashboard/snapshots.ts) on the real Postgres: a page
 * looked at again is served from its stored figures, identical to the page built live; a
 * change shows once the snapshot is rebuilt, while the sequence's status is always read
 * live; with DASHBOARD_SNAPSHOT_SECONDS at 0 nothing is stored. When each build happens
 * (behind the reader past half the age, before answering past it, one at a time) is tested
 * on a clock the test moves; the rule itself (src/core/snapshot.ts) without IO.
 */
import { sign } from '@fastify/cookie';
import { sql } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_ATTRIBUTION } from '../src/core/attribution.ts';
import { fixedClock } from '../src/core/clock.ts';
import { snapshotAction } from '../src/core/snapshot.ts';
import { sessionKey, sessionValue } from '../src/dashboard/auth.ts';
import { pageSnapshots } from '../src/dashboard/snapshots.ts';
import { queryRows } from '../src/db/client.ts';
import { buildServer } from '../src/http/app.ts';
import { AS_OF, prepareExpShop, T0 } from './helpers/dashboard.ts';
import { freshDatabase, type TestDatabase } from './helpers/db.ts';
import { eventually } from './helpers/engine.ts';
import { Rows } from './helpers/rows.ts';

const TOKEN = 'snapshot-test-token-0123456789abcdef';
const SECRET = 'snapshot-test-secret-0123456789abcdef';
const DAY = 86_400_000;
/** The snapshot's maximum age in the test: long enough to read a page twice, short enough to wait out. */
const MAX_AGE_SECONDS = 10;

describe('snapshotAction', () => {
  const now = new Date('2026-06-01T12:00:00Z');
  const ago = (ms: number) => new Date(now.getTime() - ms);
  it('serves a young snapshot, serves and refreshes one past half its age, builds an old, missing or future one', () => {
    expect(snapshotAction(undefined, now, 300_000)).toBe('build');
    expect(snapshotAction(ago(0), now, 300_000)).toBe('serve');
    expect(snapshotAction(ago(150_000), now, 300_000)).toBe('serve');
    expect(snapshotAction(ago(150_001), now, 300_000)).toBe('serve-then-refresh');
    expect(snapshotAction(ago(300_000), now, 300_000)).toBe('serve-then-refresh');
    expect(snapshotAction(ago(300_001), now, 300_000)).toBe('build');
    expect(snapshotAction(ago(-1), now, 300_000)).toBe('build');
    expect(snapshotAction(ago(0), now, 0)).toBe('build');
  });
});

describe('the report pages from their snapshots', () => {
  let database: TestDatabase;
  let rows: Rows;
  let versionId: number;
  let snapshotted: FastifyInstance;
  let live: FastifyInstance;
  const session = sign(sessionValue(Date.now() + DAY, 'S'.repeat(22)), sessionKey({ secret: SECRET, apiToken: TOKEN }));
  const headers = { cookie: `campaign_session=${encodeURIComponent(session)}` };
  const page = async (app: FastifyInstance, url: string) => {
    const answer = await app.inject({ method: 'GET', url, headers });
    expect(answer.statusCode, answer.body.slice(0, 300)).toBe(200);
    return answer.body;
  };
  /** The page's count of enrolled customers. */
  const enrolled = (html: string) => Number(/data-field="enrolledCustomers">([\d,]+)</.exec(html)![1]!.replace(/,/g, ''));
  const snapshots = async () =>
    queryRows<{ key: string; build_ms: number }>(database.db, sql`select key, build_ms from report_snapshots order by key`);
  /** Customers enrolled in arm a, each sent the first step, every third buying after it. */
  const enrollSome = async (count: number, first: number) => {
    const at = (i: number, plus = 0) => new Date(T0 + ((first + i) % 20) * DAY + plus).toISOString();
    const { customers, enrollments } = await rows.enrolledArm({
      sequence: 'exp',
      version: versionId,
      arm: 'a',
      count,
      at,
      preSpend: (i) => i % 40,
    });
    for (const [i, enrollment] of enrollments.entries()) {
      await rows.message(enrollment, customers[i]!, 0, at(i, 3_600_000));
      if (i % 3 === 0) await rows.orders([{ customer: customers[i]!, at: at(i, 20 * 3_600_000), total: 25 + i }]);
    }
  };
  const server = (snapshotSeconds: number) =>
    buildServer({
      db: database.db,
      apiToken: TOKEN,
      bodyLimitBytes: 1 << 20,
      clock: fixedClock(AS_OF),
      dashboard: { apiToken: TOKEN, secret: SECRET, sessionHours: 1, currency: 'USD', timeZone: 'UTC', snapshotSeconds },
    });

  beforeAll(async () => {
    database = await freshDatabase('postgres');
    await prepareExpShop(database.db, 'Snapshots');
    rows = new Rows(database.db);
    versionId = (await queryRows<{ id: number }>(database.db, sql`select id from sequence_versions where sequence_id = 'exp'`))[0]!.id;
    await enrollSome(30, 0);
    await rows.enrolledArm({
      sequence: 'exp',
      version: versionId,
      arm: 'holdout',
      count: 6,
      at: (i) => new Date(T0 + i * DAY).toISOString(),
      preSpend: () => 0,
    });
    snapshotted = await server(MAX_AGE_SECONDS);
    live = await server(0);
  }, 120_000);

  afterAll(async () => {
    await snapshotted?.close();
    await live?.close();
    await database?.drop();
  });

  it('stores the figures of each page looked at, and serves them again exactly as the page built live', async () => {
    for (const url of ['/', '/?period=30d', '/sequences/exp', '/sequences/exp?period=7d']) {
      await page(snapshotted, url);
      expect(await page(snapshotted, url)).toBe(await page(live, url));
    }
    // Per page and period, the settings' hash (and the overview's, of the live versions) after.
    const keys = (await snapshots()).map((s) => s.key);
    expect(keys).toHaveLength(4);
    expect(keys[0]).toMatch(/^overview:30d:[0-9a-f]{12}:[0-9a-f]{12}$/);
    expect(keys[1]).toMatch(/^overview:all:[0-9a-f]{12}:[0-9a-f]{12}$/);
    expect(keys[2]).toMatch(new RegExp(`^sequence:exp:${versionId}:7d:[0-9a-f]{12}$`));
    expect(keys[3]).toMatch(new RegExp(`^sequence:exp:${versionId}:all:[0-9a-f]{12}$`));
    // Other report settings, other snapshots.
    const other = await buildServer({
      db: database.db,
      apiToken: TOKEN,
      bodyLimitBytes: 1 << 20,
      clock: fixedClock(AS_OF),
      reports: { attribution: DEFAULT_ATTRIBUTION, minSample: 7 },
      dashboard: { apiToken: TOKEN, secret: SECRET, sessionHours: 1, currency: 'USD', timeZone: 'UTC', snapshotSeconds: 3_600 },
    });
    await page(other, '/sequences/exp');
    await other.close();
    expect(await snapshots()).toHaveLength(5);
    // The live server stores nothing.
    await database.db.execute(sql`delete from report_snapshots`);
    await page(live, '/sequences/exp');
    expect(await snapshots()).toEqual([]);
  });

  it('shows new figures once the snapshot is rebuilt, and the status at once', async () => {
    // An hour's snapshots: nothing rebuilds them within the test.
    const hourly = await server(3_600);
    try {
      const before = enrolled(await page(hourly, '/sequences/exp'));
      await page(hourly, '/');
      await enrollSome(5, 30);
      expect(enrolled(await page(live, '/sequences/exp'))).toBe(before + 5);
      // Still the snapshot's figures.
      expect(enrolled(await page(hourly, '/sequences/exp'))).toBe(before);

      // An action shows at once, on both pages, whatever the snapshot's age.
      await database.db.execute(sql`update sequences set status = 'paused' where id = 'exp'`);
      expect(await page(hourly, '/sequences/exp')).toMatch(/id="status">\s*paused/);
      expect(await page(hourly, '/')).toContain('<span class="badge paused">paused</span>');
      await database.db.execute(sql`update sequences set status = 'active' where id = 'exp'`);
    } finally {
      await hourly.close();
    }

    // With snapshots of a few seconds, the change shows once the page is rebuilt (behind the reader, or by the refresher).
    await page(snapshotted, '/sequences/exp');
    await enrollSome(2, 35);
    const now = enrolled(await page(live, '/sequences/exp'));
    await eventually(async () => enrolled(await page(snapshotted, '/sequences/exp')) === now, 40_000, 'the rebuilt snapshot');
  });
});

describe('pageSnapshots, on a clock the test moves', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await freshDatabase('postgres');
  });
  afterAll(() => database.drop());

  it('builds once, serves the stored figures, refreshes behind the reader past half the age, rebuilds first past the age', async () => {
    let real = Date.parse('2026-06-01T12:00:00Z');
    let builds = 0;
    const errors: unknown[] = [];
    // An hour's age: the refresher's timer (every quarter of it) never fires within the test.
    const snapshots = pageSnapshots({
      db: database.db,
      maxAgeMs: 3_600_000,
      onError: (e) => errors.push(e),
      realNow: () => new Date(real),
    });
    const build = async () => {
      builds += 1;
      return { asOf: new Date(T0 + builds * DAY), body: { build: builds } };
    };
    try {
      const first = await snapshots.figures('page:all', build);
      expect(first).toMatchObject({ body: { build: 1 }, fromSnapshot: false });
      real += 60_000;
      const again = await snapshots.figures('page:all', build);
      expect(again).toMatchObject({ body: { build: 1 }, fromSnapshot: true, asOf: new Date(T0 + DAY) });
      expect(builds).toBe(1);

      // Past half the age: the stored figures at once, a newer build behind.
      real += 1_800_000;
      expect(await snapshots.figures('page:all', build)).toMatchObject({ body: { build: 1 }, fromSnapshot: true });
      await eventually(async () => (await snapshots.figures('page:all', build)).body.build === 2, 20_000, 'the build behind the reader');
      expect(builds).toBe(2);

      // Past the whole age: built before answering.
      real += 3_600_001;
      expect(await snapshots.figures('page:all', build)).toMatchObject({ body: { build: 3 }, fromSnapshot: false });
      // Readers at once share one build.
      real += 3_600_001;
      const [a, b] = await Promise.all([snapshots.figures('page:all', build), snapshots.figures('page:all', build)]);
      expect([a.body.build, b.body.build, builds]).toEqual([4, 4, 4]);
      // A clock set back: the stored snapshot looks built in the future; it is built again and replaced.
      real -= 86_400_000;
      expect(await snapshots.figures('page:all', build)).toMatchObject({ body: { build: 5 }, fromSnapshot: false });
      expect(await snapshots.figures('page:all', build)).toMatchObject({ body: { build: 5 }, fromSnapshot: true });
      expect(errors).toEqual([]);
    } finally {
      await snapshots.stop();
    }

    // The refresher: it rebuilds what was looked at, one build at a time, a rebuild is not a
    // look, and once nobody has looked for an hour it stops.
    await database.db.execute(sql`delete from report_snapshots`);
    let offset = 0;
    let running = 0;
    let most = 0;
    let refreshed = 0;
    const slow = async () => {
      running += 1;
      most = Math.max(most, running);
      await new Promise((resolve) => setTimeout(resolve, 150));
      running -= 1;
      refreshed += 1;
      return { asOf: new Date(T0), body: { n: refreshed } };
    };
    // Ticks every 50 ms; a snapshot is half aged after 100 ms.
    const quick = pageSnapshots({
      db: database.db,
      maxAgeMs: 200,
      onError: (e) => errors.push(e),
      realNow: () => new Date(Date.now() + offset),
    });
    try {
      await quick.figures('page:quick', slow);
      const [looked] = await queryRows<{ viewed_at: Date }>(
        database.db,
        sql`select viewed_at from report_snapshots where key = 'page:quick'`,
      );
      await eventually(async () => refreshed >= 4 || errors.length > 0, 20_000, 'the refresher rebuilding');
      expect(errors).toEqual([]);
      expect(most).toBe(1);
      const [still] = await queryRows<{ viewed_at: Date }>(
        database.db,
        sql`select viewed_at from report_snapshots where key = 'page:quick'`,
      );
      expect(new Date(still!.viewed_at).getTime()).toBe(new Date(looked!.viewed_at).getTime());
      // Two hours on, nobody has looked within the hour: the refresher lets it be.
      offset = 2 * 3_600_000;
      await new Promise((resolve) => setTimeout(resolve, 400));
      const settled = refreshed;
      await new Promise((resolve) => setTimeout(resolve, 600));
      expect(refreshed).toBe(settled);
      expect(errors).toEqual([]);
    } finally {
      await quick.stop();
    }

    // With no age, every call builds and nothing is stored.
    await database.db.execute(sql`delete from report_snapshots`);
    const none = pageSnapshots({ db: database.db, maxAgeMs: 0, onError: (e) => errors.push(e) });
    await none.figures('page:all', build);
    await none.figures('page:all', build);
    expect(builds).toBe(7);
    expect(await queryRows(database.db, sql`select key from report_snapshots`)).toEqual([]);
    await none.stop();
  });
});
