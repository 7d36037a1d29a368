/**
 * The bearer-token API: ingest (products, customers, orders), ESP events and reports,
 * every route behind the API token. One plugin, so the token hook covers exactly these
 * routes and no route of the API can be mounted without it.
 */
import type { FastifyInstance } from 'fastify';
import type { Db } from '../../db/client.ts';
import type { Relay } from '../../outbox/relay.ts';
import { requireApiToken } from '../auth.ts';
import { eventRoutes } from './events.ts';
import { ingestRoutes } from './ingest.ts';
import { reportRoutes, type ReportDeps } from './reports.ts';

export interface ApiDeps extends ReportDeps {
  db: Db;
  apiToken: string;
  /** Kicked after new orders commit, so the enrollment worker hears of them at once. */
  relay?: Relay | undefined;
}

/** Mounts /api/* behind `Authorization: Bearer <apiToken>` (401 without it). */
export async function apiRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  app.addHook('onRequest', requireApiToken(deps.apiToken));
  await ingestRoutes(app, { db: deps.db, relay: deps.relay });
  await eventRoutes(app, { db: deps.db, now: deps.now });
  await reportRoutes(app, deps);
}
