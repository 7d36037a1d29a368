/**
 * GET /api/reports/sequences/:id/recommendations: the recommendation performance of a
 * sequence's live version (src/analytics/recommendations.ts), per arm, by strategy and by
 * product: the same rows and figures as the sequence page's tables and their CSV exports,
 * money in the currency (two decimals) instead of cents.
 */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { DEFAULT_TOP_PRODUCTS, recommendationPerformance, type RecFigures } from '../../analytics/recommendations.ts';
import { liveDefinition } from '../../analytics/series.ts';
import { isoTime } from '../../core/records.ts';
import type { Db } from '../../db/client.ts';

const query = z
  .object({
    as_of: isoTime.optional(),
    enrolled_from: isoTime.optional(),
    top: z.coerce.number().int().min(1).max(1000).optional(),
  })
  .strict();

/** A row's money in the currency instead of cents; every other field as it is. */
function inCurrency<Row extends RecFigures>(row: Row): Omit<Row, 'revenueCents'> & { revenue: number } {
  const { revenueCents, ...rest } = row;
  return { ...rest, revenue: revenueCents / 100 };
}

/**
 * Behind the API token (the caller's scope adds it). As of `as_of` (default: the engine's
 * clock), over customers enrolled from `enrolled_from`, the first `top` products per arm
 * (default 20) listed one by one; 404 for a sequence with no live version.
 */
export async function recommendationRoutes(app: FastifyInstance, deps: { db: Db; now: () => Date }): Promise<void> {
  const api = app.withTypeProvider<ZodTypeProvider>();
  api.get(
    '/api/reports/sequences/:id/recommendations',
    {
      schema: {
        summary: "Recommendation performance of a sequence's live version, per arm, by strategy and by product",
        tags: ['reports'],
        params: z.object({ id: z.string().min(1).max(200) }),
        querystring: query,
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      const live = await liveDefinition(deps.db, id);
      if (!live) return reply.code(404).send({ statusCode: 404, error: 'Not Found', message: `no sequence "${id}"` });
      const asOf = request.query.as_of ? new Date(request.query.as_of) : deps.now();
      const from = request.query.enrolled_from ? new Date(request.query.enrolled_from) : undefined;
      const tables = await recommendationPerformance(deps.db, live.versionId, live.definition, {
        asOf,
        from,
        top: request.query.top ?? DEFAULT_TOP_PRODUCTS,
      });
      return {
        asOf: asOf.toISOString(),
        enrolledFrom: from?.toISOString() ?? null,
        sequence: id,
        versionId: live.versionId,
        top: tables.top,
        arms: tables.arms,
        byStrategy: tables.byStrategy.map(inCurrency),
        byProduct: tables.byProduct.map(inCurrency),
      };
    },
  );
}
