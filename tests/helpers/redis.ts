/**
 * A fresh BullMQ prefix per test on the real Redis, and its keys removed afterwards. The
 * tests run on the single Redis at TEST_REDIS_URL; TEST_REDIS_CLUSTER_NODES (host:port,…)
 * runs them on a Redis Cluster instead, and a test may pass a cluster of its own.
 */
import { randomBytes } from 'node:crypto';
import type { JobsOptions } from 'bullmq';
import { Cluster } from 'ioredis';
import { hashTaggedPrefix, loadConfig } from '../../src/config.ts';
import { openQueues, type Queues } from '../../src/queue/queues.ts';
import { connectRedis, type RedisClient, type RedisTarget } from '../../src/queue/redis.ts';

export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** The Redis the tests use: the single one at REDIS_URL, or the cluster TEST_REDIS_CLUSTER_NODES names. */
export const TEST_REDIS: RedisTarget = {
  redisUrl: REDIS_URL,
  redisClusterNodes: loadConfig({ REDIS_CLUSTER_NODES: process.env.TEST_REDIS_CLUSTER_NODES }).redisClusterNodes,
};

/** The settings that point a child process (`campaign work`) at `target`. */
export function redisEnv(target: RedisTarget): Record<string, string> {
  const nodes = target.redisClusterNodes;
  return nodes ? { REDIS_CLUSTER_NODES: nodes.map((n) => `${n.host}:${n.port}`).join(',') } : { REDIS_URL: target.redisUrl };
}

export interface TestQueues {
  prefix: string;
  /** Where the queues are, for the workers' own connections. */
  target: RedisTarget;
  redis: RedisClient;
  queues: Queues;
  cleanup(): Promise<void>;
}

export async function freshQueues(jobOptions: Partial<JobsOptions> = {}, target: RedisTarget = TEST_REDIS): Promise<TestQueues> {
  const name = `t-${randomBytes(6).toString('hex')}`;
  const prefix = target.redisClusterNodes ? hashTaggedPrefix(name) : name;
  // Tests wait for Redis rather than fail a command (the workers' setting).
  const redis = connectRedis(target, 'worker');
  const queues = openQueues(redis, prefix, jobOptions);
  return {
    prefix,
    target,
    redis,
    queues,
    cleanup: async () => {
      await queues.close();
      await deleteKeys(redis, prefix);
      redis.disconnect();
    },
  };
}

/**
 * Deletes every key under `prefix`: on a cluster, on each master (a hash-tagged prefix puts
 * them all in one slot, so one DEL takes a batch).
 */
export async function deleteKeys(redis: RedisClient, prefix: string): Promise<void> {
  const nodes = redis instanceof Cluster ? redis.nodes('master') : [redis];
  for (const node of nodes) {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      if (keys.length) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  }
}
