/**
 * The demo at its default settings (what `npm start` runs, here on the real Postgres): the
 * report names the planted winner, keeps the planted null, and every interval that makes a
 * claim contains the planted truth; CUPED narrows the intervals, since customers differ in
 * how much they buy; readers click and buy upsells as well as cross-sells.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.ts';
import { DEMO_DEFAULTS, runDemo, type DemoResult } from '../src/demo/run.ts';
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
  }, 600_000);
  afterAll(() => database?.drop());

  it('finds the planted winner with the always-valid test, at a size with at least 80% power', () => {
    const winner = result.planted.find((p) => p.kind === 'winner')!;
    expect(winner, JSON.stringify(result.planted)).toBeDefined();
    expect(winner.power).toBeGreaterThanOrEqual(0.8);
    expect(winner.verdict).toBe('better');
    expect(winner.asPlanted).toBe(true);
    expect(winner.interval[0]).toBeLessThanOrEqual(winner.truth);
    expect(winner.truth).toBeLessThanOrEqual(winner.interval[1]);
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
    for (const check of holdout) expect(check.cupedNarrowing, JSON.stringify(check)).toBeGreaterThan(0.05);
  });

  it('readers click and buy upsells as well as cross-sells', () => {
    const version = result.report.sequences.find((s) => s.id === 'post-purchase')!.versions.find((v) => v.live)!;
    const upgrade = version.arms.flatMap((a) => a.steps).filter((s) => s.template === 'upgrade');
    expect(upgrade.reduce((sum, s) => sum + s.clicks.human, 0)).toBeGreaterThan(0);
    expect(version.arms.some((a) => a.kpis.acceptance.upsell.accepted > 0)).toBe(true);
    expect(version.arms.some((a) => a.kpis.acceptance.crossSell.accepted > 0)).toBe(true);
  });

  it("attributed revenue equals the simulator's ledger under the same rule", () => {
    expect(result.attributed.engine).toBeCloseTo(result.attributed.ledger, 2);
  });
});
