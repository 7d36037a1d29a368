/**
 * `campaign work`: every worker in one process (enrollment, steps), with the outbox relay
 * and the reconciler. Run several to scale out. SIGTERM lets in-flight jobs finish, then
 * exits.
 */
import type { Command } from 'commander';
import { createTransport } from '../../mail/transport.ts';
import { createLogger } from '../../log.ts';
import { startRelay } from '../../outbox/relay.ts';
import { connectRedis } from '../../queue/redis.ts';
import { loadRules } from '../../recs/rules.ts';
import { configuredClock, openConfiguredDatabase, openQueueConnection } from '../../runtime.ts';
import { startReconciler } from '../../engine/reconcile.ts';
import type { Engine } from '../../engine/context.ts';
import { createWorkerMetrics } from '../../engine/metrics.ts';
import { buildHealthApp } from '../../http/app.ts';
import type { StepOutcome } from '../../engine/step.ts';
import { startEnrollWorker } from '../../../workers/enroll.ts';
import { startStepWorker } from '../../../workers/steps.ts';
import type { ConfigSource } from '../main.ts';
import { UserError } from '../../errors.ts';

export function registerWork(program: Command, config: ConfigSource): void {
  program
    .command('work')
    .description('run the workers (enrollment and steps), the outbox relay and the reconciler')
    .option('--reconcile-every <seconds>', 'seconds between reconciler passes', (v) => Number(v), 30)
    .action(async (options: { reconcileEvery: number }) => {
      const settings = config();
      if (!settings.smtpUrl) throw new UserError('set SMTP_URL: the workers send email');
      const logger = createLogger(settings.logLevel, 'work');
      const database = await openConfiguredDatabase(settings, { migrate: true });
      const producer = await openQueueConnection(settings);
      const workerConnection = connectRedis(settings.redisUrl, 'worker');
      workerConnection.on('error', (error) => logger.warn({ err: error }, 'redis'));
      const transport = createTransport(settings.smtpUrl, { dkim: settings.dkim });
      const engine: Engine = {
        db: database.db,
        queues: producer.queues,
        clock: configuredClock(settings),
        settings: { ...settings, rules: await loadRules(settings.recsRulesFile), claimSeconds: settings.claimSeconds },
        transport,
        log: logger,
        renderers: new Map(),
      };
      const relay = startRelay(database.db, producer.queues, { onError: (error) => logger.warn({ err: error }, 'outbox relay failed') });
      const reconciler = startReconciler(engine, options.reconcileEvery * 1_000, (error) => logger.warn({ err: error }, 'reconcile failed'));
      const workers = [
        startEnrollWorker(engine, workerConnection, settings.queuePrefix, { concurrency: settings.workerConcurrency, lockMs: settings.workerLockMs }),
        startStepWorker(engine, workerConnection, settings.queuePrefix, {
          concurrency: settings.workerConcurrency,
          ratePerSecond: settings.sendRatePerSecond,
          lockMs: settings.workerLockMs,
        }),
      ];
      const metrics = createWorkerMetrics(engine);
      for (const worker of workers)
        worker.on('failed', (job, error) => {
          metrics.failed();
          logger.warn({ job: job?.id, err: error }, 'job failed; retried with backoff');
        });
      workers[1]!.on('completed', (_job, outcome) => metrics.observe(outcome as StepOutcome));
      const metricsServer = settings.metricsPort ? await buildHealthApp({ db: database.db, redis: producer.redis, metrics: metrics.registry }) : undefined;
      await metricsServer?.listen({ port: settings.metricsPort, host: settings.host });
      logger.info({ database: database.location, queuePrefix: settings.queuePrefix }, 'workers running');
      await new Promise<void>((resolve) => {
        process.once('SIGTERM', resolve);
        process.once('SIGINT', resolve);
      });
      logger.info('stopping: letting in-flight jobs finish');
      await Promise.all(workers.map((w) => w.close()));
      await metricsServer?.close();
      await reconciler.stop();
      await relay.stop();
      transport.close();
      workerConnection.disconnect();
      await producer.close();
      await database.close();
    });
}
