/**
 * The tables of a sequence page. Every figure comes from the report (src/analytics/report.ts)
 * or the series beside it (src/analytics/series.ts); `data-arm`, `data-step` and `data-field`
 * name each cell, so tests and scripts read the page the way a person does.
 */
import type { ArmReport, Funnel, StepReport, VersionReport } from '../../analytics/report.ts';
import type { SlotRow, VersionRow } from '../../analytics/series.ts';
import type { BreakdownRow } from '../../core/breakdown.ts';
import type { Comparison } from '../../core/experiment.ts';
import { pct } from '../../analytics/format.ts';
import type { FunnelStage } from '../../analytics/recipients.ts';
import type { Period } from '../query.ts';
import { humanDate, int } from './format.ts';
import { recipientsLink } from './links.ts';
import { IntervalBar, TableHead } from './widgets.tsx';

/** Formats money in the shop's currency; `—` for none. */
export type Money = (value: number | null) => string;

/** A p-value in a cell: 3 decimals, `< 0.001` below that; `—` for none (a test that could not be run). */
export const pValue = (p: number) => (!Number.isFinite(p) ? '—' : p < 0.001 ? '< 0.001' : p.toFixed(3));

/** "b vs a (control)", "b vs holdout". */
const comparisonName = (c: Pick<Comparison, 'arm' | 'against' | 'baseline'>) =>
  `${c.arm} vs ${c.against === 'holdout' ? 'holdout' : `${c.baseline} (control)`}`;

/** The columns in reading order: the name and the verdict first, so the verdict never hides at the far end. */
function ComparisonRow({ c, money, scale }: { c: Comparison; money: Money; scale: { min: number; max: number } }) {
  const incremental = c.incrementalRevenue?.cuped;
  return (
    <tr data-arm={c.arm} data-against={c.against}>
      <td>{comparisonName(c)}</td>
      <td data-field="verdict">
        <strong>{c.verdict}</strong>
      </td>
      <td data-field="n">
        {int(c.n.arm)} / {int(c.n.baseline)}
      </td>
      <td data-field="cupedDifference">{money(c.cuped.difference)}</td>
      <td data-field="interval">
        [{money(c.cuped.interval[0])}, {money(c.cuped.interval[1])}]
      </td>
      <td>
        <IntervalBar interval={c.cuped.interval} estimate={c.cuped.difference} scale={scale} />
      </td>
      <td data-field="sequentialInterval">
        [{money(c.sequential.interval[0])}, {money(c.sequential.interval[1])}]
      </td>
      <td data-field="pValue">{pValue(c.cuped.pValue)}</td>
      <td data-field="adjustedPValue">{pValue(c.adjustedPValue)}</td>
      <td data-field="mde">
        {money(c.mde.absolute)} <span class="muted">({pct(c.mde.relative)})</span>
      </td>
      <td data-field="daysToDetect">{daysToDetect(c)}</td>
      <td data-field="guardrails">{c.against === 'holdout' ? 'n/a' : c.flags.length ? `worse: ${c.flags.join(', ')}` : 'ok'}</td>
      <td data-field="incremental">
        {incremental ? (
          <>
            {money(incremental.estimate)}{' '}
            <span class="muted">
              [{money(incremental.interval[0])}, {money(incremental.interval[1])}]
            </span>
          </>
        ) : (
          '—'
        )}
      </td>
      <td data-field="conversion">
        {pct(c.conversionRate.arm)} vs {pct(c.conversionRate.baseline)}
      </td>
      <td data-field="difference">{money(c.revenuePerCustomer.difference)}</td>
      <td data-field="fixedHorizonVerdict" class="muted">
        {c.fixedHorizonVerdict}
      </td>
    </tr>
  );
}

/** How many more days the chosen effect needs, in words. */
function daysToDetect(c: Comparison): string {
  if (c.n.arm < 2 || c.n.baseline < 2) return '—';
  const { days } = c.daysToDetect;
  return days === null ? 'not at this rate' : days === 0 ? 'now' : `${int(days)} more days`;
}

