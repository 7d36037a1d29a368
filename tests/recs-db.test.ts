import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { measures } from '../src/core/copurchase.ts';
import { queryRows } from '../src/db/client.ts';
import { writeDemoShop } from '../src/demo/shop.ts';
import { importRows } from '../src/ingest/import.ts';
import { openRows } from '../src/ingest/read.ts';
import { backtest } from '../src/recs/backtest.ts';
import { refillBacktest } from '../src/recs/replenish.ts';
import { buildStatistics } from '../src/recs/build.ts';
import { parseRules } from '../src/recs/rules.ts';
import { DEFAULT_RULES } from '../src/core/recommend.ts';
import { campaign, campaignInProcess } from './helpers/cli.ts';
import { DB_KINDS, freshDatabase, type TestDatabase } from './helpers/db.ts';
import { FIXTURES, tempFile } from './helpers/files.ts';
import { seedCatalog } from './helpers/seed.ts';
import { RulesError } from '../src/errors.ts';

const importFile = async (database: TestDatabase, kind: 'products' | 'customers' | 'orders', path: string) =>
  importRows(database.db, kind, await openRows(path, 'csv'), { batchSize: 2_000 });

describe.each(DB_KINDS)('recommendation statistics on %s', (kind) => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await freshDatabase(kind);
    await seedCatalog(database.db);
    await importFile(database, 'orders', `${FIXTURES}orders.csv`);
  });
  afterAll(() => database.drop());

  const snapshot = async () => ({
    pairs: await queryRows(database.db, sql`select * from copurchase_pairs order by product_id, related_product_id`),
    products: await queryRows(database.db, sql`select * from copurchase_products order by product_id`),
    state: (
      await queryRows<{ orders: number; pairs: number; last_order_id: number; counts: Uint8Array }>(
        database.db,
        sql`select orders, pairs, last_order_id, counts from copurchase_state`,
      )
    ).map((s) => ({ ...s, counts: Buffer.from(s.counts).toString('base64') })),
  });

  it('an incremental update after new orders gives the same statistics as a rebuild', async () => {
    expect(await buildStatistics(database.db)).toMatchObject({ mode: 'full', ordersRead: 3, totalOrders: 3 });
    const more = tempFile(
      'orders.csv',
      [
        'order_id,customer_id,ordered_at,sku,quantity,unit_price',
        'o-4,c-2,2026-03-04T10:00:00Z,ESP-100,1,249.00',
        'o-4,c-2,2026-03-04T10:00:00Z,GRN-10,1,129.50',
        'o-4,c-2,2026-03-04T10:00:00Z,GRN-10,1,129.50',
        'o-5,c-1,2026-03-05T10:00:00Z,BEAN-1,2,24.90',
        'o-5,c-1,2026-03-05T10:00:00Z,GRN-10,1,129.50',
      ].join('\n'),
    );
    await importFile(database, 'orders', more);
    expect(await buildStatistics(database.db)).toMatchObject({ mode: 'incremental', ordersRead: 2, totalOrders: 5 });
    const incremental = await snapshot();
    expect(await buildStatistics(database.db, { full: true })).toMatchObject({ mode: 'full', ordersRead: 5 });
    expect(await snapshot()).toEqual(incremental);
    // GRN-10 twice in o-4 counts once.
    const [grinder] = await queryRows<{ orders: number }>(
      database.db,
      sql`select orders from copurchase_products cp join products p on p.id = cp.product_id where p.sku = 'GRN-10'`,
    );
    expect(grinder!.orders).toBe(3);
  });
});

describe('recs commands', () => {
  let database: TestDatabase;
  let env: Record<string, string>;
  beforeAll(async () => {
    database = await freshDatabase('postgres');
    await seedCatalog(database.db);
    await importFile(database, 'orders', `${FIXTURES}orders.csv`);
    env = { DATABASE_URL: database.url! };
  });
  afterAll(() => database.drop());

  it('recs build, then recs related --json prints the exact measures, best first', async () => {
    expect((await campaign(['recs', 'build'], env)).code).toBe(0);
    const result = await campaignInProcess(['recs', 'related', 'BEAN-1', '--json'], env);
    expect(result.code, result.stderr).toBe(0);
    const related = JSON.parse(result.stdout) as {
      sku: string;
      pairOrders: number;
      support: number;
      confidence: number;
      lift: number;
      score: number;
    }[];
    // BEAN-1 is in o-1 (with ESP-100) and o-3 (with ESP-200 and TAMP-1) of 3 orders.
    const expected = (sku: string) => ({ sku, ...measures(1, 2, 1, 3) });
    expect(related).toHaveLength(3);
    expect(related).toEqual(expect.arrayContaining(['ESP-100', 'ESP-200', 'TAMP-1'].map(expected)));
    expect(related.find((r) => r.sku === 'ESP-100')).toEqual({
      sku: 'ESP-100',
      pairOrders: 1,
      support: 1 / 3,
      confidence: 0.5,
      lift: 1.5,
      score: measures(1, 2, 1, 3).score,
    });
    const scores = related.map((r) => r.score);
    expect(scores).toEqual([...scores].sort((a, b) => b - a));
    expect(Object.keys(related[0]!)).toEqual(['sku', 'pairOrders', 'support', 'confidence', 'lift', 'score']);
  });

  it('recs customer --json gives recommendations with reasons and upsells', async () => {
    const result = await campaignInProcess(['recs', 'customer', 'c-3', '--json'], env);
    expect(result.code, result.stderr).toBe(0);
    const body = JSON.parse(result.stdout);
    expect(body.orderId).toBe('o-3');
    expect(body.recommendations[0]).toMatchObject({
      sku: 'ESP-100',
      reason: 'Bought together with House Blend Beans, 1kg by 50% of its buyers',
    });
    const unknown = await campaignInProcess(['recs', 'related', 'NOPE', '--json'], env);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('no product "NOPE"');
  });
});

