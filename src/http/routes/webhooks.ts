/**
 * POST /webhooks/shopify: Shopify's webhooks, authenticated by the HMAC of the raw body
 * (`X-Shopify-Hmac-Sha256`, SHOPIFY_WEBHOOK_SECRET), deduplicated by `X-Shopify-Webhook-Id`,
 * and stored through the same ingest as the API (src/ingest/webhooks.ts). The body is kept
 * raw in this plugin's scope (the signature is over the exact bytes) and parsed here.
 *
 * Answers: a wrong or missing signature 401, nothing stored; anything signed 200, whatever
 * became of it (stored, a duplicate, ignored, a dead letter), so Shopify does not retry for
 * days what a retry cannot fix; a 5xx only when the engine could not take it in at all (the
 * database down), which Shopify then retries.
 */
import type { FastifyInstance } from 'fastify';
import { isSafeNumber, parse } from 'lossless-json';
import { receiveDelivery, type WebhookDeps } from '../../ingest/webhooks.ts';
import { shopifySignatureValid } from '../../platforms/shopify.ts';

export interface WebhookRouteDeps extends WebhookDeps {
  /** SHOPIFY_WEBHOOK_SECRET: the route is mounted only when it is set. */
  shopifySecret?: string | undefined;
}

/** Shopify's largest payloads (an order of hundreds of lines) stay well under this. */
const BODY_LIMIT = 5 * 1024 * 1024;

/**
 * The body as JSON, its integers beyond 2^53 kept exactly as text: Shopify's ids are 64-bit
 * (`820982911946154508`), which `JSON.parse` would round to another id. Undefined when the
 * body is not JSON.
 */
function parsePayload(raw: Buffer): unknown {
  try {
    return parse(raw.toString('utf8'), null, (value) => (isSafeNumber(value) ? Number(value) : value));
  } catch {
    return undefined;
  }
}

const header = (value: string | string[] | undefined) => (Array.isArray(value) ? value[0] : value);

export async function webhookRoutes(app: FastifyInstance, deps: WebhookRouteDeps): Promise<void> {
  // The signature covers the raw bytes: keep them, parse after the check.
  app.addContentTypeParser('application/json', { parseAs: 'buffer', bodyLimit: BODY_LIMIT }, (_request, body, done) => done(null, body));

  if (deps.shopifySecret) {
    const secret = deps.shopifySecret;
    app.post('/webhooks/shopify', { bodyLimit: BODY_LIMIT }, async (request, reply) => {
      const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
      if (!shopifySignatureValid(raw, header(request.headers['x-shopify-hmac-sha256']), secret))
        return reply
          .code(401)
          .send({ statusCode: 401, error: 'Unauthorized', message: 'the X-Shopify-Hmac-Sha256 signature does not match' });
      const deliveryId = header(request.headers['x-shopify-webhook-id']);
      const topic = header(request.headers['x-shopify-topic']);
      if (!deliveryId || !topic)
        return reply
          .code(400)
          .send({ statusCode: 400, error: 'Bad Request', message: 'X-Shopify-Webhook-Id and X-Shopify-Topic are required' });
      const payload = parsePayload(raw);
      const result = await receiveDelivery(deps, {
        platform: 'shopify',
        deliveryId,
        topic,
        payload,
        shopDomain: header(request.headers['x-shopify-shop-domain']),
      });
      if (result.outcome === 'dead_letter' || result.outcome === 'ignored')
        request.log.warn({ deliveryId, topic, ...result }, `shopify webhook ${topic}: ${result.outcome}`);
      return reply.send(result);
    });
  }
}