/** A plain number to 2 decimals (items per order); `—` for none. */
const decimal = (value: number | null) => (value === null || !Number.isFinite(value) ? '—' : value.toFixed(2));

type KpiDifference = { arm: number; baseline: number; difference: number; interval: [number, number]; pValue: number };

/** Each comparison's offer KPIs: arm, baseline, difference and its 95% interval, one row per KPI. */
function OfferComparisonTable({ version, money }: { version: VersionReport; money: Money }) {
  const rate = (v: number) => pct(v, 2);
  const rows = allComparisons(version).flatMap((c) => {
    const k = c.kpis;
    if (!k) return [];
    const kpis: [string, string, KpiDifference, (v: number) => string][] = [
      ['acceptanceCrossSell', 'acceptance, cross-sell', k.acceptance.crossSell, rate],
      ['acceptanceUpsell', 'acceptance, upsell', k.acceptance.upsell, rate],
      ['acceptanceAny', 'acceptance, any', k.acceptance.any, rate],
      ['recommendedRevenue', 'recommended revenue per customer', k.recommendedRevenue, money],
      ['aov', 'AOV', k.aov, money],
      ['itemsPerOrder', 'items per order', k.itemsPerOrder, decimal],
      ['offerOrderValue', 'offer order value', k.offerOrderValue, money],
      ['repeatRate', 'repeat rate', k.repeatRate, rate],
    ];
    return kpis.map(([key, name, d, f]) => (
      <tr data-arm={c.arm} data-against={c.against} data-kpi={key}>
        <td>{comparisonName(c)}</td>
        <td>{name}</td>
        <td data-field="arm">{f(d.arm)}</td>
        <td data-field="baseline">{f(d.baseline)}</td>
        <td data-field="difference">{f(d.difference)}</td>
        <td data-field="interval">
          [{f(d.interval[0])}, {f(d.interval[1])}]
        </td>
        <td data-field="pValue">{pValue(d.pValue)}</td>
      </tr>
    ));
  });
  if (rows.length === 0) return null;
  return (
    <div class="scroll">
      <table id="offer-comparisons">
        <TableHead heads={['offer KPIs', 'KPI', 'arm', 'baseline', 'difference', '95% interval', 'p']} />
        <tbody>{rows}</tbody>
      </table>
    </div>
  );
}

/** The version's comparisons, then every email pooled against the holdout when there is one. */
function allComparisons(version: VersionReport): Comparison[] {
  return version.anyEmail ? [...version.comparisons, version.anyEmail] : version.comparisons;
}

/**
 * Each variant against the control and the holdout (and every email pooled against the
 * holdout); the interval bars (fixed horizon) share
 * one scale, zero included. The verdict reads the always-valid interval beside them. Then the
 * offer KPIs of each comparison, with their intervals.
 */
export function ComparisonTable({ version, money }: { version: VersionReport; money: Money }) {
  if (version.comparisons.length === 0) return <p class="muted">One variant and no holdout: nothing to compare.</p>;
  const comparisons = allComparisons(version);
  const ends = comparisons.flatMap((c) => [...c.cuped.interval, 0]).filter(Number.isFinite);
  const detect = comparisons.find((c) => c.daysToDetect.relative !== null)?.daysToDetect.relative;
  const scale = { min: Math.min(...ends), max: Math.max(...ends) };
  const heads = [
    'revenue per customer',
    'verdict',
    'customers (arm / baseline)',
    'CUPED difference',
    '95% interval',
    'interval',
    'always-valid interval',
    'p',
    'Holm p',
    'MDE (80%)',
    detect === undefined ? 'days to detect' : `days to detect ${pct(detect)}`,
    'guardrails',
    'incremental revenue (CUPED)',
    'conversion',
    'plain difference',
    'fixed horizon',
  ];
  return (
    <>
      <div class="scroll">
        <table id="comparisons" class="lead">
          <TableHead heads={heads} />
          <tbody>
            {comparisons.map((c) => (
              <ComparisonRow c={c} money={money} scale={scale} />
            ))}
          </tbody>
        </table>
      </div>
      <ul id="comparison-summaries">
        {comparisons.map((c) => (
          <li data-arm={c.arm} data-against={c.against}>
            <strong>{comparisonName(c)}</strong>: <span data-field="summary">{c.summary}</span>.
          </li>
        ))}
      </ul>
      <OfferComparisonTable version={version} money={money} />
    </>
  );
}

