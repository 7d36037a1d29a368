/**
 * Attribution and the report on the real Postgres: rows as the engine writes them
 * (enrollments, messages, events, orders), then `campaign attribution rebuild`,
 * `campaign report` and GET /api/reports/sequences read them back.
 */
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { refreshAttribution } from '../src/analytics/attribution.ts';
import { rebuildEngagement } from '../src/analytics/engagement.ts';
import { buildReport, type Report } from '../src/analytics/report.ts';
import { DEFAULT_ATTRIBUTION } from '../src/core/attribution.ts';
import { guardrails } from '../src/core/decide.ts';
import { compareArms, PLANNED_CUSTOMERS, SRM_VERDICT } from '../src/core/experiment.ts';
import { cupedSamples, meanInterval, summarize } from '../src/core/stats.ts';
import { holm } from '../src/core/multiple.ts';
import { detectionMultiplier, minimumDetectableEffect } from '../src/core/power.ts';
import { confidenceSequenceHalfWidth, sequentialMeans, tuningRho } from '../src/core/sequential.ts';
import { sampleRatioMismatch } from '../src/core/srm.ts';
import { summarizePaired } from '../src/core/stats.ts';
import { queryRows, type Db } from '../src/db/client.ts';
import { buildServer } from '../src/http/app.ts';
import { campaign, campaignInProcess } from './helpers/cli.ts';
import { freshDatabase, type TestDatabase } from './helpers/db.ts';
import { prepareShop } from './helpers/engine.ts';
import { Rows } from './helpers/rows.ts';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const T0 = Date.parse('2026-03-02T10:00:00Z');
const at = (ms: number) => new Date(T0 + ms).toISOString();

async function versionOf(db: Db, sequence: string): Promise<number> {
  const [row] = await queryRows<{ id: number }>(
    db,
    sql`select id from sequence_versions where sequence_id = ${sequence} order by version desc limit 1`,
  );
  return row!.id;
}

const SEQUENCE = (id: string, extra = '') => `
id: ${id}
name: Sequence ${id}
trigger: { event: order_placed }
variants: [{ key: a, weight: 1 }, { key: b, weight: 1 }]
steps:
  - { delay: 1h, template: thank-you }
  - { delay: 2d, template: accessories }
${extra}`;

