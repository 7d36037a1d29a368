/**
 * The report for people: a terminal table per sequence version (the CSV tables for
 * spreadsheets are in ./csv.ts). The numbers are those of the JSON report, only formatted.
 */
import Table from 'cli-table3';
import { pIs, type Comparison } from '../core/experiment.ts';
import type { ArmReport, Funnel, Report, StepReport, VersionReport } from './report.ts';

export interface FormatOptions {
  currency: string;
}

const dash = '—';
/** A whole number with thousands separators: 12,345. */
export const int = (n: number): string => n.toLocaleString('en-US');
/** A share as a percentage, or a dash when there is none. */
export const pct = (value: number | null, digits = 1) =>
  value === null || !Number.isFinite(value) ? dash : `${(value * 100).toFixed(digits)}%`;
const signed = (text: string, value: number) => (value > 0 ? `+${text}` : text);

/** Money in the shop's currency, cents shown, or a dash when there is none. */
export function moneyFormat(currency: string): (value: number | null) => string {
  const format = new Intl.NumberFormat('en-US', { style: 'currency', currency, maximumFractionDigits: 2 });
  return (value) => (value === null || !Number.isFinite(value) ? dash : format.format(value));
}

function plain(head: string[], align?: ('left' | 'right')[]): Table.Table {
  return new Table({
    head,
    style: { head: [], border: [], compact: true, 'padding-left': 0, 'padding-right': 2 },
    chars: {
      top: '',
      'top-mid': '',
      'top-left': '',
      'top-right': '',
      bottom: '',
      'bottom-mid': '',
      'bottom-left': '',
      'bottom-right': '',
      left: '',
      'left-mid': '',
      mid: '',
      'mid-mid': '',
      right: '',
      'right-mid': '',
      middle: '',
    },
    colAligns: align ?? head.map((_, i) => (i === 0 ? 'left' : 'right')),
  });
}

const share = (part: number, whole: number) => (whole > 0 ? ` (${pct(part / whole, 0)})` : '');

export function formatReport(report: Report, options: FormatOptions): string {
  const money = moneyFormat(options.currency);
  const out: string[] = [];
  if (report.sequences.length === 0) return 'No sequences yet: apply one with `campaign sequences apply`.';
  out.push(
    `As of ${report.asOf}; attribution: ${report.attributionModel}; a verdict needs ${report.minSample} measured customers per arm.`,
  );

  for (const sequence of report.sequences) {
    for (const version of sequence.versions) {
      out.push('', `${sequence.id} (${sequence.name}), version ${version.version}${version.live ? `, live, ${sequence.status}` : ''}`);

      const funnelRow = (label: string, f: Funnel, enrolled: number | string, step?: StepReport) => [
        label,
        typeof enrolled === 'number' ? int(enrolled) : enrolled,
        int(f.sent),
        `${int(f.delivered)}`,
        `${int(f.bounced)}`,
        `${int(f.opens.human)}${share(f.opens.human, f.delivered)} / ${int(f.opens.raw)}`,
        `${int(f.clicks.human)}${share(f.clicks.human, f.delivered)} / ${int(f.clicks.raw)}`,
        int(f.unsubscribes),
        int(f.conversions),
        money(f.attributedRevenue),
        money(f.revenuePerRecipient),
        money(f.averageOrderValue),
        step ? `${int(step.accepted)}${share(step.accepted, step.delivered)}` : '',
      ];
      const funnels = plain([
        'arm / step',
        'enrolled',
        'sent',
        'delivered',
        'bounced',
        'opens human / raw',
        'clicks human / raw',
        'unsub',
        'orders',
        'attributed',
        'per delivered email',
        'AOV',
        'accepted',
      ]);
      for (const arm of version.arms) {
        funnels.push(funnelRow(arm.arm, arm, arm.enrolled));
        if (!arm.holdout) for (const step of arm.steps) funnels.push(funnelRow(`  ${step.step}. ${step.template}`, step, '', step));
      }
      out.push('', 'Attributed (orders credited to one email each):', funnels.toString());

      const measured = plain(['arm', 'measured', 'converted', 'conversion', 'revenue', 'per customer', 'margin', 'margin per customer']);
      for (const arm of version.arms)
        measured.push([
          arm.arm,
          int(arm.measured.customers),
          int(arm.measured.converted),
          pct(arm.measured.conversionRate),
          money(arm.measured.revenue),
          money(arm.measured.revenuePerCustomer),
          arm.margin ? money(arm.margin.total) : dash,
          arm.margin ? money(arm.margin.perCustomer) : dash,
        ]);
      out.push(
        '',
        `Measured (every order within ${Math.round(version.measurementWindowDays * 10) / 10} days of enrolling, customers whose window has closed):`,
        measured.toString(),
      );
      out.push(marginLine(version));

      out.push('', offersTable(version, money));
      const codes = codesTable(version, money);
      if (codes) out.push('', codes);

      out.push('', srmLine(version));
      if (version.comparisons.length > 0)
        out.push('', formatComparisons([...version.comparisons, ...(version.anyEmail ? [version.anyEmail] : [])], money, version));
      const split = breakdownTable(version, money);
      if (split) out.push('', split);
    }
  }
  return out.join('\n');
}

