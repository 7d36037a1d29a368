/**
 * Durable, fast event ingest: a request's event is acknowledged only once it is stored, and
 * the requests arriving together share one multi-row insert (group commit), so the
 * endpoints stay fast without acknowledging anything that could still be lost.
 */
import { sql } from 'drizzle-orm';
import { jsonParam, type Db } from '../db/client.ts';

export interface TrackedEvent {
  messageId: number | null;
  customerId: number | null;
  type: 'open' | 'click' | 'unsubscribe' | 'bounce' | 'complaint';
  isHuman: boolean;
  machineReason: string | null;
  linkIndex: number | null;
  userAgent: string | null;
  ip: string | null;
  occurredAt: Date;
}

export interface EventSink {
  /** Resolves once the event is committed; rejects if it could not be stored. */
  record(event: TrackedEvent): Promise<void>;
  close(): Promise<void>;
}

/**
 * `maxInFlight` inserts may run at once (each on its own pooled connection); while they
 * do, the next batch gathers. A batch goes when it is full, or `maxWaitMs` after its first
 * event, or as soon as an insert slot frees up.
 */
export function createEventSink(db: Db, options: { maxBatch?: number; maxWaitMs?: number; maxInFlight?: number } = {}): EventSink {
  const maxBatch = options.maxBatch ?? 500;
  const maxWaitMs = options.maxWaitMs ?? 2;
  const maxInFlight = options.maxInFlight ?? 1;
  const pending: { event: TrackedEvent; resolve: () => void; reject: (e: unknown) => void }[] = [];
  let timer: NodeJS.Timeout | undefined;
  const inFlight = new Set<Promise<void>>();

  const flush = () => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    if (!pending.length || inFlight.size >= maxInFlight) return;
    const batch = pending.splice(0, maxBatch);
    const insert = (async () => {
      try {
        await db.execute(sql`
          insert into events (message_id, customer_id, type, is_human, machine_reason, link_index, user_agent, ip, occurred_at)
          select m, c, t, h, r, l, u, i, o from jsonb_to_recordset(${jsonParam(
            batch.map(({ event: e }) => ({
              m: e.messageId, c: e.customerId, t: e.type, h: e.isHuman, r: e.machineReason, l: e.linkIndex,
              u: e.userAgent?.slice(0, 500) ?? null, i: e.ip, o: e.occurredAt.toISOString(),
            })),
          )}) as x(m bigint, c int, t text, h boolean, r text, l int, u text, i text, o timestamptz)`);
        for (const p of batch) p.resolve();
      } catch (error) {
        for (const p of batch) p.reject(error);
      }
    })();
    inFlight.add(insert);
    void insert.finally(() => {
      inFlight.delete(insert);
      if (pending.length) flush();
    });
  };

  return {
    record(event) {
      return new Promise<void>((resolve, reject) => {
        // Past ten full batches waiting (the database is stalled), refuse rather than grow.
        if (pending.length >= maxBatch * 10) return reject(new Error('event ingest is backed up'));
        pending.push({ event, resolve, reject });
        if (pending.length >= maxBatch) flush();
        else timer ??= setTimeout(flush, maxWaitMs);
      });
    },
    async close() {
      while (pending.length || inFlight.size) {
        flush();
        await Promise.all(inFlight);
      }
    },
  };
}
