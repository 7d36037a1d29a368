/**
 * The chaos scenario, shared by tests/chaos.test.ts (a single Redis) and
 * tests/cluster.test.ts (a Redis Cluster): a shop with a two-step sequence, `campaign work`
 * processes on a scaled clock against a test database, Redis prefix and SMTP server,
 * started and killed at will, the schedule wiped once, and the checks that every due email
 * arrived once and the database agrees with the SMTP server.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { sql } from 'drizzle-orm';
import { expect } from 'vitest';
import { prng } from '../../src/core/random.ts';
import { queryRows, type Db } from '../../src/db/client.ts';
import { ingestCustomers, ingestOrders } from '../../src/ingest/batch.ts';
import type { RedisTarget } from '../../src/queue/redis.ts';
import { freshDatabase, type TestDatabase } from './db.ts';
import { eventually, prepareShop } from './engine.ts';
import { deleteKeys, freshQueues, redisEnv, TEST_REDIS, type TestQueues } from './redis.ts';
import { startSmtp, type TestSmtp } from './smtp.ts';

const BIN = fileURLToPath(new URL('../../bin/campaign.js', import.meta.url));

/** The two-step sequence every chaos run sends. */
export const CHAOS_SEQUENCE = `
id: chaos
name: Two steps under chaos
trigger: { event: order_placed }
variants: [{ key: only, weight: 1 }]
steps:
  - { delay: 1h, template: thank-you }
  - { delay: 1d, template: accessories }
`;

/** The environment of a worker process: a simulated day a real second, short claims and locks, no metrics port, silent. */
export function chaosEnv(to: { databaseUrl: string; prefix: string; smtpUrl: string; redis: RedisTarget }): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '',
    DATABASE_URL: to.databaseUrl,
    ...redisEnv(to.redis),
    QUEUE_PREFIX: to.prefix,
    SMTP_URL: to.smtpUrl,
    PUBLIC_URL: 'https://track.shop.example',
    CLOCK_SCALE: '86400',
    CLOCK_ORIGIN: String(Date.now()),
    FREQUENCY_CAP: 'off',
    SEND_CLAIM_SECONDS: '2',
    WORKER_LOCK_MS: '1000',
    WORKER_CONCURRENCY: '16',
    METRICS_PORT: '0',
    LOG_LEVEL: 'silent',
  };
}

/** "Now" on the workers' scaled clock, where orders must be placed to enroll. */
export function scaledNow(env: Record<string, string>): string {
  const origin = Number(env.CLOCK_ORIGIN);
  return new Date(origin + (Date.now() - origin) * Number(env.CLOCK_SCALE)).toISOString();
}

/** Worker processes of `env`: `start` one (stderr shown with CHAOS_DEBUG), `killAll` at the end. */
export function workerProcesses(env: Record<string, string>) {
  const workers = new Set<ChildProcess>();
  const start = () => {
    const child = spawn(process.execPath, [BIN, 'work', '--reconcile-every', '1'], {
      env,
      stdio: ['ignore', 'ignore', process.env.CHAOS_DEBUG ? 'inherit' : 'ignore'],
    });
    workers.add(child);
    child.on('exit', () => workers.delete(child));
    return child;
  };
  const killAll = () => {
    for (const worker of workers) worker.kill('SIGKILL');
  };
  return { workers, start, killAll };
}

/** True when all `enrollments` exist, every one completed, with both of its emails sent. */
export async function allSent(db: Db, enrollments: number): Promise<boolean> {
  const [row] = await queryRows<{ open: number; sent: number }>(
    db,
    sql`select (select count(*)::int from enrollments where state <> 'completed') + (select ${enrollments} - count(*)::int from enrollments) as open,
               (select count(*)::int from messages where state = 'sent') as sent`,
  );
  return row!.open === 0 && row!.sent === 2 * enrollments;
}

/** The shop a chaos run works on, and the worker processes that serve it. */
export interface ChaosShop {
  enrollments: number;
  database: TestDatabase;
  queues: TestQueues;
  smtp: TestSmtp;
  env: Record<string, string>;
  pool: ReturnType<typeof workerProcesses>;
  /** Kills the workers and removes the database, the prefix's keys and the SMTP server. */
  close(): Promise<void>;
}

