/**
 * The engine's HTTP server. Routes are thin: a schema in, a call into src/ingest,
 * src/analytics or src/core, a mapped result out. Dependencies arrive as arguments; nothing here opens a
 * database or Redis connection of its own.
 */
import swagger from '@fastify/swagger';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { jsonSchemaTransform, serializerCompiler } from 'fastify-type-provider-zod';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { DEFAULT_ATTRIBUTION } from '../core/attribution.ts';
import type { Clock } from '../core/clock.ts';
import { dashboard, type DashboardDeps } from '../dashboard/index.ts';
import type { Db } from '../db/client.ts';
import type { Relay } from '../outbox/relay.ts';
import { requireApiToken } from './auth.ts';
import { eventRoutes } from './routes/events.ts';
import { healthRoutes } from './routes/health.ts';
import { ingestRoutes } from './routes/ingest.ts';
import { reportRoutes, type ReportDeps } from './routes/reports.ts';
import { trackingRoutes, type TrackingDeps } from './routes/tracking.ts';
import { installErrorHandler, validatorCompiler } from './validation.ts';

export interface ServerDeps {
  db: Db;
  apiToken: string;
  bodyLimitBytes: number;
  relay?: Relay | undefined;
  redis?: Redis | undefined;
  logger?: Logger | undefined;
  /** The engine's clock; default the tracking clock, else real time. */
  clock?: Clock | undefined;
  /** Tracking pixel, click redirects and unsubscribe pages, when given. */
  tracking?: Omit<TrackingDeps, 'db'> | undefined;
  /** The analytics report settings; default: the default attribution model, 100 per arm. */
  reports?: Omit<ReportDeps, 'db' | 'now'> | undefined;
  /** The web dashboard (login, pages, Bull Board), when given. */
  dashboard?: Omit<DashboardDeps, 'db' | 'now' | 'attribution' | 'minSample'> | undefined;
}

export async function buildServer(deps: ServerDeps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger | undefined,
    bodyLimit: deps.bodyLimitBytes,
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  installErrorHandler(app);

  await app.register(swagger, {
    openapi: {
      info: {
        title: 'Post-purchase campaign engine API',
        version: '1',
        description: 'Ingest of products, customers and orders. Money is a decimal string; times are ISO 8601 with a zone.',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
    transform: jsonSchemaTransform,
  });

  // One clock for every route: the engine's (scaled in the demo, stopped in screenshots).
  const now = () => (deps.clock ?? deps.tracking?.clock)?.now() ?? new Date();
  const reports = deps.reports ?? { attribution: DEFAULT_ATTRIBUTION, minSample: 100 };
  await app.register(async (api) => {
    api.addHook('onRequest', requireApiToken(deps.apiToken));
    await ingestRoutes(api, { db: deps.db, relay: deps.relay });
    await eventRoutes(api, { db: deps.db, now });
    await reportRoutes(api, { db: deps.db, now, ...reports });
  });
  await healthRoutes(app, { db: deps.db, redis: deps.redis });
  if (deps.tracking) {
    const tracking = deps.tracking;
    await app.register(async (scope) => trackingRoutes(scope, { db: deps.db, ...tracking }));
  }
  if (deps.dashboard) {
    const settings = deps.dashboard;
    await app.register(async (scope) => dashboard(scope, { db: deps.db, now, ...reports, ...settings }));
  }
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  return app;
}
