/**
 * Messages: every email made for a customer with its state and events, each linking to the
 * email and to its sequence, arm and step; the recipients behind one funnel cell of the
 * report; in the demo, the captured inbox (filtered by the chosen customer), each of its
 * emails readable as received; one email's recorded facts when no inbox holds it.
 */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { moneyFormat } from '../../analytics/format.ts';
import { drillVersion, FUNNEL_STAGES, funnelRecipients } from '../../analytics/recipients.ts';
import type { AttributionModel } from '../../core/attribution.ts';
import type { Db } from '../../db/client.ts';
import type { CapturedInbox } from '../../mail/inbox.ts';
import { customerByExternalId, customerMessages, findCustomers } from '../../store/customer-history.ts';
import { messageDetail } from '../../store/message-detail.ts';
import { inboxParams, messageParams, messagesQuery, PERIODS } from '../query.ts';
import { renderPage } from '../views/layout.tsx';
import { inboxIndex } from '../views/links.ts';
import { InboxEmailPage, MessagePage, MessagesNotFound, MessagesPage, type CellPage } from '../views/messages.tsx';

export interface MessagesDeps {
  db: Db;
  /** The demo's captured inbox, when there is one. */
  inbox?: CapturedInbox | undefined;
  /** The report's attribution model and clock, so a funnel cell's recipients are the report's. */
  attribution: AttributionModel;
  now: () => Date;
  currency: string;
  /** The shop's IANA time zone (SHOP_TIMEZONE), the pages' moments written in it; UTC without it. */
  timeZone?: string | undefined;
}

const BLANK_GIF = 'data:image/gif;base64,R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7';

/**
 * A sent email's HTML with its open pixel (`<img src="…/t/o/TOKEN.gif">`, see
 * src/templates/compile.ts) blanked: reading the email on the dashboard is not an open.
 */
export function withoutOpenPixel(html: string): string {
  return html.replace(/(<img\b[^>]*?\bsrc=")[^"]*\/t\/o\/[^"/]+\.gif(")/g, `$1${BLANK_GIF}$2`);
}

/** Recipients listed per page of a funnel cell. */
export const RECIPIENTS_PER_PAGE = 50;
const DAY_MS = 86_400_000;

/**
 * Adds `/messages` (a customer's emails and their events, a funnel cell's recipients, the
 * captured inbox), `/messages/:id` (one email's recorded facts) and `/inbox/:index`.
 */
export async function messagesPages(app: FastifyInstance, deps: MessagesDeps): Promise<void> {
  const pages = app.withTypeProvider<ZodTypeProvider>();
  const money = moneyFormat(deps.currency);
  const timeZone = deps.timeZone ?? 'UTC';
  const notFound = (what: string) => renderPage(<MessagesNotFound what={what} />);

  pages.get('/messages', { schema: { hide: true, querystring: messagesQuery } }, async (request, reply) => {
    const query = request.query;
    const q = query.q ?? '';
    const asOf = deps.now();
    let cell: CellPage | undefined;
    if (query.sequence !== undefined) {
      const { sequence, arm, stage, step, period, page } = query;
      const version = await drillVersion(deps.db, sequence, query.version);
      if (!version)
        return reply
          .code(404)
          .type('text/html')
          .send(
            notFound(
              query.version === undefined ? `No sequence "${sequence}".` : `Sequence "${sequence}" has no version ${query.version}.`,
            ),
          );
      const definition = version.definition;
      const arms = [...definition.variants.map((v) => v.key), ...(definition.holdout > 0 ? ['holdout'] : [])];
      if (!arms.includes(arm!))
        return reply
          .code(404)
          .type('text/html')
          .send(notFound(`Version ${version.version} of "${sequence}" has no arm "${arm}" (its arms: ${arms.join(', ')}).`));
      if (step !== undefined && step > definition.steps.length)
        return reply
          .code(404)
          .type('text/html')
          .send(notFound(`Version ${version.version} of "${sequence}" has ${definition.steps.length} steps, not ${step}.`));
      const days = PERIODS[period].days;
      const recipients = await funnelRecipients(deps.db, {
        versionId: version.id,
        arm: arm!,
        step: step === undefined ? undefined : step - 1,
        stage: stage!,
        asOf,
        attribution: deps.attribution,
        enrolledFrom: days === null ? undefined : new Date(asOf.getTime() - days * DAY_MS),
        page,
        perPage: RECIPIENTS_PER_PAGE,
      });
      const templateName = step === undefined ? undefined : definition.steps[step - 1]!.template;
      cell = {
        sequence: { id: sequence, name: version.name },
        version: { id: version.id, version: version.version, live: version.live },
        arm: arm!,
        step,
        // The arm's own template for the step, as the report names it.
        template: templateName && (definition.variants.find((v) => v.key === arm)?.templates[templateName] ?? templateName),
        stage: stage!,
        period,
        page,
        perPage: RECIPIENTS_PER_PAGE,
        total: recipients.total,
        rows: recipients.rows,
        asOf,
        stages: FUNNEL_STAGES,
        money,
      };
    }
    const matches = await findCustomers(deps.db, q);
    const customerId = query.customer ?? (!cell && matches.length === 1 ? matches[0]!.external_id : undefined);
    const chosen =
      customerId === undefined
        ? undefined
        : {
            id: customerId,
            email: (await customerByExternalId(deps.db, customerId))?.email,
            messages: await customerMessages(deps.db, customerId),
          };
    const emails = deps.inbox?.emails;
    const page = (
      <MessagesPage
        q={q}
        matches={matches}
        chosen={chosen}
        cell={cell}
        inbox={emails}
        inboxIndex={inboxIndex(emails)}
        clock={{ timeZone, now: asOf }}
      />
    );
    return reply.type('text/html').send(renderPage(page));
  });

  pages.get('/messages/:id', { schema: { hide: true, params: messageParams } }, async (request, reply) => {
    const message = await messageDetail(deps.db, request.params.id);
    if (!message)
      return reply
        .code(404)
        .type('text/html')
        .send(notFound(`No message ${request.params.id}.`));
    const received = inboxIndex(deps.inbox?.emails)?.get(message.rfc_message_id);
    return reply.type('text/html').send(renderPage(<MessagePage m={message} received={received} timeZone={timeZone} />));
  });

  pages.get('/inbox/:index', { schema: { hide: true, params: inboxParams } }, async (request, reply) => {
    const email = deps.inbox?.emails[request.params.index];
    if (!email) return reply.notFound('No such email.');
    // Loaded on first use, like mjml: it weighs on the start-up of every command that serves.
    const { simpleParser } = await import('mailparser');
    const parsed = await simpleParser(email.raw);
    const page = (
      <InboxEmailPage
        subject={parsed.subject}
        to={email.to}
        messageId={email.messageId}
        html={typeof parsed.html === 'string' ? withoutOpenPixel(parsed.html) : ''}
        text={parsed.text ?? ''}
      />
    );
    return reply.type('text/html').send(renderPage(page));
  });
}
