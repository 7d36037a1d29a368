/**
 * Recommendation performance by strategy and by product, per arm, on a constructed dataset:
 * control `a` (co-purchase), variant `b` (popularity), the holdout, and a second step that
 * uses upsell-only in every arm. Emails with cross-sells and upsells and their links, human
 * and machine clicks, a click on a link that is no product, a click after as-of, orders in
 * and out of the window, a cancelled order, partial refunds, a product shown in two arms, a
 * step never sent, a customer whose window is still open. Every figure is worked out by hand
 * below; each arm's total equals the report's accepted customers and recommended revenue;
 * the CSV export equals the rendered tables' cells.
 */
import { sql } from 'drizzle-orm';
import { h } from 'preact';
import { renderToString } from 'preact-render-to-string';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { moneyFormat } from '../src/analytics/format.ts';
import {
  PRODUCT_COLUMNS,
  recommendationCsv,
  STRATEGY_COLUMNS,
  type CellKind,
  type RecColumn,
} from '../src/analytics/recommendations-format.ts';
import {
  recommendationPerformance,
  recommendationTables,
  type ProductLine,
  type RecommendationTables,
  type StrategyLine,
} from '../src/analytics/recommendations.ts';
import { buildReport, type VersionReport } from '../src/analytics/report.ts';
import { liveDefinition } from '../src/analytics/series.ts';
import { DEFAULT_ATTRIBUTION } from '../src/core/attribution.ts';
import type { OfferedStep } from '../src/core/offers.ts';
import type { SequenceDefinition } from '../src/core/sequence.ts';
import { RecommendationPerformance } from '../src/dashboard/views/recommendations.tsx';
import { buildServer } from '../src/http/app.ts';
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
id: recs
name: Recommendations
trigger: { event: order_placed }
holdout: 20%
variants:
  - { key: a, weight: 1, recommendations: co-purchase }
  - { key: b, weight: 1, recommendations: popularity }
measurement_window: 10d
steps:
  - { delay: 1h, template: thank-you }
  - { delay: 2d, template: accessories, recommendations: upsell-only }
