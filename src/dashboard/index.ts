/**
 * The web dashboard, mounted on the engine's HTTP server: a login, then the pages
 * (./routes/) and Bull Board at /admin/queues for the engine's queues, all behind the
 * session.
 *
 * `dashboard` is registered as an encapsulated plugin: what it adds (cookies, form bodies,
 * @fastify/sensible, its error answers) stays inside it. It relies on the server's zod
 * validator compiler for the schemas of ./query.ts.
 */
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import type { FastifyInstance } from 'fastify';
import type { Config } from '../config.ts';
import type { Rules } from '../core/recommend.ts';
import type { CapturedInbox } from '../mail/inbox.ts';
import { queueServerInfo, type Queues } from '../queue/queues.ts';
import { installAuth, type AuthSettings } from './auth.ts';
import { installErrorReplies } from './errors.ts';
import { securityHeaders } from './headers.ts';
import { actionPages } from './routes/actions.tsx';
import { codesPages } from './routes/codes.tsx';
import { customerPages } from './routes/customers.tsx';
import { messagesPages } from './routes/messages.tsx';
import { previewPages, type PreviewDeps } from './routes/preview.tsx';
import type { PageDeps } from './routes/deps.ts';
import { reportPages } from './routes/reports.tsx';
import { webhookPages } from './routes/webhooks.tsx';
import { redisRevocations, type SessionRedis } from './sessions.ts';

export interface DashboardDeps extends PageDeps, Omit<AuthSettings, 'now'> {
  /** The engine's queues, for Bull Board; without them /admin/queues is not mounted. */
  queues?: Queues | undefined;
  /** Template preview and messages; without it those pages are not mounted. */
  preview?: Omit<PreviewDeps, 'db' | 'timeZone'> | undefined;
  /**
   * Where logged-out sessions are remembered, so that every server refuses them: keys
   * under `redisPrefix` (QUEUE_PREFIX). Without Redis (and without `revoked`), this
   * process's memory.
   */
  redis?: SessionRedis | undefined;
  redisPrefix?: string | undefined;
  /**
   * SEQUENCES_DIR: the promote and end-test pages write the next version of a sequence's
   * file there, as `campaign sequences promote` does; without it they only say so.
   */
  sequencesDir?: string | undefined;
}

/**
 * Mounts the dashboard on `app`: the login routes in the open, every other route behind a
 * session (or the API token's login), every answer with the security headers of
 * ./headers.ts. Pages that need `deps.preview` or `deps.queues` are
 * mounted only when those are given.
 */
export async function dashboard(app: FastifyInstance, deps: DashboardDeps): Promise<void> {
  const { apiToken, password, secret, sessionHours, secureCookie, loginsPerMinute, publicUrl } = deps;
  const revoked = deps.revoked ?? (deps.redis ? redisRevocations(deps.redis, deps.redisPrefix ?? 'campaign') : undefined);
  securityHeaders(app);
  const requireSession = await installAuth(app, {
    apiToken,
    password,
    secret,
    sessionHours,
    secureCookie,
    loginsPerMinute,
    publicUrl,
    revoked,
  });
  await app.register(async (signedIn) => {
    signedIn.addHook('onRequest', requireSession);
    // The dashboard's own pages answer errors in plain text; Bull Board, beside them, keeps its own.
    await signedIn.register(async (pages) => {
      await installErrorReplies(pages);
      await reportPages(pages, deps);
      await actionPages(pages, deps);
      await codesPages(pages, deps);
      await customerPages(pages, deps);
      await webhookPages(pages, deps);
      if (deps.preview) {
        await previewPages(pages, { db: deps.db, timeZone: deps.timeZone, now: deps.now, ...deps.preview });
        await messagesPages(pages, { ...deps, inbox: deps.preview.inbox });
      }
    });
    if (deps.queues) await signedIn.register(async (scope) => queueBoard(scope, deps.queues!), { prefix: '/admin/queues' });
  });
}

/**
 * Bull Board for the engine's two queues, under the prefix `scope` is registered with. The
 * way back to the dashboard is twice there: a link always in sight in the page's bottom corner
 * (added to its HTML, outside the app Bull Board draws), and the same in its header's menu
 * (`miscLinks`, behind the person icon).
 */
async function queueBoard(scope: FastifyInstance, queues: Queues): Promise<void> {
  const board = new FastifyAdapter();
  board.setBasePath('/admin/queues');
  createBullBoard({
    queues: [queues.enroll, queues.steps].map((queue) => boardAdapter(queue)),
    serverAdapter: board,
    options: { uiConfig: { boardTitle: 'Campaign queues', miscLinks: [{ text: 'Back to the dashboard', url: '/' }] } },
  });
  const back =
    '<a id="back-to-dashboard" href="/" style="position:fixed;right:1rem;bottom:1rem;z-index:1000;background:#1f6f5c;color:#fff;' +
    'padding:.45rem .9rem;border-radius:999px;font:14px system-ui,sans-serif;text-decoration:none;box-shadow:0 1px 4px rgba(0,0,0,.3)">' +
    '&larr; Back to the dashboard</a>';
  // Bull Board's page links a web font from a CDN; the dashboard serves everything itself.
  scope.addHook('onSend', async (_request, reply, payload) => {
    if (typeof payload !== 'string') return payload;
    const page = String(reply.getHeader('content-type') ?? '').startsWith('text/html');
    const served = payload.replace(/<link[^>]+fonts\.googleapis\.com[^>]*>/g, '');
    return page ? served.replace('<body>', `<body>${back}`) : served;
  });
  await scope.register(board.registerPlugin());
}

/** Bull Board's adapter of `queue`, its Redis panel reading the server (or cluster node) that holds the queue. */
function boardAdapter(queue: Queues['enroll'] | Queues['steps']): BullMQAdapter {
  const adapter = new BullMQAdapter(queue);
  adapter.getRedisInfo = () => queueServerInfo(queue);
  return adapter;
}

/** The dashboard's settings, from the config; `extras` are what only a running process has. */
export function dashboardSettings(
  settings: Config,
  extras: {
    queues?: Queues | undefined;
    rules?: Rules | undefined;
    inbox?: CapturedInbox | undefined;
    smtpUrl?: string | undefined;
  } = {},
): Omit<DashboardDeps, 'db' | 'now' | 'attribution' | 'minSample'> {
  return {
    apiToken: settings.apiToken,
    password: settings.dashboardPassword,
    secret: settings.secretKey,
    sessionHours: settings.sessionHours,
    snapshotSeconds: settings.dashboardSnapshotSeconds,
    secureCookie: settings.publicUrl.startsWith('https:'),
    publicUrl: settings.publicUrl,
    redisPrefix: settings.queuePrefix,
    sequencesDir: settings.sequencesDir,
    currency: settings.shop.currency,
    codePoolLow: settings.codePoolLow,
    segmentsFile: settings.segmentsFile,
    timeZone: settings.shop.timezone,
    queues: extras.queues,
    preview: extras.rules
      ? {
          shop: settings.shop,
          newArrivalsDays: settings.newArrivalsDays,
          rules: extras.rules,
          publicUrl: settings.publicUrl,
          secret: settings.secretKey,
          mailFrom: settings.mailFrom,
          smtpUrl: extras.smtpUrl ?? settings.smtpUrl,
          inbox: extras.inbox,
        }
      : undefined,
  };
}
