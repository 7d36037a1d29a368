/** The overview page: every sequence's live version in one table, and emails sent per day. */
import { pct } from '../../analytics/format.ts';
import type { Report, SequenceReport } from '../../analytics/report.ts';
import { pooledKpis } from '../../core/kpis.ts';
import type { TrendPoint } from '../../analytics/series.ts';
import type { Period } from '../query.ts';
import { Layout } from './layout.tsx';
import type { Money } from './report-tables.tsx';
import { Chart, PeriodPicker } from './widgets.tsx';

function sum<T>(items: T[], pick: (item: T) => number): number {
  return items.reduce((total, item) => total + pick(item), 0);
}

/** One sequence, by its live version: the holdout counts as enrolled, never as sent. */
function SequenceRow({ s, money }: { s: SequenceReport; money: Money }) {
  const live = s.versions.find((v) => v.live) ?? s.versions[0];
  const variants = live?.arms.filter((a) => !a.holdout) ?? [];
  const measured = live?.comparisons.filter((c) => c.incrementalRevenue) ?? [];
  const incremental = measured.reduce((total, c) => total + c.incrementalRevenue!.cuped.estimate, 0);
  // The offer KPIs of the variants pooled, the holdout's beside them.
  const treated = pooledKpis(variants.map((a) => a.kpis));
  const holdout = pooledKpis(live?.arms.filter((a) => a.holdout).map((a) => a.kpis) ?? []);
  const besideHoldout = (value: string) => (live?.arms.some((a) => a.holdout) ? <span class="muted"> (holdout {value})</span> : null);
  return (
    <tr data-sequence={s.id}>
      <td>
        <a href={`/sequences/${encodeURIComponent(s.id)}`}>{s.name}</a> <span class="muted">{s.id}</span>
      </td>
      <td>
        <span class={`badge ${s.status}`}>{s.status}</span>
      </td>
      <td data-field="enrolled">{sum(live?.arms ?? [], (a) => a.enrolled)}</td>
      <td data-field="sent">{sum(variants, (a) => a.sent)}</td>
      <td data-field="conversions">{sum(variants, (a) => a.conversions)}</td>
      <td data-field="attributedRevenue">{money(sum(variants, (a) => a.attributedRevenue))}</td>
      <td data-field="incrementalRevenue">{measured.length ? money(incremental) : '—'}</td>
      <td>
        <span data-field="acceptance">{pct(treated.acceptanceAny)}</span>
        {besideHoldout(pct(holdout.acceptanceAny))}
      </td>
      <td>
        <span data-field="aov">{money(treated.aov)}</span>
        {besideHoldout(money(holdout.aov))}
      </td>
    </tr>
  );
}

/** The trend as Chart.js wants it: one label per day, one dataset per sequence, 0 on a day without sends. */
function trendChart(trend: TrendPoint[]) {
  const days = [...new Set(trend.map((t) => t.day))];
  const datasets = [...new Set(trend.map((t) => t.sequence))].map((sequence) => ({
    label: sequence,
    data: days.map((day) => trend.find((t) => t.day === day && t.sequence === sequence)?.sent ?? 0),
  }));
  return { labels: days, datasets };
}

export interface OverviewProps {
  report: Report;
  period: Period;
  trend: TrendPoint[];
  money: Money;
}

/** Every sequence by its live version over `period`, and the emails sent per day. */
export function OverviewPage({ report, period, trend, money }: OverviewProps) {
  const heads: [string, string?][] = [
    ['sequence'],
    ['status'],
    ['enrolled'],
    ['sent'],
    ['orders attributed'],
    ['attributed revenue'],
    ['incremental revenue (CUPED)'],
    [
      'offer acceptance (variants)',
      "Live version, the variants' measured customers pooled (the holdout's beside): the share who bought, within the measurement window, a product they were offered (the holdout: one it would have been offered)",
    ],
    [
      'AOV (variants)',
      "Live version, the variants' measured customers pooled (the holdout's beside): net revenue per order over every order in the measurement window",
    ],
  ];
  return (
    <Layout title="Overview" charts>
      <h1>Overview</h1>
      <PeriodPicker base="/" current={period} />
      <table id="sequences">
        <thead>
          <tr>
            {heads.map(([head, title]) => (
              <th title={title}>{head}</th>
            ))}
          </tr>
        </thead>
        <tbody>
          {report.sequences.length ? (
            report.sequences.map((s) => <SequenceRow s={s} money={money} />)
          ) : (
            <tr>
              <td colspan={heads.length} class="muted">
                No sequences yet: apply one with <code>campaign sequences apply</code>.
              </td>
            </tr>
          )}
        </tbody>
      </table>
      <p>
        <a href={`/export.csv?period=${period}`}>Export CSV</a> · figures as of {report.asOf}; attribution {report.attributionModel}
      </p>
      <h2>Emails sent per day</h2>
      <Chart id="trend" type="line" {...trendChart(trend)} />
    </Layout>
  );
}
