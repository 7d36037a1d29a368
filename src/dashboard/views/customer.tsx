/**
 * A customer's page: who they are (consent, country, tags, attributes), their profile,
 * segment and RFM scores, their orders (refunds and cancellations), their enrollments and
 * their emails, each email linking to its page. Also the customers search. `data-field`
 * names the figures for tests and scripts.
 */
import type { CustomerSegment, Thresholds } from '../../core/profile.ts';
import type { CustomerExport } from '../../store/customer-data.ts';
import type { CustomerMatch } from '../../store/customer-history.ts';
import type { StoredProfile } from '../../store/profiles.ts';
import { shortDate } from './format.ts';
import { Layout } from './layout.tsx';
import { customerLink, customerPageLink, sequenceArmLink } from './links.ts';
import type { Money } from './report-tables.tsx';
import { CustomerSearch } from './widgets.tsx';

export interface CustomerPageProps {
  data: CustomerExport;
  profile: StoredProfile;
  segment: CustomerSegment | undefined;
  thresholds: Thresholds;
  /** A problem with config/segments.yaml: the shop's own thresholds stand in, and the page says so. */
  segmentsProblem?: string | undefined;
  money: Money;
  timeZone: string;
  now: Date;
}

const when = (at: string | null, timeZone: string, now: Date) => (at ? shortDate(at, timeZone, { now }) : '—');

