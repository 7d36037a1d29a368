/**
 * Prometheus metrics of the workers: emails sent and failed, step outcomes, queue depths
 * and how late due steps are (schedule lag). `campaign work` serves the registry at
 * /metrics, beside /healthz, with the HTTP app's health-and-metrics plugin
 * (`buildHealthApp` in src/http/app.ts).
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { poolIsLow } from '../core/discount.ts';
import { poolCounts } from '../store/discount-codes.ts';
import { earliestActiveDueAt } from '../store/enrollments.ts';
import type { Engine } from './context.ts';
import type { StepOutcome } from './step.ts';

export interface WorkerMetrics {
  registry: Registry;
  observe(outcome: StepOutcome): void;
  failed(): void;
  /** A batch the enroll or step worker ran, and how many jobs it held. */
  batch(queue: 'enroll' | 'steps', size: number): void;
}

/**
 * The workers' registry and the events it counts: a step's outcome, a job attempt that
 * threw, and the size of each batch the workers ran. Queue depths and schedule lag are read at each scrape, so they are never
 * stale and cost nothing between scrapes.
 */
export function createWorkerMetrics(engine: Engine): WorkerMetrics {
  const registry = new Registry();
  const steps = new Counter({
    name: 'campaign_steps_total',
    help: 'Sequence steps run, by outcome',
    labelNames: ['outcome'],
    registers: [registry],
  });
  const sent = new Counter({ name: 'campaign_emails_sent_total', help: 'Emails accepted by the SMTP server', registers: [registry] });
  const failures = new Counter({
    name: 'campaign_job_failures_total',
    help: 'Job attempts that threw (retried with backoff)',
    registers: [registry],
  });
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
      const due = await earliestActiveDueAt(engine.db);
      const lag = due ? (engine.clock.now().getTime() - due.getTime()) / 1000 : 0;
      this.set(Math.max(0, lag));
    },
  });
  const batches = new Histogram({
    name: 'campaign_batch_size',
    help: 'Jobs run together in one batch, by queue (at most WORKER_CONCURRENCY; a retried job runs alone)',
    labelNames: ['queue'],
    buckets: [1, 2, 4, 8, 16, 32, 64, 128],
    registers: [registry],
  });
  const emptyPool = new Counter({
    name: 'campaign_code_pool_empty_total',
    help: 'Steps that found their discount code pool empty, by pool and what they did (delayed, sent_without_offer)',
    labelNames: ['pool', 'then'],
    registers: [registry],
  });
  const low = engine.settings.codePoolLow ?? 100;
  new Gauge({
    name: 'campaign_code_pool_codes',
    help: 'Discount codes per pool: left to issue, issued, redeemed, expired unissued',
    labelNames: ['pool', 'state'],
    registers: [registry],
    async collect() {
      for (const p of await poolCounts(engine.db, engine.clock.now()))
        for (const state of ['left', 'issued', 'redeemed', 'expired'] as const) this.set({ pool: p.name, state }, p[state]);
    },
  });
  new Gauge({
    name: 'campaign_code_pool_low',
    help: 'Whether a discount code pool has fewer codes left than CODE_POOL_LOW (1) or not (0)',
    labelNames: ['pool'],
    registers: [registry],
    async collect() {
      for (const p of await poolCounts(engine.db, engine.clock.now())) this.set({ pool: p.name }, poolIsLow(p.left, low) ? 1 : 0);
    },
  });
  return {
    registry,
    observe(outcome) {
      steps.inc({ outcome: outcome.kind });
      if (outcome.kind === 'sent') sent.inc();
      if (outcome.kind === 'sent' && outcome.offerWithheld) emptyPool.inc({ pool: outcome.offerWithheld, then: 'sent_without_offer' });
      if (outcome.kind === 'delayed' && outcome.emptyPool) emptyPool.inc({ pool: outcome.emptyPool, then: 'delayed' });
    },
    failed: () => failures.inc(),
    batch: (queue, size) => batches.observe({ queue }, size),
  };
}
