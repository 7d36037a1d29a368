/**
 * Storefront recommendations: `GET /api/recommendations?skus=A,B` (a product page) and
 * `POST /api/recommendations` (a cart), answered from the in-memory recommender
 * (src/recs/storefront.ts) with the emails' products and reasons, and `GET /t/p/<token>`,
 * the tracked redirect their links go through.
 *
 * `/api/recommendations` sits beside the bearer-token API without being part of it: the API
 * token hook is scoped to the API's plugin (src/http/routes/api.ts), so this plugin's routes
 * never see it, and no path of the API is `/api/recommendations`. Here the only credential
 * is the public, read-only storefront key (`X-Storefront-Key` or `?key=`); the API token is
 * not accepted in its place (config refuses a STOREFRONT_KEY equal to API_TOKEN). CORS
 * (STOREFRONT_ORIGINS) is registered under this route's prefix only, so neither the API nor
 * the dashboard answers a browser's preflight.
 */
import cors from '@fastify/cors';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { LRUCache } from 'lru-cache';
import { z } from 'zod';
import type { Config } from '../../config.ts';
import { classify } from '../../core/classify.ts';
import { STRATEGIES, type Rules, type Strategy } from '../../core/recommend.ts';
import { sameSecret, signToken, storefrontCustomerToken, verifyToken } from '../../core/tokens.ts';
import type { Db } from '../../db/client.ts';
import { strategySettings } from '../../recs/service.ts';
import {
  answerFromSnapshot,
  snapshotCache,
  type CartLine,
  type StorefrontSnapshot,
  type StorefrontSuggestion,
} from '../../recs/storefront.ts';
import { customerProductIds, storeStorefrontClick } from '../../store/storefront.ts';
import { placementOf, withStorefrontUtm } from '../../tracking/links.ts';

/** The route of the storefront's recommendations. */
export const STOREFRONT_PATH = '/api/recommendations';
/** Where the storefront's tracked product links live: `${PRODUCT_LINK_PREFIX}/<token>`. */
export const PRODUCT_LINK_PREFIX = '/t/p';
/** At most this many skus in one question. */
export const MAX_SKUS = 50;
/** At most this many recommendations (`limit`); the emails' default of 4 when not given. */
export const MAX_LIMIT = 20;
const MAX_UPSELLS = 10;
/** Visitors' answers kept per snapshot, as sent (see {@link visitorMemo}). */
const MEMO_ANSWERS = 10_000;

export interface StorefrontDeps {
  db: Db;
  /** STOREFRONT_KEY. */
  key: string;
  /** STOREFRONT_CUSTOMER_SECRET: `customer` needs its `customer_token`; undefined: `customer` is refused. */
  customerSecret?: string | undefined;
  /** STOREFRONT_ORIGINS: the origins given CORS headers (none: no CORS at all). */
  origins: string[];
  /** SECRET_KEY: signs the product links. */
  secret: string;
  /** PUBLIC_URL, without a trailing slash: the base of the product links. */
  publicUrl: string;
  /** The marketer's recommendation rules (RECS_RULES_FILE), as the emails read them. */
  rules: Rules;
  /** The shop settings the shipping-gap and new-arrivals strategies read; `url` is where a link to a product without a page goes. */
  shop: { url: string; currency: string; timezone: string; freeShippingThreshold?: string | undefined };
  newArrivalsDays?: number | undefined;
  /** The engine's clock: what is new, and when a click happened. */
  now: () => Date;
  /** How often the snapshot is checked against copurchase_state.built_at (STOREFRONT_REFRESH_SECONDS × 1000). */
  refreshMs: number;
}

/** The storefront's settings from the config, or undefined when STOREFRONT_KEY is unset (the route is then not mounted). */
export function storefrontSettings(config: Config, rules: Rules): Omit<StorefrontDeps, 'db' | 'now'> | undefined {
  if (!config.storefront.key) return undefined;
  return {
    key: config.storefront.key,
    customerSecret: config.storefront.customerSecret,
    origins: config.storefront.origins,
    secret: config.secretKey,
    publicUrl: config.publicUrl,
    rules,
    shop: config.shop,
    newArrivalsDays: config.newArrivalsDays,
    refreshMs: config.storefront.refreshSeconds * 1000,
  };
}

