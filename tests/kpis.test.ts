/**
 * The offer KPIs of the report on a constructed dataset: three arms (control `a`, variant `b`,
 * the holdout) of three measured customers each, with what each enrollment would offer, the
 * emails sent with their cross-sells and upsells, orders with lines, a partial refund, a
 * refund after as-of, a cancelled order, orders outside the window and the horizon, and the
 * trigger orders. Every figure is worked out by hand below and must equal the report's; the
 * comparisons' intervals equal SciPy/NumPy's.
 */
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reportCsv } from '../src/analytics/csv.ts';
import { formatReport } from '../src/analytics/format.ts';
import { buildReport, type ArmReport, type VersionReport } from '../src/analytics/report.ts';
import { DEFAULT_ATTRIBUTION } from '../src/core/attribution.ts';
import type { OfferedStep } from '../src/core/offers.ts';
import { queryRows } from '../src/db/client.ts';
import { DB_KINDS, freshDatabase, type TestDatabase } from './helpers/db.ts';
import { prepareShop } from './helpers/engine.ts';
import { orderIdOf, orderIngester, refundAndCancel, type Line } from './helpers/orders.ts';
import { Rows } from './helpers/rows.ts';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const T0 = Date.parse('2026-03-02T10:00:00Z');
const at = (ms: number) => new Date(T0 + ms).toISOString();
const AS_OF = new Date(T0 + 20 * DAY);

const SEQUENCE = `
id: offers
name: Offers
trigger: { event: order_placed }
holdout: 20%
variants:
  - { key: a, weight: 1 }
  - { key: b, weight: 1 }
measurement_window: 10d
steps:
  - { delay: 1h, template: thank-you }
  - { delay: 2d, template: accessories }
`;

/** Equal to 6 significant digits. */
function expectClose(actual: number | null | undefined, expected: number): void {
  expect(actual).not.toBeNull();
  expect(Math.abs(actual! - expected)).toBeLessThanOrEqual(Math.abs(expected) * 5e-7 + 1e-9);
}

