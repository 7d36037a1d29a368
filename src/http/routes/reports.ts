/**
 * GET /api/reports/sequences and /api/reports/sequences/:id: the report of
 * src/analytics/report.ts as JSON, the same numbers as `campaign report --json`.
 */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { buildReport } from '../../analytics/report.ts';
import { sequenceExists } from '../../analytics/sequences.ts';
import type { AttributionModel } from '../../core/attribution.ts';
import { effectText, isoTime, percentileText, storableText } from '../../core/records.ts';
import type { Db } from '../../db/client.ts';

export interface ReportDeps {
  db: Db;
  attribution: AttributionModel;
  minSample: number;
  /** SHOP_DEFAULT_MARGIN, the margin in percent assumed for products without a cost. */
  defaultMarginPercent?: number | undefined;
  now: () => Date;
}

const query = z
  .object({
    as_of: isoTime.optional(),
    enrolled_from: isoTime.optional(),
    mde: effectText.optional(),
    winsorize: percentileText.optional(),
    repeat_days: z.coerce.number().int().min(1).max(3650).optional(),
    /** A customer attribute to break the comparisons down by, beside buyer and segment. */
    by_attribute: storableText(100)
      .refine((s) => s.trim().length > 0, 'must name an attribute')
      .optional(),
  })
  .strict();

/**
 * GET /api/reports/sequences[/:id], behind the API token (the caller's scope adds it). The
 * report is as of `as_of` (default: the engine's clock, so a scaled or stopped clock
 * reports what it shows) and counts enrollments from `enrolled_from` when given.
 */
export async function reportRoutes(app: FastifyInstance, deps: ReportDeps): Promise<void> {
  const api = app.withTypeProvider<ZodTypeProvider>();
  const report = (q: z.infer<typeof query>, sequenceId?: string) =>
    buildReport(deps.db, {
      asOf: q.as_of ? new Date(q.as_of) : deps.now(),
      attribution: deps.attribution,
      minSample: deps.minSample,
      defaultMarginPercent: deps.defaultMarginPercent,
      sequenceId,
      enrolledFrom: q.enrolled_from ? new Date(q.enrolled_from) : undefined,
      detect: q.mde,
      winsorize: q.winsorize,
      repeatHorizonDays: q.repeat_days,
      breakdownAttribute: q.by_attribute,
    });

  api.get(
    '/api/reports/sequences',
    {
      schema: { summary: 'The report of every sequence: funnels, measured revenue and comparisons', tags: ['reports'], querystring: query },
    },
    async (request) => report(request.query),
  );

  api.get(
    '/api/reports/sequences/:id',
    {
      schema: {
        summary: "One sequence's report",
        tags: ['reports'],
        params: z.object({ id: z.string().min(1).max(200) }),
        querystring: query,
      },
    },
    async (request, reply) => {
      if (!(await sequenceExists(deps.db, request.params.id)))
        return reply.code(404).send({ statusCode: 404, error: 'Not Found', message: `no sequence "${request.params.id}"` });
      const { sequences, ...header } = await report(request.query, request.params.id);
      return { ...header, sequence: sequences[0] };
    },
  );
}
