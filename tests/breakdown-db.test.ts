/**
 * The report's segment breakdown on Postgres: planted customers in arms a and b, each with a
 * known segment at enrollment, an attribute, first or repeat, and known revenue in the window
 * (refunds, a cancelled order and an order after the window included); the report's
 * `breakdown` rows equal src/core/breakdown.ts on the revenues planted (the statistics there
 * are checked against SciPy in breakdown-core.test.ts). Also the `--by-attribute` option's
 * way through the API and the terminal.
 */
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatReport } from '../src/analytics/format.ts';
import { buildReport } from '../src/analytics/report.ts';
import { DEFAULT_ATTRIBUTION } from '../src/core/attribution.ts';
import { breakdown, type CellSample } from '../src/core/breakdown.ts';
import { summarize } from '../src/core/stats.ts';
import { queryRows } from '../src/db/client.ts';
import { buildServer } from '../src/http/app.ts';
import { freshDatabase, type TestDatabase } from './helpers/db.ts';
import { AS_OF, prepareExpShop, T0 } from './helpers/dashboard.ts';
import { Rows } from './helpers/rows.ts';

const DAY = 86_400_000;
const SEGMENTS = ['new', 'loyal', 'lapsed'] as const;

describe('the segment breakdown in the report', () => {
  let database: TestDatabase;
  /** Planted: per arm, each customer's dimension values and window revenue. */
  const planted: { arm: string; segment: string; buyer: string; plan: string; revenue: number }[] = [];

  beforeAll(async () => {
    database = await freshDatabase('postgres');
    await prepareExpShop(database.db, 'Breakdown');
    const rows = new Rows(database.db);
    const [version] = await queryRows<{ id: number }>(database.db, sql`select id from sequence_versions where sequence_id = 'exp'`);
    for (const arm of ['a', 'b']) {
      const count = 36;
      const at = (i: number) => new Date(T0 + (i % 20) * DAY).toISOString();
      const { customers, enrollments } = await rows.enrolledArm({
        sequence: 'exp',
        version: version!.id,
        arm,
        count,
        at,
        preSpend: () => 0,
      });
      for (const [i, customer] of customers.entries()) {
        const segment = SEGMENTS[i % 3]!;
        const plan = i % 4 === 0 ? 'gold' : 'basic';
        await database.db.execute(sql`update enrollments set segment = ${segment} where id = ${enrollments[i]!}`);
        await database.db.execute(sql`update customers set attributes = ${JSON.stringify({ plan })}::jsonb where id = ${customer}`);
        // A repeat buyer has an order before the trigger.
        const repeat = i % 2 === 1;
        if (repeat) await rows.orders([{ customer, at: new Date(T0 - 30 * DAY).toISOString(), total: 99 }]);
        // Revenue in the 10-day window: depends on arm and segment, with a spread.
        const revenue = (arm === 'b' && segment === 'loyal' ? 60 : 20) + (i % 5) * 7;
        if (i % 6 !== 5) await rows.orders([{ customer, at: new Date(Date.parse(at(i)) + 2 * DAY).toISOString(), total: revenue }]);
        // Outside the window, or cancelled: never counted.
        await rows.orders([{ customer, at: new Date(Date.parse(at(i)) + 15 * DAY).toISOString(), total: 500 }]);
        planted.push({ arm, segment, buyer: repeat ? 'repeat' : 'first', plan, revenue: i % 6 !== 5 ? revenue : 0 });
      }
    }
  }, 120_000);
  afterAll(() => database?.drop());

  const expected = (withPlan: boolean) => {
    const cells: CellSample[] = [];
    const dims: [string, (p: (typeof planted)[number]) => string][] = [
      ['buyer', (p) => p.buyer],
      ['segment', (p) => p.segment],
      ...(withPlan ? ([['attribute:plan', (p) => p.plan]] as [string, (p: (typeof planted)[number]) => string][]) : []),
    ];
    for (const [dimension, of] of dims) {
      const values = [...new Set(planted.map(of))].sort();
      for (const value of values)
        for (const arm of ['a', 'b'])
          cells.push({
            dimension,
            value,
            arm,
            ...summarize(planted.filter((p) => p.arm === arm && of(p) === value).map((p) => p.revenue)),
          });
    }
    return breakdown(cells, [{ arm: 'b', baseline: 'a', against: 'control' }]);
  };

  it('equals the breakdown of the revenues planted, cell by cell, Holm across them', async () => {
    const report = await buildReport(database.db, {
      asOf: AS_OF,
      attribution: DEFAULT_ATTRIBUTION,
      minSample: 10,
      breakdownAttribute: 'plan',
    });
    const version = report.sequences[0]!.versions[0]!;
    const got = version.breakdown.filter((r) => r.against === 'control');
    const want = expected(true);
    expect(got.map((r) => `${r.dimension}/${r.value}`)).toEqual(want.map((r) => `${r.dimension}/${r.value}`));
    for (const [i, w] of want.entries()) {
      const g = got[i]!;
      expect(g.n).toEqual(w.n);
      expect(g.difference!).toBeCloseTo(w.difference!, 9);
      expect(g.interval![0]).toBeCloseTo(w.interval![0], 6);
      expect(g.pValue!).toBeCloseTo(w.pValue!, 9);
      expect(g.exploratory).toBe(true);
    }
    // The planted effect: loyal customers in b spend $40 more, and that cell stands out.
    const loyal = got.find((r) => r.dimension === 'segment' && r.value === 'loyal')!;
    expect(loyal.difference!).toBeCloseTo(40, 9);
    expect(loyal.standsOut).toBe(true);
    expect(formatReport(report, { currency: 'USD' })).toContain('By buyer and segment (EXPLORATORY');
  });

  it('takes the attribute on the API, and refuses one that is not text', async () => {
    const app = await buildServer({ db: database.db, apiToken: 'bd-token', bodyLimitBytes: 65_536 });
    try {
      const auth = { authorization: 'Bearer bd-token' };
      const ok = await app.inject({
        method: 'GET',
        url: `/api/reports/sequences/exp?as_of=${AS_OF.toISOString()}&by_attribute=plan`,
        headers: auth,
      });
      expect(ok.statusCode).toBe(200);
      const rows = ok.json<{ sequence: { versions: { breakdown: { dimension: string }[] }[] } }>().sequence.versions[0]!.breakdown;
      expect(new Set(rows.map((r) => r.dimension))).toEqual(new Set(['buyer', 'segment', 'attribute:plan']));
      const bad = await app.inject({ method: 'GET', url: '/api/reports/sequences/exp?by_attribute=%00', headers: auth });
      expect(bad.statusCode).toBe(400);
    } finally {
      await app.close();
    }
  });
});
