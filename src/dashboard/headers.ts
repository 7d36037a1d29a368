/**
 * The security headers of every dashboard answer. The dashboard serves everything itself
 * (Chart.js and its chart script included, no CDN), so its Content-Security-Policy allows
 * only its own origin for scripts, connections, fonts, frames and forms, and no framing by
 * anyone. Styles may be inline: the page's fixed stylesheet and a few `style` attributes,
 * and the emails the preview and inbox show (mail HTML is inline styles). Images may come
 * from any https address: an email's product images, shown in the preview's sandboxed
 * frames (which inherit this policy).
 *
 * Pages behind the login show customers' names, addresses and emails, so nothing of the
 * dashboard is stored by a browser or a proxy (`no-store`), except answers that set their
 * own caching (the chart scripts).
 */
import type { FastifyInstance } from 'fastify';

export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: https:",
  "font-src 'self'",
  "connect-src 'self'",
  "frame-src 'self'",
  "frame-ancestors 'none'",
  "form-action 'self'",
  // Bull Board's page sets <base href="/admin/queues/">.
  "base-uri 'self'",
  "object-src 'none'",
].join('; ');

/** Adds the headers to every answer of `scope` (the dashboard's plugin). */
export function securityHeaders(scope: FastifyInstance): void {
  scope.addHook('onSend', async (_request, reply, payload) => {
    reply
      .header('content-security-policy', CONTENT_SECURITY_POLICY)
      .header('x-frame-options', 'DENY')
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'same-origin');
    if (!reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
    return payload;
  });
}
