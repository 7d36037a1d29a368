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
import { previewPages, type PreviewDeps } from './preview.ts';
import type { Rules } from '../core/recommend.ts';
import type { CapturedInbox } from '../mail/inbox.ts';

export interface DashboardDeps extends PageDeps, Omit<AuthSettings, 'now'> {
  /** The engine's queues, for Bull Board; without them /admin/queues is not mounted. */
  queues?: Queues | undefined;
  /** Template preview and messages; without it those pages are not mounted. */
  preview?: Omit<PreviewDeps, 'db'> | undefined;
}

export async function dashboard(app: FastifyInstance, deps: DashboardDeps): Promise<void> {
  const requireSession = await installAuth(app, { apiToken: deps.apiToken, password: deps.password, secret: deps.secret, sessionHours: deps.sessionHours, secureCookie: deps.secureCookie, loginsPerMinute: deps.loginsPerMinute });
  await app.register(async (pages) => {
    pages.addHook('onRequest', requireSession);
    await dashboardPages(pages, deps);
    if (deps.preview) await previewPages(pages, { db: deps.db, ...deps.preview });
    if (deps.queues) {
      const board = new FastifyAdapter();
      board.setBasePath('/admin/queues');
      createBullBoard({ queues: [deps.queues.enroll, deps.queues.steps].map((queue) => new BullMQAdapter(queue)), serverAdapter: board, options: { uiConfig: { boardTitle: 'Campaign queues' } } });
      await pages.register(
        async (queues) => {
          // Bull Board's page links a web font from a CDN; the dashboard serves everything itself.
          queues.addHook('onSend', async (_request, _reply, payload) =>
            typeof payload === 'string' ? payload.replace(/<link[^>]+fonts\.googleapis\.com[^>]*>/g, '') : payload,
          );
          await queues.register(board.registerPlugin());
        },
        { prefix: '/admin/queues' },
      );
    }
  });
}

/** The dashboard's settings, from the config. */
export function dashboardSettings(
  settings: Config,
  extras: { queues?: Queues | undefined; rules?: Rules | undefined; inbox?: CapturedInbox | undefined; smtpUrl?: string | undefined } = {},
): Omit<DashboardDeps, 'db' | 'now' | 'attribution' | 'minSample'> {
  return {
    apiToken: settings.apiToken,
    password: settings.dashboardPassword,
    secret: settings.secretKey,
    sessionHours: settings.sessionHours,
    secureCookie: settings.publicUrl.startsWith('https:'),
    currency: settings.shop.currency,
    queues: extras.queues,
    preview: extras.rules
      ? { shop: settings.shop, rules: extras.rules, publicUrl: settings.publicUrl, secret: settings.secretKey, mailFrom: settings.mailFrom, smtpUrl: extras.smtpUrl ?? settings.smtpUrl, inbox: extras.inbox }
      : undefined,
  };
}
