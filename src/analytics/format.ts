/**
 * The report for people: a terminal table per sequence version, and CSV tables for
 * spreadsheets. The numbers are those of the JSON report, only formatted.
 */
import Table from 'cli-table3';
import { stringify } from 'csv-stringify/sync';
import { pIs, type Comparison } from '../core/experiment.ts';
import type { SequenceSummary } from './overview.ts';
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

export type CsvTable = 'arms' | 'comparisons';

/** The overview's table as CSV: one row per sequence, the columns the page shows (./overview.ts). */
export function overviewCsv(summaries: readonly SequenceSummary[]): string {
  const rows = summaries.map((s) => ({
    sequence: s.id,
    name: s.name,
    status: s.status,
    version: s.version,
    customers_enrolled: s.customersEnrolled,
    customers_measured: s.customersMeasured,
    emails_sent: s.emailsSent,
    orders_attributed: s.ordersAttributed,
    attributed_revenue: s.attributedRevenue,
    incremental_revenue_cuped: s.incremental?.estimate ?? null,
    incremental_ci_low: s.incremental?.interval[0] ?? null,
    incremental_ci_high: s.incremental?.interval[1] ?? null,
    incremental_verdict: s.incremental?.verdict ?? null,
    incremental_note: s.incrementalNote,
    winner: s.winner,
    acceptance: s.acceptance,
    acceptance_holdout: s.acceptanceHoldout,
    aov: s.aov,
    aov_holdout: s.aovHoldout,
  }));
  return stringify(rows, { header: true, columns: rows.length ? undefined : ['sequence'], cast: { number: numberCell } });
}

