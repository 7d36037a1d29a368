/**
 * Template preview: a published template version rendered for a real customer with their
 * real recommendations, at desktop and mobile widths, with its subject and text part, and a
 * test send. Messages: every email sent to a customer with its state and events; in the
 * demo, the captured inbox.
 */
import type { FastifyInstance } from 'fastify';
import { simpleParser } from 'mailparser';
import type { Config } from '../config.ts';
import type { Rules } from '../core/recommend.ts';
import type { Db } from '../db/client.ts';
import { customerMessages, findCustomers, templateVersionChoices } from '../store/customer-history.ts';
import type { CapturedInbox } from '../mail/inbox.ts';
import { sendTestEmail } from '../mail/transport.ts';
import { buildContext } from '../templates/context.ts';
import { Renderer, unsubscribeUrl } from '../templates/render.ts';
import { findTemplateVersion } from '../templates/store.ts';
import { html, layout, type Html } from './html.ts';
import { ContextError } from '../errors.ts';

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
}

/** One query-string value, whatever was sent (a repeated parameter arrives as an array). */
function one(value: unknown): string {
  return typeof value === 'string' ? value : Array.isArray(value) && typeof value[0] === 'string' ? value[0] : '';
}

function customerSearch(action: string, q: string): Html {
  return html`<form method="get" action="${action}"><label>Customer (email or id) <input name="q" value="${q}" placeholder="ada@example.com or cust-42"></label> <button type="submit">Search</button></form>`;
}