export function CustomerPage({ data, profile, segment, thresholds, segmentsProblem, money, timeZone, now }: CustomerPageProps) {
  const c = data.customer;
  const name = [c.firstName, c.lastName].filter(Boolean).join(' ');
  const attributes = Object.entries(c.attributes ?? {});
  return (
    <Layout title={`Customer ${c.externalId}`} current="/customers">
      <h1 style="overflow-wrap:anywhere">
        {name || c.externalId} <span class="muted">({c.externalId})</span>
      </h1>
      <CustomerSearch action="/customers" q="" />
      {c.erased && (
        <p class="notice">This customer's personal data was erased on {when(c.erasedAt, timeZone, now)}: counts and revenue stay.</p>
      )}
      {segmentsProblem && <p class="alert">config/segments.yaml: {segmentsProblem}. The shop's own thresholds are used.</p>}
      <div class="scroll">
        <table id="profile">
          <tbody>
            <tr>
              <th style="text-align:left">email</th>
              <td data-field="email" style="text-align:left;overflow-wrap:anywhere">
                {c.email} · <a href={customerLink(c.externalId)}>every email</a>
              </td>
            </tr>
            <tr>
              <th style="text-align:left">marketing consent</th>
              <td data-field="consent" style="text-align:left">
                {c.acceptsMarketing}
                {c.consentAt && ` since ${when(c.consentAt, timeZone, now)}`}
                {c.consentSource && ` (${c.consentSource})`}
              </td>
            </tr>
            <tr>
              <th style="text-align:left">segment</th>
              <td data-field="segment" style="text-align:left">
                {segment ? (
                  <>
                    <strong>{segment.segment}</strong> · RFM {segment.rfm.r}
                    {segment.rfm.f}
                    {segment.rfm.m} · {Math.round(segment.recencyDays)} days since the last order
                  </>
                ) : (
                  'none: no order yet'
                )}
                <span class="muted">
                  {' '}
                  (at risk after {Math.round(thresholds.atRiskDays)} days, lapsed after {Math.round(thresholds.lapsedDays)}, loyal from{' '}
                  {thresholds.loyalOrders} orders)
                </span>
              </td>
            </tr>
            <tr>
              <th style="text-align:left">orders</th>
              <td data-field="orders" style="text-align:left">
                {profile.orders} · {money(Number(profile.spend))} net of refunds
                {profile.orders > 0 && ` · ${money(Number(profile.spend) / profile.orders)} an order`}
                {profile.typical_gap_days !== null && ` · typically ${Math.round(profile.typical_gap_days)} days apart`}
              </td>
            </tr>
            <tr>
              <th style="text-align:left">country · tags</th>
              <td data-field="tags" style="text-align:left;overflow-wrap:anywhere">
                {c.country ?? '—'} · {c.tags.length ? c.tags.join(', ') : 'no tags'}
              </td>
            </tr>
            {attributes.length > 0 && (
              <tr>
                <th style="text-align:left">attributes</th>
                <td data-field="attributes" style="text-align:left;overflow-wrap:anywhere">
                  <code>{JSON.stringify(c.attributes)}</code>
                </td>
              </tr>
            )}
          </tbody>
        </table>
      </div>

      <h2>Orders</h2>
      {data.orders.length === 0 ? (
        <p class="muted">No orders.</p>
      ) : (
        <div class="scroll">
          <table id="orders">
            <thead>
              <tr>
                <th style="text-align:left">order</th>
                <th>placed ({timeZone})</th>
                <th>total</th>
                <th>refunded</th>
                <th style="text-align:left">lines</th>
                <th style="text-align:left">status</th>
              </tr>
            </thead>
            <tbody>
              {data.orders.map((o) => (
                <tr data-order={o.externalId}>
                  <td style="text-align:left">{o.externalId}</td>
                  <td>{when(o.orderedAt, timeZone, now)}</td>
                  <td data-field="total">{money(Number(o.total))}</td>
                  <td data-field="refunded">{money(o.refunds.reduce((sum, r) => sum + Number(r.amount), 0))}</td>
                  <td style="text-align:left;overflow-wrap:anywhere">{o.lines.map((l) => `${l.quantity} × ${l.sku}`).join(', ')}</td>
                  <td style="text-align:left">
                    {o.cancelledAt ? `cancelled ${when(o.cancelledAt, timeZone, now)}` : 'placed'}
                    {o.discountCode && ` · code ${o.discountCode}`}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}

      <h2>Sequences</h2>
      {data.enrollments.length === 0 ? (
        <p class="muted">Never enrolled.</p>
      ) : (
        <div class="scroll">
          <table id="enrollments">
            <thead>
              <tr>
                <th style="text-align:left">sequence · arm</th>
                <th>enrolled ({timeZone})</th>
                <th style="text-align:left">segment then</th>
                <th style="text-align:left">state</th>
                <th style="text-align:left">trigger order</th>
              </tr>
            </thead>
            <tbody>
              {data.enrollments.map((e) => (
                <tr data-enrollment={e.id}>
                  <td style="text-align:left">
                    <a href={sequenceArmLink(e.sequenceId, e.arm)}>{e.sequenceId}</a> · {e.arm}
                  </td>
                  <td>{when(e.enrolledAt, timeZone, now)}</td>
                  <td style="text-align:left">{e.segment ?? '—'}</td>
                  <td style="text-align:left">
                    {e.state}
                    {e.exitReason && ` (${e.exitReason})`}
                  </td>
                  <td style="text-align:left">{e.triggerOrder}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}

      <h2>Emails</h2>
      {data.messages.length === 0 ? (
        <p class="muted">No email made for this customer.</p>
      ) : (
        <ul id="emails">
          {data.messages.map((m) => (
            <li>
              <a href={`/messages/${m.id}`}>{m.subject ?? '(no subject)'}</a> · {m.state}
              {m.sentAt && ` ${when(m.sentAt, timeZone, now)}`}
              {m.discountCode && ` · code ${m.discountCode}`}
            </li>
          ))}
        </ul>
      )}
    </Layout>
  );
}

/** The customers search: each match links to its page. */
export function CustomersPage({ q, matches }: { q: string; matches: CustomerMatch[] }) {
  return (
    <Layout title="Customers" current="/customers">
      <h1>Customers</h1>
      <CustomerSearch action="/customers" q={q} />
      {matches.length > 0 ? (
        <ul id="matches" style="overflow-wrap:anywhere">
          {matches.map((c) => (
            <li>
              <a href={customerPageLink(c.external_id)}>
                {c.email} ({c.external_id})
              </a>
            </li>
          ))}
        </ul>
      ) : (
        q && <p class="muted">No customer matches "{q}".</p>
      )}
    </Layout>
  );
}

/** No customer has this id. */
export function CustomerNotFound({ id }: { id: string }) {
  return (
    <Layout title="Not found" current="/customers">
      <h1>Customers</h1>
      <p class="notice" style="overflow-wrap:anywhere">
        No customer has the id "{id}". <a href="/customers">Search</a>
      </p>
    </Layout>
  );
}
