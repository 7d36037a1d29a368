/**
 * `campaign import` on bad input, as a user runs it: one clear line per problem, never a
 * stack trace or a driver's message (which quotes customer data), and the outbox drained.
 */
import { chmodSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryRows } from '../src/db/client.ts';
import { campaign, campaignInProcess } from './helpers/cli.ts';
import { freshDatabase, type TestDatabase } from './helpers/db.ts';
import { FIXTURES, tempFile } from './helpers/files.ts';
import { freshQueues, REDIS_URL, type TestQueues } from './helpers/redis.ts';

const STACK = /\n\s+at /;

describe('campaign import on bad files and after a killed run', () => {
  let database: TestDatabase;
  let redis: TestQueues;
  let env: Record<string, string>;
  beforeAll(async () => {
    database = await freshDatabase('postgres');
    redis = await freshQueues();
    env = { DATABASE_URL: database.url!, REDIS_URL, QUEUE_PREFIX: redis.prefix };
    for (const kind of ['products', 'customers'])
      expect((await campaignInProcess(['import', kind, `${FIXTURES}${kind}.csv`], env)).code).toBe(0);
  });
  afterAll(async () => {
    await redis.cleanup();
    await database.drop();
  });

  const pending = async () =>
    (await queryRows<{ n: number }>(database.db, sql`select count(*)::int as n from outbox where published_at is null`))[0]!.n;

  it('publishes the outbox rows an earlier run left behind, even when this run places no order', async () => {
    // What a run killed after its commits leaves: orders stored, their facts unpublished.
    const killed = await campaignInProcess(['import', 'orders', `${FIXTURES}orders.csv`, '--no-publish'], env);
    expect(killed.code, killed.stderr).toBe(0);
    await database.db.execute(
      sql`insert into outbox (topic, payload) values ('order.placed', '{"orderId": 9001, "customerId": 1}'::jsonb)`,
    );
    expect(await pending()).toBe(4);
    expect(await redis.queues.enroll.getJobs(['waiting', 'delayed', 'active', 'completed'])).toHaveLength(0);

    const again = await campaignInProcess(['import', 'orders', `${FIXTURES}orders.csv`], env);
    expect(again.stdout).toBe('orders.csv: 6 rows: 0 imported, 0 updated, 6 unchanged, 0 rejected\n');
    expect(await pending()).toBe(0);
    const jobs = await redis.queues.enroll.getJobs(['waiting', 'delayed', 'active', 'completed']);
    expect(jobs.map((j) => j.id).sort()).toEqual(['order-1-placed', 'order-2-placed', 'order-3-placed', 'order-9001-placed']);
  });

  it('explains a directory, an empty file, a duplicate column and an unreadable file in one line, exit 2', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'campaign-dir-'));
    const cases: [string, RegExp][] = [
      [`${dir}/`, /is a directory, not a file/],
      [tempFile('orders.csv', ''), /the file is empty; a header row is required/],
      [tempFile('orders.csv', 'order_id,order_id\n'), /the header names the column "order_id" twice/],
      ['/nonexistent/orders.csv', /no such file/],
    ];
    if (process.getuid?.() !== 0) {
      const locked = tempFile('orders.csv', 'order_id\n');
      chmodSync(locked, 0o000);
      cases.push([locked, /permission denied/]);
    }
    for (const [file, message] of cases) {
      const result = await campaign(['import', 'orders', file, '--format', 'csv'], env);
      expect(result.code, result.stderr).toBe(2);
      expect(result.stderr).toMatch(message);
      expect(result.stderr.trim().split('\n')).toHaveLength(1);
      expect(result.stderr).not.toMatch(STACK);
    }
    const headerOnly = await campaignInProcess(['import', 'customers', tempFile('customers.csv', 'customer_id,email\n')], env);
    expect(headerOnly.code).toBe(0);
    expect(headerOnly.stdout).toMatch(/0 rows: 0 imported, 0 updated, 0 unchanged, 0 rejected/);
  });

  it('reports a row the database refuses without its data, stores the rest of its batch, and stops cleanly when the database fails', async () => {
    await database.db.execute(sql`
      create function refuse_customer() returns trigger language plpgsql as $$
      begin
        if new.email like 'boom%' then raise exception 'refused %', new.email using errcode = '22023'; end if;
        if new.email like 'down%' then raise exception 'down %', new.email using errcode = '57P01'; end if;
        return new;
      end $$`);
    await database.db.execute(
      sql`create trigger refuse_customer before insert on customers for each row execute function refuse_customer()`,
    );
    const file = tempFile(
      'customers.csv',
      'customer_id,email,first_name\nr-1,r1@example.com,Ann\nr-2,boom@example.com,Secretname\nr-3,r3@example.com,Bo\n',
    );
    const refused = await campaign(['import', 'customers', file], env);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe(`${file}:3: could not be stored: the database refused a value (SQLSTATE 22023)\n`);
    expect(refused.stdout).toMatch(/3 rows: 2 imported, 0 updated, 0 unchanged, 1 rejected/);

    const down = await campaign(
      ['import', 'customers', tempFile('customers.csv', 'customer_id,email,first_name\nr-4,down@example.com,Secretname\n')],
      env,
    );
    expect(down.code).toBe(2);
    expect(down.stderr).toMatch(/^campaign: the database failed while storing rows \(SQLSTATE 57P01\)/);
    for (const output of [refused.stderr, down.stderr]) {
      expect(output).not.toMatch(/Secretname|boom@|down@|params|insert into/);
      expect(output).not.toMatch(STACK);
    }
  });
});
