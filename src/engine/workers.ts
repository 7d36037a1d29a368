/**
 * The BullMQ workers around the processors: the enrollment worker (`order.placed` →
 * src/engine/enroll.ts) and the step worker (due steps → src/engine/step.ts). Built only
 * by `startEngine` (./assemble.ts); nothing starts on import.
 */
import { DelayedError, UnrecoverableError, Worker, type ConnectionOptions } from 'bullmq';
import DataLoader from 'dataloader';
import { markConsumed, markConsumedByOrder } from '../store/outbox.ts';
import { JOB_NAMES, parseJobId, QUEUE_NAMES, type OrderPlacedJob, type StepJob } from '../queue/queues.ts';
import type { Engine } from './context.ts';
import { enrollOrders, type Enrolled } from './enroll.ts';
import { runStep, runSteps, type DueStep, type StepOutcome } from './step.ts';

export interface WorkerOptions {
  concurrency?: number | undefined;
  /** How long a job stays locked to this worker without renewal (a dead worker's jobs come back after it). */
  lockMs?: number | undefined;
  /** Told the size of every batch the worker runs (a retried job is a batch of one). */
  onBatch?: ((size: number) => void) | undefined;
}

export interface StepWorkerOptions extends WorkerOptions {
  /** Emails per second for the whole queue (all processes together). */
  ratePerSecond?: number | undefined;
  /** Told of every delayed step (a delayed job never completes, so 'completed' does not say it). */
  onDelayed?: ((outcome: Extract<StepOutcome, { kind: 'delayed' }>) => void) | undefined;
}

/** Real milliseconds a job waits for others to join its batch. */
const BATCH_WINDOW_MS = 5;

/** Step jobs in flight per process, run as one batch (STEP_BATCH_SIZE). */
export const DEFAULT_STEP_CONCURRENCY = 32;

const lockOptions = (lockMs: number | undefined) => (lockMs ? { lockDuration: lockMs, stalledInterval: lockMs } : {});

/** An order an enrollment job names, and the outbox fact it came from. */
interface OrderToEnroll {
  orderId: number;
  outboxId: number | undefined;
}

/**
 * The enrollment worker: enrolls the customer of each new order, then marks its outbox fact
 * consumed. Its jobs in flight are run together, as the step worker's are (enrollOrders); a
 * job being retried runs alone.
 */
export function startEnrollWorker(
  engine: Engine,
  connection: ConnectionOptions,
  prefix: string,
  options: WorkerOptions = {},
): Worker<OrderPlacedJob> {
  const concurrency = options.concurrency ?? 8;
  const enroll = async (orders: readonly OrderToEnroll[]): Promise<Enrolled[][]> => {
    options.onBatch?.(orders.length);
    const enrolled = await enrollOrders(
      engine,
      orders.map((o) => o.orderId),
    );
    await markConsumed(
      engine.db,
      orders.flatMap((o) => (o.outboxId ? [o.outboxId] : [])),
    );
    for (const o of orders) if (!o.outboxId) await markConsumedByOrder(engine.db, JOB_NAMES.orderPlaced, o.orderId);
    return enrolled;
  };
  const batch = new DataLoader<OrderToEnroll, Enrolled[]>(enroll, {
    cache: false,
    maxBatchSize: concurrency,
    batchScheduleFn: (dispatch) => setTimeout(dispatch, BATCH_WINDOW_MS),
  });
  const worker = new Worker<OrderPlacedJob>(
    QUEUE_NAMES.enroll,
    async (job) => {
      // The job id names the order (`order-<id>-placed`), should the data have been lost.
      const orderId = Number(parseJobId.orderPlaced(job.id) ?? job.data?.orderId);
      if (!Number.isSafeInteger(orderId)) throw new UnrecoverableError(`job ${job.id} names no order`);
      const order = { orderId, outboxId: job.data?.outboxId };
      return job.attemptsMade > 0 ? (await enroll([order]))[0]! : batch.load(order);
    },
    { connection, prefix, concurrency, ...lockOptions(options.lockMs) },
  );
  // Connection and lock errors are reported, not thrown: BullMQ recovers from them.
  worker.on('error', (error) => engine.log?.warn({ err: error }, 'enroll worker'));
  return worker;
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

/**
 * The step worker. Its jobs in flight (`concurrency`, default 32) are run together: a step
 * waits a few milliseconds for others, and the batch is read, opened and claimed in a few
 * set-based statements (runSteps). A job being retried runs alone (runStep), so a step that
 * keeps failing never holds a batch back. A step held back by quiet hours, the frequency cap
 * or a paused sequence goes back to the delayed set under the same job id. An optional rate
 * limit caps emails per second across every worker of the queue.
 */
export function startStepWorker(
  engine: Engine,
  connection: ConnectionOptions,
  prefix: string,
  options: StepWorkerOptions = {},
): Worker<StepJob> {
  const concurrency = options.concurrency ?? DEFAULT_STEP_CONCURRENCY;
  const run = (steps: readonly DueStep[]) => {
    options.onBatch?.(steps.length);
    return runSteps(engine, steps);
  };
  const batch = new DataLoader<DueStep, StepOutcome>(run, {
    cache: false,
    maxBatchSize: concurrency,
    batchScheduleFn: (dispatch) => setTimeout(dispatch, BATCH_WINDOW_MS),
  });
  const worker = new Worker<StepJob>(
    QUEUE_NAMES.steps,
    async (job, token) => {
      const { enrollmentId, step } = stepOf(job.id, job.data);
      // A retry runs alone, a batch of one.
      const alone = job.attemptsMade > 0;
      if (alone) options.onBatch?.(1);
      const outcome = alone ? await runStep(engine, enrollmentId, step) : await batch.load({ enrollmentId, step });
      if (outcome.kind === 'delayed') {
        options.onDelayed?.(outcome);
        await job.moveToDelayed(Math.ceil(engine.clock.realTimeOf(outcome.until)), token);
        throw new DelayedError();
      }
      return outcome;
    },
    {
      connection,
      prefix,
      concurrency,
      ...lockOptions(options.lockMs),
      ...(options.ratePerSecond ? { limiter: { max: options.ratePerSecond, duration: 1_000 } } : {}),
    },
  );
  // Connection and lock errors are reported, not thrown: BullMQ recovers from them.
  worker.on('error', (error) => engine.log?.warn({ err: error }, 'step worker'));
  return worker;
}
