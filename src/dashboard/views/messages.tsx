/**
 * The messages page: a customer's emails with their events, or the recipients behind one
 * funnel cell of a sequence; in the demo, the captured inbox (only the chosen customer's
 * emails when one is chosen). Also one captured email as received, and one email's recorded
 * facts when no inbox holds it.
 */
import type { ComponentChildren } from 'preact';
import type { FunnelStage, Recipient } from '../../analytics/recipients.ts';
import type { CapturedEmail } from '../../mail/inbox.ts';
import type { CustomerMatch, CustomerMessage } from '../../store/customer-history.ts';
import type { MessageDetail } from '../../store/message-detail.ts';
import { PERIODS, type Period } from '../query.ts';
import { humanDate, int as count, shortDate } from './format.ts';
import { Layout } from './layout.tsx';
import { customerLink, customerPageLink, emailLink, recipientsLink, sequenceArmLink } from './links.ts';

export { recipientsLink } from './links.ts';

/**
 * Where the page's moments are written: the shop's time zone (named in the column heads, or by
 * each moment itself outside tables) and the page's now (a table's moments in its year go without it).
 */
export interface Clock {
  timeZone: string;
  now: Date;
}

/** A column head for moments in `timeZone`: "sent (Europe/Berlin)". */
const inZone = (head: string, timeZone: string) => `${head} (${timeZone})`;
const plural = (n: number, one: string, many = `${one}s`) => `${count(n)} ${n === 1 ? one : many}`;

/** "sequence · arm a · step 2 (accessories)", the sequence linking to the arm on its page. */
function Origin({ sequence, arm, step, template }: { sequence: string; arm: string; step: number; template: string | null }) {
  return (
    <>
      <a href={sequenceArmLink(sequence, arm)}>{sequence}</a> · arm {arm} · step {step + 1}
      {template && <span class="muted"> ({template})</span>}
    </>
  );
}

/** The search box: a customer by email or external id. */
function CustomerSearch({ q }: { q: string }) {
  return (
    <form method="get" action="/messages" class="stack" id="search" style="max-width:40rem">
      <label>
        Customer (email or id)
        <input name="q" value={q} placeholder="ada@example.com or cust-42" />
      </label>
      <button type="submit">Search</button>
    </form>
  );
}

/** Each event and when it was: `when` writes the moment. */
function Events({ events, when }: { events: CustomerMessage['events']; when: (at: Date | string) => string }) {
  return (
    <>
      {events.map((ev) => (
        <div>
          {ev.type} {ev.human ? 'by a person' : <span class="muted">by a machine ({ev.reason})</span>} · {when(ev.at)}
        </div>
      ))}
    </>
  );
}

function MessageRow({ m, inbox, clock }: { m: CustomerMessage; inbox: ReadonlyMap<string, number> | undefined; clock: Clock }) {
  const when = (at: Date | string) => shortDate(at, clock.timeZone, { now: clock.now });
  const email = emailLink({ id: m.id, rfcMessageId: m.rfc_message_id }, inbox);
  return (
    <tr data-message={m.id}>
      <td class="wrap">
        <a href={email.href} data-email>
          {m.subject ?? '(no subject)'}
        </a>{' '}
        <span class="muted">{email.label}</span>
      </td>
      <td data-origin style={LEFT}>
        <Origin sequence={m.sequence_id} arm={m.arm} step={m.step} template={m.template} />
      </td>
      <td style={LEFT}>
        {m.state}
        {m.error && (
          <>
            {' '}
            <span class="muted">{m.error}</span>
          </>
        )}
      </td>
      <td>{m.sent_at ? when(m.sent_at) : '—'}</td>
      <td style="text-align:left">
        <Events events={m.events} when={when} />
      </td>
    </tr>
  );
}

/** Text read left to right: a cell of words rather than figures. */
const LEFT = 'text-align:left';

/** A column's head; in brackets, one of words, aligned left (figures and times align right). */
type Column = string | [string];

function Head({ heads }: { heads: Column[] }) {
  return (
    <thead>
      <tr>{heads.map((h) => (typeof h === 'string' ? <th>{h}</th> : <th style={LEFT}>{h[0]}</th>))}</tr>
    </thead>
  );
}

export interface ChosenCustomer {
  /** The external id asked for. */
  id: string;
  /** Their address, when there is such a customer. */
  email: string | undefined;
  messages: CustomerMessage[];
}

