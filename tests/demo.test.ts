/**
 * The main job, small: the whole demo (history, recommendations, starter sequences, new
 * orders through the API, recipients through the tracking links) on the real Postgres and
 * Redis, checked on its two facts: the report's intervals contain the planted truth, and
 * its attributed revenue equals the simulator's own ledger under the same rule.
 */
import { copyFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.ts';
import { ensureRedis, findOnPath } from '../src/demo/redis.ts';
import { redisAnswers } from '../src/queue/redis.ts';
import { runDemo, type DemoResult } from '../src/demo/run.ts';
import { campaign } from './helpers/cli.ts';
import { freshDatabase, type TestDatabase } from './helpers/db.ts';
import { REDIS_URL } from './helpers/redis.ts';

/** The main starter sequence alone: its 21-day window keeps the simulated span short. */
function onlyPostPurchase(): string {
  const dir = mkdtempSync(join(tmpdir(), 'campaign-sequences-'));
  copyFileSync(join('templates', 'sequences', 'post-purchase.yaml'), join(dir, 'post-purchase.yaml'));
  return dir;
}

describe('the demo, small, on Postgres', () => {
  let database: TestDatabase;
  let result: DemoResult;
  beforeAll(async () => {
    database = await freshDatabase('postgres', { poolSize: 10 });
    // A verdict here needs 30 customers per arm: enough for the intervals to be claims, and the
    // holdout (10% of about 700 enrollments, fewer measured when a busy machine slows the
    // scaled clock's orders) still reaches it.
    const settings = loadConfig({
      DATABASE_URL: database.url,
      REDIS_URL,
      DATA_DIR: mkdtempSync(join(tmpdir(), 'campaign-demo-')),
      LOG_LEVEL: 'silent',
      REPORT_MIN_SAMPLE: '30',
      SEQUENCES_DIR: onlyPostPurchase(),
    });
    result = await runDemo(
      settings,
      { customers: 8_000, historyDays: 30, days: 4, ordersPerDay: 200, clockScale: 20_000, seed: 3, port: 0, keepServing: false },
      { line: () => {} },
    );
  }, 240_000);
  afterAll(() => database?.drop());

  it('sends, and the recipients act through the real links', () => {
    expect(result.counts.emails).toBeGreaterThan(200);
    expect(result.counts.opens).toBeGreaterThan(50);
    expect(result.counts.clicks).toBeGreaterThan(5);
    expect(result.counts.purchases).toBeGreaterThan(0);
  });

  it("the report's intervals contain the planted truth, wherever the report makes a claim", () => {
    const claims = result.checks.filter((c) => c.enough);
    // The main sequence's variant lift and its incremental revenue over the holdout are claims.
    expect(claims.some((c) => c.sequence === 'post-purchase' && c.against === 'control')).toBe(true);
    expect(claims.some((c) => c.sequence === 'post-purchase' && c.against === 'holdout')).toBe(true);
    for (const check of claims) expect(check.covered, JSON.stringify(check)).toBe(true);
  });

  it('enrolls no customer without marketing consent, though they order', () => {
    expect(result.consent.saidNo).toBeGreaterThan(0);
    expect(result.consent.unknown).toBeGreaterThan(0);
    expect(result.consent.orders).toBeGreaterThanOrEqual(result.consent.saidNo + result.consent.unknown);
    expect(result.consent.enrolled).toBe(0);
  });

  it("attributed revenue equals the simulator's ledger under the same rule", () => {
    expect(result.attributed.engine).toBeGreaterThan(0);
    expect(result.attributed.engine).toBeCloseTo(result.attributed.ledger, 2);
  });
});

describe('the demo without Redis', () => {
  it('starts a redis-server from PATH when none answers at REDIS_URL, and stops it', async () => {
    const redis = await ensureRedis('redis://127.0.0.1:1');
    try {
      expect(redis.origin).toBe('started');
      expect(await redisAnswers(redis.url)).toBe(true);
    } finally {
      await redis.stop();
    }
    expect(await redisAnswers(redis.url, 300)).toBe(false);
  });

  it('ends in seconds with one clear message when no Redis answers and none can be started', async () => {
    // A PATH with nothing on it (the command itself runs by node's absolute path).
    const path = mkdtempSync(join(tmpdir(), 'campaign-path-'));
    expect(findOnPath('redis-server', path)).toBeUndefined();
    const started = Date.now();
    const run = await campaign(['demo'], {
      REDIS_URL: 'redis://127.0.0.1:1',
      PATH: path,
      DATA_DIR: mkdtempSync(join(tmpdir(), 'campaign-demo-')),
    });
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('no Redis answers at redis://127.0.0.1:1, and there is no redis-server on PATH');
    expect(run.stderr).toContain('set REDIS_URL');
    expect(run.stderr).not.toMatch(/\n\s+at /);
  });
});
