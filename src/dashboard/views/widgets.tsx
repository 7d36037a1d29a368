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

export interface ChartProps {
  id: string;
  type: 'line' | 'bar';
  labels: (string | number)[];
  datasets: { label: string; data: number[] }[];
}

/**
 * A Chart.js chart: a canvas whose configuration rides along as JSON in `data-chart`, drawn
 * by /assets/charts.js. The attribute is escaped like any other, so a sequence named
 * `</script>` is a label, never markup or code.
 */
export function Chart({ id, type, labels, datasets }: ChartProps) {
  const config = {
    type,
    data: { labels, datasets: datasets.map((d) => ({ ...d, tension: 0.2, pointRadius: 0 })) },
    options: { animation: false, plugins: { legend: { position: 'bottom' } } },
  };
  return (
    <div class="card">
      <canvas id={id} height={90} data-chart={JSON.stringify(config)} />
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
