/**
 * Customers: `/customers` (a search by id or address, each match linking to its page) and
 * `/customers/:id` (profile, segment, consent, orders, enrollments, emails), the figures
 * of `campaign customers profile ID` and the rows of `campaign customers export ID`.
 */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { moneyFormat } from '../../analytics/format.ts';
import type { SegmentSettings } from '../../core/profile.ts';
import { customerSegmentView, loadSegmentSettings } from '../../profiles/segments.ts';
import { customerExport } from '../../store/customer-data.ts';
import { findCustomers } from '../../store/customer-history.ts';
import { customerParams, customerSearchQuery } from '../query.ts';
import { CustomerNotFound, CustomerPage, CustomersPage } from '../views/customer.tsx';
import { customerPageLink } from '../views/links.ts';
import { renderPage } from '../views/layout.tsx';
import type { PageDeps } from './deps.ts';

export async function customerPages(app: FastifyInstance, deps: PageDeps & { segmentsFile?: string | undefined }): Promise<void> {
  const pages = app.withTypeProvider<ZodTypeProvider>();
  const money = moneyFormat(deps.currency);
  const timeZone = deps.timeZone ?? 'UTC';

  pages.get('/customers', { schema: { hide: true, querystring: customerSearchQuery } }, async (request, reply) => {
    const q = request.query.q ?? '';
    const matches = await findCustomers(deps.db, q);
    // One exact id, or a single match: straight to the page.
    if (matches.length === 1) return reply.redirect(customerPageLink(matches[0]!.external_id), 303);
    return reply.type('text/html').send(renderPage(<CustomersPage q={q} matches={matches} />));
  });

  pages.get('/customers/:id', { schema: { hide: true, params: customerParams } }, async (request, reply) => {
    const { id } = request.params;
    const data = await customerExport(deps.db, id);
    if (!data)
      return reply
        .code(404)
        .type('text/html')
        .send(renderPage(<CustomerNotFound id={id} />));
    const now = deps.now();
    let settings: SegmentSettings = {};
    let segmentsProblem: string | undefined;
    if (deps.segmentsFile)
      try {
        settings = await loadSegmentSettings(deps.segmentsFile);
      } catch (error) {
        segmentsProblem = error instanceof Error ? error.message : String(error);
      }
    const { profile, segment, thresholds } = await customerSegmentView(deps.db, id, now, settings);
    const page = (
      <CustomerPage
        data={data}
        profile={profile!}
        segment={segment}
        thresholds={thresholds}
        segmentsProblem={segmentsProblem}
        money={money}
        timeZone={timeZone}
        now={now}
      />
    );
    return reply.type('text/html').send(renderPage(page));
  });
}