/**
 * A fresh shop with the two-step sequence and `enrollments` customers who accept marketing,
 * on a fresh Postgres database and a fresh prefix on `target`, with its SMTP server.
 */
export async function chaosShop(enrollments: number, target: RedisTarget = TEST_REDIS): Promise<ChaosShop> {
  const database = await freshDatabase('postgres');
  const queues = await freshQueues({}, target);
  const smtp = await startSmtp();
  await prepareShop(database.db, CHAOS_SEQUENCE);
  await addCustomers(database.db, enrollments);
  const env = chaosEnv({ databaseUrl: database.url!, prefix: queues.prefix, smtpUrl: smtp.url, redis: target });
  const pool = workerProcesses(env);
  return {
    enrollments,
    database,
    queues,
    smtp,
    env,
    pool,
    close: async () => {
      pool.killAll();
      await smtp.close();
      await queues.cleanup();
      await database.drop();
    },
  };
}

/** One order per customer, placed "now" on the workers' scaled clock (older orders do not enroll). */
export async function placeOrders(shop: ChaosShop): Promise<void> {
  await placeOrdersAt(shop.database.db, shop.enrollments, scaledNow(shop.env));
}

/** `count` customers `k-<i>` who accept marketing, in batches of 1,000. */
export async function addCustomers(db: Db, count: number): Promise<void> {
  for (let start = 0; start < count; start += 1_000)
    await ingestCustomers(
      db,
      Array.from({ length: Math.min(1_000, count - start) }, (_, i) => ({
        customer_id: `k-${start + i}`,
        email: `k${start + i}@example.com`,
        first_name: `K${start + i}`,
        accepts_marketing: 'yes' as const,
      })),
    );
}

/** One order for each of the `count` customers of {@link addCustomers}, placed at `now` (ISO). */
export async function placeOrdersAt(db: Db, count: number, now: string): Promise<void> {
  for (let start = 0; start < count; start += 1_000)
    await ingestOrders(
      db,
      Array.from({ length: Math.min(1_000, count - start) }, (_, i) => ({
        order_id: `ko-${start + i}`,
        customer_id: `k-${start + i}`,
        ordered_at: now,
        items: [{ sku: 'ESP-100', quantity: 1, unit_price: '249.00' }],
      })),
    );
}

export interface ChaosOptions {
  /** Real ms from the start during which a random worker is killed (and replaced) at every tick. */
  killForMs: number;
  timeoutMs: number;
}

/** What a chaos run did: the workers it killed, and whether it wiped the schedule. */
interface ChaosRun {
  kills: number;
  flushed: boolean;
}

/**
 * Places the orders and runs two workers until every enrollment has sent both emails: a
 * random worker is killed (and replaced) every 0.4 to 1.2 s for `killForMs`, and once half
 * the emails have arrived every key of the deployment's queues is deleted. Throws with the
 * state of the stuck enrollments and their jobs when the run does not finish within
 * `timeoutMs`.
 */
async function runChaos(shop: ChaosShop, options: ChaosOptions): Promise<ChaosRun> {
  const { pool, queues, smtp, database } = shop;
  pool.start();
  pool.start();
  await placeOrders(shop);
  const random = prng(2026);
  let kills = 0;
  let flushed = false;
  const started = Date.now();
  while (!(await allSent(database.db, shop.enrollments))) {
    if (Date.now() - started > options.timeoutMs)
      throw new Error(`the run did not finish in ${options.timeoutMs / 1000} s: ${JSON.stringify({ ...(await stuck(shop)), kills })}`);
    await new Promise((resolve) => setTimeout(resolve, 400 + random() * 800));
    // Kill a worker at random (mid-job, most likely) and start a fresh one.
    const victim = [...pool.workers][Math.floor(random() * pool.workers.size)];
    if (victim && Date.now() - started < options.killForMs) {
      victim.kill('SIGKILL');
      kills += 1;
      pool.start();
    }
    if (!flushed && smtp.received.length > shop.enrollments / 2) {
      // Lose the whole schedule once: every key of this deployment's queues.
      await deleteKeys(queues.redis, queues.prefix);
      flushed = true;
    }
    while (pool.workers.size < 2) pool.start();
  }
  return { kills, flushed };
}

