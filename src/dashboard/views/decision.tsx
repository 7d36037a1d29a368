/**
 * The top of a sequence page: what a marketer decides from. One card per variant with its
 * revenue per customer (and interval), its lift against the control and the holdout, offer
 * acceptance and order value against the control, the sequential verdict in words and how far
 * along the test is; the winner the evidence names is marked. Warnings (a broken split, a
 * guardrail made worse) stand above the cards, never in a table's far column.
 */
import { pct } from '../../analytics/format.ts';
import type { ArmReport, VersionReport } from '../../analytics/report.ts';
import { makesClaim, SRM_VERDICT, type Comparison } from '../../core/experiment.ts';
import { evidentWinner } from '../../core/promote.ts';
import { int } from './format.ts';
import type { Money } from './report-tables.tsx';

/** A share with its sign: +12.3%. */
const signedPct = (value: number | null) => (value === null || !Number.isFinite(value) ? '—' : `${value > 0 ? '+' : ''}${pct(value)}`);

/** Relative to the baseline's revenue per customer; null without one. */
function relativeTo(c: Comparison, value: number): number | null {
  const base = c.revenuePerCustomer.baseline;
  return Number.isFinite(base) && base !== 0 && Number.isFinite(value) ? value / base : null;
}

/** "+12.3% [+4.1%, +20.5%]" of revenue per customer against the comparison's baseline, always-valid interval. */
function Lift({ c }: { c: Comparison | undefined }) {
  if (!c) return <span class="muted">—</span>;
  if (!makesClaim(c.verdict)) return <span class="muted">{c.verdict}</span>;
  const [low, high] = c.sequential.interval;
  return (
    <span>
      {signedPct(relativeTo(c, c.cuped.difference))}{' '}
      <span class="muted">
        [{signedPct(relativeTo(c, low))}, {signedPct(relativeTo(c, high))}]
      </span>
    </span>
  );
}

/** The sequential verdict against the control (or, for the control, against the holdout) in words. */
function verdictWords(arm: string, c: Comparison | undefined): { text: string; tone: '' | 'good' | 'bad' } {
  if (!c) return { text: 'Nothing to compare with yet.', tone: '' };
  const baseline = c.against === 'holdout' ? 'no email (the holdout)' : `the control (${c.baseline})`;
  switch (c.verdict) {
    case 'better':
      return { text: `Earns more per customer than ${baseline}.`, tone: 'good' };
    case 'worse':
      return { text: `Earns less per customer than ${baseline}.`, tone: 'bad' };
    case 'no clear difference yet':
      return { text: `No clear difference from ${baseline} yet.`, tone: '' };
    case 'not enough data yet':
      return { text: `Not enough data yet: ${c.summary}.`, tone: '' };
    case 'no data':
      return { text: `No data yet: ${c.summary}.`, tone: '' };
    case SRM_VERDICT:
      return { text: `${arm} cannot be judged: the split is broken (sample ratio mismatch).`, tone: 'bad' };
  }
}

/**
 * How far along a comparison is: "412 of 1,100 customers needed to detect a 5.0% difference,
 * about 9 more days"; once decided, that it was enough; when enrollment has stopped, what
 * the customers measured can detect (the MDE at 80% power), never just "no difference".
 */
export function progressWords(c: Comparison | undefined, money: Money): string {
  if (!c) return '';
  const have = c.n.arm + c.n.baseline;
  const { days, customersNeeded, relative } = c.daysToDetect;
  const effect = relative === null ? 'the chosen effect' : `a ${pct(relative)} difference`;
  if (c.n.arm < 2 || c.n.baseline < 2) return `${int(have)} customers measured so far; too few to say how many ${effect} needs.`;
  if (c.verdict === 'better' || c.verdict === 'worse') return `Decided on ${int(have)} customers measured.`;
  const mde = `${money(c.mde.absolute)} per customer${c.mde.relative === null ? '' : ` (${pct(c.mde.relative)})`}`;
  if (days === null || customersNeeded === null)
    return `${int(have)} customers measured and no one enrolling lately: the test can detect ${mde}, not less.`;
  if (days === 0) return `${int(have)} customers measured: enough to detect ${effect} with 80% power.`;
  // Beyond a few years "N more days" stops meaning anything: enrollment is too slow for this effect.
  const wait =
    days > 3 * 365 ? 'more than three years at the current enrollment rate' : `about ${int(days)} more ${days === 1 ? 'day' : 'days'}`;
  return `${int(have)} of ${int(customersNeeded)} customers needed to detect ${effect}, ${wait}; today it can detect ${mde}.`;
}

