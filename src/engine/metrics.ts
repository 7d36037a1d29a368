/**
 * Prometheus metrics of the workers: emails sent and failed, step outcomes, queue depths
 * and how late due steps are (schedule lag). Served with /healthz by `campaign work`.
 */
import { sql } from 'drizzle-orm';
import Fastify, { type FastifyInstance } from 'fastify';
import { Counter, Gauge, Registry } from 'prom-client';
import { queryRows } from '../db/client.ts';
import type { Engine } from './context.ts';
import type { StepOutcome } from './step.ts';

export interface WorkerMetrics {
  registry: Registry;
  observe(outcome: StepOutcome): void;
  failed(): void;
}

export function createWorkerMetrics(engine: Engine): WorkerMetrics {
  const registry = new Registry();
  const steps = new Counter({ name: 'campaign_steps_total', help: 'Sequence steps run, by outcome', labelNames: ['outcome'], registers: [registry] });
  const sent = new Counter({ name: 'campaign_emails_sent_total', help: 'Emails accepted by the SMTP server', registers: [registry] });
  const failures = new Counter({ name: 'campaign_job_failures_total', help: 'Job attempts that threw (retried with backoff)', registers: [registry] });
  new Gauge({
    name: 'campaign_queue_jobs',
    help: 'Jobs per queue and state',
    labelNames: ['queue', 'state'],
    registers: [registry],
    async collect() {
      for (const queue of [engine.queues.enroll, engine.queues.steps]) {
        const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'failed', 'completed');
        for (const [state, n] of Object.entries(counts)) this.set({ queue: queue.name, state }, n);
      }
    },
  });
  new Gauge({
    name: 'campaign_schedule_lag_seconds',
    help: 'How far behind its due time the most overdue active step is (simulated seconds)',
    registers: [registry],
    async collect() {
      const [row] = await queryRows<{ due: Date | null }>(engine.db, sql`select min(next_due_at) as due from enrollments where state = 'active'`);
      const lag = row?.due ? (engine.clock.now().getTime() - new Date(row.due).getTime()) / 1000 : 0;
      this.set(Math.max(0, lag));
    },
  });
  return {
    registry,
    observe(outcome) {
      steps.inc({ outcome: outcome.kind });
      if (outcome.kind === 'sent') sent.inc();
    },
    failed: () => failures.inc(),
  };
}

/** /metrics (Prometheus text) and /healthz (database and Redis answer) for the workers. */
export async function serveWorkerMetrics(engine: Engine, metrics: WorkerMetrics, port: number, host: string): Promise<FastifyInstance> {
  const app = Fastify();
  app.get('/metrics', async (_request, reply) => reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()));
  app.get('/healthz', async (_request, reply) => {
    const database = await engine.db.execute(sql`select 1`).then(() => 'ok', (e: Error) => `down: ${e.message}`);
    const redis = await engine.queues.steps.getJobCounts('waiting').then(() => 'ok', (e: Error) => `down: ${e.message}`);
    const healthy = database === 'ok' && redis === 'ok';
    return reply.code(healthy ? 200 : 503).send({ status: healthy ? 'ok' : 'degraded', database, redis });
  });
  await app.listen({ port, host });
  return app;
}
