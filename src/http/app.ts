/**
 * The engine's HTTP app, composed in this one place from plugins, each in its own module:
 * the bearer-token API (./routes/api.ts), tracking (./routes/tracking.ts), the storefront's
 * recommendations (./routes/storefront.ts), the dashboard (src/dashboard) and health and
 * metrics (./routes/health.ts). A process mounts the parts it
 * serves: `campaign serve` and the demo all of them, `campaign work` health and metrics
 * alone. Dependencies arrive as arguments; nothing here opens a database or Redis
 * connection of its own.
 */
import sensible from '@fastify/sensible';
import Fastify from 'fastify';
import type { FastifyBaseLogger, FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { serializerCompiler } from 'fastify-type-provider-zod';
import type { Cluster, Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { DEFAULT_ATTRIBUTION } from '../core/attribution.ts';
import type { Clock } from '../core/clock.ts';
import { dashboard, type DashboardDeps } from '../dashboard/index.ts';
import type { Db } from '../db/client.ts';
import type { Relay } from '../outbox/relay.ts';
import { registerOpenApi } from './openapi.ts';
import { apiRoutes, type ApiDeps } from './routes/api.ts';
import { healthRoutes, type HealthDeps } from './routes/health.ts';
import type { ReportDeps } from './routes/reports.ts';
import { storefrontRoutes, type StorefrontDeps } from './routes/storefront.ts';
import { isPixelUrl, sendPixel, trackingRoutes, type TrackingDeps } from './routes/tracking.ts';
import { installErrorHandler, validatorCompiler } from './validation.ts';
import { webhookRoutes, type WebhookRouteDeps } from './routes/webhooks.ts';

/** Fastify's `trustProxy`: off, every proxy, a hop count, or the proxies' addresses and CIDRs. */
export type TrustProxy = boolean | number | string[];

export interface AppDeps {
  logger?: Logger | undefined;
  /** The largest request body accepted; default Fastify's (1 MiB). */
  bodyLimitBytes?: number | undefined;
  /**
   * Which proxies to believe about the client's address (X-Forwarded-For), protocol and
   * host: Fastify's `trustProxy` (TRUST_PROXY). Default false: the peer's address is the
   * client's, and forwarded headers are ignored.
   */
  trustProxy?: TrustProxy | undefined;
  /** GET /healthz: always mounted. */
  health: Omit<HealthDeps, 'metrics'>;
  /** GET /metrics, when given. */
  metrics?: Registry | undefined;
  /** /api/* (ingest, ESP events, reports) behind the API token, and /openapi.json. */
  api?: ApiDeps | undefined;
  /** The pixel, click redirects and unsubscribe pages. */
  tracking?: TrackingDeps | undefined;
  /** The web dashboard (login, pages, Bull Board). */
  dashboard?: DashboardDeps | undefined;
  /** POST /webhooks/* from the shop platforms, each mounted when its secret is given. */
  webhooks?: WebhookRouteDeps | undefined;
  /** GET/POST /api/recommendations behind the storefront key, with CORS, and its product links (/t/p/…), when STOREFRONT_KEY is set. */
  storefront?: StorefrontDeps | undefined;
}

/**
 * Builds the app from the parts given, not yet listening. Every part shares one validator
 * (zod, issues in the request's own shape), one error handler (5xx detail logged, never
 * sent) and @fastify/sensible's helpers; each part is a plugin in a scope of its own, so a
 * hook or parser one adds (the API token, the unsubscribe form parser, the dashboard's
 * session) never reaches another.
 */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger | undefined,
    bodyLimit: deps.bodyLimitBytes,
    trustProxy: fastifyTrustProxy(deps.trustProxy ?? false),
    // `//t/o/x.gif` is `/t/o/x.gif`: a path means the same with its slashes doubled.
    routerOptions: { ignoreDuplicateSlashes: true },
    // A URL the router cannot decode (`%ZZ`) or a parameter past its length: under the
    // pixel's prefix the answer is still the GIF; elsewhere Fastify's own 400 or 414.
    frameworkErrors: (error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
      if (deps.tracking && isPixelUrl(request.url)) {
        void sendPixel(reply);
        return;
      }
      const statusCode = error.statusCode ?? 400;
      const name = statusCode === 414 ? 'URI Too Long' : 'Bad Request';
      void reply.code(statusCode).send({ statusCode, code: error.code, error: name, message: error.message });
    },
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  installErrorHandler(app);
  await app.register(sensible);

  if (deps.api) {
    await registerOpenApi(app);
    await app.register(apiRoutes, deps.api);
  }
  // After the OpenAPI generator, which lists its recommendations route beside the API's.
  if (deps.storefront) await app.register(storefrontRoutes, deps.storefront);
  await app.register(healthRoutes, { ...deps.health, metrics: deps.metrics });
  if (deps.tracking) await app.register(trackingRoutes, deps.tracking);
  if (deps.dashboard) await app.register(dashboard, deps.dashboard);
  if (deps.webhooks) await app.register(webhookRoutes, deps.webhooks);
  return app;
}

/**
 * TRUST_PROXY as Fastify takes it. A hop count trusts the nearest N hops whoever they are
 * (Express's meaning): Fastify itself now treats a number as "trust nothing", so it is
 * given as the function that says so. It suits a server reachable only through its
 * proxies; addresses or CIDRs are the safer setting.
 */
function fastifyTrustProxy(setting: TrustProxy): boolean | string[] | ((address: string, hop: number) => boolean) {
  if (typeof setting !== 'number') return setting;
  return setting > 0 && ((_address: string, hop: number) => hop < setting);
}

/**
 * The app of a process that serves no API, only GET /healthz and GET /metrics: the worker
 * process's (`campaign work`), with the same answers as the API server's.
 */
export function buildHealthApp(deps: HealthDeps): Promise<FastifyInstance> {
  return buildApp({ health: { db: deps.db, redis: deps.redis }, metrics: deps.metrics });
}

/** The API server's settings in one flat shape, as `campaign serve`, the demo and the tests give them. */
export interface ServerDeps {
  db: Db;
  apiToken: string;
  bodyLimitBytes: number;
  /** TRUST_PROXY: see {@link AppDeps.trustProxy}. */
  trustProxy?: TrustProxy | undefined;
  relay?: Relay | undefined;
  /** The queues' connection, a single Redis or a Redis Cluster: /healthz pings it, the dashboard keeps logouts there. */
  redis?: Redis | Cluster | undefined;
  logger?: Logger | undefined;
  /** CODE_POOL_LOW, for the API's pool list; the dashboard takes its own. */
  codePoolLow?: number | undefined;
  /** The engine's clock; default the tracking clock, else real time. */
  clock?: Clock | undefined;
  /** Tracking pixel, click redirects and unsubscribe pages, when given. */
  tracking?: Omit<TrackingDeps, 'db'> | undefined;
  /** The analytics report settings; default: the default attribution model, 100 per arm. */
  reports?: Pick<ReportDeps, 'attribution' | 'minSample' | 'defaultMarginPercent'> | undefined;
  /** The web dashboard (login, pages, Bull Board), when given. */
  dashboard?: Omit<DashboardDeps, 'db' | 'now' | 'attribution' | 'minSample' | 'defaultMarginPercent'> | undefined;
  /** The shop platforms' webhooks: SHOPIFY_WEBHOOK_SECRET and SHOP_CURRENCY (orders in another currency are dead letters). */
  webhooks?:
    | { shopifySecret?: string | undefined; wooCommerceSecret?: string | undefined; shopCurrency: string; shopUrl?: string | undefined }
    | undefined;
  /** The storefront's recommendations, when STOREFRONT_KEY is set (see `storefrontSettings`). */
  storefront?: Omit<StorefrontDeps, 'db' | 'now'> | undefined;
}

/**
 * The API server: the API and health always, tracking, the storefront's recommendations and
 * the dashboard when their settings are given, all on one database and one clock.
 */
export function buildServer(deps: ServerDeps): Promise<FastifyInstance> {
  // One clock for every route: the engine's (scaled in the demo, stopped in screenshots).
  const now = () => (deps.clock ?? deps.tracking?.clock)?.now() ?? new Date();
  const reports = deps.reports ?? { attribution: DEFAULT_ATTRIBUTION, minSample: 100 };
  return buildApp({
    logger: deps.logger,
    bodyLimitBytes: deps.bodyLimitBytes,
    trustProxy: deps.trustProxy,
    health: { db: deps.db, redis: deps.redis },
    api: { db: deps.db, apiToken: deps.apiToken, relay: deps.relay, codePoolLow: deps.codePoolLow, now, ...reports },
    tracking: deps.tracking && { db: deps.db, ...deps.tracking },
    dashboard: deps.dashboard && { db: deps.db, now, ...reports, redis: deps.redis, ...deps.dashboard },
    webhooks: deps.webhooks && { db: deps.db, relay: deps.relay, now, ...deps.webhooks },
    storefront: deps.storefront && { db: deps.db, now, ...deps.storefront },
  });
}
