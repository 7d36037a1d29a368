/**
 * The overview page: every sequence's live version in one table (./analytics/overview.ts,
 * the same rows as its CSV), each headline with its interval and verdict or the reason it
 * has none; then the emails sent per day.
 */
import { pct } from '../../analytics/format.ts';
import type { SequenceSummary } from '../../analytics/overview.ts';
import type { TrendPoint } from '../../analytics/series.ts';
import type { Period } from '../query.ts';
import { humanDate, int } from './format.ts';
import { Layout } from './layout.tsx';
import type { Money } from './report-tables.tsx';
import { Chart, PeriodPicker } from './widgets.tsx';

function Incremental({ s, money }: { s: SequenceSummary; money: Money }) {
  if (!s.incremental) return <span class="muted">{s.incrementalNote}</span>;
  const { estimate, interval, verdict, claims } = s.incremental;
  return (
    <>
      <span data-field="incrementalEstimate">{money(estimate)}</span>{' '}
      <span class="muted">
        [{money(interval[0])}, {money(interval[1])}]
      </span>
      <br />
      <span class={claims ? (verdict === 'better' ? 'good' : verdict === 'worse' ? 'bad' : '') : 'muted'} data-field="incrementalVerdict">
        {claims ? verdict : s.incrementalNote}
      </span>
    </>
  );
}

/** One sequence, by its live version: the holdout counts as enrolled, never as sent. */
function SequenceRow({ s, money }: { s: SequenceSummary; money: Money }) {
  const holdout = (value: string) => <span class="muted"> (holdout {value})</span>;
  return (
    <tr data-sequence={s.id}>
      <td>
        <a href={`/sequences/${encodeURIComponent(s.id)}`}>{s.name}</a> <span class="muted">{s.id}</span>
      </td>
      <td>
        <span class={`badge ${s.status}`}>{s.status}</span>
      </td>
      <td data-field="enrolled">{int(s.customersEnrolled)}</td>
      <td data-field="measured">{int(s.customersMeasured)}</td>
      <td data-field="sent">{int(s.emailsSent)}</td>
      <td data-field="conversions">{int(s.ordersAttributed)}</td>
      <td data-field="attributedRevenue">{money(s.attributedRevenue)}</td>
      <td data-field="incrementalRevenue" class="wrap">
        <Incremental s={s} money={money} />
      </td>
      <td data-field="winner">{s.winner ? <span class="badge win">{s.winner}</span> : <span class="muted">none yet</span>}</td>
      <td>
        <span data-field="acceptance">{pct(s.acceptance)}</span>
        {s.acceptanceHoldout !== null && holdout(pct(s.acceptanceHoldout))}
      </td>
      <td>
        <span data-field="aov">{money(s.aov)}</span>
        {s.aovHoldout !== null && holdout(money(s.aovHoldout))}
      </td>
    </tr>
  );
}

export interface OverviewProps {
  summaries: SequenceSummary[];
  period: Period;
  trend: TrendPoint[];
  /** Every day of the trend's axis, in the shop's time zone. */
  days: string[];
  money: Money;
  asOf: Date;
  timeZone: string;
  attribution: string;
  minSample: number;
  /** Discount code pools with fewer codes left than CODE_POOL_LOW (empty ones too). */
  lowPools?: { name: string; left: number }[];
  /** Webhook deliveries kept as dead letters in the last `webhookDays` days. */
  deadLetters?: number;
  webhookDays?: number;
}

const HEADS: [string, string][] = [
  ['sequence', ''],
  ['status', ''],
  ['customers enrolled', "Customers enrolled in the live version in the period, the holdout's included (one enrolled twice counts once)"],
  ['customers measured', 'Of them, those whose measurement window has closed: the ones the revenue figures count'],
  ['emails sent', "The live version's emails sent to the customers enrolled in the period"],
  ['orders attributed', 'Orders credited to an email by the attribution model'],
  ['attributed revenue', 'Revenue of those orders'],
  [
    'revenue the emails add (CUPED, 95%)',
    'Every variant pooled against the holdout: the difference in revenue per measured customer times the customers measured, with its interval and verdict',
  ],
  ['winner', 'The variant the evidence supports promoting, if any'],
  [
    'offer accepted (variants)',
    'The share of measured customers who bought a product they were offered (the holdout: one it would have been offered)',
  ],
  ['AOV (variants)', 'Net revenue per order over every order in the measurement window'],
];