/** One cell of the breakdown: its comparison within the cell, customers, difference, interval and both p-values. */
function BreakdownLine({ r, money }: { r: BreakdownRow; money: Money }) {
  const p = (value: number | null) => pValue(value ?? NaN);
  return (
    <tr data-dimension={r.dimension} data-value={r.value} data-arm={r.arm} data-against={r.against}>
      <td data-field="dimension">{r.dimension}</td>
      <td data-field="value">{r.value}</td>
      <td data-field="comparison">{comparisonName(r)}</td>
      <td data-field="n">
        {int(r.n.arm)} / {int(r.n.baseline)}
      </td>
      <td data-field="difference">{money(r.difference)}</td>
      <td data-field="interval">{r.interval ? `[${money(r.interval[0])}, ${money(r.interval[1])}]` : '—'}</td>
      <td data-field="pValue">{p(r.pValue)}</td>
      <td data-field="adjustedPValue">{p(r.adjustedPValue)}</td>
      <td data-field="standsOut">{r.standsOut ? <strong>stands out</strong> : ''}</td>
    </tr>
  );
}

/**
 * The version's comparisons within first-time and repeat buyers, each segment and the chosen
 * attribute (`version.breakdown`), labelled exploratory on the page itself: the test was sized
 * for everyone, so a cell that stands out after Holm is a lead for a targeted test, never a
 * verdict. A one-line note when no cell has customers in both arms.
 */