describe.each(DB_KINDS)('offer KPIs on %s', (kind) => {
  let database: TestDatabase;
  const report = async (options: { asOf?: Date; enrolledFrom?: Date; repeatHorizonDays?: number } = {}): Promise<VersionReport> => {
    const r = await buildReport(database.db, { asOf: AS_OF, attribution: DEFAULT_ATTRIBUTION, minSample: 1, ...options });
    return r.sequences[0]!.versions[0]!;
  };
  const arm = (v: VersionReport, key: string): ArmReport => v.arms.find((a) => a.arm === key)!;

  beforeAll(async () => {
    database = await freshDatabase(kind);
    const db = database.db;
    await prepareShop(db, SEQUENCE);
    const [{ id: version } = { id: 0 }] = await queryRows<{ id: number }>(
      db,
      sql`select id from sequence_versions where sequence_id = 'offers'`,
    );
    const rows = new Rows(db);
    // x-0 … x-9: A1 A2 A3 A4 B1 B2 B3 H1 H2 H3
    const customer = await rows.named(['A1', 'A2', 'A3', 'A4', 'B1', 'B2', 'B3', 'H1', 'H2', 'H3'] as const);
    const ingest = orderIngester(db, 'k-');
    const order = (who: keyof typeof customer, ms: number, lines: Line[]) => ingest(customer[who].external, at(ms), lines);

    const enroll = async (who: keyof typeof customer, armKey: string, ms: number, offered: OfferedStep[] | null, trigger: Line[]) => {
      const triggerId = await orderIdOf(db, await order(who, ms, trigger));
      const [id] = await rows.enrollments([
        { customer: customer[who].id, sequence: 'offers', version, arm: armKey, trigger: triggerId, at: at(ms), preSpend: 0 },
      ]);
      if (offered) await db.execute(sql`update enrollments set offered = ${JSON.stringify(offered)}::jsonb where id = ${id!}`);
      return id!;
    };
    const send = async (
      enrollment: number,
      who: keyof typeof customer,
      step: number,
      ms: number,
      crossSell: string[],
      upsell: string[],
    ) => {
      const message = await rows.message(enrollment, customer[who].id, step, at(ms));
      await db.execute(
        sql`update messages set recommendations = ${JSON.stringify(crossSell)}::jsonb, upsells = ${JSON.stringify(upsell)}::jsonb where id = ${message}`,
      );
      return message;
    };
    const machine: Line[] = [['ESP-100', 1, '249.00']];
    const step = (crossSell: string[], upsell: string[]): OfferedStep => ({ crossSell, upsell });

    // Control a.
    // A1 was sent step 1 (GRN-10 / ESP-200), not TAMP-1 that offered[0] had: TAMP-1 is not offered.
    // Step 2 was never sent: its would-be BEAN-1 is offered.
    const a1 = await enroll('A1', 'a', 0, [step(['GRN-10', 'TAMP-1'], ['ESP-200']), step(['BEAN-1'], [])], machine);
    await send(a1, 'A1', 0, HOUR, ['GRN-10'], ['ESP-200']);
    const a1order = await order('A1', 2 * DAY, [
      ['GRN-10', 1, '129.50'],
      ['TAMP-1', 2, '19.00'],
    ]);
    // Legacy: no `offered`; only its emails' skus count. ESP-200 is not among them.
    const a2 = await enroll('A2', 'a', 0, null, machine);
    await send(a2, 'A2', 0, HOUR, ['BEAN-1'], []);
    await order('A2', 4 * DAY, [['BEAN-1', 2, '24.90']]);
    await order('A2', 5 * DAY, [['ESP-200', 1, '549.00']]);
    // Step 2's email went out after the BEAN-1 order: that email is not accepted.
    await send(a2, 'A2', 1, 4 * DAY + HOUR, ['BEAN-1'], []);
    // A3: no email; a cancelled order of an offered product, then an order after the window.
    await enroll('A3', 'a', 0, [step(['GRN-10'], ['ESP-200']), step(['BEAN-1'], [])], machine);
    const a3cancelled = await order('A3', 2 * DAY, [['GRN-10', 1, '129.50']]);
    await order('A3', 12 * DAY, [['ESP-200', 1, '549.00']]);
    // A4 enrolled later: its window is still open at as-of, so it is not measured.
    await enroll('A4', 'a', 15 * DAY, [step(['GRN-10'], []), step([], [])], machine);
    await order('A4', 16 * DAY, [['GRN-10', 1, '129.50']]);

    // Variant b.
    const b1 = await enroll('B1', 'b', 0, [step(['GRN-10', 'BEAN-1'], ['ESP-200']), step([], ['ESP-200'])], machine);
    await send(b1, 'B1', 0, HOUR, ['GRN-10', 'BEAN-1'], ['ESP-200']);
    await send(b1, 'B1', 1, 2 * DAY, [], ['ESP-200']);
    await order('B1', 3 * DAY, [
      ['ESP-200', 1, '549.00'],
      ['BEAN-1', 1, '24.90'],
    ]);
    // B2 bought a product never offered, then the would-be offer of its unsent step 2.
    const b2 = await enroll('B2', 'b', 0, [step(['BEAN-1'], []), step(['GRN-10'], [])], machine);
    await send(b2, 'B2', 0, HOUR, ['BEAN-1'], []);
    await order('B2', DAY, [['TAMP-1', 1, '19.00']]);
    await order('B2', 6 * DAY, [['GRN-10', 1, '129.50']]);
    // B3's email bounced; B3 buys only after the 90-day horizon.
    const b3 = await enroll('B3', 'b', 0, [step(['GRN-10'], []), step([], [])], machine);
    const bounced = await send(b3, 'B3', 0, HOUR, ['GRN-10'], []);
    await rows.event(bounced, customer.B3.id, 'bounce', at(2 * HOUR));
    await order('B3', 95 * DAY, [['BEAN-1', 1, '24.90']]);

    // Holdout: never emailed, measured against what it would have been offered.
    await enroll('H1', 'holdout', 0, [step(['GRN-10'], ['ESP-200']), step(['BEAN-1'], [])], machine);
    const h1order = await order('H1', 2 * DAY, [['ESP-200', 1, '549.00']]);
    await enroll('H2', 'holdout', 0, [step(['BEAN-1'], []), step(['BEAN-1'], [])], machine);
    await order('H2', 3 * DAY, [['BEAN-1', 3, '24.90']]);
    // H3's would-be offer GRN-10 is in its trigger order, which never counts.
    await enroll('H3', 'holdout', 0, [step(['GRN-10'], []), step([], [])], [...machine, ['GRN-10', 1, '129.50']]);

    await refundAndCancel(
      db,
      [
        { refund_id: 'kr-1', order_id: a1order, refunded_at: at(3 * DAY), amount: '33.50' },
        // After as-of: not counted yet.
        { refund_id: 'kr-2', order_id: h1order, refunded_at: at(25 * DAY), amount: '100.00' },
      ],
      [{ order_id: a3cancelled, cancelled_at: at(2 * DAY + HOUR) }],
    );
  });
  afterAll(() => database?.drop());

  it('per arm: acceptance, recommended revenue, order value, items per order, offer order value, worked out by hand', async () => {
    const v = await report();
    expect(v.arms.map((x) => [x.arm, x.enrolled, x.measured.customers])).toEqual([
      ['a', 4, 3],
      ['b', 3, 3],
      ['holdout', 3, 3],
    ]);
    // Control a: A1, A2, A3 (A4 is not measured).
    // A1: order 167.50 (GRN-10 129.50 + 2 × TAMP-1 19.00), refunded 33.50 → net 134.00, 3 items;
    //     GRN-10 offered (sent): accepted cross-sell; its share of the net: 129.50 × 134.00 / 167.50 = 103.60.
    // A2: BEAN-1 2 × 24.90 = 49.80 (offered by its email) and ESP-200 549.00 (not offered: no `offered`, not in an email);
    //     net 598.80, 2 orders, 3 items, recommended 49.80.
    // A3: its GRN-10 order was cancelled, its ESP-200 order is after the window: nothing.
    const a = arm(v, 'a').kpis;
    expect(a.acceptance).toEqual({
      crossSell: { customers: 3, accepted: 2, rate: 2 / 3 },
      upsell: { customers: 3, accepted: 0, rate: 0 },
      any: { customers: 3, accepted: 2, rate: 2 / 3 },
    });
    expect(a.recommendedRevenue.customers).toBe(3);
    expectClose(a.recommendedRevenue.total, 103.6 + 49.8); // 153.40
    expectClose(a.recommendedRevenue.perCustomer, 153.4 / 3);
    expect(a.aov).toMatchObject({ customers: 3, orders: 3 });
    expectClose(a.aov.revenue, 134 + 598.8); // 732.80
    expectClose(a.aov.value, 732.8 / 3);
    expect(a.itemsPerOrder).toMatchObject({ customers: 3, orders: 3, items: 6 });
    expectClose(a.itemsPerOrder.value, 6 / 3);
    // Orders with an offered product: A1's (134.00) and A2's BEAN-1 order (49.80).
    expect(a.offerOrderValue).toMatchObject({ customers: 3, orders: 2 });
    expectClose(a.offerOrderValue.value, (134 + 49.8) / 2);

    // Variant b: B1 573.90 (ESP-200 upsell and BEAN-1 cross-sell, both emailed), 2 items;
    // B2 19.00 (TAMP-1, never offered) + 129.50 (GRN-10, offered[1], step 2 never sent); B3 nothing.
    const b = arm(v, 'b').kpis;
    expect(b.acceptance).toEqual({
      crossSell: { customers: 3, accepted: 2, rate: 2 / 3 },
      upsell: { customers: 3, accepted: 1, rate: 1 / 3 },
      any: { customers: 3, accepted: 2, rate: 2 / 3 },
    });
    expectClose(b.recommendedRevenue.total, 573.9 + 129.5); // 703.40
    expectClose(b.recommendedRevenue.perCustomer, 703.4 / 3);
    expect(b.aov).toMatchObject({ customers: 3, orders: 3 });
    expectClose(b.aov.value, (573.9 + 148.5) / 3);
    expect(b.itemsPerOrder).toMatchObject({ orders: 3, items: 4 });
    expectClose(b.itemsPerOrder.value, 4 / 3);
    expect(b.offerOrderValue.orders).toBe(2);
    expectClose(b.offerOrderValue.value, (573.9 + 129.5) / 2);

    // Holdout: H1 549.00 (its would-be upsell; the refund is after as-of), H2 3 × 24.90 = 74.70 (would-be
    // cross-sell), H3 nothing (GRN-10 was in its trigger order).
    const h = arm(v, 'holdout').kpis;
    expect(h.acceptance).toEqual({
      crossSell: { customers: 3, accepted: 1, rate: 1 / 3 },
      upsell: { customers: 3, accepted: 1, rate: 1 / 3 },
      any: { customers: 3, accepted: 2, rate: 2 / 3 },
    });
    expectClose(h.recommendedRevenue.total, 549 + 74.7);
    expect(h.aov).toMatchObject({ orders: 2 });
    expectClose(h.aov.value, 623.7 / 2);
    expect(h.itemsPerOrder).toMatchObject({ orders: 2, items: 4 });
    expectClose(h.offerOrderValue.value, 623.7 / 2);

    // The same revenue as the measured view, and the delta-method standard error of each arm's AOV:
    // np.sqrt(delta(rev, ord)[1]) with delta() as in the comparisons' test below.
    for (const x of v.arms) expectClose(x.kpis.aov.revenue, x.measured.revenue);
    expectClose(a.aov.standardError, 63.66248968264278);
    expectClose(b.aov.standardError, 192.31537466706433);
    expectClose(h.aov.standardError, 205.37792450747963);

    // The 90-day horizon of no one has closed 20 days after enrolling.
    for (const x of v.arms) expect(x.kpis.repeatRate).toEqual({ horizonDays: 90, customers: 0, repeated: 0, rate: null });
  });

  it('per step: delivered emails whose recipient then bought what they offered', async () => {
    const v = await report();
    const steps = (key: string) => arm(v, key).steps.map((s) => [s.delivered, s.accepted, s.acceptanceRate]);
    // a: step 1 to A1 (GRN-10 bought) and A2 (BEAN-1 bought); step 2 to A2 after its BEAN-1 order.
    expect(steps('a')).toEqual([
      [2, 2, 1],
      [1, 0, 0],
    ]);
    // b: step 1 to B1 (bought), B2 (bought only TAMP-1 and GRN-10, neither in that email), B3 (bounced);
    // step 2 to B1 (ESP-200 bought a day later).
    expect(steps('b')).toEqual([
      [2, 1, 0.5],
      [1, 1, 1],
    ]);
    expect(steps('holdout')).toEqual([
      [0, 0, null],
      [0, 0, null],
    ]);
  });

  it('comparisons: differences of the KPIs with their 95% intervals, as SciPy/NumPy compute them', async () => {
    const v = await report();
    const c = v.comparisons.find((x) => x.arm === 'b' && x.against === 'control')!.kpis!;
    // Per customer (A1, A2, A3 / B1, B2, B3 / H1, H2, H3):
    //   a = dict(rev=[134.00, 598.80, 0], ord=[1, 2, 0], items=[3, 3, 0], rec=[103.60, 49.80, 0], orev=[134.00, 49.80, 0], oord=[1, 1, 0])
    //   b = dict(rev=[573.90, 148.50, 0], ord=[1, 2, 0], items=[2, 2, 0], rec=[573.90, 129.50, 0], orev=[573.90, 129.50, 0], oord=[1, 1, 0])
    //   h = dict(rev=[549.00, 74.70, 0], ord=[1, 1, 0], items=[1, 3, 0], rec=[549.00, 74.70, 0], orev=[549.00, 74.70, 0], oord=[1, 1, 0])
    // import numpy as np; from scipy import stats   (SciPy 1.17, NumPy 2)
    // def delta(x, y):
    //     x = np.asarray(x, float); y = np.asarray(y, float)
    //     n = len(x); mx, my = x.mean(), y.mean()
    //     vx, vy = np.var(x, ddof=1), np.var(y, ddof=1); cxy = np.cov(x, y, ddof=1)[0, 1]
    //     return mx / my, (vx / my**2 - 2 * mx * cxy / my**3 + mx**2 * vy / my**4) / n
    // def ratio_diff(xa, ya, xb, yb):
    //     Ra, Va = delta(xa, ya); Rb, Vb = delta(xb, yb)
    //     d = Ra - Rb; se = np.sqrt(Va + Vb); q = stats.norm.ppf(0.975)
    //     return Ra, Rb, d, se, d - q*se, d + q*se, 2*stats.norm.sf(abs(d/se))
    // def props(sa, na, sb, nb):   # unpooled interval, pooled test (as prop.test(correct=FALSE))
    //     pa, pb = sa/na, sb/nb; d = pa - pb; q = stats.norm.ppf(0.975)
    //     se = np.sqrt(pa*(1-pa)/na + pb*(1-pb)/nb); pool = (sa+sb)/(na+nb); pse = np.sqrt(pool*(1-pool)*(1/na+1/nb))
    //     return d, d - q*se, d + q*se, 2*stats.norm.sf(abs(d/pse)) if pse > 0 else 1.0
    // ratio_diff(b['rev'], b['ord'], a['rev'], a['ord'])
    expectClose(c.aov.arm, 240.8);
    expectClose(c.aov.baseline, 244.26666666666665);
    expectClose(c.aov.difference, -3.4666666666666686);
    expectClose(c.aov.standardError, 202.5786660187245);
    expectClose(c.aov.interval[0], -400.51355609953475);
    expectClose(c.aov.interval[1], 393.5802227662015);
    expectClose(c.aov.pValue, 0.9863467122680593);
    // ratio_diff(b['items'], b['ord'], a['items'], a['ord'])
    expectClose(c.itemsPerOrder.difference, -0.6666666666666667);
    expectClose(c.itemsPerOrder.interval[0], -2.0266634622650654);
    expectClose(c.itemsPerOrder.interval[1], 0.6933301289317317);
    expectClose(c.itemsPerOrder.pValue, 0.3366683676100387);
    // ratio_diff(b['orev'], b['oord'], a['orev'], a['oord'])
    expectClose(c.offerOrderValue.difference, 259.8);
    expectClose(c.offerOrderValue.interval[0], -124.06752768608806);
    expectClose(c.offerOrderValue.interval[1], 643.6675276860881);
    expectClose(c.offerOrderValue.pValue, 0.1846755426907386);
    // r = stats.ttest_ind(b['rec'], a['rec'], equal_var=False); r.confidence_interval(0.95), r.pvalue, r.df
    expectClose(c.recommendedRevenue.difference, 183.33333333333334);
    expectClose(c.recommendedRevenue.interval[0], -536.172332735554);
    expectClose(c.recommendedRevenue.interval[1], 902.8389994022208);
    expectClose(c.recommendedRevenue.pValue, 0.4024336826790091);
    expectClose(c.recommendedRevenue.degreesOfFreedom, 2.1184152738173556);
    // props(1, 3, 0, 3): upsell; props(2, 3, 2, 3): cross-sell and any
    expectClose(c.acceptance.upsell.difference, 1 / 3);
    expectClose(c.acceptance.upsell.interval[0], -0.20010129737281218);
    expectClose(c.acceptance.upsell.interval[1], 0.8667679640394788);
    expectClose(c.acceptance.upsell.pValue, 0.27332167829229814);
    expect(c.acceptance.crossSell.difference).toBe(0);
    expectClose(c.acceptance.crossSell.interval[1], 0.7543904893841145);
    expectClose(c.acceptance.any.interval[0], -0.7543904893841145);
    expect(c.acceptance.any.pValue).toBe(1);

    const h = v.comparisons.find((x) => x.arm === 'b' && x.against === 'holdout')!.kpis!;
    // ratio_diff(b['rev'], b['ord'], h['rev'], h['ord'])
    expectClose(h.aov.difference, -71.05000000000004);
    expectClose(h.aov.interval[0], -622.5118949400825);
    expectClose(h.aov.interval[1], 480.41189494008233);
    expectClose(h.aov.pValue, 0.8006387599735674);
    // props(2, 3, 1, 3)
    expectClose(h.acceptance.crossSell.difference, 1 / 3);
    expectClose(h.acceptance.crossSell.interval[0], -0.42105715605078115);
    expectClose(h.acceptance.crossSell.interval[1], 1.0877238227174477);
    expectClose(h.acceptance.crossSell.pValue, 0.4142161782425252);
    // r = stats.ttest_ind(b['rec'], h['rec'], equal_var=False)
    expectClose(h.recommendedRevenue.interval[0], -652.1542774323623);
    expectClose(h.recommendedRevenue.interval[1], 705.2876107656957);
    expectClose(h.recommendedRevenue.pValue, 0.9186895177784326);
  });

  it('repeat rate: another order within the horizon, over the customers whose horizon has closed', async () => {
    // 15-day horizon, as of day 20: the nine customers of day 0 (A4's horizon closes on day 30).
    // a: A1 (day 2), A2 (day 4), A3 (day 12: after the window, inside the horizon) → 3/3;
    // b: B1, B2 → 2/3 (B3 buys on day 95); holdout: H1, H2 → 2/3.
    const v = await report({ repeatHorizonDays: 15 });
    const rates = v.arms.map((x) => [x.arm, x.kpis.repeatRate.customers, x.kpis.repeatRate.repeated, x.kpis.repeatRate.horizonDays]);
    expect(rates).toEqual([
      ['a', 3, 3, 15],
      ['b', 3, 2, 15],
      ['holdout', 3, 2, 15],
    ]);
    // props(2, 3, 3, 3)
    const c = v.comparisons.find((x) => x.arm === 'b' && x.against === 'control')!.kpis!.repeatRate;
    expectClose(c.difference, -1 / 3);
    expectClose(c.interval[0], -0.8667679640394789);
    expectClose(c.interval[1], 0.20010129737281213);
    expectClose(c.pValue, 0.2733216782922979);

    // The 90-day default, as of day 100: the same nine (A4 enrolled on day 15 is 85 days in); B3's day-95 order is past its horizon.
    const later = await report({ asOf: new Date(T0 + 100 * DAY) });
    expect(later.arms.map((x) => [x.arm, x.kpis.repeatRate.customers, x.kpis.repeatRate.repeated, x.kpis.repeatRate.rate])).toEqual([
      ['a', 3, 3, 1],
      ['b', 3, 2, 2 / 3],
      ['holdout', 3, 2, 2 / 3],
    ]);
  });

  it('counts only the cohort enrolled from `enrolledFrom`: none measured is no data, never 0', async () => {
    const v = await report({ enrolledFrom: new Date(T0 + DAY) });
    const a = arm(v, 'a');
    expect(a.enrolled).toBe(1);
    expect(a.kpis.acceptance.any).toEqual({ customers: 0, accepted: 0, rate: null });
    expect(a.kpis.aov).toEqual({ customers: 0, orders: 0, revenue: 0, value: null, standardError: null });
    expect(a.kpis.recommendedRevenue).toEqual({ customers: 0, total: 0, perCustomer: null });
    const json = JSON.parse(JSON.stringify(v.comparisons.find((x) => x.arm === 'b' && x.against === 'control')!.kpis)) as {
      aov: { difference: null; interval: [null, null] };
    };
    expect(json.aov.difference).toBeNull();
    expect(json.aov.interval).toEqual([null, null]);
  });

  it('prints the offers table and the KPI comparisons', async () => {
    const r = await buildReport(database.db, { asOf: AS_OF, attribution: DEFAULT_ATTRIBUTION, minSample: 1 });
    const text = formatReport(r, { currency: 'USD' });
    expect(text).toContain('Offers (what measured customers bought of what they were offered');
    const offers = text.slice(text.indexOf('Offers ('));
    const line = (label: string) => offers.split('\n').find((l) => l.startsWith(label))!;
    // a: 3 measured, cross-sell 66.7%, upsell 0.0%, any 66.7%, $153.40, $51.13 per customer, AOV $244.27, 2.00 items,
    // $91.90 per order with an offered product, no repeat horizon closed yet.
    expect(
      line('a ')
        .trimEnd()
        .split(/\s{2,}/),
    ).toEqual(['a', '3', '66.7%', '0.0%', '66.7%', '$153.40', '$51.13', '$244.27', '2.00', '$91.90', '—']);
    // Each step's accepted emails, with their share of the delivered ones.
    expect(text).toMatch(/^ {2}1\. thank-you .* 1 \(50%\) *$/m);
    expect(text).toMatch(/b vs a \(control\)\s+AOV\s+\$240\.80\s+\$244\.27\s+-\$3\.47\s+\[-\$400\.51, \$393\.58\]\s+0\.986/);

    // The CSV tables carry the same figures.
    const table = (csv: string) => {
      const [head, ...rest] = csv
        .trim()
        .split('\n')
        .map((l) => l.split(','));
      return rest.map((cells) => Object.fromEntries(head!.map((h, i) => [h, cells[i]])));
    };
    const arms = table(reportCsv(r, 'arms'));
    expect(arms.find((x) => x.arm === 'a' && x.step === 'all')).toMatchObject({ acceptance_any: String(2 / 3), aov: String(732.8 / 3) });
    expect(arms.find((x) => x.arm === 'b' && x.step === '1')).toMatchObject({ accepted: '1', acceptance_rate: '0.5' });
    const comparisons = table(reportCsv(r, 'comparisons'));
    const b = comparisons.find((x) => x.arm === 'b' && x.against === 'control')!;
    expectClose(Number(b.aov_difference), -3.4666666666666686);
    expectClose(Number(b.aov_ci_low), -400.51355609953475);
  });
});