function CustomerEmails({
  chosen,
  inbox,
  clock,
}: {
  chosen: ChosenCustomer;
  inbox: ReadonlyMap<string, number> | undefined;
  clock: Clock;
}) {
  return (
    <>
      <h2 style="overflow-wrap:anywhere">
        Emails to {chosen.id}
        {chosen.email && <span class="muted"> &lt;{chosen.email}&gt;</span>}
      </h2>
      {chosen.email === undefined ? (
        <p class="notice">No customer has the id "{chosen.id}".</p>
      ) : (
        <p>
          <a href={customerPageLink(chosen.id)} id="customer-page">
            The customer's page
          </a>
          : profile, segment, consent, orders and sequences.
        </p>
      )}
      <p class="muted">
        Each subject opens the email: as received when the captured inbox has it, else what was recorded when it was sent.
      </p>
      <div class="scroll">
        <table id="messages">
          <Head
            heads={[
              'email',
              ['sequence · arm · step (template)'],
              ['state'],
              inZone('sent', clock.timeZone),
              [inZone('events', clock.timeZone)],
            ]}
          />
          <tbody>
            {chosen.messages.length ? (
              chosen.messages.map((m) => <MessageRow m={m} inbox={inbox} clock={clock} />)
            ) : (
              <tr>
                <td colspan={5} class="muted">
                  No emails yet.
                </td>
              </tr>
            )}
          </tbody>
        </table>
      </div>
    </>
  );
}

const INBOX_ROWS = 50;

/** Whether `email` went to `address` (one of its envelope recipients), case aside. */
function sentTo(email: CapturedEmail, address: string): boolean {
  const wanted = address.toLowerCase();
  return email.to.split(/,\s*/).some((to) => to.toLowerCase() === wanted);
}

/**
 * The captured inbox, newest first, each email linking to /inbox/:index: only those to
 * `address` when a customer is chosen, else all; the newest 50 of them.
 */
