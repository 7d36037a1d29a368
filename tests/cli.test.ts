import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { campaign, campaignInProcess } from './helpers/cli.ts';
import { freshDatabase, type TestDatabase } from './helpers/db.ts';
import { FIXTURES, tempFile } from './helpers/files.ts';
import { freshQueues, REDIS_URL, type TestQueues } from './helpers/redis.ts';

describe('campaign import (the command) against Postgres and Redis', () => {
  let database: TestDatabase;
  let redis: TestQueues;
  let env: Record<string, string>;
  beforeAll(async () => {
    database = await freshDatabase('postgres');
    redis = await freshQueues();
    env = { DATABASE_URL: database.url!, REDIS_URL, QUEUE_PREFIX: redis.prefix };
  });
  afterAll(async () => {
    await redis.cleanup();
    await database.drop();
  });

  it('imports, prints a summary, and publishes exactly one order.placed job per new order', async () => {
    for (const kind of ['products', 'customers']) {
      const result = await campaignInProcess(['import', kind, `${FIXTURES}${kind}.csv`], env);
      expect(result.code, result.stderr).toBe(0);
    }
    const first = await campaign(['import', 'orders', `${FIXTURES}orders.csv`], env);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toBe('orders.csv: 6 rows: 6 imported, 0 updated, 0 unchanged, 0 rejected\n');
    const again = await campaignInProcess(['import', 'orders', `${FIXTURES}orders.csv`], env);
    expect(again.stdout).toBe('orders.csv: 6 rows: 0 imported, 0 updated, 6 unchanged, 0 rejected\n');

    const jobs = await redis.queues.enroll.getJobs(['waiting', 'delayed', 'active', 'completed']);
    expect(jobs).toHaveLength(3);
    expect(new Set(jobs.map((j) => j.data.orderId)).size).toBe(3);
  });

  it('reports each rejected row as FILE:LINE: reason and exits 1', async () => {
    const file = tempFile('customers.csv', 'customer_id,email\nc-70,seventy@example.com\nc-71,not-an-email\n');
    const result = await campaign(['import', 'customers', file], env);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`${file}:3: email: must be an email address (got "not-an-email")`);
    expect(result.stdout).toMatch(/2 rows: 1 imported, 0 updated, 0 unchanged, 1 rejected/);
  });

  it('explains a bad setting, a missing file and an unmigrated database in one line, exit 2', async () => {
    const badScale = await campaign(['import', 'customers', `${FIXTURES}customers.csv`], { ...env, CLOCK_SCALE: 'fast' });
    expect(badScale.code).toBe(2);
    expect(badScale.stderr).toMatch(/CLOCK_SCALE: must be a number \(got "fast"\)/);
    const missing = await campaign(['import', 'customers', '/nonexistent/customers.csv'], env);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/no such file/);
    const dataDir = mkdtempSync(join(tmpdir(), 'campaign-empty-'));
    const fresh = await campaign(['import', 'customers', `${FIXTURES}customers.csv`], { DATA_DIR: dataDir });
    expect(fresh.code).toBe(2);
    expect(fresh.stderr).toMatch(/run `campaign db migrate` first/);
    expect(fresh.stderr).not.toMatch(/\n\s+at /);
  });

  it('migrates and imports into the embedded PGlite under DATA_DIR', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'campaign-pglite-'));
    expect((await campaign(['db', 'migrate'], { DATA_DIR: dataDir })).code).toBe(0);
    const result = await campaignInProcess(['import', 'products', `${FIXTURES}products.csv`], { DATA_DIR: dataDir });
    expect(result.stdout).toMatch(/5 imported/);
    const again = await campaignInProcess(['import', 'products', `${FIXTURES}products.csv`], { DATA_DIR: dataDir });
    expect(again.stdout).toMatch(/0 imported, 0 updated, 5 unchanged/);
  });
});
