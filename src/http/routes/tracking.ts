/**
 * Tracking endpoints. They never fail the recipient: the pixel always answers with a GIF
 * (no-store, whatever the token); a click redirects only to the destination stored with
 * that link of that message (never to a URL taken from the request), and an unknown or
 * tampered token gets 404; unsubscribing works at once, by GET-then-POST or by the RFC 8058
 * one-click POST, and any number of times. Events are stored before the answer.
 *
 * Open and click links expire `linkLifetimeDays` after their message was sent: an expired
 * pixel still answers with the GIF but stores nothing, and an expired click goes to the
 * shop's home page (a configured address, never one from the request) rather than a
 * product page that may be long gone, and stores nothing. Unsubscribe links never expire.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { classify } from '../../core/classify.ts';
import type { Clock } from '../../core/clock.ts';
import { verifyToken } from '../../core/tokens.ts';
import type { Db } from '../../db/client.ts';
import { storeUnsubscribe } from '../../store/events.ts';
import { findUnsubscribeTarget } from '../../store/tracking.ts';
import type { EventSink } from '../../tracking/events.ts';
import { linkExpired, withUtm } from '../../tracking/links.ts';
import { messageCache, type TrackedMessage } from '../../tracking/messages.ts';

export interface TrackingDeps {
  db: Db;
  secret: string;
  clock: Clock;
  events: EventSink;
  /** Days after sending that open and click links count; default 365. */
  linkLifetimeDays?: number | undefined;
  /** Where an expired click goes: the shop's home page. */
  expiredLinkUrl?: string | undefined;
}

/** The open pixel: a transparent 1×1 GIF. */
export const PIXEL_GIF = Buffer.from('R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7', 'base64');

/** Where the open pixel lives: `${PIXEL_PREFIX}/<token>.gif`. */
export const PIXEL_PREFIX = '/t/o';

/** True when `url` (path and query, as received) is under the pixel's prefix. */
export function isPixelUrl(url: string): boolean {
  const path = url.split('?', 1)[0]!.replace(/\/{2,}/g, '/');
  return path === PIXEL_PREFIX || path.startsWith(`${PIXEL_PREFIX}/`);
}

/**
 * The token of a pixel URL `/t/o/<token>.gif`, or undefined for anything else (no `.gif`,
 * more segments, characters no token has). Read from the raw URL, so nothing about it
 * depends on how the router decoded it; a token is base64url and a dot, never escaped.
 */
function pixelToken(url: string): string | undefined {
  const path = url.split('?', 1)[0]!.replace(/\/{2,}/g, '/');
  const match = /^\/t\/o\/([A-Za-z0-9_-]{1,200}\.[A-Za-z0-9_-]{1,200})\.gif$/.exec(path);
  return match?.[1];
}

/** Answers the pixel: the GIF, never cached, whatever was asked. */
export function sendPixel(reply: FastifyReply): FastifyReply {
  return reply
    .code(200)
    .header('cache-control', 'no-store, no-cache, must-revalidate, private')
    .header('pragma', 'no-cache')
    .type('image/gif')
    .send(PIXEL_GIF);
}

/**
 * The tracking plugin: GET /t/o/<token>.gif (the pixel, and the GIF for anything else under
 * /t/o), GET /t/c/:token/:index (a click) and GET and POST /u/:token (unsubscribe).
 * Registered in a scope of its own: the body parsers it adds for one-click unsubscribe must
 * not apply to any other route.
 */
