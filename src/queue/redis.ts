/**
 * Redis connections. One per role per process: a producer connection shared by every
 * Queue, and the blocking connections BullMQ Workers make for themselves.
 */
import { Redis } from 'ioredis';

export type RedisRole = 'producer' | 'worker';

/**
 * Opens a connection for a role. Workers wait for Redis forever (a restart must not kill
 * them); producers fail a command after a few retries so callers can report or retry.
 */
export function connectRedis(url: string, role: RedisRole): Redis {
  return new Redis(url, {
    maxRetriesPerRequest: role === 'worker' ? null : 3,
    enableReadyCheck: true,
    lazyConnect: false,
    connectionName: `campaign-${role}`,
  });
}

/** True when a Redis answers PING at `url` within `timeoutMs`. Never throws. */
export async function redisAnswers(url: string, timeoutMs = 1_000): Promise<boolean> {
  const client = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    connectTimeout: timeoutMs,
    retryStrategy: () => null,
  });
  client.on('error', () => {});
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}
