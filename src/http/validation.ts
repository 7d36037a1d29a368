/**
 * Request validation with the zod schemas of src/core, and the one error handler: 4xx
 * errors say what was wrong and where; 5xx errors are logged and answered without detail.
 */
import type { FastifyError, FastifyInstance, FastifySchemaCompiler } from 'fastify';
import { z } from 'zod';
import { describeIssue, formatPath } from '../core/records.ts';
import { RequestValidationError } from '../errors.ts';

/** Accepts one object or an array of up to `max` of them. */
export function oneOrMany<T extends z.ZodType>(record: T, max: number) {
  return z.union([record, z.array(record).min(1, 'must hold at least one item').max(max, `must hold at most ${max} items`)]);
}

/** A body that is neither an object nor an array: no field is at fault, the whole body is. */
const ONE_OR_MANY: z.core.$ZodIssue = {
  code: 'custom',
  path: [],
  message: 'the body must be a JSON object, or an array of them',
  input: undefined,
};

/**
 * Validates with zod. Issue messages show the value at fault in a bounded preview, so a
 * body nested thousands deep is a 400 like any other (see `describeIssue`). For a one-or-many body the failing branch is chosen by the shape of
 * the input, so the issues speak of that shape (`[3].price`, or `price` for one object).
 */
export const validatorCompiler: FastifySchemaCompiler<z.ZodType> =
  ({ schema }) =>
  (data) => {
    let target: z.ZodType = schema;
    if (schema instanceof z.ZodUnion) {
      const [one, many] = schema.options as [z.ZodType, z.ZodType];
      if (data === null || typeof data !== 'object') return { error: new RequestValidationError([describeIssue(ONE_OR_MANY, data)]) };
      target = Array.isArray(data) ? many : one;
    }
    const result = target.safeParse(data);
    if (result.success) return { value: result.data };
    const issues = result.error.issues.map((issue) => describeIssue(issue, data));
    return { error: new RequestValidationError(issues) };
  };

/** Maps a problem path (`[0, 'items', 1, 'sku']`) to the request's own shape. */
export function problemPath(path: (string | number)[], bodyWasArray: boolean): string {
  return formatPath(bodyWasArray ? path : path.slice(1));
}

/**
 * Installs the app's one error handler (on the root, before any plugin, so every scope
 * inherits it). A request's own mistake (4xx) is answered with what was wrong and where;
 * a failure of ours (5xx) is logged with its detail and answered without it, so no SQL,
 * stack or connection string ever reaches a client.
 */
export function installErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError | RequestValidationError, request, reply) => {
    if (error instanceof RequestValidationError) {
      return reply.code(400).send({ statusCode: 400, error: 'Bad Request', message: error.message, issues: error.issues });
    }
    const status = error.statusCode ?? 500;
    if (status >= 500) {
      request.log.error({ err: error }, 'request failed');
      return reply
        .code(status)
        .send({ statusCode: status, error: 'Internal Server Error', message: 'Something went wrong on our side; it has been logged.' });
    }
    return reply.code(status).send({ statusCode: status, error: error.code ?? 'Error', message: error.message });
  });
}
