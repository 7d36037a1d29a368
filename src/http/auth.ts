/**
 * Bearer-token authentication for the `/api` routes. Compared in constant time so the
 * token cannot be guessed byte by byte from response times.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { sameSecret } from '../core/tokens.ts';

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
