/**
 * The tables of a sequence page. Every figure comes from the report (src/analytics/report.ts)
 * or the series beside it (src/analytics/series.ts); `data-arm`, `data-step` and `data-field`
 * name each cell, so tests and scripts read the page the way a person does.
 */
import type { Funnel, VersionReport } from '../../analytics/report.ts';
import type { SlotRow, VersionRow } from '../../analytics/series.ts';
import type { Comparison } from '../../core/experiment.ts';
import { pct } from '../../analytics/format.ts';
import { IntervalBar, TableHead } from './widgets.tsx';

/** Formats money in the shop's currency; `—` for none. */
export type Money = (value: number | null) => string;

/** A p-value to 3 decimals; `—` for none (a test that could not be run). */
export const pValue = (p: number) => (Number.isFinite(p) ? p.toFixed(3) : '—');

function ComparisonRow({ c, money, scale }: { c: Comparison; money: Money; scale: { min: number; max: number } }) {
  const incremental = c.incrementalRevenue?.cuped;
  return (
    <tr data-arm={c.arm} data-against={c.against}>
      <td>
        {c.arm} vs {c.against === 'holdout' ? 'holdout' : `${c.baseline} (control)`}
      </td>
      <td data-field="n">
        {c.n.arm} / {c.n.baseline}
      </td>
      <td data-field="difference">{money(c.revenuePerCustomer.difference)}</td>
      <td data-field="cupedDifference">{money(c.cuped.difference)}</td>
      <td data-field="interval">
        [{money(c.cuped.interval[0])}, {money(c.cuped.interval[1])}]
      </td>
      <td>
        <IntervalBar interval={c.cuped.interval} estimate={c.cuped.difference} scale={scale} />
      </td>
      <td data-field="pValue">{pValue(c.cuped.pValue)}</td>
      <td data-field="conversion">
        {pct(c.conversionRate.arm)} vs {pct(c.conversionRate.baseline)}
      </td>
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
      <td data-field="sequentialInterval">
        [{money(c.sequential.interval[0])}, {money(c.sequential.interval[1])}]
      </td>
      <td data-field="mde">
        {money(c.mde.absolute)} <span class="muted">({pct(c.mde.relative)})</span>
      </td>
      <td data-field="adjustedPValue">{pValue(c.adjustedPValue)}</td>
      <td data-field="guardrails">{c.against === 'holdout' ? 'n/a' : c.flags.length ? `worse: ${c.flags.join(', ')}` : 'ok'}</td>
      <td data-field="verdict">{c.verdict}</td>
      <td data-field="fixedHorizonVerdict" class="muted">
        {c.fixedHorizonVerdict}
      </td>
    </tr>
  );
}

/**
 * Each variant against the control and the holdout; the interval bars (fixed horizon) share
 * one scale, zero included. The verdict reads the always-valid interval beside them.
 */
export function ComparisonTable({ version, money }: { version: VersionReport; money: Money }) {
  if (version.comparisons.length === 0) return <p class="muted">One variant and no holdout: nothing to compare.</p>;
  const ends = version.comparisons.flatMap((c) => [...c.cuped.interval, 0]).filter(Number.isFinite);
  const scale = { min: Math.min(...ends), max: Math.max(...ends) };
  const heads = [
    'revenue per customer',
    'customers',
    'difference',
    'CUPED difference',
    '95% interval',
    'interval',
    'p',
    'conversion',
    'incremental revenue',
    'always-valid interval',
    'MDE (80%)',
    'Holm p',
    'guardrails',
    'verdict',
    'fixed horizon',
  ];
  return (
    <div class="scroll">
      <table id="comparisons">
        <TableHead heads={heads} />
        <tbody>
          {version.comparisons.map((c) => (
            <ComparisonRow c={c} money={money} scale={scale} />
          ))}
        </tbody>
      </table>
    </div>
  );
}

function FunnelCells({ f, money }: { f: Funnel; money: Money }) {
  return (
    <>
      <td data-field="sent">{f.sent}</td>
      <td data-field="delivered">{f.delivered}</td>
      <td data-field="humanOpens">{f.opens.human}</td>
      <td class="muted">{f.opens.raw}</td>
      <td data-field="humanClicks">{f.clicks.human}</td>
      <td class="muted">{f.clicks.raw}</td>
      <td data-field="conversions">{f.conversions}</td>
      <td data-field="attributedRevenue">{money(f.attributedRevenue)}</td>
    </>
  );
}

/** The sample-ratio check of a version: enrolled per arm against the plan, a warning when broken. */
export function SrmCheckLine({ version }: { version: VersionReport }) {
  const split = version.srm.arms.map((a) => `${a.arm} ${a.observed} (expected ${Math.round(a.expected)})`).join(', ');
  return version.srm.flagged ? (
    <p class="card" style="border-color:#d64545;color:#a61b1b" id="srm" data-flagged="true">
      <strong>Sample ratio mismatch</strong> (p = <span data-field="srmPValue">{pValue(version.srm.pValue)}</span>): enrolled {split}.
      Assignment is broken; no comparison can be trusted.
    </p>
  ) : (
    <p class="muted" id="srm" data-flagged="false">
      Split as planned: enrolled {split}; SRM p = <span data-field="srmPValue">{pValue(version.srm.pValue)}</span>.
    </p>
  );
}

/** Per arm, then per step of each variant (the holdout gets no email, so it has no steps). */
export function FunnelTable({ version, money }: { version: VersionReport; money: Money }) {
  const heads = [
    'arm / step',
    'enrolled',
    'sent',
    'delivered',
    'human opens',
    'raw',
    'human clicks',
    'raw',
    'orders',
    'attributed',
    'measured per customer',
  ];
  return (
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
                <td data-field="enrolled">{arm.enrolled}</td>
                <FunnelCells f={arm} money={money} />
                <td data-field="revenuePerCustomer">{money(arm.measured.revenuePerCustomer)}</td>
              </tr>
              {!arm.holdout &&
                arm.steps.map((s) => (
                  <tr data-arm={arm.arm} data-step={s.step}>
                    <td>
                      {'\u00a0\u00a0'}
                      {s.step}. {s.template}
                    </td>
                    <td></td>
                    <FunnelCells f={s} money={money} />
                    <td></td>
                  </tr>
                ))}
            </>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** Human clicks per recommendation slot and what the attribution credits to them. */
export function SlotTable({ slots, money }: { slots: SlotRow[]; money: Money }) {
  return (
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
  );
}

/** Every version of the sequence, newest first, the live one open, each with its YAML as written. */
export function VersionHistory({ history }: { history: VersionRow[] }) {
  return (
    <>
      {history.map((v) => (
        <details open={v.live}>
          <summary>
            version {v.version}
            {v.live ? ' (live)' : ''} · {v.created_at.toISOString().slice(0, 16).replace('T', ' ')} · {v.enrolled} enrolled
          </summary>
          <pre>{v.yaml}</pre>
        </details>
      ))}
    </>
  );
}
