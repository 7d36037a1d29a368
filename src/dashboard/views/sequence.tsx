/**
 * A sequence's page, the decision first: a card per variant with the verdict and how far
 * along the test is, then the revenue curve, the steps as a flow with their rates, and the
 * detailed tables (comparisons, guardrails, the exploratory breakdown by buyer and segment,
 * funnel, offers, recommendations), the experiment log and the version history.
 */
import { pct } from '../../analytics/format.ts';
import type { SequenceReport, VersionReport } from '../../analytics/report.ts';
import type { RecommendationTables } from '../../analytics/recommendations.ts';
import type { CurvePoint, SlotRow, VersionRow } from '../../analytics/series.ts';
import { decisionLabel, evidenceSummary } from '../../core/promote.ts';
import { typicalStepOffsetsMs } from '../../core/step-delay.ts';
import type { SequenceDefinition, StoredDefinition } from '../../core/sequence.ts';
import type { Decision } from '../../store/experiment-log.ts';
import type { Period } from '../query.ts';
import type { AuditEntry } from '../../store/audit-log.ts';
import { SequenceActions } from './actions.tsx';
import { DecisionCards } from './decision.tsx';
import { FlowView } from './flow.tsx';
import { humanDate, int } from './format.ts';
import { Layout } from './layout.tsx';
import { RecommendationPerformance } from './recommendations.tsx';
import {
  BreakdownTable,
  ComparisonTable,
  FunnelTable,
  pValue,
  SlotTable,
  SrmCheckLine,
  VersionHistory,
  type Money,
} from './report-tables.tsx';
import { Chart, PeriodPicker, TableHead } from './widgets.tsx';

/**
 * The cumulative revenue curve: a line per arm with its 95% band, the holdout apart, and a
 * mark where each step is sent (its delay since enrolling, added up).
 */
