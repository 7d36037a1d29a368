/**
 * The small pieces several pages share: the period picker, a chart's canvas, the interval
 * bar of a comparison, the customer search form.
 */
import { PERIODS, type Period } from '../query.ts';

/** The periods as links, the current one in bold; `base` is the page's path. */
export function PeriodPicker({ base, current }: { base: string; current: Period }) {
  return (
    <p>
      Customers enrolled in:{' '}
      {Object.entries(PERIODS).map(([key, p]) => (
        <>{key === current ? <strong>{p.label}</strong> : <a href={`${base}?period=${key}`}>{p.label}</a>} </>
      ))}
    </p>
  );
}

/** Colours of the arms in order; the holdout is always grey and dashed. */
const PALETTE = ['#1f6f5c', '#c65d21', '#3b5bdb', '#9c36b5', '#2b8a3e', '#e67700'];
const HOLDOUT = '#7b8794';

export interface ChartSeries {
  label: string;
  data: (number | null)[];
  /** Drawn apart (grey, dashed): the customers who get no email. */
  holdout?: boolean;
  /** The 95% interval around the series, drawn as a band. */
  band?: { low: (number | null)[]; high: (number | null)[] };
}

export interface ChartProps {
  id: string;
  type: 'line' | 'bar';
  labels: (string | number)[];
  series: ChartSeries[];
  /** Axis titles, units included. */
  x: string;
  y: string;
  /** Vertical marks on the x axis (labels), e.g. when each step is sent. */
  marks?: { at: string | number; text: string }[];
  /** Bars stacked (a total per label). */
  stacked?: boolean;
  /** What the chart shows, for screen readers. */
  description: string;
}

/** The Chart.js configuration of a chart: one dataset per series, a band as two more. */
export function chartConfig({ type, labels, series, x, y, marks, stacked }: Omit<ChartProps, 'id' | 'description'>) {
  let colour = 0;
  const datasets = series.flatMap((s) => {
    const color = s.holdout ? HOLDOUT : PALETTE[colour++ % PALETTE.length]!;
    const main = {
      label: s.label,
      data: s.data,
      borderColor: color,
      backgroundColor: type === 'bar' ? color : color,
      borderWidth: 2,
      borderDash: s.holdout ? [6, 4] : [],
      tension: 0,
      pointRadius: type === 'line' ? 2 : 0,
      fill: false,
    };
    if (!s.band) return [main];
    const band = { borderWidth: 0, pointRadius: 0, tension: 0, band: true, borderColor: 'transparent' };
    return [
      main,
      { ...band, label: `${s.label} 95% low`, data: s.band.low, fill: false, backgroundColor: 'transparent' },
      { ...band, label: `${s.label} 95% interval`, data: s.band.high, fill: '-1', backgroundColor: `${color}26` },
    ];
  });
  return {
    type,
    data: { labels, datasets },
    options: {
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      interaction: { mode: 'index', intersect: false },
      scales: {
        x: { stacked: stacked ?? false, title: { display: true, text: x }, ticks: { autoSkip: true, maxRotation: 0 } },
        y: { stacked: stacked ?? false, beginAtZero: true, title: { display: true, text: y } },
      },
      plugins: {
        legend: { position: 'bottom' },
        // chartjs-plugin-annotation: a dashed vertical line per mark, labelled at the top. A
        // category axis takes the label's index.
        annotation: {
          annotations: Object.fromEntries(
            (marks ?? []).map((mark, i) => {
              const at = labels.indexOf(mark.at);
              return [
                `mark${i}`,
                {
                  type: 'line',
                  xMin: at,
                  xMax: at,
                  borderColor: '#52606d',
                  borderWidth: 1,
                  borderDash: [3, 3],
                  label: {
                    display: true,
                    content: mark.text,
                    position: 'start',
                    font: { size: 11 },
                    backgroundColor: 'rgba(82,96,109,.85)',
                  },
                },
              ];
            }),
          ),
        },
      },
    },
  };
}

/**
 * A Chart.js chart in a box of fixed height (the plot keeps its height at every width): a
 * canvas whose configuration rides along as JSON in `data-chart`, drawn by
 * /assets/charts.js. The attribute is escaped like any other, so a sequence named
 * `</script>` is a label, never markup or code.
 */
export function Chart(props: ChartProps) {
  return (
    <div class="chart-card">
      <div class="chart">
        <canvas id={props.id} role="img" aria-label={props.description} data-chart={JSON.stringify(chartConfig(props))} />
      </div>
    </div>
  );
}

const BAR_WIDTH = 220;

/** A 95% interval as a horizontal bar on a scale shared by one table, zero marked. */
export function IntervalBar({
  interval,
  estimate,
  scale,
}: {
  interval: [number, number];
  estimate: number;
  scale: { min: number; max: number };
}) {
  if (!Number.isFinite(interval[0]) || !Number.isFinite(interval[1])) return <span class="muted">—</span>;
  const span = scale.max - scale.min || 1;
  const x = (v: number) => Math.max(0, Math.min(BAR_WIDTH, ((v - scale.min) / span) * BAR_WIDTH));
  const color = interval[0] > 0 ? '#1f6f5c' : interval[1] < 0 ? '#ab091e' : '#7b8794';
  return (
    <svg width={BAR_WIDTH} height="16" role="img" aria-label={`interval ${interval[0].toFixed(2)} to ${interval[1].toFixed(2)}`}>
      <line x1={x(0)} x2={x(0)} y1="0" y2="16" stroke="#9aa5b1" stroke-dasharray="2,2" />
      <rect x={x(interval[0])} y="5" width={Math.max(1, x(interval[1]) - x(interval[0]))} height="6" fill={color} opacity=".55" />
      <rect x={x(estimate) - 1} y="2" width="2" height="12" fill={color} />
    </svg>
  );
}

/** The search box of the messages page: a customer by email or external id. */
export function CustomerSearch({ action, q }: { action: string; q: string }) {
  return (
    <form method="get" action={action}>
      <label>
        Customer (email or id) <input name="q" value={q} placeholder="ada@example.com or cust-42" />
      </label>{' '}
      <button type="submit">Search</button>
    </form>
  );
}

/** A table's header row, one cell per column name. */
export function TableHead({ heads }: { heads: string[] }) {
  return (
    <thead>
      <tr>
        {heads.map((h) => (
          <th>{h}</th>
        ))}
      </tr>
    </thead>
  );
}
