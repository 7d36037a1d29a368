/**
 * The dashboard's page snapshots (src/dashboard/snapshots.ts) on the real Postgres: a page
 * looked at again is served from its stored figures, identical to the page built live; a
 * change shows once the snapshot is rebuilt (behind the reader past half its age, before
 * answering past its age), while the sequence's status is always read live; and with
 * DASHBOARD_SNAPSHOT_SECONDS at 0 nothing is stored. The rule itself (src/core/snapshot.ts)
 * is tested without IO.
 */
import { sign } from '@fastify/cookie';
import { sql } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixedClock } from '../src/core/clock.ts';
import { snapshotAction } from '../src/core/snapshot.ts';
import { sessionKey, sessionValue } from '../src/dashboard/auth.ts';
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
const MAX_AGE_SECONDS = 3;

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

    // Past half its age: served as it is, and rebuilt behind the reader.
    await new Promise((resolve) => setTimeout(resolve, (MAX_AGE_SECONDS * 1_000) / 2 + 200));
    expect(enrolled(await page(snapshotted, '/sequences/exp'))).toBe(before);
    await eventually(async () => enrolled(await page(snapshotted, '/sequences/exp')) === before + 5, 20_000, 'the rebuilt snapshot');

    // Past its whole age: built before answering.
    await enrollSome(2, 35);
    await new Promise((resolve) => setTimeout(resolve, MAX_AGE_SECONDS * 1_000 + 200));
    expect(enrolled(await page(snapshotted, '/sequences/exp'))).toBe(before + 7);
  });
});
