/**
 * The Webhooks page: what the shop platforms' webhooks became over the last 7 days (stored,
 * ignored, dead letters, privacy requests, per platform), the dead letters with their reason
 * (each linking to its page, where the kept payload shows), the privacy requests (a data
 * request's export to download for the shop owner) and the latest ignored deliveries; the
 * rows of `campaign webhooks list` and `show` (src/store/webhooks.ts). Payloads are the
 * platform's untrusted input: they show as text only (preact escapes every child).
 * `data-delivery` on each row and `data-field` on each cell name them for tests and scripts.
 */
import type { DeliveryCount, DeliveryRow, StoredDelivery } from '../../store/webhooks.ts';
import { int, shortDate } from './format.ts';
import { Layout } from './layout.tsx';
import { webhookDeliveryLink, webhookPayloadLink } from './links.ts';

/** The outcomes as the page names them, in its order. */
export const OUTCOMES: [outcome: string, label: string, title: string][] = [
  ['stored', 'stored', 'Mapped and stored through the ingest'],
  ['ignored', 'ignored', 'An unknown topic or nothing to store (a customer without an email, a refund without money back)'],
  ['dead_letter', 'dead letters', 'Could not be mapped or was refused: kept with the reason'],
  ['privacy', 'privacy', 'Data requests and redactions'],
];

/** The data request topic: its kept payload is the export to send the shop owner. */
const DATA_REQUEST = 'customers/data_request';

export interface WebhooksPageProps {
  counts: DeliveryCount[];
  /** How many days the counts cover. */
  days: number;
  deadLetters: DeliveryRow[];
  privacy: DeliveryRow[];
  ignored: DeliveryRow[];
  timeZone: string;
  asOf: Date;
}

function Received({ row, timeZone, asOf }: { row: DeliveryRow; timeZone: string; asOf: Date }) {
  return (
    <td data-field="receivedAt" title={row.received_at.toISOString()}>
      {shortDate(row.received_at, timeZone, { now: asOf })}
    </td>
  );
}

function DeliveryId({ row }: { row: DeliveryRow }) {
  return (
    <td data-field="deliveryId" style="text-align:left">
      <a href={webhookDeliveryLink(row.platform, row.delivery_id)}>{row.delivery_id}</a>
    </td>
  );
}

