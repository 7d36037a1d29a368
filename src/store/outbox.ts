/**
 * The outbox: facts (`order.placed`) committed in the same transaction as the data they
 * describe, then published to the queue by the relay and marked consumed by the worker
 * that handled them. `published_at` says a job was added; `consumed_at` says the job ran.
 */
import { sql } from 'drizzle-orm';
import { z } from 'zod';
import { jsonParam, type Db } from '../db/client.ts';
import { parsedRows } from './rows.ts';

const factRow = z.object({
  id: z.coerce.number().int(),
  topic: z.string(),
  payload: z.record(z.string(), z.unknown()),
});
export type OutboxFact = z.output<typeof factRow>;

/**
 * Locks up to `batchSize` unpublished facts, oldest first, hands them to `publish`, and
 * marks them published, all in one transaction: a `publish` that throws (Redis down)
 * leaves them pending. `for update skip locked` lets several relays (one per process)
 * share the work without waiting on each other. Returns how many were published.
 */
export async function publishPendingBatch(db: Db, batchSize: number, publish: (facts: OutboxFact[]) => Promise<void>): Promise<number> {
  return db.transaction(async (tx) => {
    const facts = await parsedRows(
      tx,
      sql`select id, topic, payload from outbox where published_at is null
          order by id limit ${batchSize} for update skip locked`,
      factRow,
    );
    if (facts.length === 0) return 0;
    await publish(facts);
    await tx.execute(
      sql`update outbox set published_at = now()
          where id in (select (jsonb_array_elements_text(${JSON.stringify(facts.map((f) => f.id))}::jsonb))::bigint)`,
    );
    return facts.length;
  });
}

/**
 * Facts of `topic` published more than `staleSeconds` (real time) ago and never consumed:
 * their job was lost (a Redis restart or flush), so the reconciler publishes them again.
 */
export async function staleFacts(db: Db, topic: string, staleSeconds: number, limit = 10_000): Promise<OutboxFact[]> {
  return parsedRows(
    db,
    sql`select id, topic, payload from outbox
        where topic = ${topic} and published_at < now() - make_interval(secs => ${staleSeconds}) and consumed_at is null
        order by id limit ${limit}`,
    factRow,
  );
}

/** Marks facts handled, so they are never published again (one statement for a batch). */
export async function markConsumed(db: Db, outboxIds: readonly number[]): Promise<void> {
  if (outboxIds.length === 0) return;
  await db.execute(sql`update outbox set consumed_at = now()
                       where id in (select (jsonb_array_elements_text(${jsonParam(outboxIds)}))::bigint) and consumed_at is null`);
}

/** Marks the fact of `topic` about an order handled, when its job no longer says which row it came from. */
export async function markConsumedByOrder(db: Db, topic: string, orderId: number): Promise<void> {
  await db.execute(sql`update outbox set consumed_at = now()
                       where topic = ${topic} and consumed_at is null and (payload->>'orderId')::bigint = ${orderId}`);
}

/**
 * How many outbox facts wait to be published, whoever wrote them (an import killed after
 * its commits leaves its own): `campaign import` publishes them all when there are any.
 */
export async function pendingOutboxFacts(db: Db): Promise<number> {
  const [row] = await parsedRows(
    db,
    sql`select count(*)::int as n from outbox where published_at is null`,
    z.object({ n: z.number().int() }),
  );
  return row?.n ?? 0;
}
