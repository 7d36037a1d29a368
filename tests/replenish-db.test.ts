/**
 * Learned replenishment from the stored order history (issue 17, item 4): the purchases as
 * the database gives them, on Postgres and PGlite, give the planted history's intervals;
 * what `recs build` learns in SQL (src/store/replenish.ts) equals the direct computation
 * (src/core/replenish.ts) for every product and category; a cancelled order is no purchase;
 * `campaign recs replenish SKU` prints what was learned and the delay it gives.
 */
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { intervalStats, repurchaseIntervals, replenishDelay } from '../src/core/replenish.ts';
import { importRows } from '../src/ingest/import.ts';
import { openRows } from '../src/ingest/read.ts';
import { queryRows } from '../src/db/client.ts';
import { learnReplenishment, purchases } from '../src/store/replenish.ts';
import { campaignInProcess } from './helpers/cli.ts';
import { DB_KINDS, freshDatabase, type TestDatabase } from './helpers/db.ts';
import { tempFile } from './helpers/files.ts';

const DAY = 86_400_000;
const T0 = Date.parse('2026-01-05T10:00:00Z');
const at = (day: number) => new Date(T0 + day * DAY).toISOString();

/** The planted history of tests/replenish-core.test.ts, as orders: [order, customer, sku, day]. */
const LINES: [string, string, string, number][] = [
  ['o1', 'c1', 'BEAN-1', 0],
  ['o2', 'c1', 'BEAN-1', 14],
  ['o3', 'c1', 'BEAN-1', 14.5],
  ['o4', 'c1', 'BEAN-1', 29],
  ['o5', 'c1', 'BEAN-1', 43],
  ['o6', 'c2', 'BEAN-1', 3],
  ['o7', 'c2', 'BEAN-1', 24],
  ['o8', 'c2', 'BEAN-2', 40],
  ['o9', 'c3', 'BEAN-2', 1],
  ['o10', 'c3', 'BEAN-2', 11],
  ['o11', 'c3', 'BEAN-2', 22.25],
  ['o12', 'c4', 'FLT-1', 0],
  ['o13', 'c4', 'FLT-1', 60],
  // Cancelled below: no purchase, so c2's BEAN-1 intervals stay [21].
  ['o14', 'c2', 'BEAN-1', 30],
];

describe.each(DB_KINDS)('learned replenishment from the orders on %s', (kind) => {
  let database: TestDatabase;
  const run = async (what: 'products' | 'customers' | 'orders' | 'cancellations', content: string) => {
    const path = tempFile(`${what}.csv`, content);
    const summary = await importRows(database.db, what, await openRows(path, 'csv'), { batchSize: 100 });
    expect(summary.rejected).toBe(0);
  };

  beforeAll(async () => {
    database = await freshDatabase(kind);
    await run(
      'products',
      'sku,name,category,price\nBEAN-1,House Beans,beans,12.00\nBEAN-2,Kenya Beans,beans,14.00\nFLT-1,Filters,filters,5.00',
    );
    await run('customers', 'customer_id,email\nc1,c1@example.com\nc2,c2@example.com\nc3,c3@example.com\nc4,c4@example.com');
    await run(
      'orders',
      [
        'order_id,customer_id,ordered_at,sku,quantity,unit_price',
        ...LINES.map(([o, c, sku, day]) => `${o},${c},${at(day)},${sku},1,10.00`),
      ].join('\n'),
    );
    await run('cancellations', `order_id,cancelled_at\no14,${at(31)}`);
  }, 120_000);
  afterAll(() => database?.drop());

  it('reads every uncancelled purchase of the category, and learns what a direct computation gives', async () => {
    const beans = await purchases(database.db, { category: 'beans' });
    expect(beans).toHaveLength(11);
    const learned = repurchaseIntervals(beans);
    expect(Object.fromEntries(learned.bySku.get('BEAN-1')!)).toEqual({ c1: [14, 15, 14], c2: [21] });
    expect(Object.fromEntries(learned.byCategory.get('beans')!)).toEqual({ c1: [14, 15, 14], c2: [21, 16], c3: [10, 11.25] });
    expect(replenishDelay(learned, { sku: 'BEAN-2' }, { own: 2, shop: 4 })).toMatchObject({ days: 14, source: 'category' });
  });

  it('learns in SQL, per product and per category, exactly what the direct computation gives', async () => {
    expect(await learnReplenishment(database.db)).toEqual({ products: 3, categories: 2 });
    // Twice: a rebuild replaces, never adds.
    expect(await learnReplenishment(database.db)).toEqual({ products: 3, categories: 2 });
    const direct = repurchaseIntervals(await purchases(database.db));
    const pooled = (m: Map<string, number[]>) => intervalStats([...m.values()].flat())!;
    const expected = [
      ...[...direct.bySku].map(([key, m]) => ({ scope: 'product', key, ...pooled(m) })),
      ...[...direct.byCategory].map(([key, m]) => ({ scope: 'category', key, ...pooled(m) })),
    ].sort((a, b) => `${a.scope}${a.key}`.localeCompare(`${b.scope}${b.key}`));
    const stored = await queryRows<{ scope: string; key: string; intervals: number; median: number; q1: number; q3: number }>(
      database.db,
      sql`select scope, key, intervals, median, q1, q3 from replenish_intervals order by scope || key`,
    );
    expect(stored.map((r) => r.key)).toEqual(expected.map((e) => e.key));
    stored.forEach((row, i) => {
      const e = expected[i]!;
      expect([row.scope, row.intervals]).toEqual([e.scope, e.n]);
      expect(row.median).toBeCloseTo(e.median, 9);
      expect(row.q1).toBeCloseTo(e.q1, 9);
      expect(row.q3).toBeCloseTo(e.q3, 9);
    });
    // The planted figures themselves (tests/replenish-core.test.ts has them from NumPy).
    expect(stored.find((r) => r.key === 'BEAN-1')).toMatchObject({ intervals: 4, median: 14.5, q1: 14, q3: 16.5 });
    expect(stored.find((r) => r.key === 'beans')).toMatchObject({ intervals: 7, median: 14, q1: 12.625, q3: 15.5 });
  });
});