export async function trackingRoutes(app: FastifyInstance, deps: TrackingDeps): Promise<void> {
  const findMessage = messageCache(deps.db);
  const lifetimeMs = (deps.linkLifetimeDays ?? 365) * 86_400_000;
  const expired = (message: TrackedMessage, at: Date) => linkExpired(message, at, lifetimeMs);
  /**
   * Classifies an open or click and stores it; acknowledged once stored. A failure to
   * store is logged, never shown: the recipient still gets the pixel or the redirect.
   */
  const track = async (request: FastifyRequest, type: 'open' | 'click', message: TrackedMessage, at: Date, linkIndex: number | null) => {
    const userAgent = request.headers['user-agent'] ?? '';
    const verdict = classify({ type, userAgent, ip: request.ip, method: request.method, sentAt: message.sentAt, at });
    await deps.events
      .record({
        messageId: message.id,
        customerId: message.customerId,
        type,
        isHuman: verdict.isHuman,
        machineReason: verdict.reason,
        linkIndex,
        userAgent,
        ip: request.ip,
        occurredAt: at,
      })
      .catch((error: unknown) => request.log.error({ err: error }, `${type} not stored`));
  };

  // Every path under the pixel's prefix is the pixel: a wildcard (no parameter length
  // limit, slashes included) and the bare prefix. A URL that cannot even be decoded gets the
  // GIF too, from the server's framework-error handler ({@link isPixelUrl}).
  const pixel = async (request: FastifyRequest, reply: FastifyReply) => {
    const token = pixelToken(request.url);
    const payload = token === undefined ? undefined : verifyToken(token, deps.secret);
    const message = payload?.kind === 'message' ? await findMessage(payload.message).catch(() => undefined) : undefined;
    const at = deps.clock.now();
    if (message && !expired(message, at)) await track(request, 'open', message, at, null);
    return sendPixel(reply);
  };
  // The usual `/t/o/<token>.gif` takes the router's parameter path, the fastest it has.
  app.get(`${PIXEL_PREFIX}/:file`, { schema: { hide: true } }, pixel);
  app.get(`${PIXEL_PREFIX}/*`, { schema: { hide: true } }, pixel);
  app.get(PIXEL_PREFIX, { schema: { hide: true } }, pixel);

  app.get<{ Params: { token: string; index: string } }>('/t/c/:token/:index', { schema: { hide: true } }, async (request, reply) => {
    const payload = verifyToken(request.params.token, deps.secret);
    const index = /^\d{1,4}$/.test(request.params.index) ? Number(request.params.index) : -1;
    const message = payload?.kind === 'message' ? await findMessage(payload.message) : undefined;
    const destination = message?.links[index];
    if (!message || !destination) return reply.code(404).type('text/plain').send('This link is not valid.');
    const at = deps.clock.now();
    if (expired(message, at)) {
      if (deps.expiredLinkUrl) return reply.header('cache-control', 'no-store').redirect(deps.expiredLinkUrl, 302);
      return reply.code(410).type('text/plain').send('This link has expired.');
    }
    await track(request, 'click', message, at, index);
    return reply.header('cache-control', 'no-store').redirect(withUtm(destination, message), 302);
  });

  // RFC 8058 one-click unsubscribe posts "List-Unsubscribe=One-Click", as
  // application/x-www-form-urlencoded or multipart/form-data (the RFC allows both, and mail
  // providers use both), or with no body at all. The token in the URL is what authorises;
  // the body says nothing the route needs, so both parsers read it (within the body limit)
  // and keep nothing of it. Scoped to this plugin: no other route accepts these types.
  const ignoreBody = (_request: FastifyRequest, _body: string, done: (error: null, body: undefined) => void) => done(null, undefined);
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, ignoreBody);
  app.addContentTypeParser('multipart/form-data', { parseAs: 'string' }, ignoreBody);

  const unsubscribeTarget = async (token: string) => {
    const payload = verifyToken(token, deps.secret);
    if (payload?.kind !== 'unsubscribe') return undefined;
    const customer = await findUnsubscribeTarget(deps.db, payload.customer ?? -1);
    // A token made for a test send (message 0) names no message; others must match their message's customer.
    if (!customer) return undefined;
    if (payload.message !== 0) {
      const message = await findMessage(payload.message);
      if (!message || message.customerId !== customer.id) return undefined;
    }
    return { customer, messageId: payload.message || null };
  };

  app.get<{ Params: { token: string } }>('/u/:token', { schema: { hide: true } }, async (request, reply) => {
    const target = await unsubscribeTarget(request.params.token);
    if (!target)
      return reply
        .code(404)
        .type('text/html')
        .send(
          page(
            'This link is not valid',
            '<p>This unsubscribe link is not valid. If you keep getting emails, reply to one and ask us to stop.</p>',
          ),
        );
    if (target.customer.unsubscribedAt)
      return reply.type('text/html').send(page('You are unsubscribed', '<p>You will not receive these emails again.</p>'));
    return reply
      .type('text/html')
      .send(
        page(
          'Unsubscribe?',
          `<p>Stop the emails that follow your orders at this address?</p><form method="post"><button type="submit">Unsubscribe</button></form>`,
        ),
      );
  });

  app.post<{ Params: { token: string } }>('/u/:token', { schema: { hide: true } }, async (request, reply) => {
    const target = await unsubscribeTarget(request.params.token);
    if (!target) return reply.code(404).type('text/plain').send('This link is not valid.');
    await storeUnsubscribe(deps.db, target.customer, {
      messageId: target.messageId,
      userAgent: request.headers['user-agent'] ?? null,
      ip: request.ip,
      occurredAt: deps.clock.now(),
    });
    return reply.type('text/html').send(page('You are unsubscribed', '<p>You will not receive these emails again.</p>'));
  });
}

function page(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>${title}</title>
<style>body{font-family:Helvetica,Arial,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;color:#1f2933}button{background:#1f6f5c;color:#fff;border:0;border-radius:6px;padding:.8rem 1.4rem;font-size:1rem}</style>
</head><body><h1>${title}</h1>${body}</body></html>`;
}