describe('attribution', () => {
  let database: TestDatabase;
  let rows: Rows;
  const ids = { m1: 0, m2: 0, orders: [] as number[] };
  const credited = (model: string) =>
    queryRows<{ order_id: number; message_id: number; touch: string }>(
      database.db,
      sql`select order_id, message_id, touch from attributions where model = ${model} order by order_id`,
    );

  beforeAll(async () => {
    database = await freshDatabase('postgres');
    rows = new Rows(database.db);
    await prepareShop(database.db, SEQUENCE('first'));
    await prepareShop(database.db, SEQUENCE('second'));
    const [c1, c2] = await rows.customers(2);
    const [t1, t2] = await rows.orders([
      { customer: c1!, at: at(-HOUR), total: 80 },
      { customer: c2!, at: at(-HOUR), total: 80 },
    ]);
    const [e1, e2, e3] = await rows.enrollments([
      {
        customer: c1!,
        sequence: 'first',
        version: await versionOf(database.db, 'first'),
        arm: 'a',
        trigger: t1!,
        at: at(-HOUR),
        preSpend: 0,
      },
      {
        customer: c1!,
        sequence: 'second',
        version: await versionOf(database.db, 'second'),
        arm: 'a',
        trigger: t1!,
        at: at(-HOUR),
        preSpend: 0,
      },
      {
        customer: c2!,
        sequence: 'first',
        version: await versionOf(database.db, 'first'),
        arm: 'b',
        trigger: t2!,
        at: at(-HOUR),
        preSpend: 0,
      },
    ]);
    // c1 gets one email from each sequence; clicks the first, opens the second; a machine clicks the second.
    ids.m1 = await rows.message(e1!, c1!, 0, at(0));
    ids.m2 = await rows.message(e2!, c1!, 0, at(HOUR));
    await rows.event(ids.m1, c1!, 'click', at(2 * HOUR));
    await rows.event(ids.m2, c1!, 'open', at(3 * HOUR));
    await rows.event(ids.m2, c1!, 'click', at(4 * HOUR), 'scanner-ua');
    // c2's only open was Apple's proxy.
    const m3 = await rows.message(e3!, c2!, 0, at(0));
    await rows.event(m3, c2!, 'open', at(HOUR), 'apple-mpp');
    ids.orders = await rows.orders([
      { customer: c1!, at: at(5 * HOUR), total: 120 }, // click 3 h before, open 2 h before
      { customer: c1!, at: at(3 * DAY), total: 45.5 }, // click 3 days before, open long past
      { customer: c1!, at: at(7 * DAY), total: 60 }, // click 7 days before: too late
      { customer: c2!, at: at(2 * HOUR), total: 99 }, // only a machine open
    ]);
  });
  afterAll(() => database?.drop());

  it('credits each order to at most one message, human touches only, inside the windows', async () => {
    const first = await refreshAttribution(database.db, DEFAULT_ATTRIBUTION);
    expect(first).toMatchObject({ model: 'click-then-open:click=5d,open=1d', attributed: 2, orders: 6 });
    const expected = [
      { order_id: ids.orders[0], message_id: ids.m1, touch: 'click' },
      { order_id: ids.orders[1], message_id: ids.m1, touch: 'click' },
    ];
    expect(await credited(first.model)).toEqual(expected);
    // Refreshing again (and again) never counts an order twice.
    await refreshAttribution(database.db, DEFAULT_ATTRIBUTION);
    await refreshAttribution(database.db, DEFAULT_ATTRIBUTION);
    expect(await credited(first.model)).toEqual(expected);
  });

  it('`campaign attribution rebuild` applies changed windows and models', async () => {
    const env = { DATABASE_URL: database.url!, ATTRIBUTION_CLICK_WINDOW: '1d' };
    const narrow = await campaign(['attribution', 'rebuild'], env);
    expect(narrow.stderr).toBe('');
    expect(narrow.stdout).toContain('click-then-open:click=1d,open=1d: 1 of 6 orders credited to an email; engagement recounted');
    // The 3-day-old click no longer counts; the 5-hour order keeps its click.
    expect(await credited('click-then-open:click=1d,open=1d')).toEqual([{ order_id: ids.orders[0], message_id: ids.m1, touch: 'click' }]);

    await campaignInProcess(['attribution', 'rebuild'], { DATABASE_URL: database.url!, ATTRIBUTION_MODEL: 'last-touch' });
    // Under last touch the later open of the second sequence wins the first order.
    expect(await credited('last-touch:click=5d,open=1d')).toEqual([
      { order_id: ids.orders[0], message_id: ids.m2, touch: 'open' },
      { order_id: ids.orders[1], message_id: ids.m1, touch: 'click' },
    ]);
    // The default model's figures are untouched by the others.
    expect((await credited('click-then-open:click=5d,open=1d')).length).toBe(2);

    // Re-classifying an event and rebuilding moves the credit.
    await database.db.execute(sql`update events set is_human = false, machine_reason = 'scanner-ua' where message_id = ${ids.m1}`);
    await campaignInProcess(['attribution', 'rebuild'], { DATABASE_URL: database.url! });
    expect(await credited('click-then-open:click=5d,open=1d')).toEqual([{ order_id: ids.orders[0], message_id: ids.m2, touch: 'open' }]);
  });

  it('an order is never attributed twice, under any model', async () => {
    const doubles = await queryRows(
      database.db,
      sql`select order_id, model from attributions group by order_id, model having count(*) > 1`,
    );
    expect(doubles).toEqual([]);
  });
});

