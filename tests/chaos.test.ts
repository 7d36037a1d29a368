/**
 * Exactly once under faults: 2,000 enrollments of a two-step sequence run on worker
 * processes (`campaign work`) that are killed with SIGKILL at random and restarted, while
 * the Redis schedule is wiped once mid-run. At the end every due email has arrived, each
 * (enrollment, step) under one Message-ID, and the database agrees with the SMTP server.
 * The scenario is tests/helpers/chaos.ts; tests/cluster.test.ts runs it on a Redis Cluster.
 */
import { afterAll, beforeAll, describe, it } from 'vitest';
import { chaosShop, expectChaosSurvived, expectHealthyWorker, type ChaosShop } from './helpers/chaos.ts';

const ENROLLMENTS = 2_000;

describe('exactly once under faults', () => {
  let shop: ChaosShop;

  beforeAll(async () => {
    shop = await chaosShop(ENROLLMENTS);
  }, 120_000);

  afterAll(() => shop?.close());

  it('every due email arrives once, through SIGKILLs and a wiped Redis, and the database agrees', async () => {
    await expectChaosSurvived(shop, { killForMs: 30_000, timeoutMs: 300_000 });
  }, 360_000);

  it('a worker serves /healthz and /metrics, and SIGTERM stops it cleanly', async () => {
    await expectHealthyWorker(shop);
  }, 60_000);
});
