/**
 * How the dashboard's own routes answer a problem the person can fix: in plain text, as
 * they always have (a browser shows it as is). @fastify/sensible's errors (`reply.notFound()`,
 * `reply.conflict()`...) and failed request schemas are answered here; everything else goes
 * on to the server's error handler, which logs a 5xx and hides its detail.
 */
import sensible from '@fastify/sensible';
import type { FastifyError, FastifyInstance } from 'fastify';
import { RequestValidationError } from '../errors.ts';

/** An error that says itself what the client did wrong: an http-errors 4xx or a failed schema. */
function isClientError(error: unknown): error is { statusCode: number; message: string } {
  if (error instanceof RequestValidationError) return true;
  const e = error as Partial<FastifyError> & { expose?: unknown };
  return typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500 && e.expose === true;
}

/**
 * Registers @fastify/sensible in `scope` (unless an enclosing scope already did: it decorates
 * the reply, and a decorator cannot be added twice) and the plain-text error answers.
 */
export async function installErrorReplies(scope: FastifyInstance): Promise<void> {
  if (!scope.hasReplyDecorator('notFound')) await scope.register(sensible);
  scope.setErrorHandler((error, _request, reply) => {
    if (!isClientError(error)) throw error;
    return reply.code(error.statusCode).type('text/plain').send(error.message);
  });
}
