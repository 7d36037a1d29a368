/**
 * Redis connections. One per role per process: a producer connection shared by every
 * Queue, and the blocking connections BullMQ Workers make for themselves. The one place
 * that builds them: on a single Redis (REDIS_URL) an ioredis `Redis`, on a Redis Cluster
 * (REDIS_CLUSTER_NODES) an ioredis `Cluster`, which BullMQ takes as it is.
 */
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import type { Config } from '../config.ts';

export type RedisRole = 'producer' | 'worker';

/** Where Redis is: the settings of {@link Config} that say it. */
export type RedisTarget = Pick<Config, 'redisUrl' | 'redisClusterNodes'>;

/** A connection to a single Redis or to a Redis Cluster: both answer the commands the engine sends. */
export type RedisClient = Redis | Cluster;

/**
 * Opens a connection for a role. Workers wait for Redis forever (a restart or a failover
 * must not kill them); producers fail a command after a few retries so callers can report
 * or retry. On a cluster these options hold for the connection to each node.
 */
export function connectRedis(target: RedisTarget, role: RedisRole): RedisClient {
  const options: RedisOptions = {
    maxRetriesPerRequest: role === 'worker' ? null : 3,
    enableReadyCheck: true,
    connectionName: `campaign-${role}`,
  };
  // A command met by a failover (CLUSTERDOWN, TRYAGAIN, a moved slot) waits for it, up to
  // about 20 s (64 tries 300 ms apart), instead of failing after ioredis's default 1.6 s:
  // on a loaded machine an election can take longer than that.
  if (target.redisClusterNodes)
    return new Cluster(target.redisClusterNodes, {
      redisOptions: options,
      enableReadyCheck: true,
      maxRedirections: 64,
      retryDelayOnFailover: 300,
      retryDelayOnClusterDown: 300,
      retryDelayOnTryAgain: 300,
    });
  return new Redis(target.redisUrl, { ...options, lazyConnect: false });
}

/**
 * Where `target` points, for messages and logs, without credentials: `redis://host:port`,
 * or `cluster host:port,host:port` for a cluster's seed nodes.
 */
export function describeRedis(target: RedisTarget): string {
  const nodes = target.redisClusterNodes;
  if (nodes) return `cluster ${nodes.map((n) => (n.host.includes(':') ? `[${n.host}]` : n.host) + `:${n.port}`).join(',')}`;
  const url = new URL(target.redisUrl);
  return `${url.protocol}//${url.host}`;
}

/**
 * True when Redis answers PING within about `timeoutMs`; on a cluster, when it is up
 * (`cluster_state:ok`, every slot served) and answers. Never throws.
 */
export async function redisAnswers(target: RedisTarget | string, timeoutMs = 1_000): Promise<boolean> {
  const where = typeof target === 'string' ? { redisUrl: target, redisClusterNodes: undefined } : target;
  const once: RedisOptions = {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    connectTimeout: timeoutMs,
    retryStrategy: () => null,
  };
  const client = where.redisClusterNodes
    ? new Cluster(where.redisClusterNodes, {
        lazyConnect: true,
        enableReadyCheck: true,
        enableOfflineQueue: false,
        clusterRetryStrategy: () => null,
        redisOptions: once,
      })
    : new Redis(where.redisUrl, once);
  client.on('error', () => {});
  const timer = setTimeout(() => client.disconnect(), timeoutMs * 2);
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
    client.disconnect();
  }
}