/** What the margin columns rest on: how much of the cost of goods was assumed, or why there is no margin. */
export function marginLine(version: VersionReport): string {
  if (version.arms.some((a) => a.margin === null))
    return 'Margin (revenue − cost of goods − discounts − refunds): — where a product bought has no cost and SHOP_DEFAULT_MARGIN is unset.';
  const assumed = version.arms
    .filter((a) => (a.margin?.assumedCostShare ?? 0) > 0)
    .map((a) => `${a.arm} ${pct(a.margin!.assumedCostShare)}`);
  return `Margin (revenue − cost of goods − discounts − refunds): cost of goods assumed from SHOP_DEFAULT_MARGIN: ${assumed.length ? assumed.join(', ') : 'none'}.`;
}

/**
 * Per arm and step, the discount codes its emails issued, how many were redeemed, the
 * redemption rate and what the redemptions cost; undefined when the version issued none.
 */
function codesTable(version: VersionReport, money: (value: number | null) => string): string | undefined {
  if (!version.arms.some((a) => a.codes.issued > 0)) return undefined;
  const table = plain(['arm', 'issued', 'redeemed', 'redemption', 'discount cost']);
  const line = (label: string, c: ArmReport['codes']) =>
    table.push([label, int(c.issued), int(c.redeemed), pct(c.redemptionRate), money(Number(c.discountCost))]);
  for (const arm of version.arms.filter((a) => a.codes.issued > 0)) {
    line(arm.arm, arm.codes);
    for (const step of arm.steps) if (step.codes.issued > 0) line(`  ${step.step}. ${step.template}`, step.codes);
  }
  return `Discount codes (issued by sent emails; redeemed: an order carrying the code, credited to the email that issued it):\n${table.toString()}`;
}

const p = (value: number) => (!Number.isFinite(value) ? dash : value < 0.001 ? '<0.001' : value.toFixed(3));
/** A plain number to 2 decimals (items per order), or a dash when there is none. */
const decimal = (value: number | null) => (value === null || !Number.isFinite(value) ? dash : value.toFixed(2));

/** Each comparison within buyer kinds, segments and the chosen attribute: exploratory, Holm-adjusted across the cells. */
function breakdownTable(version: VersionReport, money: (value: number | null) => string): string | undefined {
  if (version.breakdown.length === 0) return undefined;
  const table = plain(['by', 'value', 'arm vs', 'customers', 'difference', '95% interval', 'p', 'Holm p', '']);
  for (const r of version.breakdown)
    table.push([
      r.dimension,
      r.value,
      `${r.arm} vs ${r.baseline}`,
      `${int(r.n.arm)} / ${int(r.n.baseline)}`,
      money(r.difference),
      r.interval ? `[${money(r.interval[0])}, ${money(r.interval[1])}]` : dash,
      r.pValue === null ? dash : p(r.pValue),
      r.adjustedPValue === null ? dash : p(r.adjustedPValue),
      r.standsOut ? 'stands out' : '',
    ]);
  return (
    'By buyer and segment (EXPLORATORY: the test was sized for everyone, not for a segment; ' +
    'a cell that stands out after Holm is a lead for a test aimed at that segment, not a verdict):\n' +
    table.toString()
  );
}

