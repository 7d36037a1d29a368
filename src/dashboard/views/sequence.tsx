/**
 * A sequence's page: its live version's steps, the comparisons and their guardrails, the
 * revenue curve, the funnel, the recommendation slots, the experiment log and the version
 * history, with pause or resume.
 */
import { pct } from '../../analytics/format.ts';
import type { SequenceReport, VersionReport } from '../../analytics/report.ts';
import type { CurvePoint, SlotRow, VersionRow } from '../../analytics/series.ts';
import { decisionLabel, evidenceSummary } from '../../core/promote.ts';
import type { SequenceDefinition } from '../../core/sequence.ts';
import type { Decision } from '../../store/experiment-log.ts';
import type { Period } from '../query.ts';
import { Layout } from './layout.tsx';
import { ComparisonTable, FunnelTable, pValue, SlotTable, SrmCheckLine, VersionHistory, type Money } from './report-tables.tsx';
import { Chart, PeriodPicker, TableHead } from './widgets.tsx';

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

/**
 * Each challenger's guardrails against the control: the share of enrolled customers with an
 * unsubscribe, complaint or bounce in each arm, and the Holm-adjusted one-sided p of "worse".
 */
function GuardrailTable({ version }: { version: VersionReport }) {
  const rails = version.comparisons.filter((c) => c.against === 'control' && c.guardrails.length > 0);
  if (rails.length === 0) return null;
  return (
    <div class="scroll">
      <table id="guardrails">
        <TableHead heads={['guardrail', 'metric', 'arm', 'control', 'difference', 'Holm p (worse)', '']} />
        <tbody>
          {rails.flatMap((c) =>
            c.guardrails.map((g) => (
              <tr data-arm={c.arm} data-metric={g.metric}>
                <td>
                  {c.arm} vs {c.baseline} (control)
                </td>
                <td>{g.metric}</td>
                <td data-field="arm">{pct(g.arm)}</td>
                <td data-field="baseline">{pct(g.baseline)}</td>
                <td data-field="difference">{pct(g.difference)}</td>
                <td data-field="adjustedPValue">{pValue(g.adjustedPValue)}</td>
                <td data-field="flagged">{g.flagged ? <strong>worse</strong> : 'ok'}</td>
              </tr>
            )),
          )}
        </tbody>
      </table>
    </div>
  );
}

/** The decisions taken on this sequence's experiments (`campaign sequences promote`), newest first. */
function ExperimentLog({ id, decisions }: { id: string; decisions: Decision[] }) {
  if (decisions.length === 0)
    return (
      <p class="muted" id="experiment-log">
        No decisions yet: <code>campaign sequences promote {id} VARIANT</code> records one when the evidence is in.
      </p>
    );
  return (
    <div class="scroll">
      <table id="experiment-log">
        <TableHead heads={['when', 'version', 'tested', 'decision', 'forced', 'by', 'note', 'evidence']} />
        <tbody>
          {decisions.map((d) => (
            <tr data-decision={d.id}>
              <td data-field="decidedAt">{d.decidedAt.toISOString().slice(0, 16).replace('T', ' ')}</td>
              <td data-field="version">{d.version}</td>
              <td data-field="tested">{d.tested.join(', ')}</td>
              <td data-field="decision">{decisionLabel({ ...d, forced: false })}</td>
              <td data-field="forced">{d.forced ? <strong>forced, against the evidence</strong> : 'no'}</td>
              <td data-field="decidedBy">{d.decidedBy}</td>
              <td data-field="note">{d.note ?? '—'}</td>
              <td data-field="evidence" class="muted">
                {evidenceSummary(d.evidence)}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export interface SequenceProps {
  sequence: SequenceReport;
  version: VersionReport;
  definition: SequenceDefinition;
  period: Period;
  curve: CurvePoint[];
  slots: SlotRow[];
  history: VersionRow[];
  decisions: Decision[];
  money: Money;
}

/** One sequence over `period`: its numbers are the report's, its curve and slots the series'. */
export function SequencePage({ sequence, version, definition, period, curve, slots, history, decisions, money }: SequenceProps) {
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
        yet. The verdict is the sequential one: it reads the always-valid interval, which may be looked at every day; the fixed-horizon
        verdict is for a test read once, at its planned size. The MDE is the smallest difference the test could detect so far.
      </p>
      <GuardrailTable version={version} />
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
      <h2>Experiment log</h2>
      <ExperimentLog id={sequence.id} decisions={decisions} />
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
