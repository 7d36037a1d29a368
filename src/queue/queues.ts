/**
 * The engine's queues, their job names, payloads and deterministic job ids, named in one
 * place. Payloads are ids and plain JSON; the truth they point at is in Postgres.
 *
 * Queues are created only by entry points (CLI commands, workers/), never on import.
 */
import { Queue, type ConnectionOptions, type JobsOptions } from 'bullmq';

export const QUEUE_NAMES = {
  /** `order.placed` facts, consumed by the enrollment worker. */
  enroll: 'enroll',
  /** Due sequence steps, consumed by the step worker. */
  steps: 'steps',
} as const;
export type QueueName = (typeof QUEUE_NAMES)[keyof typeof QUEUE_NAMES];

export const JOB_NAMES = {
  orderPlaced: 'order.placed',
  step: 'step',
} as const;

export interface OrderPlacedJob {
  orderId: number;
  customerId: number;
  /** The outbox row it came from, marked consumed once the order is enrolled. */
  outboxId?: number;
}

export interface StepJob {
  enrollmentId: number;
  step: number;
}

/**
 * Deterministic job ids: publishing the same fact twice adds one job. BullMQ forbids ":"
 * in custom ids (it separates Redis keys), hence "-".
 */
export const jobIds = {
  orderPlaced: (orderId: number) => `order-${orderId}-placed`,
  step: (enrollmentId: number, step: number) => `enrollment-${enrollmentId}-step-${step}`,
};

/**
 * Completed jobs are kept a week so that a job id published again (say, by a relay that
 * crashed between enqueue and mark) is still recognised and ignored.
 */
export const DEFAULT_JOB_OPTIONS: JobsOptions = {
  attempts: 8,
  backoff: { type: 'exponential', delay: 1_000 },
  removeOnComplete: { age: 7 * 24 * 3600, count: 1_000_000 },
  removeOnFail: { age: 30 * 24 * 3600 },
};

export interface Queues {
  enroll: Queue<OrderPlacedJob>;
  steps: Queue<StepJob>;
  close(): Promise<void>;
}

/**
 * Opens the producer side of every queue on one shared connection. `jobOptions` adjusts
 * the defaults (tests shorten the retry backoff).
 */
export function openQueues(connection: ConnectionOptions, prefix: string, jobOptions: Partial<JobsOptions> = {}): Queues {
  const options = { connection, prefix, defaultJobOptions: { ...DEFAULT_JOB_OPTIONS, ...jobOptions } };
  const enroll = new Queue<OrderPlacedJob>(QUEUE_NAMES.enroll, options);
  const steps = new Queue<StepJob>(QUEUE_NAMES.steps, options);
  return {
    enroll,
    steps,
    close: async () => {
      await Promise.all([enroll.close(), steps.close()]);
    },
  };
}
