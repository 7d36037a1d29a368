/**
 * The planner's statistics kept by the engine where no autovacuum keeps them (PGlite; a
 * server with it off): the rule that says a table is stale (autovacuum's own), the store's
 * reading and ANALYZE on both drivers, and a reconciler pass that analyzes what an ingest
 * filled.
 */
import { sql } from 'drizzle-orm';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ANALYZE_RULE, staleTables } from '../src/core/statistics.ts';
import { queryRows, type Db } from '../src/db/client.ts';
import { reconcile } from '../src/engine/reconcile.ts';
import { ingestCustomers } from '../src/ingest/batch.ts';
import { analyzeTables, tableChanges } from '../src/store/statistics.ts';
import { DB_KINDS, freshDatabase, type TestDatabase } from './helpers/db.ts';
import { eventually, startTestEngine, type TestEngine } from './helpers/engine.ts';

const customers = (n: number, prefix: string) =>
  Array.from({ length: n }, (_, i) => ({
    customer_id: `${prefix}-${i}`,
    email: `${prefix}${i}@example.com`,
    accepts_marketing: 'yes' as const,
  }));

/** What the planner believes of a table: its row count as of the last ANALYZE (-1 or 0: never analyzed). */
async function plannerRows(db: Db, table: string): Promise<number> {
  const [row] = await queryRows<{ n: number }>(db, sql`select reltuples::float8 as n from pg_class where relname = ${table}`);
  return row!.n;
}

describe('staleTables (autovacuum’s rule: more than 50 rows + 10% of the table changed)', () => {
  it('names the tables past the threshold, most changed first', () => {
    expect(ANALYZE_RULE).toEqual({ base: 50, scale: 0.1 });
    const tables = [
      { table: 'exactly-at', rows: 1_000, changedSinceAnalyze: 150 },
      { table: 'one-past', rows: 1_000, changedSinceAnalyze: 151 },
      { table: 'new-and-filled', rows: 0, changedSinceAnalyze: 5_000 },
      { table: 'few', rows: 10, changedSinceAnalyze: 50 },
      { table: 'big-and-quiet', rows: 10_000_000, changedSinceAnalyze: 900_000 },
    ];
    expect(staleTables(tables)).toEqual(['new-and-filled', 'one-past']);
    expect(staleTables([])).toEqual([]);
  });
});

describe.each(DB_KINDS)('the tables’ statistics (%s)', (kind) => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await freshDatabase(kind);
  });
  afterAll(() => database.drop());

  it('reads what changed since the last ANALYZE, and ANALYZE brings the planner up to date', async () => {
    const db = database.db;
    expect((await ingestCustomers(db, customers(2_000, 'stat'))).ok).toBe(true);
    // The cumulative statistics arrive within a second or so of the commit.
    const changes = await eventually(
      async () => (await tableChanges(db)).find((t) => t.table === 'customers' && t.changedSinceAnalyze >= 2_000),
      20_000,
      'the insert in the statistics',
    );
    expect(changes.rows).toBe(2_000);
    expect(staleTables(await tableChanges(db))).toContain('customers');
    expect(await plannerRows(db, 'customers')).toBeLessThanOrEqual(0);

    expect(await analyzeTables(db, ['customers'])).toBe(true);
    expect(await plannerRows(db, 'customers')).toBe(2_000);
    await eventually(
      async () => (await tableChanges(db)).find((t) => t.table === 'customers' && t.changedSinceAnalyze === 0),
      20_000,
      'the ANALYZE in the statistics',
    );
    expect(staleTables(await tableChanges(db))).not.toContain('customers');
    expect(await analyzeTables(db, [])).toBe(false);
  });

  it.runIf(kind === 'postgres')('leaves it to the connection already analyzing (one analyzer at a time)', async () => {
    const other = new pg.Client({ connectionString: database.url });
    await other.connect();
    try {
      await other.query('begin');
      await other.query(`select pg_advisory_xact_lock(hashtext('campaign.analyze'))`);
      expect(await analyzeTables(database.db, ['customers'])).toBe(false);
      await other.query('commit');
      expect(await analyzeTables(database.db, ['customers'])).toBe(true);
    } finally {
      await other.end();
    }
  });
});

describe('a reconciler pass', () => {
  let t: TestEngine;
  beforeAll(async () => {
    t = await startTestEngine(
      'id: quiet\nname: Quiet\ntrigger: { event: order_placed }\nvariants: [{ key: only, weight: 1 }]\nsteps:\n  - { delay: 1h, template: thank-you }\n',
      {
        clockScale: 1,
      },
    );
  });
  afterAll(() => t.stop());

  it('analyzes the tables an ingest filled, and then leaves them until they change again', async () => {
    const db = t.database.db;
    expect((await ingestCustomers(db, customers(3_000, 'pass'))).ok).toBe(true);
    await eventually(
      async () => (await tableChanges(db)).some((t) => t.table === 'customers' && t.changedSinceAnalyze >= 3_000),
      20_000,
      'the insert in the statistics',
    );
    const first = await reconcile(t.engine, 0, 60);
    expect(first.analyzed).toContain('customers');
    expect(await plannerRows(db, 'customers')).toBeGreaterThanOrEqual(3_000);
    await eventually(
      async () => (await tableChanges(db)).some((t) => t.table === 'customers' && t.changedSinceAnalyze === 0),
      20_000,
      'the ANALYZE in the statistics',
    );
    expect((await reconcile(t.engine, 0, 60)).analyzed).not.toContain('customers');
  });
});