/** An offer KPI's difference against the control with its 95% interval. */
function KpiDelta({ d, format }: { d: { difference: number; interval: [number, number] } | undefined; format: (v: number) => string }) {
  if (!d || !Number.isFinite(d.difference)) return null;
  const sign = (v: number) => (v > 0 ? `+${format(v)}` : format(v));
  return (
    <span class="muted">
      {' '}
      {sign(d.difference)} [{sign(d.interval[0])}, {sign(d.interval[1])}]
    </span>
  );
}

/** Margin per customer with its 95% interval, or why there is none. */
function MarginCell({ arm, money }: { arm: ArmReport; money: Money }) {
  const m = arm.margin;
  if (!m) return <span class="muted">needs a cost on every product bought, or SHOP_DEFAULT_MARGIN</span>;
  return (
    <>
      {money(m.perCustomer)}
      {m.perCustomerInterval && (
        <span class="muted">
          {' '}
          [{money(m.perCustomerInterval[0])}, {money(m.perCustomerInterval[1])}]
        </span>
      )}
    </>
  );
}

/**
 * The CUPED difference of margin per customer against the control, with its (fixed-horizon)
 * 95% interval, and what the always-valid interval says of it once it says something.
 */
function MarginLift({ c, money }: { c: Comparison | undefined; money: Money }) {
  const m = c?.margin;
  if (!m || !Number.isFinite(m.cuped.difference)) return <span class="muted">—</span>;
  const sign = (v: number) => (v > 0 ? `+${money(v)}` : money(v));
  const decided = m.verdict === 'better' || m.verdict === 'worse';
  return (
    <span class={m.cuped.difference < 0 && (c?.cuped.difference ?? 0) > 0 ? 'bad' : ''}>
      {sign(m.cuped.difference)}{' '}
      <span class="muted">
        [{sign(m.cuped.interval[0])}, {sign(m.cuped.interval[1])}]
      </span>
      {decided && <strong data-field="marginVerdict"> {m.verdict === 'better' ? 'more margin' : 'less margin'}</strong>}
    </span>
  );
}

/** "38.9% of the cost of goods assumed at SHOP_DEFAULT_MARGIN", over the version's variants; null when none was assumed. */
export function assumedCostWords(version: VersionReport): string | null {
  const shares = version.arms
    .filter((a) => !a.holdout && a.margin?.assumedCostShare != null && a.margin.assumedCostShare > 0)
    .map((a) => `${a.arm} ${pct(a.margin!.assumedCostShare)}`);
  return shares.length ? `Cost of goods assumed from SHOP_DEFAULT_MARGIN (products without a cost): ${shares.join(', ')}.` : null;
}

