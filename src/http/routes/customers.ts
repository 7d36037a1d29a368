/**
 * Data-subject requests over the API, the same as `campaign customers export|erase ID`:
 * GET /api/customers/:id/export (everything stored about the customer) and
 * POST /api/customers/:id/erase (their personal data erased, every figure kept;
 * src/store/customer-data.ts). An erase of an already erased customer is 200 with
 * `status: "already-erased"`, so a retried request is harmless; an unknown id is 404.
 */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { storableText } from '../../core/records.ts';
import type { Db } from '../../db/client.ts';
import { customerExport, eraseCustomer } from '../../store/customer-data.ts';

const params = z.object({
  id: storableText(128).refine((s) => s.trim().length > 0, 'must not be empty'),
});

const notFound = z.object({ statusCode: z.literal(404), error: z.string(), message: z.string() });

const erased = z.object({
  customer: z.string(),
  status: z.enum(['erased', 'already-erased']),
  erasedAt: z.string(),
  /** What the address became; absent when nothing was done. */
  placeholder: z.string().optional(),
  messages: z.number().int().optional(),
  events: z.number().int().optional(),
  suppressions: z.number().int().optional(),
  outboxFacts: z.number().int().optional(),
});

/** Behind the API token (the caller's scope adds it). */
export async function customerRoutes(app: FastifyInstance, deps: { db: Db; now: () => Date }): Promise<void> {
  const api = app.withTypeProvider<ZodTypeProvider>();
  const missing = (id: string) => ({ statusCode: 404 as const, error: 'Not Found', message: `no customer "${id}"` });

  api.get(
    '/api/customers/:id/export',
    {
      schema: {
        summary:
          'Everything stored about a customer (a data-subject access request): the customer, orders with lines, refunds and ' +
          'attributions, enrollments, emails, events with IP and user agent, discount codes, suppressions. Times ISO 8601, money decimal strings',
        tags: ['customers'],
        params,
      },
    },
    async (request, reply) => {
      const data = await customerExport(deps.db, request.params.id);
      if (!data) return reply.code(404).send(missing(request.params.id));
      return data;
    },
  );

  api.post(
    '/api/customers/:id/erase',
    {
      schema: {
        summary:
          "Erase a customer's personal data (address, names, time zone, their events' IP and user agent). Orders, enrollments " +
          'and every report figure stay under a placeholder address; the address is kept only as a hash and never mailed again. ' +
          'Erasing twice answers 200 with status "already-erased"',
        tags: ['customers'],
        params,
        response: { 200: erased, 404: notFound },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      const result = await eraseCustomer(deps.db, id, deps.now());
      if (result.status === 'not-found') return reply.code(404).send(missing(id));
      if (result.status === 'already-erased') return { customer: id, status: result.status, erasedAt: result.erasedAt.toISOString() };
      const { customerId: _, erasedAt, ...done } = result;
      return { customer: id, ...done, erasedAt: erasedAt.toISOString() };
    },
  );
}
