/**
 * The step worker: runs due sequence steps (src/engine/step.ts). A step held back by quiet
 * hours, the frequency cap or a paused sequence goes back to the delayed set under the same
 * job id. An optional rate limit caps emails per second across every worker of the queue.
 */
import { DelayedError, UnrecoverableError, Worker, type ConnectionOptions } from 'bullmq';
import type { Engine } from '../src/engine/context.ts';
import { runStep } from '../src/engine/step.ts';
import { parseJobId, QUEUE_NAMES, type StepJob } from '../src/queue/queues.ts';

export interface StepWorkerOptions {
  concurrency?: number;
  /** Emails per second for the whole queue (all processes together). */
  ratePerSecond?: number | undefined;
  /** How long a job stays locked to this worker without renewal (a dead worker's jobs come back after it). */
  lockMs?: number | undefined;
}

/**
 * The step a job stands for. The job id says it (`enrollment-<id>-step-<n>`), so even a
 * job whose data was lost in a partial Redis failure still runs the right step.
 */
function stepOf(jobId: string | undefined, data: Partial<StepJob> | undefined): StepJob {
  const named = parseJobId.step(jobId);
  if (named) return named;
  if (typeof data?.enrollmentId === 'number' && typeof data.step === 'number') return { enrollmentId: data.enrollmentId, step: data.step };
  throw new UnrecoverableError(`job ${jobId} names no enrollment step`);
}

export function startStepWorker(engine: Engine, connection: ConnectionOptions, prefix: string, options: StepWorkerOptions = {}): Worker<StepJob> {
  const worker = new Worker<StepJob>(
    QUEUE_NAMES.steps,
    async (job, token) => {
      const { enrollmentId, step } = stepOf(job.id, job.data);
      const outcome = await runStep(engine, enrollmentId, step);
      if (outcome.kind === 'delayed') {
        await job.moveToDelayed(Math.ceil(engine.clock.realTimeOf(outcome.until)), token);
        throw new DelayedError();
      }
      return outcome;
    },
    {
      connection,
      prefix,
      concurrency: options.concurrency ?? 8,
      ...(options.lockMs ? { lockDuration: options.lockMs, stalledInterval: options.lockMs } : {}),
      ...(options.ratePerSecond ? { limiter: { max: options.ratePerSecond, duration: 1_000 } } : {}),
    },
  );
  // Connection and lock errors are reported, not thrown: BullMQ recovers from them.
  worker.on('error', (error) => engine.log?.warn({ err: error }, 'step worker'));
  return worker;
}
