/**
 * The enrollment worker: consumes `order.placed` from the enroll queue and enrolls the
 * customer in every matching live sequence (src/engine/enroll.ts).
 */
import { UnrecoverableError, Worker, type ConnectionOptions } from 'bullmq';
import type { Engine } from '../src/engine/context.ts';
import { enrollOrder } from '../src/engine/enroll.ts';
import { markConsumed, markConsumedByOrder } from '../src/outbox/relay.ts';
import { parseJobId, QUEUE_NAMES, type OrderPlacedJob } from '../src/queue/queues.ts';

export function startEnrollWorker(engine: Engine, connection: ConnectionOptions, prefix: string, options: { concurrency?: number; lockMs?: number } = {}): Worker<OrderPlacedJob> {
  const worker = new Worker<OrderPlacedJob>(
    QUEUE_NAMES.enroll,
    async (job) => {
      // The job id names the order (`order-<id>-placed`), should the data have been lost.
      const orderId = Number(parseJobId.orderPlaced(job.id) ?? job.data?.orderId);
      if (!Number.isSafeInteger(orderId)) throw new UnrecoverableError(`job ${job.id} names no order`);
      const enrolled = await enrollOrder(engine, orderId);
      if (job.data?.outboxId) await markConsumed(engine.db, job.data.outboxId);
      else await markConsumedByOrder(engine.db, orderId);
      return enrolled;
    },
    {
    connection,
    prefix,
    concurrency: options.concurrency ?? 4,
    ...(options.lockMs ? { lockDuration: options.lockMs, stalledInterval: options.lockMs } : {}),
    },
  );
  // Connection and lock errors are reported, not thrown: BullMQ recovers from them.
  worker.on('error', (error) => engine.log?.warn({ err: error }, 'enroll worker'));
  return worker;
}
