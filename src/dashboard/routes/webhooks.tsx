/**
 * The Webhooks pages: `/webhooks` (the last 7 days per platform and outcome, the dead
 * letters, the privacy requests, the latest ignored deliveries), `/webhooks/:platform/:deliveryId`
 * (one delivery's reason and kept payload) and its `/payload.json` download; the rows of
 * `campaign webhooks list` and `show`. An unknown or malformed delivery is a 404 page.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { deliveryCounts, findDelivery, recentDeliveries } from '../../store/webhooks.ts';
import { webhookParams } from '../query.ts';
import { renderPage } from '../views/layout.tsx';
import { DeliveryNotFound, DeliveryPage, WebhooksPage } from '../views/webhooks.tsx';
import type { PageDeps } from './deps.ts';

/** The days the counts on the page (and the overview's dead-letter notice) cover. */
export const WEBHOOK_DAYS = 7;
const DAY_MS = 86_400_000;
const DEAD_LETTERS_SHOWN = 100;
const PRIVACY_SHOWN = 100;
const IGNORED_SHOWN = 20;

/** The start of the period the counts cover, `WEBHOOK_DAYS` before `asOf`. */
export const webhooksSince = (asOf: Date) => new Date(asOf.getTime() - WEBHOOK_DAYS * DAY_MS);

/** A file name a Content-Disposition header can carry as is: the id's letters, digits, dots and dashes. */
const fileName = (platform: string, deliveryId: string) => `${platform}-${deliveryId.replace(/[^A-Za-z0-9._-]/g, '_')}.json`;

export async function webhookPages(app: FastifyInstance, deps: PageDeps): Promise<void> {
  const pages = app.withTypeProvider<ZodTypeProvider>();
  const timeZone = deps.timeZone ?? 'UTC';
  const notFound = (reply: FastifyReply) =>
    reply
      .code(404)
      .type('text/html')
      .send(renderPage(<DeliveryNotFound />));

  pages.get('/webhooks', { schema: { hide: true } }, async (_request, reply) => {
    const asOf = deps.now();
    const [counts, deadLetters, privacy, ignored] = await Promise.all([
      deliveryCounts(deps.db, webhooksSince(asOf)),
      recentDeliveries(deps.db, { outcome: 'dead_letter', limit: DEAD_LETTERS_SHOWN }),
      recentDeliveries(deps.db, { outcome: 'privacy', limit: PRIVACY_SHOWN }),
      recentDeliveries(deps.db, { outcome: 'ignored', limit: IGNORED_SHOWN }),
    ]);
    const page = (
      <WebhooksPage
        counts={counts}
        days={WEBHOOK_DAYS}
        deadLetters={deadLetters}
        privacy={privacy}
        ignored={ignored}
        timeZone={timeZone}
        asOf={asOf}
      />
    );
    return reply.type('text/html').send(renderPage(page));
  });

  // A path that is no delivery's (another platform, an id no platform sends) is an unknown delivery: 404, not 400.
  const deliveryRoute = { schema: { hide: true, params: webhookParams }, attachValidation: true };

  pages.get('/webhooks/:platform/:deliveryId', deliveryRoute, async (request, reply) => {
    if (request.validationError) return notFound(reply);
    const { platform, deliveryId } = request.params;
    const delivery = await findDelivery(deps.db, platform, deliveryId);
    if (!delivery) return notFound(reply);
    return reply.type('text/html').send(renderPage(<DeliveryPage delivery={delivery} timeZone={timeZone} asOf={deps.now()} />));
  });

  pages.get('/webhooks/:platform/:deliveryId/payload.json', deliveryRoute, async (request, reply) => {
    if (request.validationError) return notFound(reply);
    const { platform, deliveryId } = request.params;
    const delivery = await findDelivery(deps.db, platform, deliveryId);
    if (!delivery || delivery.payload_json === null) return notFound(reply);
    return reply
      .type('application/json; charset=utf-8')
      .header('content-disposition', `attachment; filename="${fileName(platform, deliveryId)}"`)
      .send(delivery.payload_json + '\n');
  });
}
