/**
 * GET /healthz and GET /metrics: the one health-and-metrics plugin, mounted by the API
 * server and, alone, by the worker process (`campaign work`), so both answer probes and
 * scrapes the same way.
 */
import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import type { Db } from '../../db/client.ts';
import { pingDatabase } from '../../store/health.ts';

export interface HealthDeps {
  db: Db;
  /** Redis, where the process uses it: anything that answers `ping()` (an ioredis client). */
  redis?: { ping(): Promise<unknown> } | undefined;
  /** The process's metrics; without a registry /metrics is not mounted. */
  metrics?: Registry | undefined;
}

/**
 * /healthz answers 200 `{ status: 'ok', database: 'ok', redis: 'ok' }` when every
 * dependency answers, else 503 with `status: 'degraded'` and `down` for each failing check,
 * so a load balancer stops routing to the process. Why a check failed is logged, never
 * answered: the endpoint is open to anyone, and a driver's message can name hosts, users
 * and versions. `redis` appears only where the process uses Redis. /metrics is
 * Prometheus's text format of `metrics`.
 */
export async function healthRoutes(app: FastifyInstance, deps: HealthDeps): Promise<void> {
  app.get('/healthz', { schema: { summary: 'Liveness and dependencies', tags: ['ops'] } }, async (request, reply) => {
    const outcome = (name: string, check: Promise<unknown>) =>
      check.then(
        () => 'ok' as const,
        (error: unknown) => {
          request.log.warn({ err: error, check: name }, `health check failed: ${name}`);
          return 'down' as const;
        },
      );
    const checks: Record<string, 'ok' | 'down'> = {};
    checks.database = await outcome('database', pingDatabase(deps.db));
    if (deps.redis) checks.redis = await outcome('redis', deps.redis.ping());
    const healthy = Object.values(checks).every((v) => v === 'ok');
    return reply.code(healthy ? 200 : 503).send({ status: healthy ? 'ok' : 'degraded', ...checks });
  });
  const registry = deps.metrics;
  if (registry)
    app.get('/metrics', { schema: { summary: 'Prometheus metrics', tags: ['ops'] } }, async (_request, reply) =>
      reply.type(registry.contentType).send(await registry.metrics()),
    );
}
