/**
 * Segments on a shop's real profiles (Postgres): planted customers land in the segment
 * their orders make them, with thresholds from the shop's own repeat customers; the
 * `campaign customers segments` and `profile` commands print them; config/segments.yaml
 * moves a threshold, and a mistake in it is named with file:line.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ingestCustomers, ingestOrders } from '../src/ingest/batch.ts';
import { shopSegments } from '../src/profiles/segments.ts';
import { campaign } from './helpers/cli.ts';
import { freshDatabase, type TestDatabase } from './helpers/db.ts';
import { tempFile } from './helpers/files.ts';
import { seedCatalog } from './helpers/seed.ts';

const DAY = 86_400_000;

describe('segments of a planted shop', () => {
  let database: TestDatabase;
  let env: Record<string, string>;
  beforeAll(async () => {
    database = await freshDatabase('postgres');
    await seedCatalog(database.db);
    env = { DATABASE_URL: database.url!, SEGMENTS_FILE: '/nonexistent/segments.yaml' };
    const now = Date.now();
    // [customers, orders each, days between them, days since the last]: loyal, active, at risk, new, lapsed.
    const plan: [number, number, number, number][] = [
      [10, 3, 10, 5],
      [5, 2, 20, 10],
      [5, 2, 60, 45],
      [5, 1, 0, 3],
      [5, 1, 0, 400],
    ];
    const customers: string[] = [];
    const orders: Parameters<typeof ingestOrders>[1] = [];
    for (const [group, [count, each, gap, since]] of plan.entries())
      for (let i = 0; i < count; i++) {
        const id = `sg-${group}-${i}`;
        customers.push(id);
        for (let k = 0; k < each; k++)
          orders.push({
            order_id: `${id}-o${k}`,
            customer_id: id,
            ordered_at: new Date(now - (since + (each - 1 - k) * gap) * DAY).toISOString(),
            items: [{ sku: 'BEAN-1', quantity: 1 + i, unit_price: '24.90' }],
          });
      }
    expect(
      (
        await ingestCustomers(
          database.db,
          customers.map((id) => ({ customer_id: id, email: `${id}@example.com` })),
        )
      ).ok,
    ).toBe(true);
    expect((await ingestOrders(database.db, orders)).ok).toBe(true);
  });
  afterAll(() => database.drop());

  it("places each customer by their orders, at thresholds from the shop's repeat customers", async () => {
    const { thresholds, counts } = await shopSegments(database.db, new Date(), {});
    // Typical gaps: ten of 10 days, five of 20, five of 60 (NumPy: quantile 0.75 = 30, 0.95 = 60).
    expect(thresholds).toMatchObject({ atRiskDays: 30, lapsedDays: 60, loyalOrders: 3, from: { atRiskDays: 'shop', lapsedDays: 'shop' } });
    expect(counts).toEqual({ loyal: 10, active: 5, at_risk: 5, new: 5, lapsed: 5 });
  });

  it('prints the segments and a profile, and takes thresholds from config/segments.yaml', async () => {
    const table = await campaign(['customers', 'segments'], env);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toContain("at risk after 30 days without an order (the shop's customers)");
    expect(table.stdout).toMatch(/^at_risk\s+5\s+16\.7%$/m);

    const profile = await campaign(['customers', 'profile', 'sg-0-1', '--json'], env);
    expect(JSON.parse(profile.stdout)).toMatchObject({
      customer: 'sg-0-1',
      profile: { orders: 3, spend: '149.40', averageOrderValue: '49.80', typicalGapDays: 10 },
      // Recency 5 days: the quintiles of 3, 5, 10, 45 and 400 days (five, ten, five, five, five customers) are 5, 5, 10, 45.
      // Frequency 3: above the cut points 1, 2, 2 but not the 80th percentile (3): 4.
      segment: { segment: 'loyal', rfm: { r: 3, f: 4 } },
      consent: { acceptsMarketing: 'unknown' },
    });
    const words = await campaign(['customers', 'profile', 'sg-2-0'], env);
    expect(words.stdout).toContain('segment at_risk');
    expect(words.stdout).toContain('typically 60 days between orders');

    const file = tempFile('segments.yaml', 'at_risk_after_days: 50\n');
    const moved = await campaign(['customers', 'segments', '--json'], { ...env, SEGMENTS_FILE: file });
    expect(JSON.parse(moved.stdout)).toMatchObject({
      thresholds: { atRiskDays: 50, lapsedDays: 60, from: { atRiskDays: 'config', lapsedDays: 'shop' } },
      counts: { active: 10, at_risk: 0 },
    });
    const bad = tempFile('segments.yaml', '# thresholds\nat_risk_after_days: soon\n');
    const refused = await campaign(['customers', 'segments'], { ...env, SEGMENTS_FILE: bad });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(new RegExp(`segments\\.yaml:2: at_risk_after_days: `));
  });
});
