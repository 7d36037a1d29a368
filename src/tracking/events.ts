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

export function createEventSink(db: Db, options: { maxBatch?: number; maxWaitMs?: number } = {}): EventSink {
  const maxBatch = options.maxBatch ?? 500;
  const maxWaitMs = options.maxWaitMs ?? 5;
  let pending: { event: TrackedEvent; resolve: () => void; reject: (e: unknown) => void }[] = [];
  let timer: NodeJS.Timeout | undefined;
  let flushing: Promise<void> = Promise.resolve();

  const flush = () => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    const batch = pending;
    pending = [];
    if (!batch.length) return;
    // One insert at a time, in arrival order; the next batch gathers meanwhile.
    flushing = flushing.then(async () => {
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
    });
  };

  return {
    record(event) {
      return new Promise<void>((resolve, reject) => {
        pending.push({ event, resolve, reject });
        if (pending.length >= maxBatch) flush();
        else timer ??= setTimeout(flush, maxWaitMs);
      });
    },
    async close() {
      flush();
      await flushing;
    },
  };
}
