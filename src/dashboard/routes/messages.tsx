/**
 * Messages: every email made for a customer with its state and events; in the demo, the
 * captured inbox, each of its emails readable as received.
 */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { simpleParser } from 'mailparser';
import type { Db } from '../../db/client.ts';
import type { CapturedInbox } from '../../mail/inbox.ts';
import { customerMessages, findCustomers } from '../../store/customer-history.ts';
import { inboxParams, messagesQuery } from '../query.ts';
import { renderPage } from '../views/layout.tsx';
import { InboxEmailPage, MessagesPage } from '../views/messages.tsx';

export interface MessagesDeps {
  db: Db;
  /** The demo's captured inbox, when there is one. */
  inbox?: CapturedInbox | undefined;
}

/** Adds `/messages` (a customer's emails and their events, and the captured inbox) and `/inbox/:index`. */
export async function messagesPages(app: FastifyInstance, deps: MessagesDeps): Promise<void> {
  const pages = app.withTypeProvider<ZodTypeProvider>();

  pages.get('/messages', { schema: { hide: true, querystring: messagesQuery } }, async (request, reply) => {
    const q = request.query.q ?? '';
    const matches = await findCustomers(deps.db, q);
    const customer = request.query.customer ?? (matches.length === 1 ? matches[0]!.external_id : undefined);
    const chosen = customer === undefined ? undefined : { customer, messages: await customerMessages(deps.db, customer) };
    const page = <MessagesPage q={q} matches={matches} chosen={chosen} inbox={deps.inbox?.emails} />;
    return reply.type('text/html').send(renderPage(page));
  });

  pages.get('/inbox/:index', { schema: { hide: true, params: inboxParams } }, async (request, reply) => {
    const email = deps.inbox?.emails[request.params.index];
    if (!email) return reply.notFound('No such email.');
    const parsed = await simpleParser(email.raw);
    const page = (
      <InboxEmailPage
        subject={parsed.subject}
        to={email.to}
        messageId={email.messageId}
        html={typeof parsed.html === 'string' ? parsed.html : ''}
        text={parsed.text ?? ''}
      />
    );
    return reply.type('text/html').send(renderPage(page));
  });
}
