/**
 * The bearer-token API: ingest (products, customers, orders), ESP events, reports, the
 * experiment log, data-subject requests and discount code pools, every route behind the API token. One plugin, so
 * the token hook covers exactly these routes and no route of the API can be mounted without it.
 */
import type { FastifyInstance } from 'fastify';
import { RequestValidationError } from '../../errors.ts';
import type { Db } from '../../db/client.ts';
import type { Relay } from '../../outbox/relay.ts';
import { requireApiToken } from '../auth.ts';
import { DEFAULT_CODE_POOL_LOW } from '../../core/discount.ts';
import { codePoolRoutes } from './code-pools.ts';
import { customerRoutes } from './customers.ts';
import { eventRoutes } from './events.ts';
import { experimentLogRoutes } from './experiment-log.ts';
import { ingestRoutes } from './ingest.ts';
import { recommendationRoutes } from './recommendations.ts';
import { reportRoutes, type ReportDeps } from './reports.ts';

export interface ApiDeps extends ReportDeps {
  db: Db;
  apiToken: string;
  /** Kicked after new orders commit, so the enrollment worker hears of them at once. */
  relay?: Relay | undefined;
  /** CODE_POOL_LOW: a pool with fewer codes left than this is `low`; default 100. */
  codePoolLow?: number | undefined;
}

/** Mounts /api/* behind `Authorization: Bearer <apiToken>` (401 without it). */
export async function apiRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  app.addHook('onRequest', requireApiToken(deps.apiToken));
  strictUtf8Json(app);
  await ingestRoutes(app, { db: deps.db, relay: deps.relay });
  await eventRoutes(app, { db: deps.db, now: deps.now });
  await reportRoutes(app, deps);
  await recommendationRoutes(app, { db: deps.db, now: deps.now });
  await experimentLogRoutes(app, { db: deps.db });
  await customerRoutes(app, { db: deps.db, now: deps.now });
  await codePoolRoutes(app, { db: deps.db, now: deps.now, codePoolLow: deps.codePoolLow ?? DEFAULT_CODE_POOL_LOW });
}

/**
 * JSON bodies must be valid UTF-8, as files must be for the importer: Fastify's own parser
 * would turn invalid bytes into U+FFFD and store them. The body is decoded strictly, then
 * parsed by Fastify's JSON parser with the app's prototype-poisoning settings. Only this
 * plugin's scope (the API) is affected.
 */
function strictUtf8Json(app: FastifyInstance): void {
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  const parseJson = app.getDefaultJsonParser(
    app.initialConfig.onProtoPoisoning ?? 'error',
    app.initialConfig.onConstructorPoisoning ?? 'ignore',
  );
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body: Buffer, done) => {
    let text: string;
    try {
      text = utf8.decode(body);
    } catch {
      done(new RequestValidationError([{ path: '', message: 'the body must be valid UTF-8 text' }]), undefined);
      return;
    }
    void parseJson(request, text, done);
  });
}