/** One CSV table of the report: arms and steps (funnel and measured), or comparisons. */
export function reportCsv(report: Report, table: CsvTable): string {
  if (table === 'comparisons') {
    const rows = report.sequences.flatMap((s) =>
      s.versions.flatMap((v) =>
        [...v.comparisons, ...(v.anyEmail ? [v.anyEmail] : [])].map((c) => ({
          sequence: s.id,
          version: v.version,
          arm: c.arm,
          against: c.against,
          baseline: c.baseline,
          n_arm: c.n.arm,
          n_baseline: c.n.baseline,
          revenue_per_customer_arm: c.revenuePerCustomer.arm,
          revenue_per_customer_baseline: c.revenuePerCustomer.baseline,
          difference: c.revenuePerCustomer.difference,
          ci_low: c.revenuePerCustomer.interval[0],
          ci_high: c.revenuePerCustomer.interval[1],
          relative: c.revenuePerCustomer.relative,
          p_value: c.revenuePerCustomer.pValue,
          cuped_difference: c.cuped.difference,
          cuped_ci_low: c.cuped.interval[0],
          cuped_ci_high: c.cuped.interval[1],
          cuped_p_value: c.cuped.pValue,
          margin_per_customer_arm: c.margin?.arm ?? null,
          margin_per_customer_baseline: c.margin?.baseline ?? null,
          margin_difference: c.margin?.difference ?? null,
          margin_ci_low: c.margin?.interval[0] ?? null,
          margin_ci_high: c.margin?.interval[1] ?? null,
          margin_p_value: c.margin?.pValue ?? null,
          cuped_margin_difference: c.margin?.cuped.difference ?? null,
          cuped_margin_ci_low: c.margin?.cuped.interval[0] ?? null,
          cuped_margin_ci_high: c.margin?.cuped.interval[1] ?? null,
          cuped_margin_p_value: c.margin?.cuped.pValue ?? null,
          margin_sequential_ci_low: c.margin?.sequential.interval[0] ?? null,
          margin_sequential_ci_high: c.margin?.sequential.interval[1] ?? null,
          margin_verdict: c.margin?.verdict ?? null,
          conversion_arm: c.conversionRate.arm,
          conversion_baseline: c.conversionRate.baseline,
          conversion_difference: c.conversionRate.difference,
          conversion_ci_low: c.conversionRate.interval[0],
          conversion_ci_high: c.conversionRate.interval[1],
          conversion_p_value: c.conversionRate.pValue,
          incremental_revenue: c.incrementalRevenue?.estimate ?? null,
          incremental_ci_low: c.incrementalRevenue?.interval[0] ?? null,
          incremental_ci_high: c.incrementalRevenue?.interval[1] ?? null,
          cuped_incremental_revenue: c.incrementalRevenue?.cuped.estimate ?? null,
          cuped_incremental_ci_low: c.incrementalRevenue?.cuped.interval[0] ?? null,
          cuped_incremental_ci_high: c.incrementalRevenue?.cuped.interval[1] ?? null,
          verdict: c.verdict,
          fixed_horizon_verdict: c.fixedHorizonVerdict,
          sequential_ci_low: c.sequential.interval[0],
          sequential_ci_high: c.sequential.interval[1],
          sequential_verdict: c.sequential.verdict,
          mde: c.mde.absolute,
          mde_relative: c.mde.relative,
          adjusted_p_value: c.adjustedPValue,
          days_to_detect: c.daysToDetect.days,
          days_to_detect_effect: c.daysToDetect.effect,
          customers_needed: c.daysToDetect.customersNeeded,
          winsorized_difference: c.winsorized?.difference ?? null,
          winsorized_ci_low: c.winsorized?.interval[0] ?? null,
          winsorized_ci_high: c.winsorized?.interval[1] ?? null,
          winsorized_cap: v.winsorized?.cap ?? null,
          guardrail_flags: c.flags.join(' '),
          srm_p_value: v.srm.pValue,
          srm_flagged: v.srm.flagged,
          summary: c.summary,
          ...kpiColumns(c),
        })),
      ),
    );
    return stringify(rows, {
      header: true,
      columns: rows.length ? undefined : ['sequence', 'version', 'arm', 'against'],
      cast: { number: numberCell },
    });
  }
  const row = (sequence: string, version: number, arm: ArmReport, step: StepReport | undefined) => {
    const f: Funnel = step ?? arm;
    return {
      sequence,
      version,
      arm: arm.arm,
      step: step?.step ?? 'all',
      template: step?.template ?? '',
      enrolled: step ? '' : arm.enrolled,
      sent: f.sent,
      delivered: f.delivered,
      bounced: f.bounced,
      human_opens: f.opens.human,
      open_rate: f.delivered > 0 ? f.opens.human / f.delivered : null,
      raw_opens: f.opens.raw,
      human_clicks: f.clicks.human,
      click_rate: f.delivered > 0 ? f.clicks.human / f.delivered : null,
      raw_clicks: f.clicks.raw,
      unsubscribes: f.unsubscribes,
      complaints: f.complaints,
      conversions: f.conversions,
      order_rate: f.delivered > 0 ? f.conversions / f.delivered : null,
      attributed_revenue: f.attributedRevenue,
      revenue_per_delivered_email: f.revenuePerRecipient,
      average_order_value: f.averageOrderValue,
      measured_customers: step ? '' : arm.measured.customers,
      measured_converted: step ? '' : arm.measured.converted,
      measured_revenue: step ? '' : arm.measured.revenue,
      revenue_per_customer: step ? '' : arm.measured.revenuePerCustomer,
      margin: step ? '' : (arm.margin?.total ?? null),
      margin_per_customer: step ? '' : (arm.margin?.perCustomer ?? null),
      margin_ci_low: step ? '' : (arm.margin?.perCustomerInterval?.[0] ?? null),
      margin_ci_high: step ? '' : (arm.margin?.perCustomerInterval?.[1] ?? null),
      assumed_cost_share: step ? '' : (arm.margin?.assumedCostShare ?? null),
      codes_issued: (step ?? arm).codes.issued,
      codes_redeemed: (step ?? arm).codes.redeemed,
      redemption_rate: (step ?? arm).codes.redemptionRate,
      discount_cost: (step ?? arm).codes.discountCost,
      accepted: step ? step.accepted : '',
      acceptance_rate: step ? step.acceptanceRate : '',
      acceptance_cross_sell: step ? '' : arm.kpis.acceptance.crossSell.rate,
      acceptance_upsell: step ? '' : arm.kpis.acceptance.upsell.rate,
      acceptance_any: step ? '' : arm.kpis.acceptance.any.rate,
      recommended_revenue: step ? '' : arm.kpis.recommendedRevenue.total,
      recommended_revenue_per_customer: step ? '' : arm.kpis.recommendedRevenue.perCustomer,
      aov: step ? '' : arm.kpis.aov.value,
      items_per_order: step ? '' : arm.kpis.itemsPerOrder.value,
      offer_order_value: step ? '' : arm.kpis.offerOrderValue.value,
      repeat_customers: step ? '' : arm.kpis.repeatRate.customers,
      repeat_rate: step ? '' : arm.kpis.repeatRate.rate,
    };
  };
  const rows = report.sequences.flatMap((s) =>
    s.versions.flatMap((v) =>
      v.arms.flatMap((a) => [row(s.id, v.version, a, undefined), ...a.steps.map((st) => row(s.id, v.version, a, st))]),
    ),
  );
  return stringify(rows, {
    header: true,
    columns: rows.length ? undefined : ['sequence', 'version', 'arm', 'step'],
    cast: { number: numberCell },
  });
}

/** A comparison's offer KPIs as CSV columns: `<kpi>_difference`, `_ci_low`, `_ci_high`, `_p_value`. */
function kpiColumns(c: Comparison): Record<string, number | null> {
  const k = c.kpis;
  const columns: Record<string, number | null> = {};
  const figures = {
    acceptance_cross_sell: k?.acceptance.crossSell,
    acceptance_upsell: k?.acceptance.upsell,
    acceptance_any: k?.acceptance.any,
    recommended_revenue_per_customer: k?.recommendedRevenue,
    aov: k?.aov,
    items_per_order: k?.itemsPerOrder,
    offer_order_value: k?.offerOrderValue,
    repeat_rate: k?.repeatRate,
  };
  for (const [name, d] of Object.entries(figures)) {
    columns[`${name}_difference`] = d?.difference ?? null;
    columns[`${name}_ci_low`] = d?.interval[0] ?? null;
    columns[`${name}_ci_high`] = d?.interval[1] ?? null;
    columns[`${name}_p_value`] = d?.pValue ?? null;
  }
  return columns;
}

function numberCell(value: number): string {
  return Number.isFinite(value) ? String(value) : '';
}
