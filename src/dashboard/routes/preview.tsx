/**
 * Template preview: a published template version rendered for a real customer with their
 * real recommendations, at desktop and mobile widths, with its subject and text part, and a
 * test send.
 */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Config } from '../../config.ts';
import type { Rules } from '../../core/recommend.ts';
import type { Db } from '../../db/client.ts';
import { ContextError } from '../../errors.ts';
import type { CapturedInbox } from '../../mail/inbox.ts';
import { sendTestEmail } from '../../mail/transport.ts';
import { findCustomers } from '../../store/customer-history.ts';
import type { CompiledTemplate } from '../../templates/compile.ts';
import { buildContext } from '../../templates/context.ts';
import { Renderer, unsubscribeUrl } from '../../templates/render.ts';
import { findTemplateVersion, templateVersionChoices } from '../../store/templates.ts';
import { previewQuery, previewSendBody } from '../query.ts';
import { renderPage } from '../views/layout.tsx';
import { PreviewPage, type PreviewPageProps } from '../views/preview.tsx';

export interface PreviewDeps {
  db: Db;
  shop: Config['shop'];
  rules: Rules;
  publicUrl: string;
  secret: string;
  mailFrom: string;
  /** Where test sends go; without it the button is not shown. */
  smtpUrl?: string | undefined;
  /** The demo's captured inbox, when there is one. */
  inbox?: CapturedInbox | undefined;
  /** The shop's IANA time zone (SHOP_TIMEZONE), the page's days written in it; UTC without it. */
  timeZone?: string | undefined;
  /** The engine's clock: a preview recommends new arrivals as a send at this moment would; default the wall clock. */
  now?: (() => Date) | undefined;
  /** NEW_ARRIVALS_DAYS (default 30). */
  newArrivalsDays?: number | undefined;
}

/**
 * Adds `/preview` (a version rendered for a customer, the way the send path renders it but
 * untracked) and `/preview/send` (the same email to any address, subject marked as a test).
 */
export async function previewPages(app: FastifyInstance, deps: PreviewDeps): Promise<void> {
  const pages = app.withTypeProvider<ZodTypeProvider>();
  // Previews and test sends are no message of anyone's: their unsubscribe link names none.
  const links = { unsubscribe: unsubscribeUrl(deps.publicUrl, deps.secret, 0, 0), shop: deps.shop.url };
  /** The email `compiled` makes for `customerId`; throws ContextError for an unknown customer. */
  const render = async (compiled: CompiledTemplate, customerId: string) => {
    const context = await buildContext(
      deps.db,
      { shop: deps.shop, newArrivalsDays: deps.newArrivalsDays },
      { customerId, links, rules: deps.rules, now: deps.now?.() },
    );
    return { context, email: new Renderer(compiled).render(context, { mode: 'preview' }) };
  };

  pages.get('/preview', { schema: { hide: true, querystring: previewQuery } }, async (request, reply) => {
    const versions = await templateVersionChoices(deps.db);
    const versionId = request.query.version ?? versions[0]?.id ?? 0;
    const q = request.query.q ?? '';
    const found = await findCustomers(deps.db, q);
    const customerId = request.query.customer ?? (found.length === 1 ? found[0]!.external_id : undefined);
    let result: PreviewPageProps['result'];
    const stored = versionId ? await findTemplateVersion(deps.db, { id: versionId }) : undefined;
    if (stored && customerId) {
      try {
        const { context, email } = await render(stored.compiled, customerId);
        result = {
          preview: {
            customer: context.customer,
            email,
            recommended: context.recommendations.map((r) => r.name),
            upsells: context.upsells.map((r) => r.name),
          },
        };
      } catch (error) {
        if (!(error instanceof ContextError)) throw error;
        result = { error: error.message };
      }
    }
    const page = (
      <PreviewPage
        versions={versions}
        versionId={versionId}
        q={q}
        customerId={customerId}
        timeZone={deps.timeZone ?? 'UTC'}
        matches={found.length > 1 || (q && !found.length) ? found : undefined}
        result={result}
        sent={request.query.sent}
        send={deps.smtpUrl && customerId ? { versionId, customerId } : undefined}
      />
    );
    return reply.type('text/html').send(renderPage(page));
  });

  pages.post('/preview/send', { schema: { hide: true, body: previewSendBody } }, async (request, reply) => {
    const { version, customer, to } = request.body;
    if (!deps.smtpUrl) return reply.conflict('No SMTP server is configured (SMTP_URL).');
    const stored = await findTemplateVersion(deps.db, { id: version });
    if (!stored) return reply.notFound('No such template version.');
    let email;
    try {
      ({ email } = await render(stored.compiled, customer));
    } catch (error) {
      if (error instanceof ContextError) return reply.notFound(error.message);
      throw error;
    }
    try {
      await sendTestEmail(deps.smtpUrl, email, { to, fromAddress: deps.mailFrom });
    } catch (error) {
      return reply.badGateway(`The SMTP server refused the test: ${(error as Error).message}`);
    }
    const back = `/preview?version=${version}&customer=${encodeURIComponent(customer)}&sent=${encodeURIComponent(to)}`;
    return reply.redirect(back, 303);
  });
}