`;

const URL_OF: Record<string, string> = {
  'ESP-200': 'https://shop.example/p/esp-200',
  'GRN-10': 'https://shop.example/p/grn-10',
  'BEAN-1': 'https://shop.example/p/bean-1',
  'TAMP-1': 'https://shop.example/p/tamp-1',
};
const HOME = 'https://shop.example/';

/** The figures of a row, money in cents, in a fixed order: what each expectation below spells out. */
const strategyFigures = (r: StrategyLine) => [r.emails, r.shown, r.clicked, r.buyers, r.units, r.revenueCents];
const productFigures = (r: ProductLine | StrategyLine) => [r.shown, r.clicked, r.buyers, r.units, r.revenueCents];

/** Each body row of the table `id` as { data-field: text }, with the row's own attributes. */
function tableCells(html: string, id: string): { attrs: string; cells: Record<string, string> }[] {
  const table = html.match(new RegExp(`<table id="${id}">([\\s\\S]*?)</table>`))?.[1];
  expect(table, `table ${id}`).toBeDefined();
  const body = table!.match(/<tbody>([\s\S]*)<\/tbody>/)![1]!;
  return [...body.matchAll(/<tr([^>]*)>([\s\S]*?)<\/tr>/g)].map(([, attrs, row]) => ({
    attrs: attrs!,
    cells: Object.fromEntries([...row!.matchAll(/<td data-field="([^"]+)"[^>]*>([\s\S]*?)<\/td>/g)].map(([, k, v]) => [k!, unescape(v!)])),
  }));
}

const unescape = (text: string) =>
  text
    .replace(/&quot;/g, '"')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');

/** A CSV (one record a line; quoted cells may hold commas and doubled quotes) as rows of { header: cell }. */
function csvRows(text: string): Record<string, string>[] {
  const split = (line: string): string[] => {
    const cells: string[] = [];
    let cell = '';
    let quoted = false;
    for (let i = 0; i < line.length; i++) {
      const c = line[i]!;
      if (quoted) {
        if (c === '"' && line[i + 1] === '"') {
          cell += '"';
          i++;
        } else if (c === '"') quoted = false;
        else cell += c;
      } else if (c === '"') quoted = true;
      else if (c === ',') {
        cells.push(cell);
        cell = '';
      } else cell += c;
    }
    cells.push(cell);
    return cells;
  };
  const [head, ...lines] = text.trimEnd().split('\n').map(split);
  return lines.map((cells) => Object.fromEntries(cells.map((cell, i) => [head![i]!, cell])));
}

/** A page cell as the CSV writes it: no thousands separators, currency sign or `%`; `—` is empty. */
function asCsv(kind: CellKind, text: string): string {
  if (text === '—') return '';
  if (kind === 'text') return text;
  return text.replace(/[$,%]/g, '');
}

describe.each(DB_KINDS)('recommendation performance on %s', (kind) => {
  let database: TestDatabase;
  let versionId: number;
  let definition: SequenceDefinition;
  const performance = (options: { from?: Date; top?: number } = {}) =>
    recommendationPerformance(database.db, versionId, definition, { asOf: AS_OF, ...options });
  const report = async (enrolledFrom?: Date): Promise<VersionReport> =>
    (await buildReport(database.db, { asOf: AS_OF, attribution: DEFAULT_ATTRIBUTION, minSample: 1, enrolledFrom })).sequences[0]!
      .versions[0]!;
  const strategyRow = (t: RecommendationTables, arm: string, strategy: string | null, kindOf: string | null, offeredIn: string | null) =>
    t.byStrategy.find((r) => r.arm === arm && r.strategy === strategy && r.kind === kindOf && r.offeredIn === offeredIn);
  const productRow = (t: RecommendationTables, arm: string, sku: string) => t.byProduct.find((r) => r.arm === arm && r.sku === sku);
  const total = (t: RecommendationTables, arm: string) => t.byStrategy.find((r) => r.arm === arm && r.row === 'total')!;

  beforeAll(async () => {
    database = await freshDatabase(kind);
    const db = database.db;
    await prepareShop(db, SEQUENCE);
    // The fixture's BEAN-1 and TAMP-1 have no page; give them one, so their clicks can be told apart.
    await db.execute(sql`update products set url = 'https://shop.example/p/bean-1' where sku = 'BEAN-1'`);
    await db.execute(sql`update products set url = 'https://shop.example/p/tamp-1' where sku = 'TAMP-1'`);
    const live = await liveDefinition(db, 'recs');
    versionId = live!.versionId;
    definition = live!.definition;

    const rows = new Rows(db);
    const names = ['A1', 'A2', 'A3', 'A4', 'B1', 'B2', 'H1', 'H2'] as const;
    type Who = (typeof names)[number];
    const customer = await rows.named(names);
    const ingest = orderIngester(db, 'r-');
    const order = (who: Who, ms: number, lines: Line[]) => ingest(customer[who].external, at(ms), lines);
    const enroll = async (who: Who, arm: string, ms: number, offered: OfferedStep[]) => {
      const trigger = await orderIdOf(db, await order(who, ms, [['ESP-100', 1, '249.00']]));
      const [id] = await rows.enrollments([
        { customer: customer[who].id, sequence: 'recs', version: versionId, arm, trigger, at: at(ms), preSpend: 0 },
      ]);
      await db.execute(sql`update enrollments set offered = ${JSON.stringify(offered)}::jsonb where id = ${id!}`);
      return id!;
    };
    /** An email showing these products, its links in order: `extra` links first, then the products' pages. */
    const send = async (
      enrollment: number,
      who: Who,
      step: number,
      ms: number,
      crossSell: string[],
      upsell: string[],
      extra: string[] = [],
    ) => {
      const message = await rows.message(enrollment, customer[who].id, step, at(ms));
      const links = [...extra, ...[...crossSell, ...upsell].map((sku) => URL_OF[sku]!)];
      await db.execute(
        sql`update messages set recommendations = ${JSON.stringify(crossSell)}::jsonb, upsells = ${JSON.stringify(upsell)}::jsonb,
                                links = ${JSON.stringify(links)}::jsonb
            where id = ${message}`,
      );
      return { id: message, link: (target: string) => links.indexOf(target) };
    };
    const click = async (message: number, who: Who, linkIndex: number, ms: number, machineReason: string | null = null) => {
      await db.execute(
        sql`insert into events (message_id, customer_id, type, is_human, machine_reason, link_index, occurred_at)
            values (${message}, ${customer[who].id}, 'click', ${machineReason === null}, ${machineReason}, ${linkIndex}, ${at(ms)}::timestamptz)`,
      );
    };
    const step = (crossSell: string[], upsell: string[]): OfferedStep => ({ crossSell, upsell });

    // Control a: step 1 co-purchase, step 2 upsell-only.
    // A1: both emails sent. A human click on GRN-10, a scanner's on BEAN-1, two human clicks on
    // step 2's ESP-200 (one impression clicked). Buys GRN-10 in the window; BEAN-1 after it.
    const a1 = await enroll('A1', 'a', 0, [step(['GRN-10', 'BEAN-1'], ['ESP-200']), step([], ['ESP-200'])]);
    const a1s0 = await send(a1, 'A1', 0, HOUR, ['GRN-10', 'BEAN-1'], ['ESP-200']);
    await click(a1s0.id, 'A1', a1s0.link(URL_OF['GRN-10']!), 2 * HOUR);
    await click(a1s0.id, 'A1', a1s0.link(URL_OF['BEAN-1']!), HOUR + 1000, 'scanner-ua');
    const a1s1 = await send(a1, 'A1', 1, 2 * DAY, [], ['ESP-200']);
    await click(a1s1.id, 'A1', 0, 2 * DAY + HOUR);
    await click(a1s1.id, 'A1', 0, 2 * DAY + 2 * HOUR);
    await order('A1', 3 * DAY, [
      ['GRN-10', 1, '129.50'],
      ['TAMP-1', 1, '19.00'],
    ]);
    await order('A1', 12 * DAY, [['BEAN-1', 2, '24.90']]);
    // A2: step 1 sent (ESP-200 clicked by a person, BEAN-1 only after as-of), step 2 never sent.
    // Buys ESP-200, refunded 54.90 of 549.00: 494.10, offered by the email (co-purchase upsell)
    // and by the unsent step (upsell-only upsell).
    const a2 = await enroll('A2', 'a', 0, [step(['BEAN-1'], ['ESP-200']), step([], ['ESP-200'])]);
    const a2s0 = await send(a2, 'A2', 0, HOUR, ['BEAN-1'], ['ESP-200']);
    await click(a2s0.id, 'A2', a2s0.link(URL_OF['ESP-200']!), 3 * DAY);
    await click(a2s0.id, 'A2', a2s0.link(URL_OF['BEAN-1']!), 21 * DAY);
    const a2order = await order('A2', 4 * DAY, [['ESP-200', 1, '549.00']]);
    // A3: no email; its GRN-10 order was cancelled, its ESP-100 was never offered.
    await enroll('A3', 'a', 0, [step(['GRN-10'], ['ESP-200']), step([], ['ESP-200'])]);
    const a3cancelled = await order('A3', 2 * DAY, [['GRN-10', 1, '129.50']]);
    await order('A3', 3 * DAY, [['ESP-100', 1, '249.00']]);
    // A4 enrolled late: its window is open at as-of, so nothing of it counts.
    const a4 = await enroll('A4', 'a', 15 * DAY, [step(['GRN-10'], []), step([], [])]);
    const a4s0 = await send(a4, 'A4', 0, 15 * DAY + HOUR, ['GRN-10'], []);
    await click(a4s0.id, 'A4', 0, 15 * DAY + 2 * HOUR);
    await order('A4', 16 * DAY, [['GRN-10', 1, '129.50']]);

    // Variant b: step 1 popularity, step 2 upsell-only.
    // B1: GRN-10 (shown in a too) clicked and bought, TAMP-1 × 2 bought; ESP-200 shown, not bought.
    const b1 = await enroll('B1', 'b', 0, [step(['GRN-10', 'TAMP-1'], []), step([], ['ESP-200'])]);
    const b1s0 = await send(b1, 'B1', 0, HOUR, ['GRN-10', 'TAMP-1'], []);
    await click(b1s0.id, 'B1', b1s0.link(URL_OF['GRN-10']!), 5 * HOUR);
    await send(b1, 'B1', 1, 2 * DAY, [], ['ESP-200']);
    await order('B1', 2 * DAY + HOUR, [['GRN-10', 1, '129.50']]);
    await order('B1', 5 * DAY, [['TAMP-1', 2, '19.00']]);
    // B2, enrolled a day later: a human click on the email's home link (no product). One order:
    // ESP-200 × 2 (1,098.00) and BEAN-1 × 3 (74.70), 10% refunded: 988.20 and 67.23.
    const b2 = await enroll('B2', 'b', DAY, [step(['BEAN-1'], []), step([], ['ESP-200'])]);
    const b2s0 = await send(b2, 'B2', 0, DAY + HOUR, ['BEAN-1'], [], [HOME]);
    await click(b2s0.id, 'B2', b2s0.link(HOME), DAY + 2 * HOUR);
    await send(b2, 'B2', 1, 3 * DAY, [], ['ESP-200']);
    const b2order = await order('B2', 7 * DAY, [
      ['ESP-200', 2, '549.00'],
      ['BEAN-1', 3, '24.90'],
    ]);

    // Holdout: never emailed; what it buys of its would-be offers (the control's strategies).
    await enroll('H1', 'holdout', 0, [step(['GRN-10'], ['ESP-200']), step([], ['ESP-200'])]);
    await order('H1', 2 * DAY, [['GRN-10', 1, '129.50']]);
    await enroll('H2', 'holdout', 0, [step(['BEAN-1'], []), step([], [])]);
    await order('H2', DAY, [['BEAN-1', 1, '24.90']]);
    await order('H2', 11 * DAY, [['BEAN-1', 1, '24.90']]);

    await refundAndCancel(
      db,
      [
        { refund_id: 'rr-1', order_id: a2order, refunded_at: at(5 * DAY), amount: '54.90' },
        { refund_id: 'rr-2', order_id: b2order, refunded_at: at(8 * DAY), amount: '117.27' },
      ],
      [{ order_id: a3cancelled, cancelled_at: at(2 * DAY + HOUR) }],
    );
  });
  afterAll(() => database?.drop());

  it('by strategy, per arm: emails, impressions, human clicks, buyers, units and net revenue, worked out by hand', async () => {
    const t = await performance();
    expect(t.arms).toEqual([
      { arm: 'a', customers: 3 },
      { arm: 'b', customers: 2 },
      { arm: 'holdout', customers: 2 },
    ]);
    // The rows in their order: per arm, emailed then not sent, strategies in order, cross-sell first, the total last.
    expect(t.byStrategy.map((r) => [r.arm, r.row, r.strategy, r.kind, r.offeredIn])).toEqual([
      ['a', 'strategy', 'co-purchase', 'cross-sell', 'email'],
      ['a', 'strategy', 'co-purchase', 'upsell', 'email'],
      ['a', 'strategy', 'upsell-only', 'upsell', 'email'],
      ['a', 'strategy', 'upsell-only', 'upsell', 'not sent'],
      ['a', 'total', null, null, null],
      ['b', 'strategy', 'popularity', 'cross-sell', 'email'],
      ['b', 'strategy', 'upsell-only', 'upsell', 'email'],
      ['b', 'total', null, null, null],
      ['holdout', 'strategy', 'co-purchase', 'cross-sell', 'not sent'],
      ['holdout', 'total', null, null, null],
    ]);
    // [emails, shown, clicked, buyers, units, cents]
    // a, co-purchase cross-sell: A1's GRN-10 and BEAN-1, A2's BEAN-1 (two emails); the person's
    // GRN-10 click counts, the scanner's BEAN-1 click and the click after as-of do not. A1's GRN-10
    // bought (129.50); its BEAN-1 after the window is not; A3's cancelled GRN-10 is no order.
    expect(strategyFigures(strategyRow(t, 'a', 'co-purchase', 'cross-sell', 'email')!)).toEqual([2, 3, 1, 1, 1, 12950]);
    // a, co-purchase upsell: ESP-200 in A1's and A2's first emails, A2's clicked and bought: 549.00 − 54.90.
    expect(strategyFigures(strategyRow(t, 'a', 'co-purchase', 'upsell', 'email')!)).toEqual([2, 2, 1, 1, 1, 49410]);
    // a, upsell-only emailed: A1's second email, ESP-200 clicked twice (one impression), not bought.
    expect(strategyFigures(strategyRow(t, 'a', 'upsell-only', 'upsell', 'email')!)).toEqual([1, 1, 1, 0, 0, 0]);
    // a, upsell-only not sent: A2's second step would have offered ESP-200, which A2 bought.
    expect(strategyFigures(strategyRow(t, 'a', 'upsell-only', 'upsell', 'not sent')!)).toEqual([0, 0, 0, 1, 1, 49410]);
    // a's total counts A2's ESP-200 once: buyers A1 and A2, 129.50 + 494.10.
    expect(strategyFigures(total(t, 'a'))).toEqual([3, 6, 3, 2, 2, 62360]);
    expect(total(t, 'a').clickRate).toBeCloseTo(3 / 6, 12);
    expect(total(t, 'a').buyRate).toBeCloseTo(2 / 6, 12);

    // b, popularity cross-sell: B1's GRN-10 (clicked) and TAMP-1, B2's BEAN-1 (its home-link click
    // is no product's). Bought: GRN-10 129.50, TAMP-1 2 × 19.00, BEAN-1 3 × 24.90 × 0.9 = 67.23.
    expect(strategyFigures(strategyRow(t, 'b', 'popularity', 'cross-sell', 'email')!)).toEqual([2, 3, 1, 2, 6, 12950 + 3800 + 6723]);
    // b, upsell-only: ESP-200 in B1's and B2's second emails; B2 bought 2 × 549.00 × 0.9 = 988.20.
    expect(strategyFigures(strategyRow(t, 'b', 'upsell-only', 'upsell', 'email')!)).toEqual([2, 2, 0, 1, 2, 98820]);
    expect(strategyFigures(total(t, 'b'))).toEqual([4, 5, 1, 2, 8, 122293]);

    // The holdout: nothing shown; H1's GRN-10 and H2's BEAN-1 (not its second, after the window)
    // from the control's co-purchase offers.
    expect(strategyFigures(strategyRow(t, 'holdout', 'co-purchase', 'cross-sell', 'not sent')!)).toEqual([0, 0, 0, 2, 2, 15440]);
    expect(strategyFigures(total(t, 'holdout'))).toEqual([0, 0, 0, 2, 2, 15440]);
    expect(total(t, 'holdout').clickRate).toBeNull();
    expect(total(t, 'holdout').buyRate).toBeNull();
  });

  it('by product, per arm: the top N by revenue, the rest in one row, totals equal to the strategy table', async () => {
    const t = await performance();
    expect(t.byProduct.map((r) => [r.arm, r.row, r.sku, r.name])).toEqual([
      ['a', 'product', 'ESP-200', 'Espresso Machine Pro'],
      ['a', 'product', 'GRN-10', 'Burr Grinder'],
      ['a', 'product', 'BEAN-1', 'House Blend Beans, 1kg'],
      ['a', 'total', null, null],
      ['b', 'product', 'ESP-200', 'Espresso Machine Pro'],
      ['b', 'product', 'GRN-10', 'Burr Grinder'],
      ['b', 'product', 'BEAN-1', 'House Blend Beans, 1kg'],
      ['b', 'product', 'TAMP-1', 'Tamper'],
      ['b', 'total', null, null],
      ['holdout', 'product', 'GRN-10', 'Burr Grinder'],
      ['holdout', 'product', 'BEAN-1', 'House Blend Beans, 1kg'],
      ['holdout', 'total', null, null],
    ]);
    // [shown, clicked, buyers, units, cents]. GRN-10 and ESP-200 were shown in both arms: each arm its own row.
    expect(productFigures(productRow(t, 'a', 'ESP-200')!)).toEqual([3, 2, 1, 1, 49410]);
    expect(productFigures(productRow(t, 'a', 'GRN-10')!)).toEqual([1, 1, 1, 1, 12950]);
    expect(productFigures(productRow(t, 'a', 'BEAN-1')!)).toEqual([2, 0, 0, 0, 0]);
    expect(productFigures(productRow(t, 'b', 'ESP-200')!)).toEqual([2, 0, 1, 2, 98820]);
    expect(productFigures(productRow(t, 'b', 'GRN-10')!)).toEqual([1, 1, 1, 1, 12950]);
    expect(productFigures(productRow(t, 'b', 'BEAN-1')!)).toEqual([1, 0, 1, 3, 6723]);
    expect(productFigures(productRow(t, 'b', 'TAMP-1')!)).toEqual([1, 0, 1, 2, 3800]);
    expect(productFigures(productRow(t, 'holdout', 'GRN-10')!)).toEqual([0, 0, 1, 1, 12950]);
    expect(productRow(t, 'a', 'ESP-200')!.clickRate).toBeCloseTo(2 / 3, 12);
    expect(productRow(t, 'a', 'ESP-200')!.buyRate).toBeCloseTo(1 / 3, 12);
    expect(productRow(t, 'holdout', 'GRN-10')!.buyRate).toBeNull();

    for (const arm of ['a', 'b', 'holdout']) {
      const products = t.byProduct.filter((r) => r.arm === arm && r.row !== 'total');
      const productTotal = t.byProduct.find((r) => r.arm === arm && r.row === 'total')!;
      const strategyTotal = total(t, arm);
      // The product table's total is the strategy table's, and its rows add up to it (buyers aside: one customer, several products).
      expect(productFigures(productTotal)).toEqual(productFigures(strategyTotal));
      for (const field of ['shown', 'clicked', 'units', 'revenueCents'] as const)
        expect(products.reduce((sum, r) => sum + r[field], 0)).toBe(productTotal[field]);
    }

    // Top 1: b's other products are GRN-10, BEAN-1 and TAMP-1; their buyers are B1 and B2 once each.
    const top1 = await performance({ top: 1 });
    expect(top1.byProduct.filter((r) => r.arm === 'b').map((r) => [r.row, r.sku, r.products, ...productFigures(r)])).toEqual([
      ['product', 'ESP-200', 1, 2, 0, 1, 2, 98820],
      ['other', null, 3, 3, 1, 2, 6, 12950 + 6723 + 3800],
      ['total', null, 4, 5, 1, 2, 8, 122293],
    ]);
  });

  it("each arm's total equals the report's accepted customers and recommended revenue, for all customers and for a period", async () => {
    for (const from of [undefined, new Date(T0 + 12 * HOUR)]) {
      const t = await performance({ from });
      const v = await report(from);
      for (const arm of v.arms) {
        const row = total(t, arm.arm);
        expect(row.buyers, `${arm.arm} buyers`).toBe(arm.kpis.acceptance.any.accepted);
        expect(row.revenueCents, `${arm.arm} revenue`).toBe(Math.round(arm.kpis.recommendedRevenue.total * 100));
        expect(t.arms.find((a) => a.arm === arm.arm)!.customers).toBe(arm.measured.customers);
      }
    }
    // From noon on day 0 only B2 is in: its two emails, BEAN-1 and ESP-200 bought.
    const late = await performance({ from: new Date(T0 + 12 * HOUR) });
    expect(strategyFigures(total(late, 'b'))).toEqual([2, 2, 0, 1, 5, 98820 + 6723]);
    expect(strategyFigures(total(late, 'a'))).toEqual([0, 0, 0, 0, 0, 0]);
    expect(late.arms).toEqual([
      { arm: 'a', customers: 0 },
      { arm: 'b', customers: 1 },
      { arm: 'holdout', customers: 0 },
    ]);
  });

  it('the page shows the CSV export’s figures, cell for cell, with thousands separators and rates', async () => {
    const t = await performance();
    const html = renderToString(h(RecommendationPerformance, { rows: t, money: moneyFormat('USD') }));
    expect(html).toContain('<div class="scroll"><table id="recs-by-strategy">');
    expect(html).toContain('<div class="scroll"><table id="recs-by-product">');
    const check = <Row>(id: string, table: 'recs-strategy' | 'recs-product', columns: RecColumn<Row>[], rows: Row[]) => {
      const page = tableCells(html, id);
      const csv = csvRows(recommendationCsv(t, table));
      expect(page).toHaveLength(rows.length);
      expect(csv).toHaveLength(rows.length);
      expect(Object.keys(csv[0]!)).toEqual(columns.map((c) => c.key));
      page.forEach((row, i) => {
        expect(Object.keys(row.cells)).toEqual(columns.map((c) => c.key));
        for (const c of columns) expect(asCsv(c.kind, row.cells[c.key]!), `${id} row ${i} ${c.key}`).toBe(csv[i]![c.key]);
      });
      return page;
    };
    const strategies = check('recs-by-strategy', 'recs-strategy', STRATEGY_COLUMNS, t.byStrategy);
    const products = check('recs-by-product', 'recs-product', PRODUCT_COLUMNS, t.byProduct);

    // The figures as a person reads them.
    const bTotal = strategies.find((r) => r.attrs.includes('data-arm="b"') && r.attrs.includes('data-row="total"'))!;
    expect(bTotal.cells).toMatchObject({ strategy: 'total', revenue: '$1,222.93', click_rate_percent: '20.0%', buyers: '2' });
    const holdout = strategies.find((r) => r.attrs.includes('data-arm="holdout"') && r.attrs.includes('data-row="strategy"'))!;
    expect(holdout.cells).toMatchObject({ offered_in: 'not sent', shown: '0', click_rate_percent: '—', revenue: '$154.40' });
    const esp = products.find((r) => r.attrs.includes('data-arm="a"') && r.attrs.includes('data-sku="ESP-200"'))!;
    expect(esp.cells).toMatchObject({
      product: 'Espresso Machine Pro',
      click_rate_percent: '66.7%',
      buy_rate_percent: '33.3%',
      revenue: '$494.10',
    });
    const csv = csvRows(recommendationCsv(t, 'recs-product'));
    expect(csv.find((r) => r.arm === 'a' && r.sku === 'ESP-200')).toMatchObject({ click_rate_percent: '66.7', revenue: '494.10' });
    expect(csv.find((r) => r.arm === 'a' && r.sku === 'BEAN-1')).toMatchObject({ product: 'House Blend Beans, 1kg', revenue: '0.00' });

    // Thousands separators on counts too.
    const big = recommendationTables(
      [
        {
          level: 'total',
          arm: 'a',
          strategy: null,
          kind: null,
          emailed: null,
          sku: null,
          name: null,
          products: 1,
          customers: 2000,
          emails: 12_345,
          shown: 23_456,
          clicked: 1_234,
          buyers: 1_001,
          units: 1_500,
          cents: 123_456_789,
        },
      ],
      definition,
    );
    const bigHtml = renderToString(h(RecommendationPerformance, { rows: big, money: moneyFormat('USD') }));
    expect(tableCells(bigHtml, 'recs-by-strategy')[0]!.cells).toMatchObject({
      emails: '12,345',
      shown: '23,456',
      human_clicks: '1,234',
      buyers: '1,001',
      units: '1,500',
      revenue: '$1,234,567.89',
      click_rate_percent: '5.3%',
    });
    expect(csvRows(recommendationCsv(big, 'recs-strategy'))[0]).toMatchObject({
      emails: '12345',
      revenue: '1234567.89',
      click_rate_percent: '5.3',
    });
    // Every arm of the definition gets its total row, zeros when it has nothing.
    expect(big.byStrategy.map((r) => [r.arm, r.row, r.shown])).toEqual([
      ['a', 'total', 23_456],
      ['b', 'total', 0],
      ['holdout', 'total', 0],
    ]);
  });

  it('the API answers the same tables, money in the currency', async () => {
    const app = await buildServer({ db: database.db, apiToken: 'token-123456', bodyLimitBytes: 1 << 20 });
    try {
      const auth = { authorization: 'Bearer token-123456' };
      const url = `/api/reports/sequences/recs/recommendations?as_of=${AS_OF.toISOString()}&top=1`;
      const response = await app.inject({ method: 'GET', url, headers: auth });
      expect(response.statusCode).toBe(200);
      const body = response.json<{
        versionId: number;
        top: number;
        byStrategy: Record<string, unknown>[];
        byProduct: Record<string, unknown>[];
      }>();
      const t = await performance({ top: 1 });
      expect(body.versionId).toBe(versionId);
      expect(body.top).toBe(1);
      const inCurrency = ({ revenueCents, ...rest }: { revenueCents: number }) => ({ ...rest, revenue: revenueCents / 100 });
      expect(body.byStrategy).toEqual(t.byStrategy.map(inCurrency));
      expect(body.byProduct).toEqual(t.byProduct.map(inCurrency));
      expect(body.byStrategy.find((r) => r.arm === 'b' && r.row === 'total')).toMatchObject({ revenue: 1222.93, buyers: 2 });
      expect((await app.inject({ method: 'GET', url: '/api/reports/sequences/nope/recommendations', headers: auth })).statusCode).toBe(404);
      const zero = `/api/reports/sequences/recs/recommendations?as_of=${AS_OF.toISOString()}&top=0`;
      expect((await app.inject({ method: 'GET', url: zero, headers: auth })).statusCode).toBe(400);
      expect((await app.inject({ method: 'GET', url })).statusCode).toBe(401);
    } finally {
      await app.close();
    }
  });
});