describe('backtest on a generated shop with planted complements', () => {
  it('co-purchase beats the popularity baseline by at least 1.5× at k = 3', async () => {
    const database = await freshDatabase('postgres');
    try {
      const dir = mkdtempSync(join(tmpdir(), 'campaign-shop-'));
      const files = writeDemoShop(dir, { customers: 800, days: 90, ordersPerDay: 30, seed: 5 }, new Date('2026-06-01T00:00:00Z'));
      for (const k of ['products', 'customers', 'orders'] as const) await importFile(database, k, files[k]);
      const result = await backtest(database.db, {
        k: 3,
        rules: { ...DEFAULT_RULES, consumableCategories: ['coffee-beans', 'filters', 'tea'] },
      });
      expect(result.trials).toBeGreaterThan(200);
      const { 'co-purchase': co, popularity } = result.strategies;
      expect(co.hits).toBeGreaterThan(20);
      expect(co.hitRate).toBeGreaterThanOrEqual(1.5 * popularity.hitRate);
    } finally {
      await database.drop();
    }
  });
});

describe('refill timing backtest on a generated shop with planted refill cycles', () => {
  it('learned timing falls far nearer the actual re-purchase day than a fixed 28 days', async () => {
    const database = await freshDatabase('postgres');
    try {
      // One customer in 25 is a regular, refilling their usual consumable every 10 to 25 days,
      // give or take two (src/demo/shop.ts); half a year of history, the last 60 days scored.
      const now = new Date('2026-06-01T00:00:00Z');
      const dir = mkdtempSync(join(tmpdir(), 'campaign-shop-'));
      const files = writeDemoShop(dir, { customers: 2000, days: 180, ordersPerDay: 8, seed: 9 }, now);
      for (const k of ['products', 'customers', 'orders'] as const) await importFile(database, k, files[k]);
      const refill = await refillBacktest(database.db, { cutoff: new Date(now.getTime() - 60 * 86_400_000), fixedDays: 28 });
      expect(refill.cases).toBeGreaterThan(100);
      // Regulars mostly go by their own rhythm.
      expect(refill.bySource.customer).toBeGreaterThan(refill.cases / 2);
      expect(refill.learned.meanAbsError).toBeLessThan(refill.fixed.meanAbsError / 2);
      expect(refill.learned.medianAbsError).toBeLessThan(3);
    } finally {
      await database.drop();
    }
  }, 120_000);
});

describe('rules file', () => {
  it('reads pins, bans, pairs and the cap', () => {
    const rules = parseRules(
      'consumable_categories: [beans]\nban: [X]\npin:\n  - sku: A\n    when_category: machines\nalways_pair:\n  - sku: B\n    with: [C, D]\nmax_per_category: 3\n',
      'r.yaml',
    );
    expect(rules).toEqual({
      consumableCategories: ['beans'],
      ban: ['X'],
      pin: [{ sku: 'A', whenSku: undefined, whenCategory: 'machines' }],
      alwaysPair: [{ sku: 'B', with: ['C', 'D'] }],
      maxPerCategory: 3,
    });
  });

  it('reports a mistake with file:line and field', () => {
    expect(() => parseRules('ban: []\npin:\n  - sku: A\n    when_categroy: machines\n', 'config/recommendations.yaml')).toThrow(RulesError);
    expect(() => parseRules('ban: []\npin:\n  - sku: A\n    when_categroy: machines\n', 'config/recommendations.yaml')).toThrow(
      /config\/recommendations\.yaml:3: pin\.0: .*when_categroy/,
    );
    expect(() => parseRules('max_per_category: zero\n', 'r.yaml')).toThrow(/r\.yaml:1: max_per_category: /);
    expect(() => parseRules('ban: [unclosed\n', 'r.yaml')).toThrow(/r\.yaml:\d+: /);
  });
});
