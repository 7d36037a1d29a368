/**
 * The engine's queues, their job names, payloads and deterministic job ids, named in one
 * place. Payloads are ids and plain JSON; the truth they point at is in Postgres.
 *
 * Queues are created only by entry points (CLI commands, workers/), never on import.
 */
import { Queue, type ConnectionOptions, type Job, type JobsOptions } from 'bullmq';
import type { Cluster, Redis } from 'ioredis';

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

/** What a job id made by {@link jobIds} names; undefined for any other id. */
export const parseJobId = {
  orderPlaced(jobId: string | undefined): number | undefined {
    const match = /^order-(\d+)-placed$/.exec(jobId ?? '');
    return match ? Number(match[1]) : undefined;
  },
  step(jobId: string | undefined): StepJob | undefined {
    const match = /^enrollment-(\d+)-step-(\d+)$/.exec(jobId ?? '');
    return match ? { enrollmentId: Number(match[1]), step: Number(match[2]) } : undefined;
  },
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

/** How long a job that failed all its attempts waits before it is given fresh ones. */
export const FAILED_COOL_DOWN_MS = 10 * 60_000;

/**
 * Makes way for a job that Postgres says must exist under `jobId`. True when nothing live
 * holds the id any more — no job, a finished one whose outcome was lost, an orphan (data
 * left without a place in any list by a partial loss of Redis, which would silently
 * swallow a new add), or a failed one past its cool-down — after removing what was there.
 * False when a live job (waiting, delayed, active) holds it, or a genuine failure (`isOwn`
 * recognises its data, and it had retries) is still cooling down: an outage delays work
 * without losing it, and work that always fails does not spin.
 */
export async function clearDeadJob<T>(queue: Queue<T>, jobId: string, isOwn: (data: T | undefined) => boolean): Promise<boolean> {
  return (await reviveJob(queue, jobId, isOwn, false)) === 'free';
}

/**
 * {@link clearDeadJob}, and with `overdue` (the work is already due) a job still waiting out
 * a delay is promoted to run now ('promoted'); 'free' when the id was made free, 'live' when
 * a live job holds it. One read of the job and its state, whichever the answer.
 */
export async function reviveJob<T>(
  queue: Queue<T>,
  jobId: string,
  isOwn: (data: T | undefined) => boolean,
  overdue: boolean,
): Promise<'free' | 'promoted' | 'live'> {
  const job = await queue.getJob(jobId);
  if (!job) return 'free';
  const state = await job.getState();
  if (state === 'delayed' && overdue) {
    await promoteNow(job);
    return 'promoted';
  }
  if (state !== 'completed' && state !== 'failed' && state !== 'unknown') return 'live';
  const genuine = isOwn(job.data as T | undefined) && (job.opts?.attempts ?? 1) > 1;
  if (state === 'failed' && genuine && Date.now() - (job.finishedOn ?? 0) < FAILED_COOL_DOWN_MS) return 'live';
  await queue.remove(jobId).catch(() => 0);
  return 'free';
}

/** How long (real milliseconds) the job that has waited longest for a worker has waited; 0 when none waits. */
export async function longestWaitMs(queue: Queue): Promise<number> {
  const [oldest] = await queue.getJobs(['waiting'], 0, 0, true);
  return oldest ? Math.max(0, Date.now() - oldest.timestamp) : 0;
}

/**
 * Runs the job under `jobId` now if it is waiting out a delay: true when it was delayed (and
 * is now waiting for a worker), false when there is no such job or it is in any other state.
 */
export async function promoteDelayed(queue: Queue, jobId: string): Promise<boolean> {
  const job = await queue.getJob(jobId);
  if (!job || !(await job.isDelayed())) return false;
  await promoteNow(job);
  return true;
}

/** Moves a delayed job to run now. A worker may have taken it since its state was read: then it runs already. */
async function promoteNow(job: Job): Promise<void> {
  await job.promote().catch(() => undefined);
}

/**
 * Redis's `INFO` of the server that holds `queue`, for Bull Board's Redis panel: the one
 * Redis, or on a cluster the master serving the queue's slot (a hash-tagged prefix puts
 * every key of it there). Bull Board's own reader asks for `queue.client`, which BullMQ 6
 * moved to the queue's backend.
 */
export async function queueServerInfo(queue: Queue): Promise<string> {
  const client = (await queue.getBackend().client) as unknown as Redis | Cluster;
  if (!client.isCluster) return (client as Redis).info();
  const cluster = client as Cluster;
  const slot = Number(await cluster.call('CLUSTER', 'KEYSLOT', queue.keys.meta!));
  const holder = cluster.slots[slot]?.[0];
  const node = cluster.nodes('master').find((n) => `${n.options.host}:${n.options.port}` === holder);
  return (node ?? cluster).info();
}

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
