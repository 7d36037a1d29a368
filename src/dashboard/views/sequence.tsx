/**
 * A sequence's page: its live version's steps, the comparisons, the revenue curve, the
 * funnel, the recommendation slots and the version history, with pause or resume.
 */
import { pct } from '../../analytics/format.ts';
import type { SequenceReport, VersionReport } from '../../analytics/report.ts';
import type { CurvePoint, SlotRow, VersionRow } from '../../analytics/series.ts';
import type { SequenceDefinition } from '../../core/sequence.ts';
import type { Period } from '../query.ts';
import { Layout } from './layout.tsx';
import { ComparisonTable, FunnelTable, SlotTable, SrmCheckLine, VersionHistory, type Money } from './report-tables.tsx';
import { Chart, PeriodPicker } from './widgets.tsx';

function Steps({ definition }: { definition: SequenceDefinition }) {
  return (
    <div class="timeline">
      {definition.steps.map((step, i) => (
        <div class="step">
          <strong>{i + 1}.</strong> after {step.delay}: <code>{step.template}</code>
          {step.recommendations && (
            <>
              {' '}
              <span class="muted">({step.recommendations})</span>
            </>
          )}
          {step.skip_if && (
            <>
              {' '}
              <span class="muted">skip if {Object.keys(step.skip_if).join(', ')}</span>
            </>
          )}
        </div>
      ))}
    </div>
  );
}

/** One line per arm, rounded to the cent: the last point of each is its revenue per customer. */
function curveChart(curve: CurvePoint[]) {
  const arms = [...new Set(curve.map((p) => p.arm))];
  return {
    labels: [...new Set(curve.map((p) => p.day))],
    datasets: arms.map((arm) => ({
      label: arm,
      data: curve.filter((p) => p.arm === arm).map((p) => Math.round(p.value * 100) / 100),
    })),
  };
}

export interface SequenceProps {
  sequence: SequenceReport;
  version: VersionReport;
  definition: SequenceDefinition;
  period: Period;
  curve: CurvePoint[];
  slots: SlotRow[];
  history: VersionRow[];
  money: Money;
}

/** One sequence over `period`: its numbers are the report's, its curve and slots the series'. */
export function SequencePage({ sequence, version, definition, period, curve, slots, history, money }: SequenceProps) {
  const base = `/sequences/${encodeURIComponent(sequence.id)}`;
  const action = sequence.status === 'active' ? 'pause' : 'resume';
  const variants = definition.variants.map((v) => `${v.key} (${v.weight})`).join(', ');
  const windowDays = version.measurementWindowDays;
  return (
    <Layout title={sequence.name} charts>
      <h1>
        {sequence.name}{' '}
        <span class={`badge ${sequence.status}`} id="status">
          {sequence.status}
        </span>
      </h1>
      <p class="muted">
        {sequence.id} · version {version.version}
        {version.live ? ' (live)' : ''} · variants {variants} · holdout {pct(definition.holdout)} · measured over{' '}
        {Math.round(windowDays * 10) / 10} days
      </p>
      <form method="post" action={`${base}/${action}`}>
        <button type="submit" id="toggle">
          {action === 'pause' ? 'Pause' : 'Resume'}
        </button>
      </form>
      <PeriodPicker base={base} current={period} />
      <h2>Steps</h2>
      <Steps definition={definition} />
      <h2>Variants compared</h2>
      <SrmCheckLine version={version} />
      <ComparisonTable version={version} money={money} />
      <p class="muted">
        Revenue per customer counts the customers whose {Math.round(windowDays)}-day window has closed; a period shorter than that has none
        yet.
      </p>
      <p>
        <a href={`${base}/export.csv?table=comparisons&period=${period}`}>Export comparisons (CSV)</a>
      </p>
      <h2>Revenue per enrolled customer, cumulative, by day since enrolling</h2>
      <Chart id="curve" type="line" {...curveChart(curve)} />
      <h2>Funnel per arm and step</h2>
      <FunnelTable version={version} money={money} />
      <p>
        <a href={`${base}/export.csv?table=arms&period=${period}`}>Export funnel (CSV)</a>
      </p>
      <h2>Recommendation slots</h2>
      <SlotTable slots={slots} money={money} />
      <p>
        <a href={`${base}/export.csv?table=slots`}>Export slots (CSV)</a>
      </p>
      <h2>Versions</h2>
      <VersionHistory history={history} />
    </Layout>
  );
}

/** The page for a sequence id that names none. */
export function SequenceNotFound({ id }: { id: string }) {
  return (
    <Layout title="Not found">
      <h1>No sequence "{id}"</h1>
      <p>
        <a href="/">Back to the overview</a>
      </p>
    </Layout>
  );
}
