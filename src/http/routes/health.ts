/** GET /healthz: 200 when the database (and Redis, where used) answer, else 503. */
import { sql } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import type { Db } from '../../db/client.ts';

export async function healthRoutes(app: FastifyInstance, deps: { db: Db; redis?: Redis | undefined }): Promise<void> {
  app.get('/healthz', { schema: { summary: 'Liveness and dependencies', tags: ['ops'] } }, async (_request, reply) => {
    const checks: Record<string, string> = {};
    checks.database = await deps.db.execute(sql`select 1`).then(
      () => 'ok',
      (error: Error) => `down: ${error.message}`,
    );
    if (deps.redis)
      checks.redis = await deps.redis.ping().then(
        () => 'ok',
        (error: Error) => `down: ${error.message}`,
      );
    const healthy = Object.values(checks).every((v) => v === 'ok');
    return reply.code(healthy ? 200 : 503).send({ status: healthy ? 'ok' : 'degraded', ...checks });
  });
}