export async function previewPages(app: FastifyInstance, deps: PreviewDeps): Promise<void> {
  // Previews and test sends are no message of anyone's: their unsubscribe link names none.
  const links = { unsubscribe: unsubscribeUrl(deps.publicUrl, deps.secret, 0, 0), shop: deps.shop.url };
  app.get<{ Querystring: { version?: string; customer?: string; q?: string; sent?: string } }>('/preview', { schema: { hide: true } }, async (request, reply) => {
    const versions = await templateVersionChoices(deps.db);
    const asked = Number.parseInt(one(request.query.version), 10);
    const versionId = Number.isSafeInteger(asked) && asked > 0 ? asked : (versions[0]?.id ?? 0);
    const q = one(request.query.q);
    const matches = await findCustomers(deps.db, q);
    const customerId = one(request.query.customer) || (matches.length === 1 ? matches[0]!.external_id : undefined);
    const picker = html`<form method="get" action="/preview" id="picker">
<label>Template <select name="version">${versions.map((v) => html`<option value="${v.id}"${v.id === versionId ? html` selected` : ''}>${v.name} · version ${v.id} · ${new Date(v.published_at).toISOString().slice(0, 10)}</option>`)}</select></label>
<label> Customer (email or id) <input name="q" value="${q}" placeholder="ada@example.com or cust-42"></label>
${customerId ? html`<input type="hidden" name="customer" value="${customerId}">` : ''}<button type="submit">Show</button></form>`;
    const results = matches.length > 1 || (q && !matches.length)
      ? html`<ul id="matches">${matches.length ? matches.map((c) => html`<li><a href="/preview?version=${versionId}&customer=${encodeURIComponent(c.external_id)}&q=${encodeURIComponent(q)}">${c.first_name ?? ''} ${c.last_name ?? ''} &lt;${c.email}&gt; (${c.external_id})</a></li>`) : html`<li class="muted">No customer matches "${q}".</li>`}</ul>`
      : html``;

    let preview: Html = html`<p class="muted">Pick a template version and a customer.</p>`;
    const stored = versionId ? await findTemplateVersion(deps.db, { id: versionId }) : undefined;
    if (stored && customerId) {
      try {
        const context = await buildContext(deps.db, { shop: deps.shop }, {
          customerId,
          links,
          rules: deps.rules,
        });
        const email = new Renderer(stored.compiled).render(context, { mode: 'preview' });
        const frame = (width: number) =>
          html`<div><div class="muted">${width === 600 ? 'desktop' : 'mobile'}, ${width} px</div><iframe title="${width} px" sandbox="allow-popups" srcdoc="${email.html}" style="width:${width}px;height:900px;border:1px solid #cbd2d9;background:#fff"></iframe></div>`;
        preview = html`<h2>For <span id="customer-name">${context.customer.firstName ?? ''} ${context.customer.lastName ?? ''}</span> <span class="muted">${context.customer.email}</span></h2>
<p><strong>Subject:</strong> <span id="subject">${email.subject}</span><br><strong>Preheader:</strong> ${email.preheader}</p>
<p><strong>Recommended:</strong> <span id="recommended">${context.recommendations.map((r) => r.name).join(' · ') || 'none'}</span><br>
<strong>Upsells:</strong> <span id="upsells">${context.upsells.map((r) => r.name).join(' · ') || 'none'}</span></p>
${one(request.query.sent) ? html`<p class="card">Test sent to ${one(request.query.sent)}.</p>` : ''}
${deps.smtpUrl ? html`<form method="post" action="/preview/send"><input type="hidden" name="version" value="${versionId}"><input type="hidden" name="customer" value="${customerId}"><label>Send a test to <input type="email" name="to" required></label> <button type="submit">Send test</button></form>` : ''}
<div style="display:flex;gap:1.5rem;flex-wrap:wrap;align-items:flex-start;margin-top:1rem">${frame(600)}${frame(375)}</div>
<h2>Text part</h2><pre id="text">${email.text}</pre>`;
      } catch (error) {
        if (!(error instanceof ContextError)) throw error;
        preview = html`<p class="error">${error.message}</p>`;
      }
    }
    return reply.type('text/html').send(layout('Template preview', html`<h1>Template preview</h1>${picker}${results}${preview}`));
  });

  app.post<{ Body: { version?: string; customer?: string; to?: string } }>('/preview/send', { schema: { hide: true } }, async (request, reply) => {
    const [version, customer, to] = [one(request.body?.version), one(request.body?.customer), one(request.body?.to)];
    if (!deps.smtpUrl) return reply.code(409).type('text/plain').send('No SMTP server is configured (SMTP_URL).');
    if (!version || !customer || !to || !/^[^@\s]+@[^@\s]+$/.test(to)) return reply.code(400).type('text/plain').send('A template version, a customer and an email address are needed.');
    if (!/^\d{1,9}$/.test(version)) return reply.code(400).type('text/plain').send('The template version is a number.');
    const stored = await findTemplateVersion(deps.db, { id: Number(version) });
    if (!stored) return reply.code(404).type('text/plain').send('No such template version.');
    let context;
    try {
      context = await buildContext(deps.db, { shop: deps.shop }, { customerId: customer, links, rules: deps.rules });
    } catch (error) {
      if (error instanceof ContextError) return reply.code(404).type('text/plain').send(error.message);
      throw error;
    }
    const email = new Renderer(stored.compiled).render(context, { mode: 'preview' });
    try {
      await sendTestEmail(deps.smtpUrl, email, { to, fromAddress: deps.mailFrom });
    } catch (error) {
      return reply.code(502).type('text/plain').send(`The SMTP server refused the test: ${(error as Error).message}`);
    }
    return reply.redirect(`/preview?version=${encodeURIComponent(version)}&customer=${encodeURIComponent(customer)}&sent=${encodeURIComponent(to)}`, 303);
  });

  app.get<{ Querystring: { q?: string; customer?: string } }>('/messages', { schema: { hide: true } }, async (request, reply) => {
    const q = one(request.query.q);
    const matches = await findCustomers(deps.db, q);
    const chosen = one(request.query.customer) || (matches.length === 1 ? matches[0]!.external_id : undefined);
    let list: Html = html``;
    if (matches.length > 1) list = html`<ul id="matches">${matches.map((c) => html`<li><a href="/messages?customer=${encodeURIComponent(c.external_id)}">${c.email} (${c.external_id})</a></li>`)}</ul>`;
    else if (q && !matches.length) list = html`<p class="muted">No customer matches "${q}".</p>`;
    if (chosen) {
      const rows = await customerMessages(deps.db, chosen);
      list = html`<h2>Emails to ${chosen}</h2><table id="messages"><thead><tr><th>sequence / arm / step</th><th>state</th><th>subject</th><th>sent</th><th>events</th></tr></thead><tbody>
${rows.length ? rows.map((r) => html`<tr><td>${r.sequence_id} / ${r.arm} / ${r.step + 1}</td><td>${r.state}${r.error ? html` <span class="muted">${r.error}</span>` : ''}</td><td>${r.subject ?? ''}</td><td>${r.sent_at ? new Date(r.sent_at).toISOString().slice(0, 16).replace('T', ' ') : '—'}</td>
<td style="text-align:left">${r.events.map((ev) => html`<div>${ev.type} ${ev.human ? 'by a person' : html`<span class="muted">by a machine (${ev.reason})</span>`} · ${String(ev.at).slice(0, 16).replace('T', ' ')}</div>`)}</td></tr>`) : html`<tr><td colspan="5" class="muted">No emails yet.</td></tr>`}</tbody></table>`;
    }
    const inbox = deps.inbox
      ? html`<h2>Captured inbox</h2><p class="muted">The demo's SMTP server keeps what the workers sent; the newest ${Math.min(50, deps.inbox.emails.length)} of ${deps.inbox.emails.length}.</p>
<table id="inbox"><thead><tr><th>to</th><th>subject</th><th>received</th></tr></thead><tbody>
${deps.inbox.emails.slice(-50).reverse().map((e, i) => html`<tr><td>${e.to}</td><td><a href="/inbox/${deps.inbox!.emails.length - 1 - i}">${e.subject}</a></td><td>${e.receivedAt.toISOString().slice(11, 19)}</td></tr>`)}</tbody></table>`
      : html``;
    return reply.type('text/html').send(layout('Messages', html`<h1>Messages</h1>${customerSearch('/messages', q)}${list}${inbox}`));
  });

  app.get<{ Params: { index: string } }>('/inbox/:index', { schema: { hide: true } }, async (request, reply) => {
    const email = /^\d{1,6}$/.test(request.params.index) ? deps.inbox?.emails[Number(request.params.index)] : undefined;
    if (!email) return reply.code(404).type('text/plain').send('No such email.');
    const parsed = await simpleParser(email.raw);
    const body = html`<h1>${parsed.subject ?? ''}</h1><p class="muted">to ${email.to} · ${email.messageId}</p>
<iframe title="email" sandbox="allow-popups" srcdoc="${typeof parsed.html === 'string' ? parsed.html : ''}" style="width:640px;height:900px;border:1px solid #cbd2d9;background:#fff"></iframe>
<h2>Text part</h2><pre>${parsed.text ?? ''}</pre>`;
    return reply.type('text/html').send(layout(parsed.subject ?? 'Email', body));
  });
}
