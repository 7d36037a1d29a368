/**
 * The open pixel with durable storage (token check, message lookup, classification, the
 * event stored by group commit before the answer) beside a bare Fastify route answering
 * the same GIF with the same headers, both under the same load from autocannon, in one run.
 */
import autocannon from 'autocannon';
import { sql } from 'drizzle-orm';
import Fastify from 'fastify';
import type { FastifyInstance } from 'fastify';
import { scaledClock } from '../src/core/clock.ts';
import { signToken } from '../src/core/tokens.ts';
import { queryRows } from '../src/db/client.ts';
import { PIXEL_GIF } from '../src/http/routes/tracking.ts';
import { buildServer } from '../src/http/app.ts';
import { createEventSink } from '../src/tracking/events.ts';
import { freshDatabase } from '../tests/helpers/db.ts';
import { prepareShop } from '../tests/helpers/engine.ts';
import { Rows } from '../tests/helpers/rows.ts';
import type { Benchmark } from './harness.ts';

const TARGET = 0.5;
const SECRET = 'bench-secret-bench-secret-bench-secret';
const BROWSER = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15';
const SEQUENCE = `
id: pixel
name: Pixel
trigger: { event: order_placed }
variants: [{ key: only, weight: 1 }]
steps: [{ delay: 1h, template: thank-you }]
`;

async function load(app: FastifyInstance, path: string, seconds: number): Promise<number> {
  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  try {
    const result = await autocannon({
      url: address + path,
      connections: 64,
      pipelining: 1,
      duration: seconds,
      workers: 1,
      headers: { 'user-agent': BROWSER },
    });
    if (result.non2xx > 0 || result.errors > 0) throw new Error(`pixel bench: ${result.non2xx} non-2xx answers, ${result.errors} errors`);
    return result.requests.average;
  } finally {
    await app.close();
  }
}

export const pixelBenchmark: Benchmark = {
  name: 'pixel',
  async run({ quick }) {
    const seconds = quick ? 3 : 6;
    const database = await freshDatabase('postgres', { poolSize: 10 });
    try {
      await prepareShop(database.db, SEQUENCE);
      const rows = new Rows(database.db);
      const [customer] = await rows.customers(1);
      const [order] = await rows.orders([{ customer: customer!, at: new Date().toISOString(), total: 10 }]);
      const [version] = await queryRows<{ id: number }>(database.db, sql`select id from sequence_versions limit 1`);
      const [enrollment] = await rows.enrollments([
        {
          customer: customer!,
          sequence: 'pixel',
          version: version!.id,
          arm: 'only',
          trigger: order!,
          at: new Date().toISOString(),
          preSpend: 0,
        },
      ]);
      // Sent an hour ago, so the opens count as human and every request stores one.
      const message = await rows.message(enrollment!, customer!, 0, new Date(Date.now() - 3_600_000).toISOString());
      const path = `/t/o/${signToken({ kind: 'message', message }, SECRET)}.gif`;

      const bare = () => {
        const app = Fastify();
        app.get('/t/o/:file', async (_request, reply) =>
          reply
            .header('cache-control', 'no-store, no-cache, must-revalidate, private')
            .header('pragma', 'no-cache')
            .type('image/gif')
            .send(PIXEL_GIF),
        );
        return app;
      };
      const durable = async () => {
        const events = createEventSink(database.db);
        const app = await buildServer({
          db: database.db,
          apiToken: 'bench-token',
          bodyLimitBytes: 1 << 20,
          tracking: { secret: SECRET, clock: scaledClock(1), events },
        });
        app.addHook('onClose', () => events.close());
        return app;
      };
      // Alternate the two, three times each, and keep each one's better run.
      const figures = { bare: 0, durable: 0 };
      for (let round = 0; round < 3; round++) {
        figures.bare = Math.max(figures.bare, await load(bare(), path, seconds));
        figures.durable = Math.max(figures.durable, await load(await durable(), path, seconds));
      }
      const [{ n: stored } = { n: 0 }] = await queryRows<{ n: number }>(
        database.db,
        sql`select count(*)::int as n from events where type = 'open'`,
      );
      const ratio = figures.durable / figures.bare;
      return [
        {
          name: 'open pixel, durable',
          unit: 'req/s',
          value: figures.durable,
          baselineName: 'bare Fastify GIF route',
          baseline: figures.bare,
          ratio,
          target: `≥ ${TARGET}`,
          met: ratio >= TARGET,
          notes: `${stored.toLocaleString('en')} opens stored; autocannon in a worker thread, 64 connections, ${seconds} s per run, best of 3`,
        },
      ];
    } finally {
      await database.drop();
    }
  },
};
