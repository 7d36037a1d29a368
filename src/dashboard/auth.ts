/**
 * Dashboard login: the API token or a configured password (10 attempts a minute per
 * address), then a session in a cookie signed by @fastify/cookie that carries its expiry and
 * a random id, so any server of a deployment accepts it without remembering it. Pages behind
 * it redirect to the login page; an expired or altered cookie counts as none, a logged-out
 * one too (its id is remembered as revoked until it would have expired: ./sessions.ts), and
 * changing the token or password ends every session.
 *
 * Every state-changing request, logout included, must come from the dashboard's own pages:
 * its `Origin` (or, without one, its `Referer`) must be the dashboard's origin, and with
 * neither the browser must say `Sec-Fetch-Site: same-origin`; a request with none of the
 * three is refused. SameSite cookies already stop other sites; this stops other origins of
 * the same site, and old browsers.
 */
import { createHmac, randomBytes } from 'node:crypto';
import cookie from '@fastify/cookie';
import formbody from '@fastify/formbody';
import rateLimit from '@fastify/rate-limit';
import { sameSecret } from '../core/tokens.ts';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { loginBody } from './query.ts';
import { memoryRevocations, type RevokedSessions } from './sessions.ts';
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
  /**
   * PUBLIC_URL: changes are accepted from its origin, beside the origin the request was
   * addressed to (its Host, or X-Forwarded-Host from a trusted proxy).
   */
  publicUrl?: string | undefined;
  /** Where logged-out sessions are remembered; default this process's memory. */
  revoked?: RevokedSessions | undefined;
  now?: () => number;
}

const COOKIE = 'campaign_session';

/** A session cookie's value before signing: its expiry (epoch ms) and its id. */
export function sessionValue(expires: number, id: string): string {
  return `${expires}.${id}`;
}

/** The expiry and id of a session value, or undefined for anything else. */
function parseSession(value: string): { expires: number; id: string } | undefined {
  const match = /^(\d{1,15})\.([A-Za-z0-9_-]{22})$/.exec(value);
  return match ? { expires: Number(match[1]), id: match[2]! } : undefined;
}

/** The origin of a URL, lower case and without a default port; `null` (matching nothing) when it is not one. */
function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return 'null';
  }
}

/**
 * True when a state-changing request comes from the dashboard's own pages: by its Origin,
 * else its Referer, else `Sec-Fetch-Site: same-origin`; none of the three is a refusal.
 * `ownOrigins` are origins accepted beside the one the request was addressed to.
 */
export function fromOwnPages(request: FastifyRequest, ownOrigins: ReadonlySet<string>): boolean {
  const site = request.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin') return false;
  const origin = request.headers.origin ?? (request.headers.referer === undefined ? undefined : originOf(request.headers.referer));
  if (origin === undefined) return site === 'same-origin';
  const given = originOf(origin);
  return given !== 'null' && (given === originOf(`${request.protocol}://${request.host}`) || ownOrigins.has(given));
}

/** The key sessions are signed with. */
export function sessionKey(settings: Pick<AuthSettings, 'secret' | 'apiToken' | 'password'>): Buffer {
  const credentials = `dashboard-session\0${settings.apiToken}\0${settings.password ?? ''}`;
  return createHmac('sha256', settings.secret).update(credentials).digest();
}

/**
 * Adds the login and logout routes to `app` (with cookies, form bodies and a rate limit on
 * logins) and returns the hook that lets a request through only with a live session, and a
 * change only from the dashboard's own pages.
 */
export async function installAuth(
  app: FastifyInstance,
  settings: AuthSettings,
): Promise<(request: FastifyRequest, reply: FastifyReply) => Promise<void>> {
  const now = settings.now ?? Date.now;
  const revoked = settings.revoked ?? memoryRevocations(now);
  const ownOrigins = new Set(settings.publicUrl ? [originOf(settings.publicUrl)] : []);
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
    reply.setCookie(COOKIE, sessionValue(expires, randomBytes(16).toString('base64url')), cookieOptions);
    return reply.redirect('/', 303);
  });
  const forbidden = (reply: FastifyReply) =>
    reply.code(403).send({ statusCode: 403, error: 'Forbidden', message: 'changes must come from the dashboard itself' });
  /** The live session of a request: signed by the session key, not expired, not logged out. */
  const sessionOf = async (request: FastifyRequest) => {
    const raw = request.cookies[COOKIE];
    const unsigned = raw ? request.unsignCookie(raw) : undefined;
    const session = unsigned?.valid && unsigned.value !== null ? parseSession(unsigned.value) : undefined;
    if (!session || session.expires <= now()) return undefined;
    return (await revoked.has(session.id)) ? undefined : session;
  };

  app.post('/logout', { schema: { hide: true } }, async (request, reply) => {
    if (!fromOwnPages(request, ownOrigins)) return forbidden(reply);
    const session = await sessionOf(request);
    if (session) await revoked.revoke(session.id, session.expires);
    return reply.clearCookie(COOKIE, { path: '/' }).redirect('/login', 303);
  });

  return async (request, reply) => {
    if (!SAFE_METHODS.has(request.method) && !fromOwnPages(request, ownOrigins)) return forbidden(reply);
    if (await sessionOf(request)) return;
    if (request.method === 'GET' && !request.url.startsWith('/dashboard/api')) return reply.redirect('/login', 303);
    return reply.code(401).send({ statusCode: 401, error: 'Unauthorized', message: 'log in first' });
  };
}

/** Methods that change nothing: no origin check. */
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
