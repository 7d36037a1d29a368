/**
 * Dashboard login: the API token or a configured password (10 attempts a minute per
 * address), then a session in a cookie signed by @fastify/cookie that carries its own
 * expiry, so any server of a deployment accepts it and none has to remember it. Pages
 * behind it redirect to the login page; an expired or altered cookie counts as none, and
 * changing the token or password ends every session.
 */
import { createHmac } from 'node:crypto';
import cookie from '@fastify/cookie';
import formbody from '@fastify/formbody';
import rateLimit from '@fastify/rate-limit';
import { sameSecret } from '../core/tokens.ts';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { loginBody } from './query.ts';
import { loginPage } from './views/login.tsx';

export interface AuthSettings {
  apiToken: string;
  /** Accepted beside the API token when set. */
  password?: string | undefined;
  secret: string;
  sessionHours: number;
  /** Mark the cookie Secure (when the dashboard is served over https). */
  secureCookie?: boolean | undefined;
  /** Login attempts allowed per address and minute. */
  loginsPerMinute?: number | undefined;
  now?: () => number;
}

const COOKIE = 'campaign_session';

/** The key sessions are signed with. */
export function sessionKey(settings: Pick<AuthSettings, 'secret' | 'apiToken' | 'password'>): Buffer {
  const credentials = `dashboard-session\0${settings.apiToken}\0${settings.password ?? ''}`;
  return createHmac('sha256', settings.secret).update(credentials).digest();
}

/**
 * Adds the login and logout routes to `app` (with cookies, form bodies and a rate limit on
 * logins) and returns the hook that lets a request through only with a live session.
 */
export async function installAuth(
  app: FastifyInstance,
  settings: AuthSettings,
): Promise<(request: FastifyRequest, reply: FastifyReply) => Promise<void>> {
  const now = settings.now ?? Date.now;
  // Sessions are signed with a key of their own, derived from SECRET_KEY and the
  // credentials: changing the API token or the password ends every session, and a session
  // key can never sign a tracking token or the other way round.
  await app.register(cookie, { secret: sessionKey(settings) });
  await app.register(formbody);
  await app.register(rateLimit, { global: false });

  // Browsers ask for it on every page; an empty answer keeps consoles clean.
  app.get('/favicon.ico', { schema: { hide: true } }, async (_request, reply) => reply.code(204).send());
  app.get('/login', { schema: { hide: true } }, async (_request, reply) => reply.type('text/html').send(loginPage()));
  const attempts = { rateLimit: { max: settings.loginsPerMinute ?? 10, timeWindow: 60_000 } };
  const accepted = (given: string) =>
    sameSecret(given, settings.apiToken) || (settings.password !== undefined && sameSecret(given, settings.password));
  const login = { schema: { hide: true, body: loginBody }, config: attempts };
  app.withTypeProvider<ZodTypeProvider>().post('/login', login, async (request, reply) => {
    const given = request.body?.secret ?? '';
    if (!given || !accepted(given)) {
      return reply.code(401).type('text/html').send(loginPage('That token or password is not right.'));
    }
    const expires = now() + settings.sessionHours * 3_600_000;
    const secure = settings.secureCookie ?? false;
    const cookieOptions = { signed: true, httpOnly: true, sameSite: 'lax', secure, path: '/', expires: new Date(expires) } as const;
    reply.setCookie(COOKIE, String(expires), cookieOptions);
    return reply.redirect('/', 303);
  });
  app.post('/logout', { schema: { hide: true } }, async (_request, reply) =>
    reply.clearCookie(COOKIE, { path: '/' }).redirect('/login', 303),
  );

  return async (request, reply) => {
    // Changes come from the dashboard's own pages only (SameSite cookies stop other sites;
    // this stops other origins of the same site too).
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      const site = request.headers['sec-fetch-site'];
      if (site !== undefined && site !== 'same-origin') {
        return reply.code(403).send({ statusCode: 403, error: 'Forbidden', message: 'changes must come from the dashboard itself' });
      }
    }
    const raw = request.cookies[COOKIE];
    const unsigned = raw ? request.unsignCookie(raw) : undefined;
    const expires = unsigned?.valid ? Number(unsigned.value) : 0;
    if (expires > now()) return;
    if (request.method === 'GET' && !request.url.startsWith('/dashboard/api')) return reply.redirect('/login', 303);
    return reply.code(401).send({ statusCode: 401, error: 'Unauthorized', message: 'log in first' });
  };
}
