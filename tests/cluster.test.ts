/**
 * The engine on a real three-master Redis Cluster (tests/helpers/redis-cluster.ts): the
 * chaos scenario of tests/chaos.test.ts with the same checks (fewer enrollments), the
 * dashboard's queue board and logouts, and a failover: the master holding the queues is
 * killed mid-run, its replica takes over, and every email still arrives exactly once.
 */
import { sign as signCookie } from '@fastify/cookie';
import type { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashTaggedPrefix, loadConfig } from '../src/config.ts';
import { sessionKey, sessionValue } from '../src/dashboard/auth.ts';
import { ConfigError } from '../src/errors.ts';
import { buildServer } from '../src/http/app.ts';
import type { RedisTarget } from '../src/queue/redis.ts';
import { openQueueConnection } from '../src/runtime.ts';
import {
  addCustomers,
  allSent,
  CHAOS_SEQUENCE,
  chaosShop,
  expectChaosSurvived,
  expectEveryEmailOnce,
  expectHealthyWorker,
  placeOrdersAt,
  type ChaosShop,
} from './helpers/chaos.ts';
import { freshDatabase } from './helpers/db.ts';
import { eventually, startTestEngine } from './helpers/engine.ts';
import { freshQueues, REDIS_URL } from './helpers/redis.ts';
import { startRedisCluster, type TestCluster } from './helpers/redis-cluster.ts';

const CHAOS_ENROLLMENTS = 150;
const FAILOVER_ENROLLMENTS = 160;

describe('REDIS_CLUSTER_NODES and the queue prefix', () => {
  it('on a cluster the prefix gets a hash tag, unless it has one', () => {
    const nodes = '10.0.0.1:7000, redis-b.internal:7001,[::1]:7002';
    const config = loadConfig({ REDIS_CLUSTER_NODES: nodes, QUEUE_PREFIX: 'shop-a' });
    expect(config.redisClusterNodes).toEqual([
      { host: '10.0.0.1', port: 7000 },
      { host: 'redis-b.internal', port: 7001 },
      { host: '::1', port: 7002 },
    ]);
    expect(config.queuePrefix).toBe('{shop-a}');
    expect(loadConfig({ REDIS_CLUSTER_NODES: nodes }).queuePrefix).toBe('{campaign}');
    expect(loadConfig({ REDIS_CLUSTER_NODES: nodes, QUEUE_PREFIX: 'eu-{shop}' }).queuePrefix).toBe('eu-{shop}');
    expect(hashTaggedPrefix('{a}b')).toBe('{a}b');
    // On one Redis the prefix is kept as it is: existing keys stay where they are.
    expect(loadConfig({ QUEUE_PREFIX: 'shop-a' }).queuePrefix).toBe('shop-a');
    expect(loadConfig({}).redisClusterNodes).toBeUndefined();
  });

  it('a bad REDIS_CLUSTER_NODES or QUEUE_PREFIX is a config error naming the setting and the bad entry', () => {
    const attempt = (env: Record<string, string>) => () => loadConfig(env);
    expect(attempt({ REDIS_CLUSTER_NODES: '10.0.0.1:7000,10.0.0.2' })).toThrow(ConfigError);
    expect(attempt({ REDIS_CLUSTER_NODES: '10.0.0.1:7000,10.0.0.2' })).toThrow(
      /REDIS_CLUSTER_NODES: must be a comma list of host:port.*\("10\.0\.0\.2" is not one\)/,
    );
    expect(attempt({ REDIS_CLUSTER_NODES: 'redis://a:7000' })).toThrow(/REDIS_CLUSTER_NODES: .*"redis:\/\/a:7000" is not one/);
    expect(attempt({ REDIS_CLUSTER_NODES: 'a:70000' })).toThrow(/REDIS_CLUSTER_NODES: .*"a:70000" is not one/);
    expect(attempt({ REDIS_CLUSTER_NODES: 'a:7000,,b:7000' })).toThrow(/REDIS_CLUSTER_NODES: .*"" is not one/);
    expect(attempt({ QUEUE_PREFIX: '{a}{b}' })).toThrow(/QUEUE_PREFIX: must be letters, digits.*hash tag/);
    expect(attempt({ QUEUE_PREFIX: '{}' })).toThrow(/QUEUE_PREFIX/);
  });

  it('a cluster that does not answer is named, without the settings of a single Redis', async () => {
    const settings = loadConfig({ REDIS_CLUSTER_NODES: '127.0.0.1:1,[::1]:2' });
    await expect(openQueueConnection(settings)).rejects.toThrow(
      /^no Redis answers at cluster 127\.0\.0\.1:1,\[::1\]:2: start the cluster .* or set REDIS_CLUSTER_NODES$/,
    );
  });
});

