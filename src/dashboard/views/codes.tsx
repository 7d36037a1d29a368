/**
 * The Discount codes page: each code pool with its value, codes, issued, redeemed, expired
 * unissued and left to issue, the soonest expiry of the codes left, and LOW or EMPTY where
 * it runs out, the figures of `campaign codes list` and `GET /api/code-pools` (one store
 * call, src/store/discount-codes.ts `poolSummaries`). `data-pool` on each row and
 * `data-field` on each cell name them for tests and scripts.
 */
import { discountValueText } from '../../core/discount.ts';
import type { PoolSummary } from '../../store/discount-codes.ts';
import { int, shortDate } from './format.ts';
import { Layout } from './layout.tsx';

export interface CodesPageProps {
  pools: PoolSummary[];
  currency: string;
  /** CODE_POOL_LOW: under this many codes left, a pool is low. */
  lowWater: number;
  timeZone: string;
  asOf: Date;
}

const pct = (part: number, whole: number) => (whole === 0 ? '—' : `${((100 * part) / whole).toFixed(1)}%`);

export function CodesPage({ pools, currency, lowWater, timeZone, asOf }: CodesPageProps) {
  const running = pools.filter((p) => p.low);
  return (
    <Layout title="Discount codes" current="/codes">
      <h1>Discount codes</h1>
      <p class="muted">
        Each pool of single-use codes a sequence offers with <code>offer: {'{ pool: NAME }'}</code>: a code is given to one customer only,
        the same one in every step of their enrollment. Redeemed counts orders that used an issued code. A pool with fewer than{' '}
        {int(lowWater)} codes left to issue is low (CODE_POOL_LOW); a step that offers an empty pool waits, or goes without the offer when
        its sequence says <code>on_empty: send_without_offer</code>.
      </p>
      {running.length > 0 && (
        <p class={running.some((p) => p.left === 0) ? 'alert' : 'notice'} id="pools-running-out">
          {running.length === 1 ? 'One pool is' : `${running.length} pools are`} running out: import more codes with{' '}
          <code>campaign codes import POOL FILE</code> or <code>POST /api/code-pools/POOL/codes</code>.
        </p>
      )}
      {pools.length === 0 ? (
        <p id="no-pools">
          No code pools yet: <code>campaign codes import POOL FILE --value 10%</code> makes one.
        </p>
      ) : (
        <div class="scroll">
          <table id="pools">
            <thead>
              <tr>
                <th style="text-align:left">pool</th>
                <th>value</th>
                <th title="Codes imported into the pool">codes</th>
                <th title="Codes given to a customer with an email">issued</th>
                <th title="Issued codes used by an order (not cancelled)">redeemed</th>
                <th title="Redeemed of issued">redemption rate</th>
                <th title="Never issued and past their expiry">expired</th>
                <th title="Never issued and not expired: what the pool can still give">left</th>
                <th title={`The soonest expiry among the codes left (${timeZone})`}>next expiry</th>
                <th style="text-align:left">status</th>
              </tr>
            </thead>
            <tbody>
              {pools.map((p) => (
                <tr data-pool={p.pool}>
                  <td data-field="pool" style="text-align:left">
                    {p.pool}
                  </td>
                  <td data-field="value">{discountValueText({ kind: p.kind, value: p.value }, currency)}</td>
                  <td data-field="size">{int(p.size)}</td>
                  <td data-field="issued">{int(p.issued)}</td>
                  <td data-field="redeemed">{int(p.redeemed)}</td>
                  <td data-field="redemptionRate">{pct(p.redeemed, p.issued)}</td>
                  <td data-field="expired">{int(p.expired)}</td>
                  <td data-field="left">{int(p.left)}</td>
                  <td data-field="nextExpiry">{p.nextExpiry ? shortDate(p.nextExpiry, timeZone, { now: asOf }) : '—'}</td>
                  <td data-field="status" style="text-align:left">
                    {p.left === 0 ? <strong class="bad">EMPTY</strong> : p.low ? <strong>LOW</strong> : 'ok'}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </Layout>
  );
}