function Inbox({ emails, address, clock }: { emails: readonly CapturedEmail[]; address: string | undefined; clock: Clock }) {
  const indexed = emails.map((email, index) => ({ email, index }));
  const shown = address === undefined ? indexed : indexed.filter(({ email }) => sentTo(email, address));
  const newest = shown.slice(-INBOX_ROWS).reverse();
  return (
    <>
      <h2>Captured inbox</h2>
      <p id="inbox-count" data-count={shown.length} style="overflow-wrap:anywhere">
        {address === undefined ? (
          <>{plural(shown.length, 'email')} in the inbox</>
        ) : (
          <>
            {plural(shown.length, 'email')} to {address} in the inbox <a href="/messages">(show every email)</a>
          </>
        )}
        {shown.length > INBOX_ROWS && <>; the newest {INBOX_ROWS} below</>}.{' '}
        <span class="muted">The demo's SMTP server keeps what the workers sent.</span>
      </p>
      <div class="scroll">
        <table id="inbox">
          <Head heads={['to', ['subject'], inZone('received', clock.timeZone)]} />
          <tbody>
            {newest.map(({ email, index }) => (
              <tr>
                <td>{email.to}</td>
                <td class="wrap">
                  <a href={`/inbox/${index}`}>{email.subject}</a>
                </td>
                <td>{shortDate(email.receivedAt, clock.timeZone, { now: clock.now })}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}

/** What a row of each stage is, after its count. */
const STAGE_WORDS: Record<FunnelStage, [string, string]> = {
  sent: ['email sent', 'emails sent'],
  delivered: ['email delivered (sent and not bounced)', 'emails delivered (sent and not bounced)'],
  opened: ['email opened by a person', 'emails opened by a person'],
  clicked: ['email clicked by a person', 'emails clicked by a person'],
  ordered: ['order attributed to these emails', 'orders attributed to these emails'],
  unsubscribed: ['email its recipient unsubscribed from', 'emails their recipients unsubscribed from'],
  bounced: ['email that bounced', 'emails that bounced'],
};

/** How each stage counts, in words: the report's definitions (src/analytics/report.ts). */
const STAGE_NOTE: Record<FunnelStage, string> = {
  sent: 'Every email sent by now to a customer enrolled in the period.',
  delivered: 'Sent emails less those that bounced.',
  opened: 'Emails opened at least once by a person: opens by machines (privacy proxies, scanners) are not counted.',
  clicked: 'Emails clicked at least once by a person: clicks by link scanners are not counted.',
  ordered:
    'Orders credited to these emails by the attribution model, one row per order (an email credited with two orders is two rows); cancelled orders earn no credit, revenue is net of refunds.',
  unsubscribed: 'Emails whose recipient unsubscribed through them.',
  bounced: 'Emails the receiving server refused or returned.',
};

export interface CellPage {
  sequence: { id: string; name: string };
  version: { id: number; version: number; live: boolean };
  arm: string;
  /** 1-based; undefined for every step. */
  step: number | undefined;
  /** The step's template in this arm, when one step is asked for. */
  template: string | undefined;
  stage: FunnelStage;
  period: Period;
  page: number;
  perPage: number;
  total: number;
  rows: Recipient[];
  asOf: Date;
  stages: readonly FunnelStage[];
  money: (value: number | null) => string;
}

interface RowProps {
  r: Recipient;
  cell: CellPage;
  inbox: ReadonlyMap<string, number> | undefined;
  timeZone: string;
}

function RecipientRow({ r, cell, inbox, timeZone }: RowProps) {
  const email = emailLink({ id: r.message_id, rfcMessageId: r.rfc_message_id }, inbox);
  const short = (at: Date, day = false) => shortDate(at, timeZone, { now: cell.asOf, day });
  return (
    <tr data-message={r.message_id}>
      <td>
        <a href={customerLink(r.customer)}>{r.customer}</a>
      </td>
      <td style={LEFT}>
        <a href={email.href} data-email>
          {r.recipient}
        </a>
      </td>
      {cell.step === undefined && <td>{r.step + 1}</td>}
      <td>{short(r.sent_at)}</td>
      <td style={LEFT}>
        {r.bounced ? 'bounced' : 'delivered'}
        {r.unsubscribed && ', unsubscribed'}
      </td>
      <td>{r.first_open ? short(r.first_open) : '—'}</td>
      <td>{r.first_click ? short(r.first_click) : '—'}</td>
      <td style={LEFT}>
        {r.order_id === null ? (
          '—'
        ) : (
          <>
            {r.order_id} · {cell.money(r.order_revenue)} · {short(r.ordered_at!, true)}
            {cell.stage !== 'ordered' && r.orders > 1 && <span class="muted"> and {r.orders - 1} more</span>}
          </>
        )}
      </td>
    </tr>
  );
}

function Pages({ cell }: { cell: CellPage }) {
  const last = Math.max(1, Math.ceil(cell.total / cell.perPage));
  const link = (page: number) => {
    const base = recipientsLink({
      sequence: cell.sequence.id,
      version: cell.version.live ? undefined : cell.version.id,
      arm: cell.arm,
      step: cell.step,
      stage: cell.stage,
      period: cell.period,
    });
    return page === 1 ? base : `${base}&page=${page}`;
  };
  if (last === 1) return null;
  return (
    <nav class="actions" aria-label="pages" id="pages">
      {cell.page > 1 && (
        <a class="button secondary" href={link(cell.page - 1)} rel="prev">
          Previous
        </a>
      )}
      <span>
        page {count(cell.page)} of {count(last)}
      </span>
      {cell.page < last && (
        <a class="button secondary" href={link(cell.page + 1)} rel="next">
          Next
        </a>
      )}
    </nav>
  );
}

/** The recipients behind one funnel cell, a page of them, with their count and the cell's other stages. */
function Cell({ cell, inbox, timeZone }: { cell: CellPage; inbox: ReadonlyMap<string, number> | undefined; timeZone: string }) {
  const [one, many] = STAGE_WORDS[cell.stage];
  const from = (cell.page - 1) * cell.perPage;
  const zoned = (head: string) => inZone(head, timeZone);
  const heads: Column[] = ['customer', ['email'], ...(cell.step === undefined ? ['step'] : []), zoned('sent'), ['state']];
  heads.push(zoned('first human open'), zoned('first human click'), [
    zoned(cell.stage === 'ordered' ? 'order · revenue · placed' : 'first attributed order'),
  ]);
  const stageLink = (stage: FunnelStage) =>
    recipientsLink({
      sequence: cell.sequence.id,
      version: cell.version.live ? undefined : cell.version.id,
      arm: cell.arm,
      step: cell.step,
      stage,
      period: cell.period,
    });
  return (
    <section id="recipients">
      <h2 style="overflow-wrap:anywhere">
        <a href={sequenceArmLink(cell.sequence.id, cell.arm)}>{cell.sequence.name}</a> · version {cell.version.version}
        {cell.version.live ? ' (live)' : ''} · arm {cell.arm} · {cell.step === undefined ? 'every step' : `step ${cell.step}`}
        {cell.template && <span class="muted"> ({cell.template})</span>}
      </h2>
      <p class="actions" id="stages">
        {cell.stages.map((stage) =>
          stage === cell.stage ? <strong aria-current="true">{stage}</strong> : <a href={stageLink(stage)}>{stage}</a>,
        )}
      </p>
      <p id="recipients-count" data-count={cell.total}>
        <strong>{count(cell.total)}</strong> {cell.total === 1 ? one : many}
        {cell.period === 'all' ? '' : `, customers enrolled in the ${PERIODS[cell.period].label}`}, as of{' '}
        <span data-field="asOf">{humanDate(cell.asOf, timeZone)}</span>
        {cell.total > cell.perPage && (
          <>
            ; {count(from + 1)}–{count(Math.min(cell.total, from + cell.perPage))} below
          </>
        )}
        .
      </p>
      <p class="muted">{STAGE_NOTE[cell.stage]} The same count as the sequence page's funnel.</p>
      <div class="scroll">
        <table id="recipient-rows">
          <Head heads={heads} />
          <tbody>
            {cell.rows.length ? (
              cell.rows.map((r) => <RecipientRow r={r} cell={cell} inbox={inbox} timeZone={timeZone} />)
            ) : (
              <tr>
                <td colspan={heads.length} class="muted">
                  {cell.total ? 'No recipients on this page.' : 'No recipients in this cell.'}
                </td>
              </tr>
            )}
          </tbody>
        </table>
      </div>
      <Pages cell={cell} />
    </section>
  );
}

export interface MessagesPageProps {
  q: string;
  /** The customers a search found, when it found more than one. */
  matches: CustomerMatch[];
  /** The customer shown, with their emails. */
  chosen: ChosenCustomer | undefined;
  /** The recipients of a funnel cell, when one is asked for. */
  cell: CellPage | undefined;
  inbox: readonly CapturedEmail[] | undefined;
  /** Each captured email's index by Message-ID. */
  inboxIndex: ReadonlyMap<string, number> | undefined;
  clock: Clock;
}

/** The search, then the funnel cell's recipients, the chosen customer's emails (or the matches), then the captured inbox. */
export function MessagesPage({ q, matches, chosen, cell, inbox, inboxIndex, clock }: MessagesPageProps) {
  return (
    <Layout title={cell ? `Recipients · ${cell.sequence.name}` : 'Messages'} current="/messages">
      <h1>Messages</h1>
      <CustomerSearch q={q} />
      {cell && <Cell cell={cell} inbox={inboxIndex} timeZone={clock.timeZone} />}
      {chosen ? (
        <CustomerEmails chosen={chosen} inbox={inboxIndex} clock={clock} />
      ) : matches.length > 1 ? (
        <ul id="matches" style="overflow-wrap:anywhere">
          {matches.map((c) => (
            <li>
              <a href={customerLink(c.external_id)}>
                {c.email} ({c.external_id})
              </a>
            </li>
          ))}
        </ul>
      ) : (
        q && !matches.length && <p class="muted">No customer matches "{q}".</p>
      )}
      {inbox && !cell && <Inbox emails={inbox} address={chosen?.email} clock={clock} />}
    </Layout>
  );
}

/** A page that says what was not found, with a way back. */
export function MessagesNotFound({ what }: { what: string }) {
  return (
    <Layout title="Not found" current="/messages">
      <h1>Messages</h1>
      <p class="alert">{what}</p>
      <p>
        <a href="/messages">Back to the messages</a> · <a href="/">the overview</a>
      </p>
    </Layout>
  );
}

const FRAME_STYLE = 'width:640px;height:900px;border:0;display:block;background:#fff';

export interface InboxEmailProps {
  /** As parsed from the email; an email may have none. */
  subject: string | undefined;
  to: string;
  messageId: string;
  html: string;
  text: string;
}

/** One captured email as received: its HTML sandboxed in a frame, its text part below. */
export function InboxEmailPage({ subject, to, messageId, html, text }: InboxEmailProps) {
  return (
    <Layout title={subject ?? 'Email'} current="/messages">
      <h1>{subject ?? ''}</h1>
      <p class="muted" style="overflow-wrap:anywhere">
        to {to} · {messageId} · as received by the captured inbox
      </p>
      <p class="notice">
        Its open pixel is not loaded here, so reading it is not an open; its links are the tracked ones, so following one records a click.
      </p>
      <p>
        <a href="/messages">Back to the messages</a>
      </p>
      {/* The email's HTML goes in as an attribute value (escaped like any other), in a sandbox;
          the frame keeps the email's width and scrolls inside its box on a narrow screen. */}
      <div class="scroll" style="width:fit-content">
        <iframe title="email" sandbox="allow-popups" srcdoc={html} style={FRAME_STYLE} />
      </div>
      <h2>Text part</h2>
      <pre>{text}</pre>
    </Layout>
  );
}

/** A term and its value in a card's list, the value read left to right and wrapped anywhere. */
function Fact({ term, id, children }: { term: string; id?: string; children?: ComponentChildren }) {
  return (
    <>
      <dt>{term}</dt>
      <dd id={id} style="text-align:left;overflow-wrap:anywhere">
        {children}
      </dd>
    </>
  );
}

function Products({ items }: { items: MessageDetail['recommendations'] }) {
  if (!items.length) return <span class="muted">none</span>;
  return (
    <>
      {items.map((p, i) => (
        <>
          {i > 0 && ' · '}
          {p.name ?? <span class="muted">(no longer in the catalog)</span>} <span class="muted">{p.sku}</span>
        </>
      ))}
    </>
  );
}

/**
 * One email's recorded facts, for an email no captured inbox holds: its HTML is not stored,
 * so the page says what was sent (subject, recipient, Message-ID, the tracked links' destinations
 * and the products it offered) and links to the preview of its template version for the
 * customer, rendered with today's data.
 */
export function MessagePage({ m, received, timeZone }: { m: MessageDetail; received?: number | undefined; timeZone: string }) {
  const when = (at: Date | string) => humanDate(at, timeZone);
  const preview =
    m.template_version_id === null ? undefined : `/preview?version=${m.template_version_id}&customer=${encodeURIComponent(m.customer)}`;
  return (
    <Layout title={m.subject ?? 'Email'} current="/messages">
      <h1>{m.subject ?? '(no subject recorded)'}</h1>
      {received !== undefined && (
        <p>
          The captured inbox has this email: <a href={`/inbox/${received}`}>read it as received</a>.
        </p>
      )}
      <p class="notice">
        The email itself (its HTML and text) is not stored: below is what was recorded when it was made.
        {preview && (
          <>
            {' '}
            <a href={preview} id="preview">
              Preview template version {m.template_version_id} for {m.customer}
            </a>{' '}
            renders the same template with today's data (the order and recommendations may differ from what was sent).
          </>
        )}
      </p>
      <div class="card">
        <dl style="grid-template-columns:auto minmax(0,1fr)">
          <Fact term="to">
            {m.recipient} (<a href={customerLink(m.customer)}>{m.customer}</a>)
          </Fact>
          <Fact term="from" id="origin">
            <Origin sequence={m.sequence_id} arm={m.arm} step={m.step} template={m.template} /> · version {m.version}
          </Fact>
          <Fact term="state">
            {m.state}
            {m.error && <span class="muted"> ({m.error})</span>}
          </Fact>
          <Fact term="made">{when(m.created_at)}</Fact>
          <Fact term="sent">{m.sent_at ? when(m.sent_at) : '—'}</Fact>
          <Fact term="Message-ID">{m.rfc_message_id}</Fact>
          {m.smtp_response && <Fact term="server said">{m.smtp_response}</Fact>}
          <Fact term="cross-sells">
            <Products items={m.recommendations} />
          </Fact>
          <Fact term="upsells">
            <Products items={m.upsells} />
          </Fact>
          <Fact term="discount code" id="discount">
            {m.discount ? (
              <>
                <code>{m.discount.code}</code> <span class="muted">from pool {m.discount.pool}</span>
                {m.discount.redeemed_by ? ` · redeemed by order ${m.discount.redeemed_by}` : ' · not redeemed'}
              </>
            ) : (
              <span class="muted">none offered</span>
            )}
          </Fact>
        </dl>
      </div>
      <h2>Tracked links</h2>
      {m.links.length ? (
        <ol id="links" style="overflow-wrap:anywhere">
          {m.links.map((link) => (
            <li>{link}</li>
          ))}
        </ol>
      ) : (
        <p class="muted">None recorded.</p>
      )}
      <h2>Events</h2>
      {m.events.length ? <Events events={m.events} when={when} /> : <p class="muted">None yet.</p>}
    </Layout>
  );
}
