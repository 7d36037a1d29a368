/**
 * `campaign work`: the workers (enrollment and steps), the outbox relay and the
 * reconciler in one process; `--only enroll|steps` runs one kind, to scale each out on its
 * own. Run several processes to scale out. SIGTERM lets in-flight jobs finish, then exits.
 * workers/*.ts are the same process under its own entry point.
 */
import { loadSegmentSettings } from '../../profiles/segments.ts';
import type { Command } from 'commander';
import type { Config } from '../../config.ts';
import { createEngine, startEngine } from '../../engine/assemble.ts';
import { createWorkerMetrics } from '../../engine/metrics.ts';
import { UserError } from '../../errors.ts';
import { buildHealthApp } from '../../http/app.ts';
import { createLogger } from '../../log.ts';
import { createTransport } from '../../mail/transport.ts';
import { connectRedis, describeRedis } from '../../queue/redis.ts';
import { loadRules } from '../../recs/rules.ts';
import { configuredClock, openConfiguredDatabase, openQueueConnection } from '../../runtime.ts';
import type { ConfigSource } from '../options.ts';

export type WorkerKind = 'enroll' | 'steps';

export function registerWork(program: Command, config: ConfigSource): void {
  program
    .command('work')
    .description('run the workers (enrollment and steps), the outbox relay and the reconciler')
    .option('--reconcile-every <seconds>', 'seconds between reconciler passes', (v) => Number(v), 30)
    .option('--only <kind>', 'run only the enroll or the steps worker (default: both)', (v) => {
      if (v !== 'enroll' && v !== 'steps') throw new UserError(`--only takes enroll or steps, not "${v}"`);
      return v;
    })
    .action(async (options: { reconcileEvery: number; only?: WorkerKind }) => runWorkers(config(), options));
}

/**
 * Runs the engine's workers until SIGTERM or SIGINT, then lets in-flight jobs finish and
 * closes everything in order. The entry point of `campaign work` and of workers/*.ts.
 */
async function runWorkers(settings: Config, options: { reconcileEvery?: number; only?: WorkerKind | undefined } = {}): Promise<void> {
  if (!settings.smtpUrl) throw new UserError('set SMTP_URL: the workers send email');
  const logger = createLogger(settings.logLevel, 'work');
  const database = await openConfiguredDatabase(settings, { migrate: true });
  const producer = await openQueueConnection(settings);
  const workerConnection = connectRedis(settings, 'worker');
  workerConnection.on('error', (error) => logger.warn({ err: error }, 'redis'));
  const engine = createEngine({
    db: database.db,
    queues: producer.queues,
    clock: configuredClock(settings),
    settings: {
      ...settings,
      rules: await loadRules(settings.recsRulesFile),
      segments: await loadSegmentSettings(settings.segmentsFile),
      claimSeconds: settings.claimSeconds,
    },
    transport: createTransport(settings.smtpUrl, { dkim: settings.dkim }),
    log: logger,
  });
  const metrics = createWorkerMetrics(engine);
  const running = startEngine(engine, {
    connection: workerConnection,
    prefix: settings.queuePrefix,
    run: { enroll: options.only !== 'steps', steps: options.only !== 'enroll' },
    concurrency: { enroll: settings.workerConcurrency, steps: settings.workerConcurrency },
    ratePerSecond: settings.sendRatePerSecond,
    lockMs: settings.workerLockMs,
    reconcileEveryMs: (options.reconcileEvery ?? 30) * 1_000,
    onStepDone: (outcome) => metrics.observe(outcome),
    onBatch: (queue, size) => metrics.batch(queue, size),
    onJobFailed: (job, error) => {
      metrics.failed();
      logger.warn({ job, err: error }, 'job failed; retried with backoff');
    },
  });
  // One /healthz and /metrics, the same plugin the API server mounts.
  const metricsServer = settings.metricsPort
    ? await buildHealthApp({ db: database.db, redis: producer.redis, metrics: metrics.registry })
    : undefined;
  await metricsServer?.listen({ port: settings.metricsPort, host: settings.host });
  logger.info(
    { database: database.location, redis: describeRedis(settings), queuePrefix: settings.queuePrefix, only: options.only ?? 'all' },
    'workers running',
  );
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  logger.info('stopping: letting in-flight jobs finish');
  await running.stop();
  await metricsServer?.close();
  engine.transport.close();
  workerConnection.disconnect();
  await producer.close();
  await database.close();
}