describe('campaign recs replenish', () => {
  let database: TestDatabase;
  let env: Record<string, string>;
  beforeAll(async () => {
    database = await freshDatabase('postgres');
    env = { DATABASE_URL: database.url! };
    const write = async (what: 'products' | 'customers' | 'orders', content: string) => {
      const path = tempFile(`${what}.csv`, content);
      await importRows(database.db, what, await openRows(path, 'csv'), { batchSize: 100 });
    };
    await write('products', 'sku,name,category,price\nBEAN-1,House Beans,beans,12.00');
    await write('customers', 'customer_id,email\nc1,c1@example.com\nc2,c2@example.com');
    await write(
      'orders',
      [
        'order_id,customer_id,ordered_at,sku,quantity,unit_price',
        ...LINES.slice(0, 7).map(([o, c, sku, day]) => `${o},${c},${at(day)},${sku},1,10.00`),
      ].join('\n'),
    );
  }, 120_000);
  afterAll(() => database?.drop());

  it("prints what was learned, says when it is too little, and uses the customer's own rhythm", async () => {
    expect((await campaignInProcess(['recs', 'build'], env)).code).toBe(0);
    const [json, text, own, unknown] = await Promise.all([
      campaignInProcess(['recs', 'replenish', 'BEAN-1', '--json'], env),
      campaignInProcess(['recs', 'replenish', 'BEAN-1'], env),
      campaignInProcess(['recs', 'replenish', 'BEAN-1', '--customer', 'c1', '--lead', '3'], env),
      campaignInProcess(['recs', 'replenish', 'NOPE'], env),
    ]);
    expect(json.code, json.stderr).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual({
      sku: 'BEAN-1',
      category: 'beans',
      builtAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      product: { n: 4, median: 14.5, q1: 14, q3: 16.5 },
      categoryIntervals: { n: 4, median: 14.5, q1: 14, q3: 16.5 },
      own: null,
      delay: null,
    });
    expect(text.stdout).toContain('BEAN-1: 4 repeat purchases, median 14.5 days (quartiles 14.0 to 16.5), under the 20 needed to trust it');
    expect(text.stdout).toContain('too little is known: a refill step waits the fallback, 28 days');
    expect(own.stdout).toContain("a refill step would go 11.0 days after the purchase (from the customer's own rhythm, 3 days early)");
    expect([unknown.code, unknown.stderr.trim()]).toEqual([2, 'campaign: no product "NOPE"']);
  }, 120_000);
});