const sku = z.string().trim().min(1, 'must not be empty').max(200);
const limit = z.number().int().min(1).max(MAX_LIMIT);
const upsells = z.number().int().min(0).max(MAX_UPSELLS);
const customer = z.string().trim().min(1, 'must not be empty').max(200);
const customerToken = z
  .string()
  .trim()
  .regex(/^[0-9a-f]{64}$/i, 'must be the hex HMAC-SHA256 of customer (64 hex digits)');
/** `customer` comes with its token, always: who may personalise is decided by the token, not by asking. */
const withToken = (q: { customer?: string | undefined; customer_token?: string | undefined }) =>
  q.customer === undefined || q.customer_token !== undefined;
const TOKEN_NEEDED = {
  message: "is required with customer: the shop's server signs the customer's id (see README)",
  path: ['customer_token'],
};
const strategy = z.enum(STRATEGIES as [Strategy, ...Strategy[]]);
const skus = z.array(sku).min(1, 'must name at least one sku').max(MAX_SKUS, `must name at most ${MAX_SKUS} skus`);

/** `skus=A,B` (or `skus=A&skus=B`): comma-separated, blanks dropped. */
const skuList = z.preprocess((value: unknown) => {
  if (typeof value !== 'string' && !Array.isArray(value)) return value;
  const given: unknown[] = [value].flat();
  return given.flatMap((v) => (typeof v === 'string' ? v.split(',') : [v])).filter((v) => v !== '');
}, skus);

const query = z
  .object({
    skus: skuList,
    customer: customer.optional(),
    customer_token: customerToken.optional(),
    limit: z.coerce.number().pipe(limit).optional(),
    upsells: z.coerce.number().pipe(upsells).optional(),
    strategy: strategy.optional(),
    /** The storefront key may come here instead of the header; checked before validation. */
    key: z.string().max(500).optional(),
  })
  .strict()
  .refine(withToken, TOKEN_NEEDED);

const body = z
  .object({
    skus: skus.optional(),
    items: z
      .array(z.object({ sku, quantity: z.number().int().min(1).max(10_000).default(1) }).strict())
      .min(1, 'must hold at least one item')
      .max(MAX_SKUS, `must hold at most ${MAX_SKUS} items`)
      .optional(),
    customer: customer.optional(),
    customer_token: customerToken.optional(),
    limit: limit.optional(),
    upsells: upsells.optional(),
    strategy: strategy.optional(),
  })
  .strict()
  .refine((b) => (b.skus === undefined) !== (b.items === undefined), { message: 'send either skus or items, not both', path: ['skus'] })
  .refine(withToken, TOKEN_NEEDED);

interface Question {
  lines: CartLine[];
  customer?: string | undefined;
  customer_token?: string | undefined;
  limit?: number | undefined;
  upsells?: number | undefined;
  strategy?: Strategy | undefined;
}

/**
 * Mounts the storefront routes: the recommendations behind the storefront key with CORS,
 * in a scope of their own under their path, and the public product-link redirect.
 */
