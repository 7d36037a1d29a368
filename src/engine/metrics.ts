/**
 * Prometheus metrics of the workers: emails sent and failed, step outcomes, queue depths
 * and how late due steps are (schedule lag). `campaign work` serves the registry at
 * /metrics, beside /healthz, with the HTTP app's health-and-metrics plugin
 * (`buildHealthApp` in src/http/app.ts).
 */
import { Counter, Gauge, Registry } from 'prom-client';
import { earliestActiveDueAt } from '../store/enrollments.ts';
import type { Engine } from './context.ts';
import type { StepOutcome } from './step.ts';

export interface WorkerMetrics {
  registry: Registry;
  observe(outcome: StepOutcome): void;
  failed(): void;
}

/**
 * The workers' registry and the two events it counts: a step's outcome and a job attempt
 * that threw. Queue depths and schedule lag are read at each scrape, so they are never
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
  return {
    registry,
    observe(outcome) {
      steps.inc({ outcome: outcome.kind });
      if (outcome.kind === 'sent') sent.inc();
    },
    failed: () => failures.inc(),
  };
}
