/**
 * The template preview page: a picker (template version and customer), the customers that
 * match a search, and the email as that customer would get it.
 */
import type { CustomerMatch } from '../../store/customer-history.ts';
import type { TemplateVersionChoice } from '../../store/templates.ts';
import { shortDate } from './format.ts';
import { Layout } from './layout.tsx';

export interface PickerProps {
  versions: TemplateVersionChoice[];
  versionId: number;
  q: string;
  customerId: string | undefined;
  /** The shop's time zone: the day each version was published there. */
  timeZone: string;
}

function Picker({ versions, versionId, q, customerId, timeZone }: PickerProps) {
  return (
    <form method="get" action="/preview" id="picker" class="stack">
      <label>
        Template version
        <select name="version">
          {versions.map((v) => (
            <option value={v.id} selected={v.id === versionId}>
              {v.name} · version {v.id} · published {shortDate(v.published_at, timeZone, { day: true })}
            </option>
          ))}
        </select>
      </label>
      <label>
        Customer (email or id)
        <input name="q" value={q} placeholder="ada@example.com or cust-42" />
      </label>
      {customerId && <input type="hidden" name="customer" value={customerId} />}
      <button type="submit">Show</button>
    </form>
  );
}

/** Several customers match (or none): links that pick one, keeping the version and the search. */
function Matches({ matches, q, versionId }: { matches: CustomerMatch[]; q: string; versionId: number }) {
  const link = (c: CustomerMatch) =>
    `/preview?version=${versionId}&customer=${encodeURIComponent(c.external_id)}&q=${encodeURIComponent(q)}`;
  return (
    <ul id="matches" style="overflow-wrap:anywhere">
      {matches.length ? (
        matches.map((c) => (
          <li>
            <a href={link(c)}>
              {c.first_name ?? ''} {c.last_name ?? ''} &lt;{c.email}&gt; ({c.external_id})
            </a>
          </li>
        ))
      ) : (
        <li class="muted">No customer matches "{q}".</li>
      )}
    </ul>
  );
}

/** What the rendered email and its context come to, for one customer. */
export interface RenderedPreview {
  customer: { firstName: string | null; lastName: string | null; email: string };
  email: { subject: string; preheader: string; html: string; text: string };
  recommended: string[];
  upsells: string[];
}

/**
 * The email at `width` px. The frame keeps that width whatever the screen's: on a narrower
 * one its box scrolls sideways, so the email is still seen as it renders at that width.
 */
function Frame({ width, html }: { width: number; html: string }) {
  const style = `width:${width}px;height:900px;border:0;display:block;background:#fff`;
  return (
    <div style="max-width:100%;min-width:0">
      <div class="muted">
        {width === 600 ? 'desktop' : 'mobile'}, {width} px
      </div>
      <div class="scroll" style="width:fit-content">
        {/* srcdoc is an attribute like any other: escaped here, read back by the browser as the
            email's HTML, and sandboxed so its links open in a new window and its scripts never run. */}
        <iframe title={`${width} px`} sandbox="allow-popups" srcdoc={html} style={style} />
      </div>
    </div>
  );
}

export interface SendFormProps {
  versionId: number;
  customerId: string;
}

interface PreviewProps {
  preview: RenderedPreview;
  sent?: string | undefined;
  send?: SendFormProps | undefined;
}

function Preview({ preview, sent, send }: PreviewProps) {
  const { customer, email } = preview;
  return (
    <>
      <h2 style="overflow-wrap:anywhere">
        For{' '}
        <span id="customer-name">
          {customer.firstName ?? ''} {customer.lastName ?? ''}
        </span>{' '}
        <span class="muted">{customer.email}</span>
      </h2>
      <div class="card" style="overflow-wrap:anywhere">
        <p style="margin:0 0 .4rem">
          <strong>Subject:</strong> <span id="subject">{email.subject}</span>
          <br />
          <strong>Preheader:</strong> {email.preheader}
        </p>
        <p style="margin:0">
          <strong>Recommended:</strong> <span id="recommended">{preview.recommended.join(' · ') || 'none'}</span>
          <br />
          <strong>Upsells:</strong> <span id="upsells">{preview.upsells.join(' · ') || 'none'}</span>
        </p>
      </div>
      {sent && (
        <p class="notice" style="overflow-wrap:anywhere">
          Test sent to {sent}.
        </p>
      )}
      {send && (
        <form method="post" action="/preview/send" class="stack" id="send" style="max-width:40rem">
          <input type="hidden" name="version" value={send.versionId} />
          <input type="hidden" name="customer" value={send.customerId} />
          <label>
            Send a test to
            <input type="email" name="to" required placeholder="you@shop.example" />
          </label>
          <button type="submit">Send test</button>
        </form>
      )}
      <div style="display:flex;gap:1.5rem;flex-wrap:wrap;align-items:flex-start;margin-top:1rem">
        <Frame width={600} html={email.html} />
        <Frame width={375} html={email.html} />
      </div>
      <h2>Text part</h2>
      <pre id="text">{email.text}</pre>
    </>
  );
}

export interface PreviewPageProps extends PickerProps {
  /** The customers a search found, when it did not find exactly one. */
  matches: CustomerMatch[] | undefined;
  /** The rendered email, or why there is none (a message), or nothing picked yet. */
  result: { preview: RenderedPreview } | { error: string } | undefined;
  sent: string | undefined;
  /** The test-send form's fields; absent when no SMTP server is configured. */
  send: SendFormProps | undefined;
}

/** The preview page: the picker, then the matches, the rendered email or why there is none. */
export function PreviewPage(props: PreviewPageProps) {
  const { result } = props;
  return (
    <Layout title="Template preview" current="/preview">
      <h1>Template preview</h1>
      <Picker {...props} />
      {props.matches && <Matches matches={props.matches} q={props.q} versionId={props.versionId} />}
      {result === undefined ? (
        <p class="muted">Pick a template version and a customer.</p>
      ) : 'error' in result ? (
        <p class="alert">{result.error}</p>
      ) : (
        <Preview preview={result.preview} sent={props.sent} send={props.send} />
      )}
    </Layout>
  );
}
