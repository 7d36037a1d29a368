/**
 * The web dashboard, mounted on the engine's HTTP server: a login, then the pages
 * (./pages.ts) and Bull Board at /admin/queues for the engine's queues, all behind the
 * session.
 */
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import type { FastifyInstance } from 'fastify';
import type { Config } from '../config.ts';
import type { Queues } from '../queue/queues.ts';
import { installAuth, type AuthSettings } from './auth.ts';
import { dashboardPages, type PageDeps } from './pages.ts';

export interface DashboardDeps extends PageDeps, Omit<AuthSettings, 'now'> {
  /** The engine's queues, for Bull Board; without them /admin/queues is not mounted. */
  queues?: Queues | undefined;
}

export async function dashboard(app: FastifyInstance, deps: DashboardDeps): Promise<void> {
  const requireSession = await installAuth(app, { apiToken: deps.apiToken, password: deps.password, secret: deps.secret, sessionHours: deps.sessionHours });
  await app.register(async (pages) => {
    pages.addHook('onRequest', requireSession);
    await dashboardPages(pages, deps);
    if (deps.queues) {
      const board = new FastifyAdapter();
      board.setBasePath('/admin/queues');
      createBullBoard({ queues: [deps.queues.enroll, deps.queues.steps].map((queue) => new BullMQAdapter(queue)), serverAdapter: board, options: { uiConfig: { boardTitle: 'Campaign queues' } } });
      await pages.register(board.registerPlugin(), { prefix: '/admin/queues' });
    }
  });
}

/** The dashboard's settings, from the config. */
export function dashboardSettings(settings: Config, queues: Queues | undefined): Omit<DashboardDeps, 'db' | 'now' | 'attribution' | 'minSample'> {
  return { apiToken: settings.apiToken, password: settings.dashboardPassword, secret: settings.secretKey, sessionHours: settings.sessionHours, currency: settings.shop.currency, queues };
}