/** Per arm, the offer KPIs: acceptance, recommended revenue, order value, items per order, repeat rate. */
function offersTable(version: VersionReport, money: (value: number | null) => string): string {
  const horizon = version.arms[0]?.kpis.repeatRate.horizonDays ?? 90;
  const table = plain([
    'arm',
    'measured',
    'cross-sell',
    'upsell',
    'any',
    'recommended revenue',
    'per customer',
    'AOV',
    'items / order',
    'offer order value',
    `repeat (${horizon}d)`,
  ]);
  for (const arm of version.arms) {
    const k = arm.kpis;
    table.push([
      arm.arm,
      int(k.acceptance.any.customers),
      pct(k.acceptance.crossSell.rate),
      pct(k.acceptance.upsell.rate),
      pct(k.acceptance.any.rate),
      money(k.recommendedRevenue.total),
      money(k.recommendedRevenue.perCustomer),
      money(k.aov.value),
      decimal(k.itemsPerOrder.value),
      money(k.offerOrderValue.value),
      k.repeatRate.rate === null ? dash : `${pct(k.repeatRate.rate)} of ${int(k.repeatRate.customers)}`,
    ]);
  }
  return [
    `Offers (what measured customers bought of what they were offered, the holdout of what it would have been; AOV and items over every order in the window; repeat: another order within ${horizon} days of enrolling, over the customers whose ${horizon} days have passed):`,
    table.toString(),
  ].join('\n');
}

/** The sample-ratio check of a version: one line, a warning when the split is broken. */
export function srmLine(version: VersionReport): string {
  const split = version.srm.arms.map((a) => `${a.arm} ${int(a.observed)} (expected ${Math.round(a.expected)})`).join(', ');
  return version.srm.flagged
    ? `WARNING: sample ratio mismatch (${pIs(version.srm.pValue)}): enrolled ${split}. Assignment is broken; no comparison below can be trusted.`
    : `Split check: enrolled ${split}; ${pIs(version.srm.pValue, 'SRM p')}, as planned.`;
}

/** "5%" or "$2.50": the effect `daysToDetect` was asked about. */
function effectLabel(comparisons: Comparison[], money: (value: number | null) => string): string {
  const relative = comparisons.map((c) => c.daysToDetect.relative).find((r) => r !== null);
  return relative !== undefined &&
    comparisons.every((c) => c.daysToDetect.relative === null || Math.abs(c.daysToDetect.relative - relative) < 1e-9)
    ? `${Math.round(relative * 1000) / 10}%`
    : money(comparisons[0]?.daysToDetect.effect ?? null);
}

function daysCell(c: Comparison): string {
  const { days } = c.daysToDetect;
  if (c.n.arm < 2 || c.n.baseline < 2) return dash;
  return days === null ? 'never at this rate' : days === 0 ? 'now' : `${int(days)} more days`;
}