/** Every sequence by its live version over `period`, and the emails sent per day. */
export function OverviewPage({
  summaries,
  period,
  trend,
  days,
  money,
  asOf,
  timeZone,
  attribution,
  minSample,
  lowPools = [],
  deadLetters = 0,
  webhookDays = 7,
}: OverviewProps) {
  const sequences = [...new Set(trend.map((t) => t.sequence))];
  const series = sequences.map((sequence) => ({
    label: sequence,
    data: days.map((day) => trend.find((t) => t.day === day && t.sequence === sequence)?.sent ?? 0),
  }));
  const noneMeasured = summaries.length > 0 && summaries.every((s) => s.customersMeasured === 0);
  return (
    <Layout title="Overview" charts current="/">
      <h1>Overview</h1>
      <PeriodPicker base="/" current={period} />
      <p class="muted">
        The table counts the customers enrolled in the period and what they did afterwards; revenue figures count only those whose
        measurement window has closed, and a verdict needs {int(minSample)} of them per arm. Figures as of{' '}
        <span data-field="asOf">{humanDate(asOf, timeZone)}</span>; {attribution}.
      </p>
      {lowPools.length > 0 && (
        <p class={lowPools.some((p) => p.left === 0) ? 'alert' : 'notice'} id="low-pools">
          <strong>Discount codes running out</strong>:{' '}
          {lowPools.map((p, i) => (
            <>
              {i > 0 && ', '}
              <span data-pool={p.name}>
                {p.name} {p.left === 0 ? 'is empty' : `has ${int(p.left)} left`}
              </span>
            </>
          ))}
          . A step that offers an empty pool waits (or goes without the offer when its sequence says so): import more with{' '}
          <code>campaign codes import</code>. <a href="/codes">Every pool</a>
        </p>
      )}
      {deadLetters > 0 && (
        <p class="alert" id="dead-letters">
          <strong>Webhook dead letters</strong>: {deadLetters === 1 ? 'one delivery' : `${int(deadLetters)} deliveries`} from the shop
          platform could not be stored in the last {webhookDays} days; each is kept with its reason and payload.{' '}
          <a href="/webhooks">See the webhooks</a>
        </p>
      )}
      {noneMeasured && (
        <p class="notice" id="none-measured">
          No customer's window has closed yet in this period: revenue per customer and what the emails add appear as windows close.
        </p>
      )}
      <div class="scroll">
        <table id="sequences">
          <thead>
            <tr>
              {HEADS.map(([head, title]) => (
                <th title={title || undefined}>{head}</th>
              ))}
            </tr>
          </thead>
          <tbody>
            {summaries.length ? (
              summaries.map((s) => <SequenceRow s={s} money={money} />)
            ) : (
              <tr>
                <td colspan={HEADS.length} class="muted">
                  No sequences yet: apply one with <code>campaign sequences apply</code>.
                </td>
              </tr>
            )}
          </tbody>
        </table>
      </div>
      <p>
        <a href={`/export.csv?period=${period}&table=sequences`}>Export this table (CSV)</a>
      </p>
      <h2>Emails sent per day</h2>
      <p class="muted">
        Every email sent on each day of the period (the last 90 days when the period is all time), whoever it went to: a different count
        from the table's, which follows the customers enrolled in the period.
      </p>
      <Chart
        id="trend"
        type="bar"
        stacked
        labels={days}
        series={series}
        x={`day (${timeZone})`}
        y="emails sent"
        description="Emails sent per day and sequence"
      />
    </Layout>
  );
}