export function WebhooksPage({ counts, days, deadLetters, privacy, ignored, timeZone, asOf }: WebhooksPageProps) {
  const platforms = [...new Set(counts.map((c) => c.platform))];
  const count = (platform: string, outcome: string) =>
    counts.find((c) => c.platform === platform && c.outcome === outcome)?.deliveries ?? 0;
  const recentDead = platforms.reduce((sum, p) => sum + count(p, 'dead_letter'), 0);
  return (
    <Layout title="Webhooks" current="/webhooks">
      <h1>Webhooks</h1>
      <p class="muted">
        What the shop platforms' webhooks became. Every signed delivery is answered 200 and recorded once: stored, ignored (an unknown
        topic, or nothing to store), a dead letter (it could not be mapped or was refused; kept with its reason and payload, so the cause
        can be fixed) or a privacy request. Times are the shop's ({timeZone}). The same rows:{' '}
        <code>campaign webhooks list [--outcome dead_letter|privacy|ignored|stored]</code>.
      </p>
      {recentDead > 0 && (
        <p class="alert" id="recent-dead-letters">
          {recentDead === 1 ? 'One delivery' : `${int(recentDead)} deliveries`} could not be stored in the last {days} days: see the dead
          letters below.
        </p>
      )}

      <h2>Last {days} days</h2>
      {platforms.length === 0 ? (
        <p id="no-deliveries">No webhook delivery in the last {days} days.</p>
      ) : (
        <div class="scroll">
          <table id="delivery-counts">
            <thead>
              <tr>
                <th>platform</th>
                {OUTCOMES.map(([, label, title]) => (
                  <th title={title}>{label}</th>
                ))}
                <th>total</th>
              </tr>
            </thead>
            <tbody>
              {platforms.map((platform) => (
                <tr data-platform={platform}>
                  <td data-field="platform">{platform}</td>
                  {OUTCOMES.map(([outcome]) => (
                    <td data-field={outcome}>{int(count(platform, outcome))}</td>
                  ))}
                  <td data-field="total">{int(OUTCOMES.reduce((sum, [outcome]) => sum + count(platform, outcome), 0))}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}

      <h2>Dead letters</h2>
      <p class="muted">
        The latest {int(deadLetters.length)} of any age, newest first. Open one to read its payload and fix the cause (a product or currency
        the engine refuses, a field the platform changed).
      </p>
      {deadLetters.length === 0 ? (
        <p id="no-dead-letters">No dead letters.</p>
      ) : (
        <DeliveryTable id="dead-letters" rows={deadLetters} timeZone={timeZone} asOf={asOf} />
      )}

      <h2>Privacy requests</h2>
      <p class="muted">
        A data request's export (everything stored about the customer) is kept to send to the shop owner; redactions (one customer, or the
        whole shop) were carried out on arrival.
      </p>
      {privacy.length === 0 ? (
        <p id="no-privacy">No privacy requests.</p>
      ) : (
        <div class="scroll">
          <table id="privacy-requests">
            <thead>
              <tr>
                <th style="text-align:left">topic</th>
                <th title={`Received (${timeZone})`}>received</th>
                <th class="wrap">reason</th>
                <th style="text-align:left">export</th>
              </tr>
            </thead>
            <tbody>
              {privacy.map((row) => (
                <tr data-delivery={row.delivery_id}>
                  <td data-field="topic" style="text-align:left">
                    <a href={webhookDeliveryLink(row.platform, row.delivery_id)}>{row.topic}</a>
                  </td>
                  <Received row={row} timeZone={timeZone} asOf={asOf} />
                  <td data-field="reason" class="wrap">
                    {row.reason ?? '—'}
                  </td>
                  <td data-field="export" style="text-align:left">
                    {row.topic === DATA_REQUEST && row.payload_kept ? (
                      <a href={webhookPayloadLink(row.platform, row.delivery_id)} download>
                        Download JSON
                      </a>
                    ) : (
                      '—'
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}

      <h2>Latest ignored</h2>
      <p class="muted">Unknown topics (subscribed on the platform but not used here), or deliveries with nothing to store.</p>
      {ignored.length === 0 ? (
        <p id="no-ignored">No ignored deliveries.</p>
      ) : (
        <DeliveryTable id="ignored" rows={ignored} timeZone={timeZone} asOf={asOf} />
      )}
    </Layout>
  );
}

/** Deliveries a row each, newest first: when, platform, topic, the delivery id (to its page) and why. */
function DeliveryTable({ id, rows, timeZone, asOf }: { id: string; rows: DeliveryRow[]; timeZone: string; asOf: Date }) {
  return (
    <div class="scroll">
      <table id={id}>
        <thead>
          <tr>
            <th title={`Received (${timeZone})`}>received</th>
            <th>platform</th>
            <th style="text-align:left">topic</th>
            <th style="text-align:left">delivery id</th>
            <th class="wrap">reason</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((row) => (
            <tr data-delivery={row.delivery_id}>
              <Received row={row} timeZone={timeZone} asOf={asOf} />
              <td data-field="platform">{row.platform}</td>
              <td data-field="topic" style="text-align:left">
                {row.topic}
              </td>
              <DeliveryId row={row} />
              <td data-field="reason" class="wrap">
                {row.reason ?? '—'}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** One delivery: what became of it, why, and its kept payload as text. */
export function DeliveryPage({ delivery, timeZone, asOf }: { delivery: StoredDelivery; timeZone: string; asOf: Date }) {
  const label = OUTCOMES.find(([outcome]) => outcome === delivery.outcome)?.[1] ?? delivery.outcome;
  return (
    <Layout title={`Webhook ${delivery.topic}`} current="/webhooks">
      <p>
        <a href="/webhooks">&larr; Webhooks</a>
      </p>
      <h1>
        {delivery.platform} {delivery.topic}
      </h1>
      <div class="card" id="delivery">
        <dl>
          <dt>delivery id</dt>
          <dd data-field="deliveryId" style="overflow-wrap:anywhere">
            {delivery.delivery_id}
          </dd>
          <dt>received</dt>
          <dd data-field="receivedAt">
            {shortDate(delivery.received_at, timeZone, { now: asOf })} ({timeZone})
          </dd>
          <dt>outcome</dt>
          <dd data-field="outcome">{label}</dd>
          <dt>reason</dt>
          <dd data-field="reason" style="overflow-wrap:anywhere">
            {delivery.reason ?? '—'}
          </dd>
        </dl>
      </div>
      <h2>Payload</h2>
      {delivery.payload_json === null ? (
        <p id="no-payload" class="muted">
          No payload is kept for this delivery (only dead letters and data requests keep theirs).
        </p>
      ) : (
        <>
          <p class="actions">
            <a class="button secondary" id="download-payload" href={webhookPayloadLink(delivery.platform, delivery.delivery_id)} download>
              Download JSON
            </a>
          </p>
          <pre id="payload">{delivery.payload_json}</pre>
        </>
      )}
    </Layout>
  );
}

export function DeliveryNotFound() {
  return (
    <Layout title="Not found" current="/webhooks">
      <h1>Webhooks</h1>
      <p class="notice">
        No such webhook delivery. <a href="/webhooks">Every delivery</a>
      </p>
    </Layout>
  );
}