/** What a run that did not finish was left with: enrollments and messages by state, and the jobs of a few stuck ones. */
async function stuck(shop: ChaosShop): Promise<Record<string, unknown>> {
  const db = shop.database.db;
  const states = await queryRows(db, sql`select state, next_step, count(*)::int from enrollments group by 1, 2`);
  const messages = await queryRows(db, sql`select state, count(*)::int from messages group by 1`);
  const open = await queryRows<{ id: number; next_step: number; next_due_at: Date }>(
    db,
    sql`select id, next_step, next_due_at from enrollments where state = 'active' limit 3`,
  );
  const jobs = await Promise.all(
    open.map(async (e) => {
      const job = await shop.queues.queues.steps.getJob(`enrollment-${e.id}-step-${e.next_step}`);
      return {
        ...e,
        job: job
          ? { state: await job.getState(), attempts: job.attemptsMade, reason: job.failedReason, delay: job.delay, ts: job.timestamp }
          : null,
      };
    }),
  );
  return { states, messages, received: shop.smtp.received.length, jobs, now: Date.now() };
}

/**
 * Every due email arrived, and the database says exactly what the server received.
 * Duplicates only from the crash window (a worker killed between the server's 250 and the
 * row's update): at most a few per kill, by construction under the same Message-ID, and
 * none at all without kills.
 */
export async function expectEveryEmailOnce(shop: Pick<ChaosShop, 'smtp' | 'database' | 'enrollments'>, kills: number): Promise<void> {
  const { smtp, database, enrollments } = shop;
  await eventually(async () => smtp.received.length >= 2 * enrollments && true, 10_000, 'the last emails');
  const received = new Map<string, number>();
  for (const mail of smtp.received) {
    const id = /^Message-ID: (<[^>]+>)/im.exec(mail.raw.replace(/\r?\n[ \t]+/g, ' '))![1]!;
    received.set(id, (received.get(id) ?? 0) + 1);
  }
  const sent = await queryRows<{ message_id: string; recipient: string }>(
    database.db,
    sql`select message_id, recipient from messages where state = 'sent'`,
  );
  expect(sent).toHaveLength(2 * enrollments);
  expect(new Set(received.keys())).toEqual(new Set(sent.map((s) => s.message_id)));
  const duplicates = [...received.values()].filter((n) => n > 1).length;
  expect(duplicates).toBeLessThanOrEqual(kills * 16);
  expect(duplicates / received.size).toBeLessThan(0.01);
}

/**
 * The chaos scenario and its checks: workers killed at random for `killForMs`, the schedule
 * wiped once, and every due email arriving with the database agreeing.
 */
export async function expectChaosSurvived(shop: ChaosShop, options: ChaosOptions): Promise<void> {
  const { kills, flushed } = await runChaos(shop, options);
  expect(kills).toBeGreaterThan(5);
  expect(flushed).toBe(true);
  await expectEveryEmailOnce(shop, kills);
}

/** A `campaign work` of `shop` serves /healthz and /metrics (Redis included), and SIGTERM stops it cleanly. */
export async function expectHealthyWorker(shop: ChaosShop): Promise<void> {
  const port = await freePort();
  const child = spawn(process.execPath, [BIN, 'work'], {
    env: { ...shop.env, METRICS_PORT: String(port), HOST: '127.0.0.1' },
    stdio: 'ignore',
  });
  shop.pool.workers.add(child);
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const health = await eventually(
    async () => {
      const response = await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => undefined);
      return response?.ok && ((await response.json()) as { status: string });
    },
    20_000,
    'the worker to be healthy',
  );
  expect(health).toMatchObject({ status: 'ok', database: 'ok', redis: 'ok' });
  const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  expect(metrics).toContain('campaign_queue_jobs{queue="steps",state="completed"}');
  expect(metrics).toContain('campaign_emails_sent_total');
  expect(metrics).toContain('campaign_schedule_lag_seconds');
  child.kill('SIGTERM');
  expect(await exited).toBe(0);
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