function formatComparisons(comparisons: Comparison[], money: (value: number | null) => string, version: VersionReport): string {
  const interval = ([low, high]: [number, number], f: (v: number) => string) => (Number.isFinite(low) ? `[${f(low)}, ${f(high)}]` : dash);
  const revenue = plain(['revenue per customer', 'difference', '95% CI', 'relative', 'p', 'CUPED difference', '95% CI', 'p', 'verdict']);
  const decision = plain(
    [
      'decision',
      'always-valid 95% CI',
      'sequential',
      'MDE (80%)',
      'MDE relative',
      `to detect ${effectLabel(comparisons, money)}`,
      'Holm p',
      'guardrails',
      'verdict',
    ],
    ['left', 'right', 'left', 'right', 'right', 'right', 'right', 'left', 'left'],
  );
  const capped = plain(['capped revenue per customer', 'CUPED difference', '95% CI', 'p']);
  const margins = plain([
    'margin per customer',
    'arm',
    'baseline',
    'difference',
    '95% CI',
    'p',
    'CUPED difference',
    '95% CI',
    'p',
    'always-valid 95%',
    'margin verdict',
  ]);
  const rates = plain(['conversion rate', 'arm', 'baseline', 'difference', '95% CI', 'p', 'always-valid 95% CI', 'sequential']);
  const incremental = plain(['incremental revenue', 'estimate', '95% CI', 'CUPED estimate', '95% CI']);
  const offers = plain(
    ['offer KPIs', 'KPI', 'arm', 'baseline', 'difference', '95% CI', 'p'],
    ['left', 'left', 'right', 'right', 'right', 'right', 'right'],
  );
  for (const c of comparisons) {
    const label = `${c.arm} vs ${c.against === 'holdout' ? 'holdout' : `${c.baseline} (control)`}`;
    const r = c.revenuePerCustomer;
    revenue.push([
      label,
      signed(money(r.difference), r.difference),
      interval(r.interval, money),
      pct(r.relative),
      p(r.pValue),
      signed(money(c.cuped.difference), c.cuped.difference),
      interval(c.cuped.interval, money),
      p(c.cuped.pValue),
      c.fixedHorizonVerdict,
    ]);
    decision.push([
      label,
      interval(c.sequential.interval, money),
      c.sequential.verdict,
      money(c.mde.absolute),
      pct(c.mde.relative),
      daysCell(c),
      p(c.adjustedPValue),
      c.against === 'holdout' ? 'n/a (no email)' : c.flags.length ? `WORSE: ${c.flags.join(', ')}` : 'ok',
      c.verdict,
    ]);
    if (c.margin) {
      const m = c.margin;
      margins.push([
        label,
        money(m.arm),
        money(m.baseline),
        signed(money(m.difference), m.difference),
        interval(m.interval, money),
        p(m.pValue),
        signed(money(m.cuped.difference), m.cuped.difference),
        interval(m.cuped.interval, money),
        p(m.cuped.pValue),
        interval(m.sequential.interval, money),
        m.verdict,
      ]);
    }
    if (c.winsorized)
      capped.push([
        label,
        signed(money(c.winsorized.difference), c.winsorized.difference),
        interval(c.winsorized.interval, money),
        p(c.winsorized.pValue),
      ]);
    const k = c.conversionRate;
    rates.push([
      label,
      pct(k.arm),
      pct(k.baseline),
      pct(k.difference, 2),
      interval(k.interval, (v) => pct(v, 2)),
      p(k.pValue),
      interval(k.sequential.interval, (v) => pct(v, 2)),
      k.sequential.verdict,
    ]);
    if (c.incrementalRevenue) {
      const i = c.incrementalRevenue;
      incremental.push([c.arm, money(i.estimate), interval(i.interval, money), money(i.cuped.estimate), interval(i.cuped.interval, money)]);
    }
    if (c.kpis) {
      const k = c.kpis;
      const rate = (v: number) => pct(v, 2);
      const rows: [
        string,
        { arm: number; baseline: number; difference: number; interval: [number, number]; pValue: number },
        (v: number) => string,
      ][] = [
        ['acceptance cross-sell', k.acceptance.crossSell, rate],
        ['acceptance upsell', k.acceptance.upsell, rate],
        ['acceptance any', k.acceptance.any, rate],
        ['recommended revenue / customer', k.recommendedRevenue, money],
        ['AOV', k.aov, money],
        ['items / order', k.itemsPerOrder, (v) => decimal(v)],
        ['offer order value', k.offerOrderValue, money],
        ['repeat rate', k.repeatRate, rate],
      ];
      for (const [name, d, f] of rows)
        offers.push([label, name, f(d.arm), f(d.baseline), signed(f(d.difference), d.difference), interval(d.interval, f), p(d.pValue)]);
    }
  }
  const parts = ['Comparisons (fixed horizon: read once, at a planned sample size):', revenue.toString()];
  if (comparisons.some((c) => c.margin))
    parts.push(
      '',
      'Margin per customer (Welch, and CUPED with pre-enrolment spend; the always-valid interval and its verdict as for revenue, said beside the revenue verdict):',
      margins.toString(),
    );
  if (version.winsorized)
    parts.push(
      '',
      `Winsorised (each customer's revenue capped at ${money(version.winsorized.cap)}, the ${Math.round(version.winsorized.percentile * 1000) / 10}th percentile of all measured customers; fixed horizon):`,
      capped.toString(),
    );
  parts.push(
    '',
    'Decision (the always-valid interval of the CUPED difference holds at every look; the verdict reads it):',
    decision.toString(),
    '',
    rates.toString(),
  );
  if (comparisons.some((c) => c.incrementalRevenue)) parts.push('', incremental.toString());
  if (comparisons.some((c) => c.kpis))
    parts.push('', 'Offer KPIs (95% intervals: two proportions, Welch, delta-method ratios over customers):', offers.toString());
  return parts.join('\n');
}
