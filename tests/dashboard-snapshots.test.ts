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
    expect((await snapshots()).map((s) => s.key)).toEqual([
      'overview:30d',
      'overview:all',
      `sequence:exp:${versionId}:7d`,
      `sequence:exp:${versionId}:all`,
    ]);
    // The live server stores nothing.
    await database.db.execute(sql`delete from report_snapshots`);
    await page(live, '/sequences/exp');
    expect(await snapshots()).toEqual([]);
  });

  it('shows new figures once the snapshot is rebuilt, and the status at once', async () => {
    const before = enrolled(await page(snapshotted, '/sequences/exp'));
    await enrollSome(5, 30);
    expect(enrolled(await page(live, '/sequences/exp'))).toBe(before + 5);
    // Still the snapshot's figures: younger than half its age.
    expect(enrolled(await page(snapshotted, '/sequences/exp'))).toBe(before);

    // An action shows at once, whatever the snapshot's age.
    await database.db.execute(sql`update sequences set status = 'paused' where id = 'exp'`);
    expect(await page(snapshotted, '/sequences/exp')).toMatch(/id="status">\s*paused/);
    await database.db.execute(sql`update sequences set status = 'active' where id = 'exp'`);

    // Past half its age the page is rebuilt (behind the reader, or by the refresher), and the change shows.
    await eventually(async () => enrolled(await page(snapshotted, '/sequences/exp')) === before + 5, 40_000, 'the rebuilt snapshot');
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
      expect(errors).toEqual([]);
    } finally {
      await snapshots.stop();
    }

    // With no age, every call builds and nothing is stored.
    await database.db.execute(sql`delete from report_snapshots`);
    const none = pageSnapshots({ db: database.db, maxAgeMs: 0, onError: (e) => errors.push(e) });
    await none.figures('page:all', build);
    await none.figures('page:all', build);
    expect(builds).toBe(6);
    expect(await queryRows(database.db, sql`select key from report_snapshots`)).toEqual([]);
    await none.stop();
  });
});
