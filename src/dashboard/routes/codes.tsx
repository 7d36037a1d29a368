/** The Discount codes page (`/codes`): each code pool's counts, as `campaign codes list` and `GET /api/code-pools` give them. */
import type { FastifyInstance } from 'fastify';
import { DEFAULT_CODE_POOL_LOW } from '../../core/discount.ts';
import { poolSummaries } from '../../store/discount-codes.ts';
import { renderPage } from '../views/layout.tsx';
import { CodesPage } from '../views/codes.tsx';
import type { PageDeps } from './deps.ts';

export async function codesPages(app: FastifyInstance, deps: PageDeps): Promise<void> {
  const lowWater = deps.codePoolLow ?? DEFAULT_CODE_POOL_LOW;
  app.get('/codes', { schema: { hide: true } }, async (_request, reply) => {
    const asOf = deps.now();
    const pools = await poolSummaries(deps.db, asOf, lowWater);
    const page = <CodesPage pools={pools} currency={deps.currency} lowWater={lowWater} timeZone={deps.timeZone ?? 'UTC'} asOf={asOf} />;
    return reply.type('text/html').send(renderPage(page));
  });
}
