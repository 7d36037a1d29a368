/**
 * The outbox relay: publishes facts committed in the `outbox` table to BullMQ, then marks
 * them published. The row and the data it describes commit together, so a process that
 * dies between commit and enqueue loses nothing: the next drain (at start-up, on a timer,
 * or right after an ingest) publishes it. A fact published twice (a crash after enqueue,
 * before the mark) lands on the same deterministic job id, which BullMQ ignores.
 */
import { z } from 'zod';
import type { Db } from '../db/client.ts';
import { clearDeadJob, JOB_NAMES, jobIds, type OrderPlacedJob, type Queues } from '../queue/queues.ts';
import { publishPendingBatch, staleFacts, type OutboxFact } from '../store/outbox.ts';

/** The payload of an `order.placed` fact, as the order import writes it (`jsonb_build_object`). */
const orderPlacedPayload = z.object({ orderId: z.number().int(), customerId: z.number().int() });
const orderPlaced = (payload: unknown): OrderPlacedJob => orderPlacedPayload.parse(payload);

/**
 * Publishes every pending outbox row, oldest first, in batches. Rows are locked with
 * `skip locked`, so several relays (one per process) share the work without waiting.
 * Returns how many rows were published. A Redis failure throws and leaves rows pending.
 */
export async function drainOutbox(db: Db, queues: Queues, batchSize = 500): Promise<number> {
  let published = 0;
  for (;;) {
    const count = await publishPendingBatch(db, batchSize, (facts) => publish(queues, facts));
    published += count;
    if (count < batchSize) return published;
  }
}

/**
 * Publishes the rows it knows. A row of a topic no consumer knows is marked published
 * (and left unconsumed, for inspection) rather than blocking every row after it.
 */
async function publish(queues: Queues, rows: OutboxFact[]): Promise<void> {
  const orders = rows.filter((r) => r.topic === JOB_NAMES.orderPlaced);
  await queues.enroll.addBulk(
    orders.map((row) => {
      const data = { ...orderPlaced(row.payload), outboxId: row.id };
      return { name: JOB_NAMES.orderPlaced, data, opts: { jobId: jobIds.orderPlaced(data.orderId) } };
    }),
  );
}

export interface Relay {
  /** Drain soon (after an ingest commits); calls while a drain runs coalesce into one more. */
  kick(): void;
  /** Resolves once everything pending at the time of the call is published (or failed). */
  drain(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Runs {@link drainOutbox} at start, on every `kick()`, and every `intervalMs` as a safety
 * net. Failures (Redis down) are reported and retried on the next tick; nothing is lost.
 */
export function startRelay(db: Db, queues: Queues, options: { intervalMs?: number; onError?: (error: unknown) => void } = {}): Relay {
  let running: Promise<void> | undefined;
  let again = false;
  let stopped = false;
  const run = (): Promise<void> => {
    if (stopped) return running ?? Promise.resolve();
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      do {
        again = false;
        try {
          await drainOutbox(db, queues);
        } catch (error) {
          options.onError?.(error);
        }
      } while (again && !stopped);
    })().finally(() => (running = undefined));
    return running;
  };
  const timer = setInterval(() => void run(), options.intervalMs ?? 5_000);
  timer.unref();
  void run();
  return {
    kick: () => void run(),
    drain: async () => {
      await running;
      await run();
    },
    stop: async () => {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}

/**
 * Facts published more than `staleSeconds` ago and still not consumed lost their job (a
 * Redis restart or flush): publish them again under the same job id, unless a live job
 * still holds it (see clearDeadJob).
 */
export async function republishStale(db: Db, queues: Queues, staleSeconds: number): Promise<number> {
  const rows = await staleFacts(db, JOB_NAMES.orderPlaced, staleSeconds);
  let republished = 0;
  for (const row of rows) {
    const data = orderPlaced(row.payload);
    const jobId = jobIds.orderPlaced(data.orderId);
    if (!(await clearDeadJob(queues.enroll, jobId, (job) => job?.orderId === data.orderId))) continue;
    await queues.enroll.add(JOB_NAMES.orderPlaced, { ...data, outboxId: row.id }, { jobId });
    republished += 1;
  }
  return republished;
}
