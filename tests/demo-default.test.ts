/**
 * The demo at its default settings (what `npm start` runs, here on the real Postgres): the
 * report finds the planted difference, shows the discount's revenue win beside its margin
 * loss, keeps the planted null, and every interval that makes a
 * claim contains the planted truth; CUPED narrows the intervals, since customers differ in
 * how much they buy; readers click and buy upsells as well as cross-sells.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.ts';
import { DEMO_DEFAULTS, runDemo, type DemoResult } from '../src/demo/run.ts';
import { SLOWEST_PACE } from '../src/demo/pace.ts';
import { freshDatabase, type TestDatabase } from './helpers/db.ts';
import { REDIS_URL } from './helpers/redis.ts';

describe('the demo at its default settings', () => {
  let database: TestDatabase;
  let result: DemoResult;
  beforeAll(async () => {
    database = await freshDatabase('postgres');
    const settings = loadConfig({
      DATABASE_URL: database.url,
      REDIS_URL,
      DATA_DIR: mkdtempSync(join(tmpdir(), 'campaign-demo-')),
      LOG_LEVEL: 'silent',
    });
    result = await runDemo(settings, { ...DEMO_DEFAULTS, port: 0, keepServing: false }, { line: () => {} });
  }, 900_000);
  afterAll(() => database?.drop());

  it('finds the planted difference with the always-valid test, at a size with at least 80% power', () => {
    const planted = result.planted.find((p) => p.kind === 'difference')!;
    expect(planted, JSON.stringify(result.planted)).toBeDefined();
    expect(planted.power).toBeGreaterThanOrEqual(0.8);
    expect(planted.verdict).toBe('worse');
    expect(planted.asPlanted).toBe(true);
    expect(planted.interval[0]).toBeLessThanOrEqual(planted.truth);
    expect(planted.truth).toBeLessThanOrEqual(planted.interval[1]);
  });

  it("shows the discount's revenue win beside its margin, which the planted truth says it loses", () => {
    const planted = result.planted.find((p) => p.kind === 'discount')!;
    expect(planted, JSON.stringify(result.planted)).toBeDefined();
    expect(planted.truth).toBeGreaterThan(0);
    expect(planted.verdict).toBe('better');
    expect(planted.interval[0]).toBeLessThanOrEqual(planted.truth);
    expect(planted.truth).toBeLessThanOrEqual(planted.interval[1]);
    const margin = planted.margin!;
    expect(margin, JSON.stringify(planted)).not.toBeNull();
    expect(margin.truth).toBeLessThan(0);
    // Never a margin win that is not there.
    expect(margin.verdict).not.toBe('better');
    expect(margin.interval[0]).toBeLessThanOrEqual(margin.truth);
    expect(margin.truth).toBeLessThanOrEqual(margin.interval[1]);
    // The codes went out and came back: issued by the variant's emails, redeemed, at a cost.
    const version = result.report.sequences.find((s) => s.id === 'post-purchase')!.versions.find((v) => v.live)!;
    const codes = version.arms.find((a) => a.arm === 'co-purchase-25off')!.codes;
    expect(codes.issued).toBeGreaterThan(0);
    expect(codes.redeemed).toBeGreaterThan(0);
    expect(Number(codes.discountCost)).toBeGreaterThan(0);
    expect(version.arms.filter((a) => a.arm !== 'co-purchase-25off').every((a) => a.codes.issued === 0)).toBe(true);
  });

  it('keeps the planted null, and says what it could have found', () => {
    const planted = result.planted.find((p) => p.kind === 'null')!;
    expect(planted, JSON.stringify(result.planted)).toBeDefined();
    expect(planted.verdict).toBe('no clear difference yet');
    expect(planted.asPlanted).toBe(true);
    expect(planted.detectable).toBeGreaterThan(0);
    expect(Number.isFinite(planted.detectable)).toBe(true);
  });

  it('every interval that makes a claim contains the planted truth', () => {
    const claims = result.checks.filter((c) => c.enough);
    expect(claims.length).toBeGreaterThanOrEqual(4);
    for (const check of claims) expect(check.covered, JSON.stringify(check)).toBe(true);
  });

  it('CUPED narrows the intervals against the holdout, since customers differ in how much they buy', () => {
    const holdout = result.checks.filter((c) => c.against === 'holdout' && c.sequence === 'post-purchase');
    expect(holdout.length).toBeGreaterThan(0);
    // A covariate unrelated to revenue narrows by about ρ̂²/2 with ρ̂² ~ χ²₁/n: at the
    // roughly 1,000 customers of a holdout comparison, under 0.006 in 999 runs of 1,000
    // (χ²₁'s 0.999 quantile is 10.83; scipy.stats.chi2.ppf(0.999, 1) / 1000 / 2 = 0.0054).
    // The planted customers' spend differs enough to narrow by about 5 to 8% (0.047 at the
    // lowest seen in CI), so 2% separates "CUPED uses the spend before" from chance with room.
    for (const check of holdout) expect(check.cupedNarrowing, JSON.stringify(check)).toBeGreaterThan(0.02);
  });

  it('readers click and buy upsells as well as cross-sells', () => {
    const version = result.report.sequences.find((s) => s.id === 'post-purchase')!.versions.find((v) => v.live)!;
    const upgrade = version.arms.flatMap((a) => a.steps).filter((s) => s.template === 'upgrade');
    expect(upgrade.reduce((sum, s) => sum + s.clicks.human, 0)).toBeGreaterThan(0);
    expect(version.arms.some((a) => a.kpis.acceptance.upsell.accepted > 0)).toBe(true);
    expect(version.arms.some((a) => a.kpis.acceptance.crossSell.accepted > 0)).toBe(true);
  });

  it('enrolls no customer without marketing consent, and says so beside the others', () => {
    expect(result.consent.saidNo + result.consent.unknown).toBeGreaterThan(100);
    expect(result.consent.enrolled).toBe(0);
  });

  it("learns each regular's planted refill cycle, and times refills far nearer the actual day than a fixed delay", () => {
    const r = result.replenish;
    expect(r.regulars).toBeGreaterThan(50);
    expect(r.plantedDays[0]).toBeGreaterThanOrEqual(10);
    expect(r.plantedDays[1]).toBeLessThanOrEqual(25);
    // Refills come two days either side of the cycle: the learned median lands within a day or so.
    expect(r.ownRhythmError).toBeLessThan(1.5);
    expect(r.backtest.cases).toBeGreaterThan(100);
    expect(r.backtest.learned.meanAbsError).toBeLessThan(r.backtest.fixed.meanAbsError / 2);
  });

  it('runs its clock no slower than a quarter of the plan when the machine falls behind, and says how long it did', () => {
    expect(result.pace.slowest).toBeGreaterThanOrEqual(SLOWEST_PACE);
    expect(result.pace.slowest).toBeLessThanOrEqual(1);
    expect(result.pace.slowedSeconds).toBeGreaterThanOrEqual(0);
    expect(result.pace.slowedSeconds).toBeLessThanOrEqual(result.realSeconds);
    expect(result.pace.latestHours).toBeGreaterThanOrEqual(0);
  });

  it("takes the Shopify shop's orders as signed webhooks, each stored once though delivered twice", () => {
    const w = result.webhooks;
    expect(w.orders).toBeGreaterThan(100);
    expect(w).toEqual({ orders: w.orders, stored: w.orders, duplicates: w.orders, other: 0 });
  });

  it("answers a product page's storefront recommendations with the planted accessories of its model line", () => {
    const s = result.storefront;
    expect(s.shown.length).toBeGreaterThan(0);
    expect(s.shown.every((r) => r.reason.length > 0)).toBe(true);
    // The co-purchase strategy finds the planted truth: most of what it shows fits the machine's line.
    expect(s.shown.filter((r) => r.sameLine).length).toBeGreaterThanOrEqual(Math.ceil(s.shown.length / 2));
  });

  it('builds the report from its rollups with every figure the raw rows give', () => {
    expect(result.rollup.difference).toBeNull();
    expect(result.rollup.same).toBe(true);
    expect(result.rollup.seconds).toBeGreaterThan(0);
    expect(result.rollup.rawSeconds).toBeGreaterThan(0);
  });

  it("attributed revenue equals the simulator's ledger under the same rule", () => {
    expect(result.attributed.engine).toBeGreaterThan(0);
    expect(result.attributed.engine).toBeCloseTo(result.attributed.ledger, 2);
  });

  it('sends, and the recipients act through the real links', () => {
    expect(result.counts.emails).toBeGreaterThan(1_000);
    expect(result.counts.opens).toBeGreaterThan(100);
    expect(result.counts.clicks).toBeGreaterThan(10);
    expect(result.counts.purchases).toBeGreaterThan(0);
  });
});