describe('the report', () => {
  let database: TestDatabase;
  let rows: Rows;
  /** Per arm: each measured customer's revenue in the window (y) and spend before (x). */
  const truth: Record<string, { y: number[]; x: number[] }> = { a: { y: [], x: [] }, b: { y: [], x: [] }, holdout: { y: [], x: [] } };
  const AS_OF = at(40 * DAY);
  let attributed = { orders: 0, revenue: 0 };

  beforeAll(async () => {
    database = await freshDatabase('postgres');
    rows = new Rows(database.db);
    await prepareShop(database.db, SEQUENCE('exp', 'holdout: 33.33333%\nmeasurement_window: 10d'));
    const version = await versionOf(database.db, 'exp');
    let seed = 42;
    const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648) / 2_147_483_648;
    const PER_ARM = 120;
    for (const arm of ['a', 'b', 'holdout']) {
      const customers = await rows.customers(PER_ARM + 1);
      const enrolledAt = customers.map((_, i) => T0 + (i % 20) * DAY);
      // The last customer enrolled yesterday: counted as enrolled, not yet measured.
      enrolledAt[PER_ARM] = Date.parse(AS_OF) - DAY;
      const triggers = await rows.orders(customers.map((c, i) => ({ customer: c, at: new Date(enrolledAt[i]!).toISOString(), total: 50 })));
      const preSpend = customers.map(() => (random() < 0.6 ? Math.round(random() * 30_000) / 100 : 0));
      const enrollments = await rows.enrollments(
        customers.map((c, i) => ({
          customer: c,
          sequence: 'exp',
          version,
          arm,
          trigger: triggers[i]!,
          at: new Date(enrolledAt[i]!).toISOString(),
          preSpend: preSpend[i]!,
        })),
      );
      const later: { customer: number; at: string; total: number }[] = [];
      for (const [i, customer] of customers.entries()) {
        const buys = random() < 0.3 + (arm === 'b' ? 0.15 : arm === 'a' ? 0.05 : 0) + preSpend[i]! / 1000;
        const total = buys ? Math.round((20 + random() * 80 + preSpend[i]! * 0.3) * 100) / 100 : 0;
        if (buys) later.push({ customer, at: new Date(enrolledAt[i]! + 3 * DAY).toISOString(), total });
        // An order after the window never counts.
        if (i % 7 === 0) later.push({ customer, at: new Date(enrolledAt[i]! + 11 * DAY).toISOString(), total: 500 });
        if (i < PER_ARM) {
          truth[arm]!.y.push(total);
          truth[arm]!.x.push(preSpend[i]!);
        }
      }
      await rows.orders(later);
      if (arm === 'holdout') continue;
      // Funnel of the arm's first three customers, step 1: a human open and click that
      // lead to an order, a machine open only, a bounce.
      const [m1, m2, m3] = [
        await rows.message(enrollments[0]!, customers[0]!, 0, new Date(enrolledAt[0]! + HOUR).toISOString()),
        await rows.message(enrollments[1]!, customers[1]!, 0, new Date(enrolledAt[1]! + HOUR).toISOString()),
        await rows.message(enrollments[2]!, customers[2]!, 0, new Date(enrolledAt[2]! + HOUR).toISOString()),
      ];
      await rows.event(m1, customers[0]!, 'open', new Date(enrolledAt[0]! + 2 * HOUR).toISOString());
      await rows.event(m1, customers[0]!, 'click', new Date(enrolledAt[0]! + 2 * HOUR + 60_000).toISOString());
      await rows.event(m2, customers[1]!, 'open', new Date(enrolledAt[1]! + HOUR + 1000).toISOString(), 'apple-mpp');
      await rows.event(m3, customers[2]!, 'bounce', new Date(enrolledAt[2]! + HOUR + 1000).toISOString());
      if (arm === 'a') {
        // The click is 3 days before customer 0's order when they bought; credit it.
        const order = later.findIndex((o) => o.customer === customers[0]);
        if (order >= 0 && truth.a!.y[0]! > 0) attributed = { orders: 1, revenue: later[order]!.total };
      }
    }
  });
  afterAll(() => database?.drop());

  const report = (asOf = AS_OF) => buildReport(database.db, { asOf: new Date(asOf), attribution: DEFAULT_ATTRIBUTION, minSample: 100 });

  it('counts the funnel per arm and step, and attributed revenue', async () => {
    const { sequences } = await report();
    const version = sequences[0]!.versions[0]!;
    expect(version.arms.map((a) => [a.arm, a.enrolled, a.measured.customers])).toEqual([
      ['a', 121, 120],
      ['b', 121, 120],
      ['holdout', 121, 120],
    ]);
    const a = version.arms[0]!;
    expect(a.steps[0]).toMatchObject({
      step: 1,
      template: 'thank-you',
      sent: 3,
      bounced: 1,
      delivered: 2,
      opens: { human: 1, raw: 2 },
      clicks: { human: 1, raw: 1 },
    });
    expect(a.steps[1]).toMatchObject({ step: 2, template: 'accessories', sent: 0 });
    expect({ orders: a.conversions, revenue: a.attributedRevenue }).toEqual(attributed);
    expect(version.arms[2]).toMatchObject({ arm: 'holdout', holdout: true, sent: 0, conversions: 0 });
  });

  it('counts events that arrive after a report on the next one, and recounts after re-classification', async () => {
    const humanClicks = async () => (await report()).sequences[0]!.versions[0]!.arms.find((a) => a.arm === 'b')!.steps[0]!.clicks;
    const before = await humanClicks();
    // The arm's machine-opened email gets a human click now.
    const [message] = await queryRows<{ id: number; customer_id: number }>(
      database.db,
      sql`select m.id, m.customer_id from messages m join enrollments e on e.id = m.enrollment_id
          where e.arm = 'b' and exists (select 1 from events ev where ev.message_id = m.id and ev.machine_reason = 'apple-mpp')`,
    );
    await rows.event(message!.id, message!.customer_id, 'click', at(30 * DAY));
    expect(await humanClicks()).toEqual({ human: before.human + 1, raw: before.raw + 1 });
    await database.db.execute(
      sql`update events set is_human = false, machine_reason = 'scanner-ua' where message_id = ${message!.id} and type = 'click'`,
    );
    await rebuildEngagement(database.db);
    expect(await humanClicks()).toEqual({ human: before.human, raw: before.raw + 1 });
  });

  it('compares arms on measured revenue exactly as the statistics do on the raw values', async () => {
    const version = (await report()).sequences[0]!.versions[0]!;
    const outcome = (arm: string) => ({
      arm,
      converted: truth[arm]!.y.filter((v) => v > 0).length,
      ...summarizePaired(truth[arm]!.y, truth[arm]!.x),
    });
    for (const [arm, against, baseline] of [
      ['b', 'control', 'a'],
      ['a', 'holdout', 'holdout'],
      ['b', 'holdout', 'holdout'],
    ] as const) {
      const reported = version.comparisons.find((c) => c.arm === arm && c.against === against)!;
      const expected = compareArms(outcome(arm), outcome(baseline), { against, minSample: 100 });
      expect(reported.n).toEqual(expected.n);
      expect(reported.verdict).toBe(expected.verdict);
      for (const [got, want] of [
        [reported.revenuePerCustomer.difference, expected.revenuePerCustomer.difference],
        [reported.revenuePerCustomer.interval[0], expected.revenuePerCustomer.interval[0]],
        [reported.revenuePerCustomer.pValue, expected.revenuePerCustomer.pValue],
        [reported.cuped.interval[1], expected.cuped.interval[1]],
        [reported.conversionRate.pValue, expected.conversionRate.pValue],
        [reported.incrementalRevenue?.estimate ?? 0, expected.incrementalRevenue?.estimate ?? 0],
      ])
        expect(got).toBeCloseTo(want!, 6);
    }
    // Each arm's own interval is the t interval of its raw values (SciPy-checked in stats.test.ts).
    for (const arm of ['a', 'b', 'holdout']) {
      const reported = version.arms.find((a) => a.arm === arm)!.measured.revenuePerCustomerInterval!;
      const expected = meanInterval(summarize(truth[arm]!.y))!;
      expect(reported[0]).toBeCloseTo(expected[0], 6);
      expect(reported[1]).toBeCloseTo(expected[1], 6);
    }
    // Earlier, fewer windows have closed: under the minimum, no winner is named.
    const early = (await report(at(15 * DAY))).sequences[0]!.versions[0]!;
    expect(early.comparisons.every((c) => c.verdict === 'not enough data yet')).toBe(true);
  });

  it('decides with the core functions on the same summaries: confidence sequence, MDE, Holm, guardrails, SRM', async () => {
    const version = (await report()).sequences[0]!.versions[0]!;
    const outcome = (arm: string) => ({
      arm,
      converted: truth[arm]!.y.filter((v) => v > 0).length,
      ...summarizePaired(truth[arm]!.y, truth[arm]!.x),
    });
    const find = (arm: string, against: string) => version.comparisons.find((c) => c.arm === arm && c.against === against)!;
    for (const c of version.comparisons) {
      const [adjustedArm, adjustedBaseline] = cupedSamples(outcome(c.arm), outcome(c.baseline));
      const sequence = sequentialMeans(adjustedArm, adjustedBaseline, { plannedN: PLANNED_CUSTOMERS });
      expect(c.sequential.verdict).toBe(sequence.verdict);
      expect(c.sequential.plannedN).toBe(10_000);
      // The same band straight from the formula, around the CUPED difference and its standard error.
      const half = confidenceSequenceHalfWidth(c.cuped.standardError, c.n.arm + c.n.baseline, 0.05, tuningRho(10_000));
      for (const [got, want] of [
        [c.sequential.interval[0], sequence.interval[0]],
        [c.sequential.interval[1], sequence.interval[1]],
        [c.sequential.interval[0], c.cuped.difference - half],
        [c.mde.absolute, minimumDetectableEffect(adjustedArm, { ...adjustedBaseline, mean: outcome(c.baseline).mean }).absolute],
        [c.mde.absolute, detectionMultiplier() * c.cuped.standardError],
        [c.mde.relative!, (detectionMultiplier() * c.cuped.standardError) / outcome(c.baseline).mean],
      ])
        expect(got).toBeCloseTo(want!, 6);
      // Enough customers: the verdict is the sequential one; the fixed-horizon one stays beside it.
      expect(c.verdict).toBe(c.sequential.verdict);
      expect(c.fixedHorizonVerdict).toBe(
        compareArms(outcome(c.arm), outcome(c.baseline), { against: c.against, minSample: 100 }).fixedHorizonVerdict,
      );
    }
    // Holm across the comparisons of each kind: one against the control, two against the holdout.
    expect(find('b', 'control').adjustedPValue).toBeCloseTo(find('b', 'control').cuped.pValue, 12);
    const [aHoldout, bHoldout] = holm([find('a', 'holdout').cuped.pValue, find('b', 'holdout').cuped.pValue]);
    expect(find('a', 'holdout').adjustedPValue).toBeCloseTo(aHoldout!, 12);
    expect(find('b', 'holdout').adjustedPValue).toBeCloseTo(bHoldout!, 12);
    // Guardrails against the control, per enrolled customer: one bounce in each arm, nothing else.
    const enrolled = (arm: string) => version.arms.find((a) => a.arm === arm)!.enrolled;
    const expected = guardrails(
      (
        [
          ['unsubscribes', 0],
          ['complaints', 0],
          ['bounces', 1],
        ] as const
      ).map(([name, events]) => ({ name, variant: { n: enrolled('b'), events }, control: { n: enrolled('a'), events } })),
    );
    expect(find('b', 'control').guardrails).toEqual(
      expected.map((g) => ({
        metric: g.name,
        arm: g.variantRate,
        baseline: g.controlRate,
        difference: g.difference,
        pValue: g.pValue,
        adjustedPValue: g.adjustedPValue,
        flagged: g.worse,
      })),
    );
    expect(find('b', 'control').flags).toEqual([]);
    // The holdout gets no email: no guardrail applies.
    expect(find('a', 'holdout').guardrails).toEqual([]);
    // The split is as planned (a third each): no mismatch.
    const srm = sampleRatioMismatch([
      { arm: 'a', observed: enrolled('a'), weight: (1 - 0.3333333) / 2 },
      { arm: 'b', observed: enrolled('b'), weight: (1 - 0.3333333) / 2 },
      { arm: 'holdout', observed: enrolled('holdout'), weight: 0.3333333 },
    ]);
    expect(version.srm.pValue).toBeCloseTo(srm.pValue, 9);
    expect(version.srm.flagged).toBe(false);
  });

  it('counts a customer enrolled twice in a version once: the customer is the unit', async () => {
    const before = (await report()).sequences[0]!.versions[0]!.arms.find((a) => a.arm === 'a')!;
    const [first] = await queryRows<{ customer_id: number; sequence_version_id: number; enrolled_at: Date }>(
      database.db,
      sql`select customer_id, sequence_version_id, enrolled_at from enrollments where arm = 'a' order by id limit 1`,
    );
    const again = new Date(new Date(first!.enrolled_at).getTime() + 2 * DAY).toISOString();
    const [trigger] = await rows.orders([{ customer: first!.customer_id, at: again, total: 70 }]);
    await rows.enrollments([
      {
        customer: first!.customer_id,
        sequence: 'exp',
        version: first!.sequence_version_id,
        arm: 'a',
        trigger: trigger!,
        at: again,
        preSpend: 0,
      },
    ]);
    const after = (await report()).sequences[0]!.versions[0]!.arms.find((a) => a.arm === 'a')!;
    expect(after.enrolled).toBe(before.enrolled);
    expect(after.measured.customers).toBe(before.measured.customers);
    // The second trigger order is an order inside the first enrollment's window.
    expect(after.measured.revenue).toBeCloseTo(before.measured.revenue + 70, 4);
  });

  it('`campaign report` prints the same numbers as the API, as a table, JSON or CSV', async () => {
    const env = { DATABASE_URL: database.url! };
    const json = await campaign(['report', '--json', '--as-of', AS_OF], env);
    expect(json.stderr).toBe('');
    const fromCli = JSON.parse(json.stdout) as Report;

    const app = await buildServer({ db: database.db, apiToken: 'token-123456', bodyLimitBytes: 1 << 20 });
    try {
      const auth = { authorization: 'Bearer token-123456' };
      const all = await app.inject({ method: 'GET', url: `/api/reports/sequences?as_of=${AS_OF}`, headers: auth });
      expect(all.statusCode).toBe(200);
      expect(all.json()).toEqual(fromCli);
      const one = await app.inject({ method: 'GET', url: `/api/reports/sequences/exp?as_of=${AS_OF}`, headers: auth });
      expect(one.json().sequence).toEqual(fromCli.sequences[0]);
      expect((await app.inject({ method: 'GET', url: '/api/reports/sequences/nope', headers: auth })).statusCode).toBe(404);
      expect((await app.inject({ method: 'GET', url: '/api/reports/sequences?as_of=yesterday', headers: auth })).statusCode).toBe(400);
      expect((await app.inject({ method: 'GET', url: '/api/reports/sequences' })).statusCode).toBe(401);
    } finally {
      await app.close();
    }

    const table = await campaignInProcess(['report', '--as-of', AS_OF], { ...env, REPORT_MIN_SAMPLE: '1000' });
    expect(table.stdout).toMatch(/exp \(Sequence exp\), version 1, live, active/);
    expect(table.stdout).toMatch(/b vs a \(control\)/);
    expect(table.stdout).toContain('not enough data yet');
    expect(table.stdout).toMatch(
      /Split check: enrolled a \d+ \(expected \d+\), b \d+ \(expected \d+\), holdout \d+ \(expected \d+\); SRM p = /,
    );
    expect(table.stdout).toContain('always-valid 95% CI');
    expect(table.stdout).toContain('per delivered email');
    expect(table.stdout).not.toContain('per recipient');

    const csv = await campaignInProcess(['report', '--csv', 'comparisons', '--as-of', AS_OF], env);
    const lines = csv.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^sequence,version,arm,against,baseline,n_arm/);
    expect(lines[0]).toContain(',verdict,fixed_horizon_verdict,sequential_ci_low,sequential_ci_high,sequential_verdict,mde,');
    // The three comparisons, and every email pooled against the holdout.
    expect(lines).toHaveLength(1 + 3 + 1);
    expect(lines.at(-1)).toMatch(/^exp,1,any email,holdout,holdout,/);
    const arms = await campaignInProcess(['report', '--csv', '--sequence', 'exp', '--as-of', AS_OF], env);
    expect(arms.stdout.trim().split('\n')).toHaveLength(1 + 3 * 3);
    expect(arms.stdout.split('\n')[0]).toContain('revenue_per_delivered_email');

    const unknown = await campaignInProcess(['report', '--sequence', 'nope'], env);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('no sequence "nope"');
  }, 180_000); // five CLI runs, the first a process start: slow on a busy machine

  it('as of a past time counts only the enrollments, sends, events and attributed orders by then', async () => {
    const armA = async (asOf: string) => (await report(asOf)).sequences.find((s) => s.id === 'exp')!.versions[0]!.arms[0]!;
    // Day 1.5: customers 0 and 1 of each arm enrolled (i % 20 in {0, 1}: 12 of them) and
    // emailed; customer 2's email (and its bounce) and the credited order of day 3 are later.
    const early = await armA(at(1.5 * DAY));
    expect(early.enrolled).toBe(12);
    expect(early.steps[0]).toMatchObject({ sent: 2, bounced: 0, delivered: 2, opens: { human: 1, raw: 2 }, clicks: { human: 1, raw: 1 } });
    expect({ orders: early.conversions, revenue: early.attributedRevenue }).toEqual({ orders: 0, revenue: 0 });
    // Day 2.5: the third email and its bounce; of customer 0's credited orders only the one
    // of day 2 (the trigger of their second enrollment, above), not the one of day 3.
    const later = await armA(at(2.5 * DAY));
    expect(later.steps[0]).toMatchObject({ sent: 3, bounced: 1, delivered: 2 });
    expect({ orders: later.conversions, revenue: later.attributedRevenue }).toEqual({ orders: 1, revenue: 70 });
    // Day 3.5: every credited order is placed, as in the full report.
    const credited = await armA(at(3.5 * DAY));
    const full = await armA(AS_OF);
    expect({ orders: credited.conversions, revenue: credited.attributedRevenue }).toEqual({
      orders: full.conversions,
      revenue: full.attributedRevenue,
    });
    expect(full.conversions).toBe(attributed.orders + 1);
    // The guardrails count events by then too: no bounce before day 2.
    const bounces = (await report(at(1.5 * DAY))).sequences[0]!.versions[0]!.comparisons.find((c) => c.against === 'control')!;
    expect(bounces.guardrails.find((g) => g.metric === 'bounces')).toMatchObject({ arm: 0, baseline: 0 });
  });

  it('flags a guardrail the variant makes worse, and keeps the verdict', async () => {
    const before = (await report()).sequences[0]!.versions[0]!.comparisons.find((c) => c.against === 'control')!;
    // Twelve customers of arm b complain about an email of this version.
    const units = await queryRows<{ id: number; customer_id: number }>(
      database.db,
      sql`select id, customer_id from enrollments where sequence_id = 'exp' and arm = 'b' order by id offset 10 limit 12`,
    );
    for (const u of units) {
      const message = await rows.message(u.id, u.customer_id, 1, at(25 * DAY));
      await rows.event(message, u.customer_id, 'complaint', at(25 * DAY + HOUR));
    }
    const after = (await report()).sequences[0]!.versions[0]!.comparisons.find((c) => c.against === 'control')!;
    const complaints = after.guardrails.find((g) => g.metric === 'complaints')!;
    const enrolledB = (await report()).sequences[0]!.versions[0]!.arms.find((a) => a.arm === 'b')!.enrolled;
    expect(complaints).toMatchObject({ baseline: 0, flagged: true });
    expect(complaints.arm).toBeCloseTo(12 / enrolledB, 12);
    expect(after.flags).toEqual(['complaints']);
    expect(after.verdict).toBe(before.verdict);
    expect(after.summary).toContain('guardrail: more complaints than a');
  });

  it('flags a 60/40 split of a 50/50 version, and every verdict says the split is broken', async () => {
    await prepareShop(database.db, SEQUENCE('split', 'measurement_window: 10d'));
    const version = await versionOf(database.db, 'split');
    const plant = async (arm: string, count: number) => {
      const customers = await rows.customers(count);
      const triggers = await rows.orders(customers.map((c) => ({ customer: c, at: at(0), total: 30 })));
      await rows.enrollments(
        customers.map((c, i) => ({ customer: c, sequence: 'split', version, arm, trigger: triggers[i]!, at: at(0), preSpend: 0 })),
      );
      await rows.orders(customers.filter((_, i) => i % 3 === 0).map((c) => ({ customer: c, at: at(2 * DAY), total: 40 })));
    };
    await plant('a', 300);
    await plant('b', 200);
    const split = (
      await buildReport(database.db, { asOf: new Date(AS_OF), attribution: DEFAULT_ATTRIBUTION, minSample: 100, sequenceId: 'split' })
    ).sequences[0]!.versions[0]!;
    const expected = sampleRatioMismatch([
      { arm: 'a', observed: 300, weight: 0.5 },
      { arm: 'b', observed: 200, weight: 0.5 },
    ]);
    expect(split.srm.pValue).toBeCloseTo(expected.pValue, 12);
    expect(split.srm.pValue).toBeLessThan(0.001);
    expect(split.srm.flagged).toBe(true);
    expect(split.srm.arms).toEqual([
      { arm: 'a', observed: 300, expected: 250 },
      { arm: 'b', observed: 200, expected: 250 },
    ]);
    expect(split.comparisons.map((c) => c.verdict)).toEqual([SRM_VERDICT]);
    // The figures stay, for whoever investigates.
    expect(split.comparisons[0]!.n).toEqual({ arm: 200, baseline: 300 });
  });

  it('says `no data` for an arm with no measured customer, never a $0 difference', async () => {
    await prepareShop(database.db, SEQUENCE('fresh', 'holdout: 33.33333%\nmeasurement_window: 10d'));
    const version = await versionOf(database.db, 'fresh');
    const plant = async (arm: string, count: number, enrolledAt: string) => {
      const customers = await rows.customers(count);
      const triggers = await rows.orders(customers.map((c) => ({ customer: c, at: enrolledAt, total: 30 })));
      await rows.enrollments(
        customers.map((c, i) => ({ customer: c, sequence: 'fresh', version, arm, trigger: triggers[i]!, at: enrolledAt, preSpend: 0 })),
      );
      await rows.orders(
        customers
          .filter((_, i) => i % 2 === 0)
          .map((c) => ({ customer: c, at: new Date(Date.parse(enrolledAt) + DAY).toISOString(), total: 25 })),
      );
    };
    // a and the holdout measured; b enrolled yesterday, its window still open.
    await plant('a', 110, at(0));
    await plant('holdout', 110, at(0));
    await plant('b', 110, at(39 * DAY));
    const fresh = (
      await buildReport(database.db, { asOf: new Date(AS_OF), attribution: DEFAULT_ATTRIBUTION, minSample: 100, sequenceId: 'fresh' })
    ).sequences[0]!.versions[0]!;
    expect(fresh.arms.find((a) => a.arm === 'b')!.measured).toMatchObject({ customers: 0, revenuePerCustomer: null });
    const json = JSON.parse(JSON.stringify(fresh)) as typeof fresh;
    for (const against of ['control', 'holdout'] as const) {
      const c = json.comparisons.find((x) => x.arm === 'b' && x.against === against)!;
      expect(c.verdict).toBe('no data');
      expect(c.fixedHorizonVerdict).toBe('no data');
      expect(c.revenuePerCustomer.arm).toBeNull();
      expect(c.revenuePerCustomer.difference).toBeNull();
      expect(c.cuped.difference).toBeNull();
      expect(c.cuped.interval).toEqual([null, null]);
      expect(c.sequential.interval).toEqual([null, null]);
      expect(c.mde.absolute).toBeNull();
      expect(c.conversionRate.difference).toBeNull();
    }
    expect(json.comparisons.find((x) => x.arm === 'b' && x.against === 'holdout')!.incrementalRevenue!.estimate).toBeNull();
    // The arms that have customers still compare: $12.50 against $12.50.
    const a = json.comparisons.find((x) => x.arm === 'a' && x.against === 'holdout')!;
    expect(a.verdict).toBe('no clear difference yet');
    expect(a.revenuePerCustomer.difference).toBeCloseTo(0, 9);
  });
});
