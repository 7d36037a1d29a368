/**
 * The messages page (every email made for a customer, with its events; in the demo, the
 * captured inbox) and one captured email.
 */
import type { CapturedEmail } from '../../mail/inbox.ts';
import type { CustomerMatch, CustomerMessage } from '../../store/customer-history.ts';
import { Layout } from './layout.tsx';
import { CustomerSearch, TableHead } from './widgets.tsx';

const minute = (iso: string) => iso.slice(0, 16).replace('T', ' ');

function MessageRow({ m }: { m: CustomerMessage }) {
  return (
    <tr>
      <td>
        {m.sequence_id} / {m.arm} / {m.step + 1}
      </td>
      <td>
        {m.state}
        {m.error && (
          <>
            {' '}
            <span class="muted">{m.error}</span>
          </>
        )}
      </td>
      <td>{m.subject ?? ''}</td>
      <td>{m.sent_at ? minute(m.sent_at.toISOString()) : '—'}</td>
      <td style="text-align:left">
        {m.events.map((ev) => (
          <div>
            {ev.type} {ev.human ? 'by a person' : <span class="muted">by a machine ({ev.reason})</span>} · {minute(ev.at)}
          </div>
        ))}
      </td>
    </tr>
  );
}

function CustomerEmails({ customer, messages }: { customer: string; messages: CustomerMessage[] }) {
  return (
    <>
      <h2>Emails to {customer}</h2>
      <table id="messages">
        <TableHead heads={['sequence / arm / step', 'state', 'subject', 'sent', 'events']} />
        <tbody>
          {messages.length ? (
            messages.map((m) => <MessageRow m={m} />)
          ) : (
            <tr>
              <td colspan={5} class="muted">
                No emails yet.
              </td>
            </tr>
          )}
        </tbody>
      </table>
    </>
  );
}

/** The newest 50 emails of the captured inbox, newest first, each linking to /inbox/:index. */
function Inbox({ emails }: { emails: readonly CapturedEmail[] }) {
  const newest = emails.slice(-50).reverse();
  return (
    <>
      <h2>Captured inbox</h2>
      <p class="muted">
        The demo's SMTP server keeps what the workers sent; the newest {Math.min(50, emails.length)} of {emails.length}.
      </p>
      <table id="inbox">
        <TableHead heads={['to', 'subject', 'received']} />
        <tbody>
          {newest.map((e, i) => (
            <tr>
              <td>{e.to}</td>
              <td>
                <a href={`/inbox/${emails.length - 1 - i}`}>{e.subject}</a>
              </td>
              <td>{e.receivedAt.toISOString().slice(11, 19)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}

export interface MessagesPageProps {
  q: string;
  /** The customers a search found, when it found more than one. */
  matches: CustomerMatch[];
  /** The customer shown, with their emails. */
  chosen: { customer: string; messages: CustomerMessage[] } | undefined;
  inbox: readonly CapturedEmail[] | undefined;
}

/** The search, then the chosen customer's emails (or the matches), then the captured inbox. */
export function MessagesPage({ q, matches, chosen, inbox }: MessagesPageProps) {
  return (
    <Layout title="Messages">
      <h1>Messages</h1>
      <CustomerSearch action="/messages" q={q} />
      {chosen ? (
        <CustomerEmails {...chosen} />
      ) : matches.length > 1 ? (
        <ul id="matches">
          {matches.map((c) => (
            <li>
              <a href={`/messages?customer=${encodeURIComponent(c.external_id)}`}>
                {c.email} ({c.external_id})
              </a>
            </li>
          ))}
        </ul>
      ) : (
        q && !matches.length && <p class="muted">No customer matches "{q}".</p>
      )}
      {inbox && <Inbox emails={inbox} />}
    </Layout>
  );
}

const FRAME_STYLE = 'width:640px;height:900px;border:1px solid #cbd2d9;background:#fff';

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
    <Layout title={subject ?? 'Email'}>
      <h1>{subject ?? ''}</h1>
      <p class="muted">
        to {to} · {messageId}
      </p>
      {/* The email's HTML goes in as an attribute value (escaped like any other), in a sandbox. */}
      <iframe title="email" sandbox="allow-popups" srcdoc={html} style={FRAME_STYLE} />
      <h2>Text part</h2>
      <pre>{text}</pre>
    </Layout>
  );
}