describe('on a Redis Cluster', () => {
  let cluster: TestCluster;
  let target: RedisTarget;

  beforeAll(async () => {
    cluster = await startRedisCluster();
    target = { redisUrl: REDIS_URL, redisClusterNodes: cluster.nodes };
  });
  afterAll(() => cluster?.stop());

  it("every key of the queues lands in one slot, and the dashboard's queue board and logouts work", async () => {
    const queues = await freshQueues({}, target);
    const database = await freshDatabase('postgres');
    const secret = 'cluster-secret-cluster-secret-0000';
    const apiToken = 'cluster-token';
    const app = await buildServer({
      db: database.db,
      apiToken,
      bodyLimitBytes: 1 << 20,
      redis: queues.redis,
      dashboard: { apiToken, secret, sessionHours: 1, currency: 'USD', timeZone: 'UTC', queues: queues.queues, redisPrefix: queues.prefix },
    });
    try {
      await queues.queues.steps.add('step', { enrollmentId: 1, step: 0 }, { jobId: 'enrollment-1-step-0', delay: 60_000 });
      await queues.queues.enroll.add('order.placed', { orderId: 1, customerId: 1 }, { jobId: 'order-1-placed' });
      const slots = new Set<number>();
      for (const node of (queues.redis as Cluster).nodes('master')) {
        const [, keys] = await node.scan('0', 'MATCH', `${queues.prefix}:*`, 'COUNT', 10_000);
        for (const key of keys) slots.add(Number(await node.call('CLUSTER', 'KEYSLOT', key)));
      }
      expect(slots.size).toBe(1);

      const session = signCookie(sessionValue(Date.now() + 3_600_000, 'C'.repeat(22)), sessionKey({ secret, apiToken }));
      const cookie = `campaign_session=${encodeURIComponent(session)}`;
      const get = (url: string) => app.inject({ method: 'GET', url, headers: { cookie } });
      expect((await app.inject({ method: 'GET', url: '/healthz' })).json()).toMatchObject({ status: 'ok', redis: 'ok' });
      const board = await get('/admin/queues/api/queues');
      expect(board.statusCode).toBe(200);
      const counts = board.json<{ queues: { name: string; counts: Record<string, number> }[] }>().queues;
      expect(counts.map((q) => [q.name, q.counts.delayed, q.counts.waiting])).toEqual(
        expect.arrayContaining([
          ['steps', 1, 0],
          ['enroll', 0, 1],
        ]),
      );
      const stats = await get('/admin/queues/api/redis/stats');
      expect(stats.statusCode).toBe(200);
      // Bull Board's Redis panel shows the node that holds the queues.
      expect(stats.json()).toMatchObject({ mode: 'cluster', port: await cluster.masterOf(queues.prefix) });
      // A logout is remembered on the cluster: the same cookie no longer opens a page.
      const logout = await app.inject({ method: 'POST', url: '/logout', headers: { cookie, 'sec-fetch-site': 'same-origin' } });
      expect(logout.statusCode).toBe(303);
      expect((await get('/admin/queues')).headers.location).toMatch(/^\/login/);
    } finally {
      await app.close();
      await queues.cleanup();
      await database.drop();
    }
  });

  describe('the chaos scenario', () => {
    let shop: ChaosShop;
    beforeAll(async () => {
      shop = await chaosShop(CHAOS_ENROLLMENTS, target);
    });
    afterAll(() => shop?.close());

    it('every due email arrives once, through SIGKILLs and a wiped schedule, and the database agrees', async () => {
      await expectChaosSurvived(shop, { killForMs: 8_000, timeoutMs: 120_000 });
    }, 150_000);

    it('a worker serves /healthz and /metrics, and SIGTERM stops it cleanly', async () => {
      await expectHealthyWorker(shop);
    });
  });

  // Last: the cluster stays a node short afterwards. The workers run in this process (none
  // is killed here), which spares the start of worker processes.
  //
  // A job the dead master had moved to active, but whose answer never reached the worker (or
  // whose completion was not replicated), stays active on the new master with no worker on
  // it: its lock lapses and a worker's stall check (every WORKER_LOCK_MS) returns it, so it
  // waits up to twice WORKER_LOCK_MS. With BullMQ's 30 s that was a 52 s pause in one CI
  // run; the test sets the lock as README advises for a cluster.
  it('a master killed mid-run: its replica takes over, nothing is lost and nothing is sent twice', async ({ annotate }) => {
    const lockMs = 3_000;
    const t = await startTestEngine(CHAOS_SEQUENCE, {
      clockScale: 86_400,
      redis: target,
      concurrency: 16,
      reconcileEveryMs: 1_000,
      lockMs,
    });
    try {
      await addCustomers(t.database.db, FAILOVER_ENROLLMENTS);
      await placeOrdersAt(t.database.db, FAILOVER_ENROLLMENTS, t.engine.clock.now().toISOString());
      t.relay.kick();
      await eventually(async () => t.smtp.received.length >= FAILOVER_ENROLLMENTS / 2, 60_000, 'a quarter of the emails');
      // The master holding every key of the queues (one slot, by the hash tag).
      cluster.kill(await cluster.masterOf(t.queues.prefix));
      const killedAt = Date.now();
      const recovered = cluster.waitUntilOk().then(() => Date.now() - killedAt);
      await eventually(() => allSent(t.database.db, FAILOVER_ENROLLMENTS), 90_000, 'every email');
      // No worker was killed: not even the crash window's duplicate is allowed. A message
      // row is unique per (enrollment, step), so each was sent once.
      await expectEveryEmailOnce({ smtp: t.smtp, database: t.database, enrollments: FAILOVER_ENROLLMENTS }, 0);
      const after = t.smtp.received.filter((m) => m.at > killedAt).map((m) => m.at);
      const longestPause = Math.max(...after.map((at, i) => at - (after[i - 1] ?? killedAt)));
      await annotate(
        `cluster_state:ok again ${await recovered} ms after the kill; ${t.smtp.received.length - after.length} emails ` +
          `before it, ${after.length} after; longest pause in sending ${longestPause} ms; last email ${after.at(-1)! - killedAt} ms after it`,
      );
      expect(await recovered).toBeLessThan(20_000);
      // The failover, then at worst a stranded job's lock and one stall check, and slack for a busy machine.
      expect(longestPause).toBeLessThan((await recovered) + 2 * lockMs + 5_000);
    } finally {
      await t.stop();
    }
  }, 150_000);
});
