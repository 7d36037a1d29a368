/**
 * Opening what an entry point needs, from the parsed config: the database (migrated or
 * with a clear hint to migrate) and, where asked, Redis and the queues.
 */
import type { Config } from './config.ts';
import { scaledClock, type Clock } from './core/clock.ts';
import { openDatabase, type Database } from './db/client.ts';
import { isMigrated, migrate } from './db/migrate.ts';
import { openQueues, type Queues } from './queue/queues.ts';
import { connectRedis, describeRedis, redisAnswers, type RedisClient } from './queue/redis.ts';
import { UserError } from './errors.ts';

export async function openConfiguredDatabase(config: Config, options: { migrate?: boolean } = {}): Promise<Database> {
  const database = await openDatabase({
    databaseUrl: config.databaseUrl,
    dataDir: config.dataDir,
    poolSize: config.databasePoolSize,
    // Named to a second process that finds the embedded database in use: `campaign serve`.
    holder: ['campaign', process.argv[2]].filter(Boolean).join(' '),
  }).catch((error: Error) => {
    throw new UserError(
      `cannot open the database (${config.databaseUrl ? 'DATABASE_URL' : `PGlite in ${config.dataDir}`}): ${error.message}`,
    );
  });
  try {
    if (options.migrate) await migrate(database);
    else if (!(await isMigrated(database)))
      throw new UserError(`the database at ${database.location} has no schema yet: run \`campaign db migrate\` first`);
  } catch (error) {
    await database.close();
    if (error instanceof UserError) throw error;
    throw new UserError(`cannot use the database at ${database.location}: ${(error as Error).message}`);
  }
  return database;
}

/** Opens the configured database for the length of `fn`, and always closes it. */
export async function withDatabase<T>(config: Config, fn: (database: Database) => Promise<T>): Promise<T> {
  const database = await openConfiguredDatabase(config);
  try {
    return await fn(database);
  } finally {
    await database.close();
  }
}

export interface QueueConnection {
  redis: RedisClient;
  queues: Queues;
  close(): Promise<void>;
}

/** Connects to Redis and opens the queues, or explains what to start or set. */
export async function openQueueConnection(config: Config): Promise<QueueConnection> {
  if (!(await redisAnswers(config)))
    throw new UserError(
      `no Redis answers at ${describeRedis(config)}: ` +
        (config.redisClusterNodes
          ? 'start the cluster (every slot served: cluster_state:ok) or set REDIS_CLUSTER_NODES'
          : 'start one (redis-server) or set REDIS_URL'),
    );
  const redis = connectRedis(config, 'producer');
  redis.on('error', () => {});
  const queues = openQueues(redis, config.queuePrefix);
  return {
    redis,
    queues,
    close: async () => {
      await queues.close();
      redis.disconnect();
    },
  };
}

/** The deployment's clock: CLOCK_SCALE from CLOCK_ORIGIN (every process must share both). */
export function configuredClock(config: Config): Clock {
  return scaledClock(config.clockScale, config.clockOrigin?.getTime());
}