export async function storefrontRoutes(app: FastifyInstance, deps: StorefrontDeps): Promise<void> {
  const cache = snapshotCache(deps.db, {
    refreshMs: deps.refreshMs,
    onError: (error) => app.log.warn({ err: error }, 'storefront recommendations not refreshed; answering from the last snapshot'),
  });
  const links = productLinks(deps);
  const memo = visitorMemo();

  const answer = async (question: Question, reply: FastifyReply) => {
    if (question.customer !== undefined) {
      const expected = deps.customerSecret && storefrontCustomerToken(question.customer, deps.customerSecret);
      if (!expected || !sameSecret(question.customer_token!.toLowerCase(), expected))
        return reply.code(401).send({
          statusCode: 401,
          error: 'Unauthorized',
          message: deps.customerSecret
            ? 'customer_token does not match customer'
            : 'personalised answers are off: STOREFRONT_CUSTOMER_SECRET is not set',
        });
    }
    const snapshot = await cache.get();
    const chosen = question.strategy ?? 'co-purchase';
    // A visitor's answer depends on the snapshot and the question alone (new-arrivals also on the day): kept as sent.
    const memoKey = question.customer === undefined && chosen !== 'new-arrivals' ? memo.key(question, chosen) : undefined;
    const kept = memoKey === undefined ? undefined : memo.get(snapshot, memoKey);
    if (kept !== undefined) return reply.header('cache-control', 'private, max-age=60').type('application/json; charset=utf-8').send(kept);
    const owned = question.customer === undefined ? [] : await customerProductIds(deps.db, question.customer);
    const result = answerFromSnapshot(snapshot, {
      lines: question.lines,
      owned,
      strategy: chosen,
      rules: deps.rules,
      limits: { recommendations: question.limit ?? 4, upsells: question.upsells ?? 2 },
      settings: strategySettings(deps.shop, deps.now(), deps.newArrivalsDays),
    });
    // A customer's answer depends on what they bought: never kept by a shared cache.
    void reply.header('cache-control', question.customer === undefined ? 'private, max-age=60' : 'private, no-store');
    const response = {
      strategy: chosen,
      builtAt: snapshot.builtAt?.toISOString() ?? null,
      recommendations: result.recommendations.map(links.card),
      upsells: result.upsells.map(links.card),
      unknownSkus: result.unknownSkus,
    };
    if (memoKey === undefined) return response;
    const json = JSON.stringify(response);
    memo.set(snapshot, memoKey, json);
    return reply.type('application/json; charset=utf-8').send(json);
  };

  await app.register(
    async (scope) => {
      await scope.register(cors, {
        origin: deps.origins.length > 0 ? deps.origins : false,
        methods: ['GET', 'POST'],
        allowedHeaders: ['content-type', 'x-storefront-key'],
        maxAge: 600,
      });
      scope.addHook('onRequest', requireStorefrontKey(deps.key));
      const api = scope.withTypeProvider<ZodTypeProvider>();
      const common = { tags: ['storefront'], security: [{ storefrontKey: [] }] };
      api.get(
        '/',
        {
          prefixTrailingSlash: 'no-slash',
          schema: {
            ...common,
            summary: "A product page's recommendations: the emails' for an order of these skus",
            querystring: query,
          },
        },
        async (request, reply) => {
          const { skus: list, ...rest } = request.query;
          return answer({ ...rest, lines: list.map((s) => ({ sku: s, quantity: 1 })) }, reply);
        },
      );
      api.post(
        '/',
        {
          prefixTrailingSlash: 'no-slash',
          bodyLimit: 64 * 1024,
          schema: { ...common, summary: "A cart's recommendations: the emails' for an order of this cart", body },
        },
        async (request, reply) => {
          const { skus: list, items, ...rest } = request.body;
          return answer({ ...rest, lines: items ?? list!.map((s) => ({ sku: s, quantity: 1 })) }, reply);
        },
      );
      // The preflight of this path: answered by the CORS hook (Access-Control-Allow-Origin for a
      // listed origin only); without STOREFRONT_ORIGINS, 404.
      scope.options('/', { prefixTrailingSlash: 'no-slash', schema: { hide: true } }, async (request, reply) => {
        // @fastify/cors marks the request when its hook took it as a preflight of a listed origin.
        if (!(request as { corsPreflightEnabled?: boolean }).corsPreflightEnabled) return reply.callNotFound();
        return reply.code(204).send();
      });
    },
    { prefix: STOREFRONT_PATH },
  );

  await app.register(async (scope) => {
    scope.get<{ Params: { token: string }; Querystring: { placement?: unknown } }>(
      `${PRODUCT_LINK_PREFIX}/:token`,
      { schema: { hide: true } },
      async (request, reply) => {
        const payload = verifyToken(request.params.token, deps.secret);
        const product = payload?.kind === 'product' ? (await cache.get()).rows.get(payload.product ?? -1) : undefined;
        if (!product) return reply.code(404).type('text/plain').send('This link is not valid.');
        const placement = placementOf(request.query.placement);
        await recordClick(deps, request, product.id, placement);
        const destination = product.url ? withStorefrontUtm(product.url, placement) : deps.shop.url;
        return reply.header('cache-control', 'no-store').redirect(destination, 302);
      },
    );
  });
}

