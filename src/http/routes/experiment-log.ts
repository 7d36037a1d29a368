/**
 * GET /api/sequences/:id/log: a sequence's experiment log (src/store/experiment-log.ts),
 * newest first, the same rows as `campaign sequences log ID --json`.
 */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { sequenceExists } from '../../analytics/sequences.ts';
import type { Db } from '../../db/client.ts';
import { listDecisions } from '../../store/experiment-log.ts';

/** Behind the API token (the caller's scope adds it); 404 for a sequence never applied. */
export async function experimentLogRoutes(app: FastifyInstance, deps: { db: Db }): Promise<void> {
  const api = app.withTypeProvider<ZodTypeProvider>();
  api.get(
    '/api/sequences/:id/log',
    {
      schema: {
        summary: "A sequence's experiment log, newest first: what was tested, the decision, forced or not, by whom, the evidence",
        tags: ['sequences'],
        params: z.object({ id: z.string().min(1).max(200) }),
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      if (!(await sequenceExists(deps.db, id)))
        return reply.code(404).send({ statusCode: 404, error: 'Not Found', message: `no sequence "${id}"` });
      return { sequence: id, decisions: await listDecisions(deps.db, id) };
    },
  );
}
