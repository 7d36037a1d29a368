/**
 * The enrollment worker: consumes `order.placed` from the enroll queue and enrolls the
 * customer in every matching live sequence (src/engine/enroll.ts).
 */
import { Worker, type ConnectionOptions } from 'bullmq';
import type { Engine } from '../src/engine/context.ts';
import { enrollOrder } from '../src/engine/enroll.ts';
import { QUEUE_NAMES, type OrderPlacedJob } from '../src/queue/queues.ts';

export function startEnrollWorker(engine: Engine, connection: ConnectionOptions, prefix: string, concurrency = 4): Worker<OrderPlacedJob> {
  return new Worker<OrderPlacedJob>(QUEUE_NAMES.enroll, async (job) => enrollOrder(engine, job.data.orderId), { connection, prefix, concurrency });
}