/**
 * Visitors' answers, serialised, per snapshot: a product page is asked the same question by
 * every visitor, and the answer changes only with the snapshot (a new one starts empty; the
 * old one's answers go with it). Least recently used first out, at most {@link MEMO_ANSWERS}.
 */
function visitorMemo() {
  const bySnapshot = new WeakMap<StorefrontSnapshot, LRUCache<string, string>>();
  return {
    key: (question: Question, strategy: Strategy) =>
      JSON.stringify([strategy, question.limit ?? 0, question.upsells ?? -1, question.lines.map((l) => [l.sku, l.quantity])]),
    get: (snapshot: StorefrontSnapshot, key: string) => bySnapshot.get(snapshot)?.get(key),
    set: (snapshot: StorefrontSnapshot, key: string, json: string) => {
      let answers = bySnapshot.get(snapshot);
      if (!answers) bySnapshot.set(snapshot, (answers = new LRUCache<string, string>({ max: MEMO_ANSWERS })));
      answers.set(key, json);
    },
  };
}

/** An onRequest hook answering 401 unless the request carries the storefront key (a preflight carries none: CORS answers it). */
function requireStorefrontKey(key: string) {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    if (request.method === 'OPTIONS') return;
    const header = request.headers['x-storefront-key'];
    const fromQuery = (request.query as { key?: unknown } | undefined)?.key;
    const given = typeof header === 'string' ? header : typeof fromQuery === 'string' ? fromQuery : undefined;
    if (given !== undefined && sameSecret(given, key)) return;
    await reply.code(401).send({
      statusCode: 401,
      error: 'Unauthorized',
      message: 'Send the storefront key as "X-Storefront-Key: <STOREFRONT_KEY>" or "?key=<STOREFRONT_KEY>".',
    });
  };
}

/** A suggestion as the storefront gets it: `url` through the tracked redirect, `productUrl` the page itself. */
function productLinks(deps: Pick<StorefrontDeps, 'publicUrl' | 'secret'>) {
  // One signature per product for the life of the process.
  const tracked = new Map<number, string>();
  const trackedUrl = (productId: number) => {
    let url = tracked.get(productId);
    if (url === undefined) {
      const token = signToken({ kind: 'product', message: 0, product: productId }, deps.secret);
      tracked.set(productId, (url = `${deps.publicUrl}${PRODUCT_LINK_PREFIX}/${token}?placement=storefront`));
    }
    return url;
  };
  return {
    card: (s: StorefrontSuggestion) => ({
      sku: s.sku,
      name: s.name,
      category: s.category,
      price: s.price,
      image: s.image,
      reason: s.reason,
      url: s.url ? trackedUrl(s.productId) : '',
      productUrl: s.url,
    }),
  };
}

/** Classifies and stores a click; a failure is logged, never shown: the shopper still gets the page. */
async function recordClick(deps: StorefrontDeps, request: FastifyRequest, productId: number, placement: string): Promise<void> {
  const userAgent = request.headers['user-agent'] ?? '';
  const at = deps.now();
  const verdict = classify({ type: 'click', userAgent, ip: request.ip, method: request.method, sentAt: null, at });
  await storeStorefrontClick(deps.db, {
    productId,
    placement,
    isHuman: verdict.isHuman,
    machineReason: verdict.reason,
    userAgent,
    ip: request.ip,
    occurredAt: at,
  }).catch((error: unknown) => request.log.error({ err: error }, 'storefront click not stored'));
}
