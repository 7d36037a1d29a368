/**
 * POST /api/events: bounces and complaints reported by an ESP's webhook. Each one
 * suppresses the address at once (a hard bounce or a complaint is final) and is stored as an
 * event of the message it names, when it names one we sent.
 */
import { sql } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { isoTime } from '../../core/records.ts';
import { queryRows, type Db } from '../../db/client.ts';
import { oneOrMany } from '../validation.ts';

const deliveryEvent = z.object({
  type: z.enum(['bounce', 'complaint']),
  email: z.email({ error: 'must be an email address' }),
  /** The RFC 5322 Message-ID of our email, e.g. <e12.s0@campaigns.shop.example>. */
  message_id: z.string().max(300).optional(),
  /** For bounces: hard (address dead) or soft (temporary); soft bounces do not suppress. */
  bounce: z.enum(['hard', 'soft']).default('hard'),
  reason: z.string().max(1000).optional(),
  occurred_at: isoTime.optional(),
});

export async function eventRoutes(app: FastifyInstance, deps: { db: Db; now: () => Date }): Promise<void> {
  app.withTypeProvider<ZodTypeProvider>().post(
    '/api/events',
    {
      schema: {
        summary: 'Report bounces and complaints (ESP webhooks); suppresses the addresses',
        tags: ['events'],
        body: oneOrMany(deliveryEvent, 1_000),
        response: { 200: z.object({ stored: z.number().int(), suppressed: z.number().int() }) },
      },
    },
    async (request) => {
      const list = Array.isArray(request.body) ? request.body : [request.body];
      let suppressed = 0;
      await deps.db.transaction(async (tx) => {
        for (const e of list) {
          const suppress = e.type === 'complaint' || e.bounce === 'hard';
          const [message] = e.message_id
            ? await queryRows<{ id: number; customer_id: number }>(tx, sql`select id, customer_id from messages where message_id = ${e.message_id}`)
            : [];
          await tx.execute(sql`insert into events (message_id, customer_id, type, is_human, machine_reason, occurred_at)
                               values (${message?.id ?? null}, ${message?.customer_id ?? null}, ${e.type}, false, ${e.reason ?? null},
                                       ${e.occurred_at ?? deps.now().toISOString()})`);
          if (!suppress) continue;
          const reason = e.type === 'complaint' ? 'complaint' : 'hard-bounce';
          const rows = await queryRows<{ email: string }>(
            tx,
            sql`insert into suppressions (email, reason, source) values (lower(${e.email}), ${reason}, ${e.reason ?? 'webhook'})
                on conflict (email) do nothing returning email`,
          );
          suppressed += rows.length;
          await tx.execute(sql`update customers set suppressed_reason = coalesce(suppressed_reason, ${reason}) where lower(email) = lower(${e.email})`);
        }
      });
      return { stored: list.length, suppressed };
    },
  );
}