function CurveChart({ curve, definition, currency }: { curve: CurvePoint[]; definition: SequenceDefinition; currency: string }) {
  const arms = [...new Set(curve.map((p) => p.arm))];
  const labels = [...new Set(curve.map((p) => p.day))];
  const cents = (v: number | null | undefined) => (v === null || v === undefined ? null : Math.round(v * 100) / 100);
  const series = arms.map((arm) => {
    const points = curve.filter((p) => p.arm === arm);
    return {
      label: arm === 'holdout' ? 'holdout (no email)' : arm,
      holdout: arm === 'holdout',
      data: points.map((p) => cents(p.value)),
      band: { low: points.map((p) => cents(p.interval?.[0])), high: points.map((p) => cents(p.interval?.[1])) },
    };
  });
  // A refill step is marked at its typical time: the fallback interval less its lead.
  const marks = typicalStepOffsetsMs(definition.steps).map((elapsed, i) => ({
    at: Math.floor(elapsed / 86_400_000) + 1,
    text: `step ${i + 1}`,
  }));
  return (
    <Chart
      id="curve"
      type="line"
      labels={labels}
      series={series}
      x="days since enrolling"
      y={`revenue per measured customer, ${currency}, cumulative`}
      marks={marks}
      description="Cumulative revenue per measured customer by day since enrolling, one line per arm with its 95% interval"
    />
  );
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
function ExperimentLog({ id, decisions, timeZone }: { id: string; decisions: Decision[]; timeZone: string }) {
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
              <td data-field="decidedAt">{humanDate(d.decidedAt, timeZone)}</td>
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
  definition: StoredDefinition;
  period: Period;
  curve: CurvePoint[];
  slots: SlotRow[];
  recs: RecommendationTables;
  /** The sequence's audit lines (pause, resume, promote, end), newest first. */
  audit: AuditEntry[];
  history: VersionRow[];
  decisions: Decision[];
  money: Money;
  currency: string;
  timeZone: string;
  asOf: Date;
  attribution: string;
  minSample: number;
}

/** One sequence over `period`: its numbers are the report's, its curve and slots the series'. */
export function SequencePage(props: SequenceProps) {
  const { sequence, version, definition, period, curve, slots, history, decisions, money, timeZone } = props;
  const base = `/sequences/${encodeURIComponent(sequence.id)}`;
  const variants = definition.variants.map((v) => `${v.key} (weight ${v.weight})`).join(', ');
  const windowDays = Math.round(version.measurementWindowDays * 10) / 10;
  const enrolled = version.arms.reduce((n, a) => n + a.enrolled, 0);
  const measured = version.arms.reduce((n, a) => n + a.measured.customers, 0);
  return (
    <Layout title={sequence.name} charts>
      <h1>
        {sequence.name}{' '}
        <span class={`badge ${sequence.status}`} id="status">
          {sequence.status}
        </span>
      </h1>
      <p class="muted" id="meta">
        <code>{sequence.id}</code> · version {version.version}
        {version.live ? ' (live)' : ''} · variants {variants} · holdout {pct(definition.holdout)} · each customer measured over {windowDays}{' '}
        days after enrolling · figures as of <span data-field="asOf">{humanDate(props.asOf, timeZone)}</span>
      </p>
      <SequenceActions sequence={sequence} version={version} audit={props.audit} timeZone={timeZone} />
      <PeriodPicker base={base} current={period} />
      <p class="muted" id="counts">
        <span data-field="enrolledCustomers">{int(enrolled)}</span> customers enrolled in this version over the period, of whom{' '}
        <span data-field="measuredCustomers">{int(measured)}</span> measured (their {Math.round(windowDays)}-day window has closed).
        {measured === 0 && " No customer's window has closed yet: the figures below fill in as windows close."}
      </p>
      <h2>Decision</h2>
      <DecisionCards version={version} money={money} minSample={props.minSample} />
      <h2>Revenue per customer after enrolling</h2>
      <CurveChart curve={curve} definition={definition} currency={props.currency} />
      <p class="muted">
        Cumulative revenue per measured customer by day since enrolling, with each line's 95% interval as a band; the dashed grey line is
        the holdout, which gets no email; the dashed marks are when each step is sent. Arms that part before the first mark differ by chance
        or by who enrolled, not by an email.
      </p>
      <h2>Steps</h2>
      <FlowView sequence={sequence.id} period={period} version={version} definition={definition} money={money} />
      <h2>Comparisons in detail</h2>
      <SrmCheckLine version={version} />
      <ComparisonTable version={version} money={money} />
      <p class="muted">
        The verdict is the sequential one: it reads the always-valid interval, which may be looked at every day; the fixed-horizon verdict
        is for a test read once, at its planned size. The MDE is the smallest difference the test could detect so far with 80% power.
        Revenue per customer counts the customers whose {Math.round(windowDays)}-day window has closed.
      </p>
      <GuardrailTable version={version} />
      <p>
        <a href={`${base}/export.csv?table=comparisons&period=${period}`}>Export comparisons (CSV)</a>
      </p>
      <h3>By buyer and segment (exploratory)</h3>
      <BreakdownTable version={version} money={money} />
      {version.breakdown.length > 0 && (
        <p>
          <a href={`${base}/export.csv?table=breakdown&period=${period}`}>Export by buyer and segment (CSV)</a>
        </p>
      )}
      <h2>Funnel per arm and step</h2>
      <p class="muted">Attribution: {props.attribution}.</p>
      <FunnelTable sequence={sequence.id} period={period} version={version} money={money} />
      <p>
        <a href={`${base}/export.csv?table=arms&period=${period}`}>Export funnel (CSV)</a>
      </p>
      <h2>Recommendation performance</h2>
      <RecommendationPerformance rows={props.recs} money={money} />
      <p>
        <a href={`${base}/export.csv?table=recs-strategy&period=${period}`}>Export by strategy (CSV)</a> ·{' '}
        <a href={`${base}/export.csv?table=recs-product&period=${period}`}>Export by product (CSV)</a>
      </p>
      <h3>By position in the email</h3>
      <SlotTable slots={slots} money={money} />
      <p>
        <a href={`${base}/export.csv?table=slots&period=${period}`}>Export slots (CSV)</a>
      </p>
      <h2>Experiment log</h2>
      <ExperimentLog id={sequence.id} decisions={decisions} timeZone={timeZone} />
      <h2>Versions</h2>
      <VersionHistory history={history} timeZone={timeZone} />
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
