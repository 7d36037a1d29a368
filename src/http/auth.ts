/**
 * Bearer-token authentication for the `/api` routes. Compared in constant time so the
 * token cannot be guessed byte by byte from response times.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';

const digest = (value: string) => createHash('sha256').update(value).digest();

/** True when `given` is `secret`, compared in constant time whatever their lengths. */
export function sameSecret(given: string, secret: string): boolean {
  return timingSafeEqual(digest(given), digest(secret));
}

/** True when `header` is `Bearer <token>` with the expected token. */
export function bearerMatches(header: string | undefined, token: string): boolean {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return match !== null && sameSecret(match[1]!, token);
}

/** An onRequest hook answering 401 unless the request carries the API token. */
export function requireApiToken(token: string) {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    if (bearerMatches(request.headers.authorization, token)) return;
    await reply
      .code(401)
      .header('www-authenticate', 'Bearer realm="campaign-api"')
      .send({ statusCode: 401, error: 'Unauthorized', message: 'Send "Authorization: Bearer <API_TOKEN>".' });
  };
}
