/**
 * POST /api/products, /api/customers, /api/orders, /api/refunds, /api/cancellations: one
 * object or an array, stored all or nothing. A new order commits an `order.placed` outbox row with it; the relay is kicked
 * so the enrollment worker hears of it at once.
 */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { cancellationRecord, customerRecord, orderRecord, productRecord, refundRecord } from '../../core/records.ts';
import type { Db } from '../../db/client.ts';
import { ingestCancellations, ingestCustomers, ingestOrders, ingestProducts, ingestRefunds, type BatchResult } from '../../ingest/batch.ts';
import type { Relay } from '../../outbox/relay.ts';
import { oneOrMany, problemPath } from '../validation.ts';
import { RequestValidationError } from '../../errors.ts';

export const MAX_BATCH = 1_000;

const outcome = z.enum(['inserted', 'updated', 'unchanged']);
const response = z.object({
  inserted: z.number().int(),
  updated: z.number().int(),
  unchanged: z.number().int(),
  results: z.array(z.object({ key: z.string(), outcome })),
});
const errorBody = z.object({
  statusCode: z.number(),
  error: z.string(),
  message: z.string(),
  issues: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
});
const responses = { 200: response, 400: errorBody, 401: errorBody, 413: errorBody };

export interface IngestRouteDeps {
  db: Db;
  relay?: Relay | undefined;
}

/**
 * POST /api/products, /api/customers and /api/orders, behind the API token (the caller's
 * scope adds it). A batch with any invalid record is refused whole (400, every problem in
 * the request's own shape); otherwise each record's outcome is reported by its key.
 */
export async function ingestRoutes(app: FastifyInstance, deps: IngestRouteDeps): Promise<void> {
  const routes = app.withTypeProvider<ZodTypeProvider>();
  const asArray = <T>(body: T | T[]) => (Array.isArray(body) ? body : [body]);
  const reply = (result: BatchResult, bodyWasArray: boolean) => {
    if (!result.ok)
      throw new RequestValidationError(result.problems.map((p) => ({ path: problemPath(p.path, bodyWasArray), message: p.message })));
    if (result.ordersPlaced > 0) deps.relay?.kick();
    const count = (o: string) => result.outcomes.filter((r) => r.outcome === o).length;
    return { inserted: count('inserted'), updated: count('updated'), unchanged: count('unchanged'), results: result.outcomes };
  };

  routes.post(
    '/api/products',
    { schema: { summary: 'Upsert products by sku', tags: ['ingest'], body: oneOrMany(productRecord, MAX_BATCH), response: responses } },
    async (request) => reply(await ingestProducts(deps.db, asArray(request.body)), Array.isArray(request.body)),
  );
  routes.post(
    '/api/customers',
    {
      schema: {
        summary: 'Upsert customers by customer_id',
        tags: ['ingest'],
        body: oneOrMany(customerRecord, MAX_BATCH),
        response: responses,
      },
    },
    async (request) => reply(await ingestCustomers(deps.db, asArray(request.body)), Array.isArray(request.body)),
  );
  routes.post(
    '/api/orders',
    {
      schema: {
        summary: 'Upsert orders by order_id; a new order enrolls its customer in matching sequences',
        tags: ['ingest'],
        body: oneOrMany(orderRecord, MAX_BATCH),
        response: responses,
      },
    },
    async (request) => reply(await ingestOrders(deps.db, asArray(request.body)), Array.isArray(request.body)),
  );
  routes.post(
    '/api/refunds',
    {
      schema: {
        summary: 'Upsert refunds by refund_id; an amount left out or "all" refunds what the order has left',
        tags: ['ingest'],
        body: oneOrMany(refundRecord, MAX_BATCH),
        response: responses,
      },
    },
    async (request) => reply(await ingestRefunds(deps.db, asArray(request.body)), Array.isArray(request.body)),
  );
  routes.post(
    '/api/cancellations',
    {
      schema: {
        summary: 'Mark orders cancelled by order_id: they then count 0 in every revenue figure',
        tags: ['ingest'],
        body: oneOrMany(cancellationRecord, MAX_BATCH),
        response: responses,
      },
    },
    async (request) => reply(await ingestCancellations(deps.db, asArray(request.body)), Array.isArray(request.body)),
  );
}