function VariantCard({ arm, version, winner, money }: { arm: ArmReport; version: VersionReport; winner: string | null; money: Money }) {
  const isControl = arm.arm === version.control;
  const vsControl = version.comparisons.find((c) => c.arm === arm.arm && c.against === 'control');
  const vsHoldout = version.comparisons.find((c) => c.arm === arm.arm && c.against === 'holdout');
  // The verdict that decides: against the control; the control's own, against the holdout.
  const deciding = isControl ? vsHoldout : vsControl;
  const verdict = verdictWords(arm.arm, deciding);
  const interval = arm.measured.revenuePerCustomerInterval;
  const k = arm.kpis;
  const points = (v: number) => `${(v * 100).toFixed(1)} pts`;
  const isWinner = winner === arm.arm;
  const loses = vsControl?.verdict === 'worse' || (vsControl?.flags.length ?? 0) > 0;
  return (
    <section class={`card${isWinner ? ' winner' : loses ? ' loser' : ''}`} data-arm={arm.arm} id={`arm-${arm.arm}`}>
      <h3>
        {arm.arm} {isControl && <span class="badge">control</span>}{' '}
        {isWinner && (
          <span class="badge win" data-field="winner">
            winner
          </span>
        )}
      </h3>
      <p class={`verdict ${verdict.tone}`} data-field="verdict">
        {verdict.text}
      </p>
      {vsControl && vsControl.flags.length > 0 && (
        <p class="bad" data-field="flags">
          More {vsControl.flags.join(', ')} than the control.
        </p>
      )}
      <dl>
        <dt>revenue per customer</dt>
        <dd data-field="revenuePerCustomer">
          {money(arm.measured.revenuePerCustomer)}
          {interval && (
            <span class="muted">
              {' '}
              [{money(interval[0])}, {money(interval[1])}]
            </span>
          )}
        </dd>
        <dt>margin per customer</dt>
        <dd data-field="marginPerCustomer">
          <MarginCell arm={arm} money={money} />
        </dd>
        {!isControl && arm.margin && (
          <>
            <dt>margin vs control</dt>
            <dd data-field="marginLiftControl">
              <MarginLift c={vsControl} money={money} />
            </dd>
          </>
        )}
        {!isControl && (
          <>
            <dt>lift vs control</dt>
            <dd data-field="liftControl">
              <Lift c={vsControl} />
            </dd>
          </>
        )}
        {vsHoldout && (
          <>
            <dt>lift vs holdout</dt>
            <dd data-field="liftHoldout">
              <Lift c={vsHoldout} />
            </dd>
          </>
        )}
        <dt>offer accepted</dt>
        <dd data-field="acceptance">
          {pct(k.acceptance.any.rate)}
          {!isControl && <KpiDelta d={vsControl?.kpis?.acceptance.any} format={points} />}
        </dd>
        <dt>order value (AOV)</dt>
        <dd data-field="aov">
          {money(k.aov.value)}
          {!isControl && <KpiDelta d={vsControl?.kpis?.aov} format={(v) => money(v)} />}
        </dd>
        {arm.codes.issued > 0 && (
          <>
            <dt>codes redeemed</dt>
            <dd data-field="codes">
              {int(arm.codes.redeemed)} of {int(arm.codes.issued)} ({pct(arm.codes.redemptionRate)}){' '}
              <span class="muted">{money(Number(arm.codes.discountCost))} off</span>
            </dd>
          </>
        )}
        <dt>measured customers</dt>
        <dd data-field="measured">{int(arm.measured.customers)}</dd>
      </dl>
      <p class="muted" data-field="progress">
        {progressWords(deciding, money)}
      </p>
    </section>
  );
}

/**
 * The decision block of a version: warnings first, then a card per variant. Intervals are
 * 95%: the arm's own t interval, the always-valid interval for lifts (the one that may be
 * read every day), the fixed-horizon interval for the offer KPIs.
 */
export function DecisionCards({ version, money, minSample }: { version: VersionReport; money: Money; minSample: number }) {
  const variants = version.arms.filter((a) => !a.holdout);
  const winner = evidentWinner(version, { minSample, money: (v) => money(v) });
  const flagged = version.comparisons.filter((c) => c.against === 'control' && c.flags.length > 0);
  const winnerComparison = version.comparisons.find((c) => c.arm === winner && c.against === 'control');
  return (
    <div id="decision">
      {version.srm.flagged && (
        <p class="alert" data-field="srmAlert">
          <strong>The split is broken</strong>: customers were not enrolled in the planned proportions, so no comparison can be trusted
          until assignment is fixed. See the split check below.
        </p>
      )}
      {flagged.map((c) => (
        <p class="alert" data-field="guardrailAlert" data-arm={c.arm}>
          <strong>{c.arm}</strong> makes {c.flags.join(', ')} worse than the control ({c.baseline}).
        </p>
      ))}
      <p id="headline" class={winner ? 'verdict good' : 'verdict'}>
        {winner
          ? winner === version.control
            ? `Keep ${winner}: every challenger earns less per customer.`
            : `${winner} wins: it earns more per customer than the control${winnerComparison ? ` (${signedPct(relativeTo(winnerComparison, winnerComparison.cuped.difference))})` : ''}, with no guardrail worse.`
          : 'No winner yet.'}
      </p>
      <div class="cards">
        {variants.map((arm) => (
          <VariantCard arm={arm} version={version} winner={winner} money={money} />
        ))}
      </div>
      <p class="muted">
        Revenue per customer is measured (every order in the window, no attribution) with its 95% interval; lifts are the CUPED difference
        over the baseline's revenue per customer with the always-valid 95% interval, safe to read every day. Offer accepted and AOV show the
        difference against the control with its 95% interval. Margin per customer is revenue less the cost of goods, discounts and refunds,
        with its 95% interval; against the control, the CUPED difference in money with its fixed-horizon 95% interval (in red when the
        variant earns more revenue and less margin).
      </p>
      {assumedCostWords(version) && (
        <p class="muted" data-field="assumedCost">
          {assumedCostWords(version)}
        </p>
      )}
    </div>
  );
}
