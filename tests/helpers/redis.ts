/** A fresh BullMQ prefix per test on the real Redis, and its keys removed afterwards. */
import { randomBytes } from 'node:crypto';
import type { JobsOptions } from 'bullmq';
import { Redis } from 'ioredis';
import { openQueues, type Queues } from '../../src/queue/queues.ts';

export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

export interface TestQueues {
  prefix: string;
  redis: Redis;
  queues: Queues;
  cleanup(): Promise<void>;
}

export async function freshQueues(jobOptions: Partial<JobsOptions> = {}): Promise<TestQueues> {
  const prefix = `t-${randomBytes(6).toString('hex')}`;
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  const queues = openQueues(redis, prefix, jobOptions);
  return {
    prefix,
    redis,
    queues,
    cleanup: async () => {
      await queues.close();
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
        if (keys.length) await redis.del(...keys);
        cursor = next;
      } while (cursor !== '0');
      redis.disconnect();
    },
  };
}