export function BreakdownTable({ version, money }: { version: VersionReport; money: Money }) {
  if (version.breakdown.length === 0)
    return (
      <p class="muted" id="breakdown">
        No cell yet with measured customers in both arms of a comparison.
      </p>
    );
  return (
    <>
      <p class="muted" id="breakdown-note">
        <strong>EXPLORATORY.</strong> Each comparison within first-time and repeat buyers and each segment, Holm-corrected across every cell
        of this table. The test was sized for everyone, not for a segment: a cell that stands out is a lead for a test aimed at that
        segment, not a verdict.
      </p>
      <div class="scroll">
        <table id="breakdown">
          <TableHead
            heads={['by', 'value', 'revenue per customer', 'customers (arm / baseline)', 'difference', '95% interval', 'p', 'Holm p', '']}
          />
          <tbody>
            {version.breakdown.map((r) => (
              <BreakdownLine r={r} money={money} />
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}

/** A share of `whole` in its own muted cell; a dash without a whole. */
function RateCell({ field, part, whole }: { field: string; part: number; whole: number }) {
  return (
    <td data-field={field} class="muted">
      {whole > 0 ? pct(part / whole) : '—'}
    </td>
  );
}

/** The funnel of an arm or a step; every count links to the recipients behind it (`link`). */
function FunnelCells({ f, money, link }: { f: Funnel; money: Money; link: (stage: FunnelStage) => string }) {
  const count = (stage: FunnelStage, n: number) => (n > 0 ? <a href={link(stage)}>{int(n)}</a> : int(n));
  return (
    <>
      <td data-field="sent">{count('sent', f.sent)}</td>
      <td data-field="delivered">{count('delivered', f.delivered)}</td>
      <td data-field="humanOpens">{count('opened', f.opens.human)}</td>
      <RateCell field="openRate" part={f.opens.human} whole={f.delivered} />
      <td class="muted">{int(f.opens.raw)}</td>
      <td data-field="humanClicks">{count('clicked', f.clicks.human)}</td>
      <RateCell field="clickRate" part={f.clicks.human} whole={f.delivered} />
      <td class="muted">{int(f.clicks.raw)}</td>
      <td data-field="conversions">{count('ordered', f.conversions)}</td>
      <RateCell field="conversionRate" part={f.conversions} whole={f.delivered} />
      <td data-field="attributedRevenue">{money(f.attributedRevenue)}</td>
      <td data-field="revenuePerRecipient">{money(f.revenuePerRecipient)}</td>
      <td data-field="averageOrderValue">{money(f.averageOrderValue)}</td>
      <td data-field="unsubscribes">{count('unsubscribed', f.unsubscribes)}</td>
      <td data-field="bounced">{count('bounced', f.bounced)}</td>
    </>
  );
}

/** The sample-ratio check of a version: enrolled per arm against the plan, a warning when broken. */
export function SrmCheckLine({ version }: { version: VersionReport }) {
  const split = version.srm.arms.map((a) => `${a.arm} ${a.observed} (expected ${Math.round(a.expected)})`).join(', ');
  return version.srm.flagged ? (
    <p class="card" style="border-color:#d64545;color:#a61b1b" id="srm" data-flagged="true">
      <strong>Sample ratio mismatch</strong> (p {version.srm.pValue < 0.001 ? '' : '= '}
      <span data-field="srmPValue">{pValue(version.srm.pValue)}</span>): enrolled {split}. Assignment is broken; no comparison can be
      trusted.
    </p>
  ) : (
    <p class="muted" id="srm" data-flagged="false">
      Split as planned: enrolled {split}; SRM p {version.srm.pValue < 0.001 ? '' : '= '}
      <span data-field="srmPValue">{pValue(version.srm.pValue)}</span>.
    </p>
  );
}

/** One step's emails whose recipient bought what they offered, and their share of the delivered ones. */
function AcceptedCell({ step }: { step: StepReport }) {
  return (
    <td data-field="accepted">
      {step.accepted} <span class="muted">({pct(step.acceptanceRate, 0)})</span>
    </td>
  );
}

function OfferRow({ arm, money }: { arm: ArmReport; money: Money }) {
  const k = arm.kpis;
  return (
    <tr data-arm={arm.arm}>
      <td>
        <strong>{arm.arm}</strong>
      </td>
      <td data-field="customers">{k.acceptance.any.customers}</td>
      <td data-field="acceptanceCrossSell">{pct(k.acceptance.crossSell.rate)}</td>
      <td data-field="acceptanceUpsell">{pct(k.acceptance.upsell.rate)}</td>
      <td data-field="acceptanceAny">{pct(k.acceptance.any.rate)}</td>
      <td data-field="recommendedRevenue">{money(k.recommendedRevenue.total)}</td>
      <td data-field="recommendedRevenuePerCustomer">{money(k.recommendedRevenue.perCustomer)}</td>
      <td data-field="aov">{money(k.aov.value)}</td>
      <td data-field="itemsPerOrder">{decimal(k.itemsPerOrder.value)}</td>
      <td data-field="offerOrderValue">{money(k.offerOrderValue.value)}</td>
      <td data-field="repeatRate">
        {pct(k.repeatRate.rate)} <span class="muted">of {k.repeatRate.customers}</span>
      </td>
    </tr>
  );
}

/**
 * Per arm, the offer KPIs over the measured customers: what they bought of what they were
 * offered (the holdout: of what it would have been offered), order value, items per order,
 * the repeat rate over those whose repeat horizon has closed.
 */
export function OffersTable({ version, money }: { version: VersionReport; money: Money }) {
  const heads = [
    'arm',
    'measured',
    'accepted cross-sell',
    'upsell',
    'any',
    'recommended revenue',
    'per customer',
    'AOV',
    'items per order',
    'offer order value',
    `repeat (${horizonOf(version)} days)`,
  ];
  return (
    <div class="scroll">
      <table id="offers">
        <TableHead heads={heads} />
        <tbody>
          {version.arms.map((arm) => (
            <OfferRow arm={arm} money={money} />
          ))}
        </tbody>
      </table>
    </div>
  );
}

/**
 * Per arm, then per step of each variant (the holdout gets no email, so it has no steps);
 * then the offer KPIs per arm.
 */
export function FunnelTable({
  sequence,
  period,
  version,
  money,
}: {
  sequence: string;
  period: Period;
  version: VersionReport;
  money: Money;
}) {
  const heads = [
    'arm / step',
    'customers enrolled',
    'sent',
    'delivered',
    'human opens',
    'open rate',
    'raw opens',
    'human clicks',
    'click rate',
    'raw clicks',
    'orders',
    'order rate',
    'attributed revenue',
    'per delivered email',
    'AOV (attributed)',
    'unsubscribes',
    'bounces',
    'measured revenue per customer',
    'accepted',
  ];
  const linkOf = (arm: string, step?: number) => (stage: FunnelStage) =>
    recipientsLink({ sequence, version: version.versionId, arm, step, stage, period });
  return (
    <>
      <div class="scroll">
        <table id="funnel">
          <TableHead heads={heads} />
          <tbody>
            {version.arms.map((arm) => (
              <>
                <tr data-arm={arm.arm} data-step="all">
                  <td>
                    <strong>{arm.arm}</strong>
                  </td>
                  <td data-field="enrolled">{int(arm.enrolled)}</td>
                  <FunnelCells f={arm} money={money} link={linkOf(arm.arm)} />
                  <td data-field="revenuePerCustomer">{money(arm.measured.revenuePerCustomer)}</td>
                  <td></td>
                </tr>
                {!arm.holdout &&
                  arm.steps.map((s) => (
                    <tr data-arm={arm.arm} data-step={s.step}>
                      <td>
                        {'\u00a0\u00a0'}
                        {s.step}. {s.template}
                      </td>
                      <td></td>
                      <FunnelCells f={s} money={money} link={linkOf(arm.arm, s.step)} />
                      <td></td>
                      <AcceptedCell step={s} />
                    </tr>
                  ))}
              </>
            ))}
          </tbody>
        </table>
      </div>
      <h3>Offers per arm</h3>
      <p class="muted">
        Accepted: measured customers who bought, within the window, a product they were offered (the holdout: one it would have been
        offered). AOV and items per order over every order in the window; repeat: another order within {horizonOf(version)} days of
        enrolling.
      </p>
      <OffersTable version={version} money={money} />
    </>
  );
}

function horizonOf(version: VersionReport): number {
  return version.arms[0]?.kpis.repeatRate.horizonDays ?? 90;
}

/** Human clicks per recommendation slot and what the attribution credits to them. */
export function SlotTable({ slots, money }: { slots: SlotRow[]; money: Money }) {
  return (
    <div class="scroll">
      <table id="slots">
        <TableHead heads={['slot', 'human clicks', 'orders attributed', 'revenue attributed']} />
        <tbody>
          {slots.length ? (
            slots.map((s) => (
              <tr>
                <td>{s.slot}</td>
                <td>{s.clicks}</td>
                <td>{s.orders}</td>
                <td>{money(s.revenue)}</td>
              </tr>
            ))
          ) : (
            <tr>
              <td colspan={4} class="muted">
                No clicks on recommendations yet.
              </td>
            </tr>
          )}
        </tbody>
      </table>
    </div>
  );
}

/** Every version of the sequence, newest first, the live one open, each with its YAML as written. */
export function VersionHistory({ history, timeZone }: { history: VersionRow[]; timeZone: string }) {
  return (
    <>
      {history.map((v) => (
        <details open={v.live}>
          <summary>
            version {v.version}
            {v.live ? ' (live)' : ''} · {humanDate(v.created_at, timeZone)} · {int(v.enrolled)} customers enrolled
          </summary>
          <pre>{v.yaml}</pre>
        </details>
      ))}
    </>
  );
}
