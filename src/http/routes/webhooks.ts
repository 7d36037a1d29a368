/**
 * POST /webhooks/shopify and /webhooks/woocommerce. Shopify's webhooks are authenticated by the HMAC of the raw body
 * (`X-Shopify-Hmac-Sha256`, SHOPIFY_WEBHOOK_SECRET), deduplicated by `X-Shopify-Webhook-Id`,
 * and stored through the same ingest as the API (src/ingest/webhooks.ts); WooCommerce's the
 * same way, by `X-WC-Webhook-Signature` (WOOCOMMERCE_WEBHOOK_SECRET) and
 * `X-WC-Webhook-Delivery-ID`, its unsigned ping answered. The body is kept
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
import { hmacSignatureValid } from '../../platforms/signature.ts';

export interface WebhookRouteDeps extends WebhookDeps {
  /** SHOPIFY_WEBHOOK_SECRET: POST /webhooks/shopify is mounted only when it is set. */
  shopifySecret?: string | undefined;
  /** WOOCOMMERCE_WEBHOOK_SECRET: POST /webhooks/woocommerce is mounted only when it is set. */
  wooCommerceSecret?: string | undefined;
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
const unauthorized = (what: string) => ({ statusCode: 401, error: 'Unauthorized', message: `the ${what} signature does not match` });
const badRequest = (message: string) => ({ statusCode: 400, error: 'Bad Request', message });

/** The ping WooCommerce sends, unsigned, when a webhook is saved: `webhook_id=<id>`, form-encoded. */
const WOO_PING = /^webhook_id=\d+$/;

export async function webhookRoutes(app: FastifyInstance, deps: WebhookRouteDeps): Promise<void> {
  // The signature covers the raw bytes: keep them, parse after the check.
  const raw = { parseAs: 'buffer', bodyLimit: BODY_LIMIT } as const;
  app.addContentTypeParser('application/json', raw, (_request, body, done) => done(null, body));
  app.addContentTypeParser('application/x-www-form-urlencoded', raw, (_request, body, done) => done(null, body));
  const bodyOf = (body: unknown) => (Buffer.isBuffer(body) ? body : Buffer.alloc(0));

  if (deps.shopifySecret) {
    const secret = deps.shopifySecret;
    app.post('/webhooks/shopify', { bodyLimit: BODY_LIMIT }, async (request, reply) => {
      const body = bodyOf(request.body);
      if (!hmacSignatureValid(body, header(request.headers['x-shopify-hmac-sha256']), secret))
        return reply.code(401).send(unauthorized('X-Shopify-Hmac-Sha256'));
      const deliveryId = header(request.headers['x-shopify-webhook-id']);
      const topic = header(request.headers['x-shopify-topic']);
      if (!deliveryId || !topic) return reply.code(400).send(badRequest('X-Shopify-Webhook-Id and X-Shopify-Topic are required'));
      const result = await receiveDelivery(deps, {
        platform: 'shopify',
        deliveryId,
        topic,
        payload: parsePayload(body),
      });
      if (result.outcome === 'dead_letter' || result.outcome === 'ignored')
        request.log.warn({ deliveryId, topic, ...result }, `shopify webhook ${topic}: ${result.outcome}`);
      return reply.send(result);
    });
  }

  if (deps.wooCommerceSecret) {
    const secret = deps.wooCommerceSecret;
    app.post('/webhooks/woocommerce', { bodyLimit: BODY_LIMIT }, async (request, reply) => {
      const body = bodyOf(request.body);
      const signature = header(request.headers['x-wc-webhook-signature']);
      // Saving a webhook in WooCommerce pings it, unsigned; it must answer 2xx to be saved. Nothing is stored.
      if (signature === undefined && WOO_PING.test(body.toString('utf8').trim())) return reply.send({ ping: true });
      if (!hmacSignatureValid(body, signature, secret)) return reply.code(401).send(unauthorized('X-WC-Webhook-Signature'));
      const deliveryId = header(request.headers['x-wc-webhook-delivery-id']);
      const topic = header(request.headers['x-wc-webhook-topic']);
      if (!deliveryId || !topic) return reply.code(400).send(badRequest('X-WC-Webhook-Delivery-ID and X-WC-Webhook-Topic are required'));
      const result = await receiveDelivery(deps, { platform: 'woocommerce', deliveryId, topic, payload: parsePayload(body) });
      if (result.outcome === 'dead_letter' || result.outcome === 'ignored')
        request.log.warn({ deliveryId, topic, ...result }, `woocommerce webhook ${topic}: ${result.outcome}`);
      return reply.send(result);
    });
  }
}
