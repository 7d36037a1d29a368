/**
 * POST /api/events: bounces and complaints reported by an ESP's webhook. Each one
 * suppresses the address at once (a hard bounce or a complaint is final) and is stored as an
 * event of the message it names, when it names one we sent.
 */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { emailAddress, isoTime, storableText } from '../../core/records.ts';
import type { Db } from '../../db/client.ts';
import { storeDeliveryReports, type DeliveryReport } from '../../store/events.ts';
import { oneOrMany } from '../validation.ts';

const deliveryEvent = z.object({
  type: z.enum(['bounce', 'complaint'], { error: 'must be "bounce" or "complaint"' }),
  email: emailAddress,
  /** The RFC 5322 Message-ID of our email, e.g. <e12.s0@campaigns.shop.example>. */
  message_id: storableText(300).optional(),
  /** For bounces: hard (address dead) or soft (temporary); soft bounces do not suppress. */
  bounce: z.enum(['hard', 'soft'], { error: 'must be "hard" or "soft"' }).default('hard'),
  reason: storableText(1000).optional(),
  occurred_at: isoTime.optional(),
});

type DeliveryEvent = z.infer<typeof deliveryEvent>;

/**
 * What an ESP's event means for its address: a complaint or a hard bounce is final and
 * suppresses it (the source noted is the ESP's reason, else `webhook`); a soft bounce is
 * only stored. An event without a time happened now.
 */
function deliveryReport(e: DeliveryEvent, now: Date): DeliveryReport {
  const suppresses = e.type === 'complaint' || e.bounce === 'hard';
  return {
    type: e.type,
    email: e.email,
    rfcMessageId: e.message_id,
    reason: e.reason ?? null,
    occurredAt: e.occurred_at ? new Date(e.occurred_at) : now,
    suppression: suppresses ? { reason: e.type === 'complaint' ? 'complaint' : 'hard-bounce', source: e.reason ?? 'webhook' } : null,
  };
}

/**
 * POST /api/events, behind the API token (the caller's scope adds it). A batch is stored
 * whole or not at all; the answer counts the events stored and the addresses newly
 * suppressed, so an ESP retrying a batch sees `suppressed: 0` the second time.
 */
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
      const { suppressed } = await storeDeliveryReports(
        deps.db,
        list.map((e) => deliveryReport(e, deps.now())),
      );
      return { stored: list.length, suppressed };
    },
  );
}
