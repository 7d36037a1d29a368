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
 *
 * A session carries who holds it, for the audit log: the name given at login ("Your name"),
 * or "dashboard (API token)" / "dashboard (password)" by the secret used. A page asked for
 * without a session sends the browser to `/login?next=<the page>`, and the login goes back
 * there (only to a path of this site: ./query.ts `localPath`).
 */
import { createHmac, randomBytes } from 'node:crypto';
import cookie from '@fastify/cookie';
import formbody from '@fastify/formbody';
import rateLimit from '@fastify/rate-limit';
import { sameSecret } from '../core/tokens.ts';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { actorName, localPath, loginBody, loginQuery } from './query.ts';
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

/** How a session was opened: with the API token or with the dashboard password. */
export type LoginMethod = 'token' | 'password';

/** The name a session goes by in the audit log when none was given at login. */
export function defaultActor(via: LoginMethod | undefined): string {
  return via === 'token' ? 'dashboard (API token)' : via === 'password' ? 'dashboard (password)' : 'dashboard';
}

/**
 * A session cookie's value before signing: its expiry (epoch ms), its id, and who holds it
 * (how they logged in and the name they gave, base64url). A value of the first two alone is
 * a session without a name (`dashboard`).
 */
export function sessionValue(expires: number, id: string, who?: { via: LoginMethod; name?: string | undefined }): string {
  if (!who) return `${expires}.${id}`;
  return `${expires}.${id}.${who.via === 'token' ? 't' : 'p'}.${Buffer.from(who.name ?? '', 'utf8').toString('base64url')}`;
}

interface Session {
  expires: number;
  id: string;
  /** Who the audit log names. */
  actor: string;
}

/** The expiry, id and holder of a session value, or undefined for anything else. */
function parseSession(value: string): Session | undefined {
  const match = /^(\d{1,15})\.([A-Za-z0-9_-]{22})(?:\.([tp])\.([A-Za-z0-9_-]{0,432}))?$/.exec(value);
  if (!match) return undefined;
  const via = match[3] === undefined ? undefined : match[3] === 't' ? 'token' : 'password';
  // Signed by this server, so the name was checked at login; checked again all the same.
  const name = actorName.safeParse(Buffer.from(match[4] ?? '', 'base64url').toString('utf8'));
  if (!name.success) return undefined;
  return { expires: Number(match[1]), id: match[2]!, actor: name.data ?? defaultActor(via) };
}

/** The live session of each request let through, for the routes behind the hook. */
const sessions = new WeakMap<FastifyRequest, Session>();

/**
 * Who holds the session of `request` (a route behind the session hook), as the audit log and
 * the experiment log name them.
 */
export function sessionActor(request: FastifyRequest): string {
  const session = sessions.get(request);
  if (!session) throw new Error('sessionActor: the request has no session (is the route behind the session hook?)');
  return session.actor;
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
  const open = app.withTypeProvider<ZodTypeProvider>();
  open.get('/login', { schema: { hide: true, querystring: loginQuery } }, async (request, reply) =>
    reply.type('text/html').send(loginPage({ next: request.query.next })),
  );
  const attempts = { rateLimit: { max: settings.loginsPerMinute ?? 10, timeWindow: 60_000 } };
  /** How `given` logs in: the API token, the password, or not at all. */
  const method = (given: string): LoginMethod | undefined =>
    sameSecret(given, settings.apiToken)
      ? 'token'
      : settings.password !== undefined && sameSecret(given, settings.password)
        ? 'password'
        : undefined;
  const login = { schema: { hide: true, body: loginBody }, config: attempts };
  open.post('/login', login, async (request, reply) => {
    const { secret: given = '', name: rawName, next } = request.body ?? {};
    const name = actorName.safeParse(rawName ?? '');
    if (!name.success) {
      const error = `Your name ${name.error.issues[0]?.message ?? 'is not valid'}.`;
      return reply.code(400).type('text/html').send(loginPage({ error, next }));
    }
    const via = given ? method(given) : undefined;
    if (!via) {
      return reply
        .code(401)
        .type('text/html')
        .send(loginPage({ error: 'That token or password is not right.', next, name: name.data }));
    }
    const expires = now() + settings.sessionHours * 3_600_000;
    const secure = settings.secureCookie ?? false;
    const cookieOptions = { signed: true, httpOnly: true, sameSite: 'lax', secure, path: '/', expires: new Date(expires) } as const;
    reply.setCookie(COOKIE, sessionValue(expires, randomBytes(16).toString('base64url'), { via, name: name.data }), cookieOptions);
    return reply.redirect(next ?? '/', 303);
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
    const session = await sessionOf(request);
    if (session) {
      sessions.set(request, session);
      return;
    }
    if (request.method === 'GET' && !request.url.startsWith('/dashboard/api')) {
      // Back to the page asked for after the login, when it is one of this site's.
      const next = request.url === '/' ? undefined : localPath(request.url);
      return reply.redirect(next ? `/login?next=${encodeURIComponent(next)}` : '/login', 303);
    }
    return reply.code(401).send({ statusCode: 401, error: 'Unauthorized', message: 'log in first' });
  };
}

/** Methods that change nothing: no origin check. */
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
