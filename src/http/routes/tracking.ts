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
import { sql } from 'drizzle-orm';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { LRUCache } from 'lru-cache';
import { classify } from '../../core/classify.ts';
import type { Clock } from '../../core/clock.ts';
import { verifyToken } from '../../core/tokens.ts';
import { queryRows, type Db } from '../../db/client.ts';
import type { EventSink } from '../../tracking/events.ts';

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

interface MessageRow {
  id: number;
  customer_id: number;
  sent_at: Date | null;
  links: string[];
  sequence_id: string;
  arm: string;
  step: number;
}

/**
 * A sent message's row never changes (what the tracking reads of it), so the rows of recent
 * messages are kept in memory: an open or click then costs no query of its own.
 */
function messageFinder(db: Db): (id: number) => Promise<MessageRow | undefined> {
  const sent = new LRUCache<number, MessageRow>({ max: 50_000 });
  return async (id) => {
    const cached = sent.get(id);
    if (cached) return cached;
    const [row] = await queryRows<MessageRow>(
      db,
      sql`select m.id, m.customer_id, m.sent_at, m.links, e.sequence_id, e.arm, m.step
          from messages m join enrollments e on e.id = m.enrollment_id where m.id = ${id}`,
    );
    if (row?.sent_at) sent.set(id, row);
    return row;
  };
}

/** The destination with UTM parameters added (those the shop already set are kept). */
function withUtm(destination: string, message: Pick<MessageRow, 'sequence_id' | 'arm' | 'step'>): string {
  const url = new URL(destination);
  const set = (key: string, value: string) => url.searchParams.has(key) || url.searchParams.set(key, value);
  set('utm_source', 'post-purchase');
  set('utm_medium', 'email');
  set('utm_campaign', message.sequence_id);
  set('utm_content', `${message.arm}-step${message.step + 1}`);
  return url.toString();
}

export async function trackingRoutes(app: FastifyInstance, deps: TrackingDeps): Promise<void> {
  const findMessage = messageFinder(deps.db);
  const lifetimeMs = (deps.linkLifetimeDays ?? 365) * 86_400_000;
  const expired = (message: MessageRow, at: Date) => message.sent_at !== null && at.getTime() - new Date(message.sent_at).getTime() > lifetimeMs;
  /**
   * Classifies an open or click and stores it; acknowledged once stored. A failure to
   * store is logged, never shown: the recipient still gets the pixel or the redirect.
   */
  const track = async (request: FastifyRequest, type: 'open' | 'click', message: MessageRow, at: Date, linkIndex: number | null) => {
    const userAgent = request.headers['user-agent'] ?? '';
    const verdict = classify({ type, userAgent, ip: request.ip, method: request.method, sentAt: message.sent_at && new Date(message.sent_at), at });
    await deps.events
      .record({ messageId: message.id, customerId: message.customer_id, type, isHuman: verdict.isHuman, machineReason: verdict.reason, linkIndex, userAgent, ip: request.ip, occurredAt: at })
      .catch((error: unknown) => request.log.error({ err: error }, `${type} not stored`));
  };

  app.get<{ Params: { file: string } }>('/t/o/:file', { schema: { hide: true } }, async (request, reply) => {
    reply.header('cache-control', 'no-store, no-cache, must-revalidate, private').header('pragma', 'no-cache').type('image/gif');
    const payload = verifyToken(request.params.file.replace(/\.gif$/, ''), deps.secret);
    const message = payload?.kind === 'message' ? await findMessage(payload.message).catch(() => undefined) : undefined;
    const at = deps.clock.now();
    if (message && !expired(message, at)) await track(request, 'open', message, at, null);
    return reply.send(PIXEL_GIF);
  });

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

  // One-click unsubscribe posts "List-Unsubscribe=One-Click" as a form.
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) => done(null, body));

  const unsubscribeTarget = async (token: string) => {
    const payload = verifyToken(token, deps.secret);
    if (payload?.kind !== 'unsubscribe') return undefined;
    const [customer] = await queryRows<{ id: number; email: string; unsubscribed_at: Date | null }>(
      deps.db,
      sql`select c.id, c.email, c.unsubscribed_at from customers c where c.id = ${payload.customer ?? -1}`,
    );
    // A token made for a test send (message 0) names no message; others must match their message's customer.
    if (!customer) return undefined;
    if (payload.message !== 0) {
      const message = await findMessage(payload.message);
      if (!message || message.customer_id !== customer.id) return undefined;
    }
    return { customer, messageId: payload.message || null };
  };

  app.get<{ Params: { token: string } }>('/u/:token', { schema: { hide: true } }, async (request, reply) => {
    const target = await unsubscribeTarget(request.params.token);
    if (!target) return reply.code(404).type('text/html').send(page('This link is not valid', '<p>This unsubscribe link is not valid. If you keep getting emails, reply to one and ask us to stop.</p>'));
    if (target.customer.unsubscribed_at) return reply.type('text/html').send(page('You are unsubscribed', '<p>You will not receive these emails again.</p>'));
    return reply
      .type('text/html')
      .send(page('Unsubscribe?', `<p>Stop the emails that follow your orders at this address?</p><form method="post"><button type="submit">Unsubscribe</button></form>`));
  });

  app.post<{ Params: { token: string } }>('/u/:token', { schema: { hide: true } }, async (request, reply) => {
    const target = await unsubscribeTarget(request.params.token);
    if (!target) return reply.code(404).type('text/plain').send('This link is not valid.');
    await deps.db.transaction(async (tx) => {
      await tx.execute(sql`update customers set unsubscribed_at = coalesce(unsubscribed_at, now()), updated_at = now() where id = ${target.customer.id}`);
      await tx.execute(sql`insert into suppressions (email, reason, source) values (lower(${target.customer.email}), 'unsubscribe', 'link')
                           on conflict (email) do nothing`);
      await tx.execute(sql`insert into events (message_id, customer_id, type, is_human, occurred_at, user_agent, ip)
                           values (${target.messageId}, ${target.customer.id}, 'unsubscribe', true, ${deps.clock.now().toISOString()}, ${request.headers['user-agent'] ?? null}, ${request.ip})`);
    });
    return reply.type('text/html').send(page('You are unsubscribed', '<p>You will not receive these emails again.</p>'));
  });
}

function page(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>${title}</title>
<style>body{font-family:Helvetica,Arial,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;color:#1f2933}button{background:#1f6f5c;color:#fff;border:0;border-radius:6px;padding:.8rem 1.4rem;font-size:1rem}</style>
</head><body><h1>${title}</h1>${body}</body></html>`;
}
