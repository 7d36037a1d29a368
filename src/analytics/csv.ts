/**
 * The report as CSV tables for spreadsheets (`campaign report --csv`, the dashboard's
 * exports): the overview's rows, the arms and steps, the comparisons, the exploratory
 * breakdown by buyer and segment. The figures are the
 * JSON report's, unformatted; a number that is not finite is an empty cell.
 */
import { stringify } from 'csv-stringify/sync';
import type { Comparison } from '../core/experiment.ts';
import type { SequenceSummary } from './overview.ts';
import type { ArmReport, Funnel, Report, StepReport } from './report.ts';

export type CsvTable = 'arms' | 'comparisons' | 'breakdown';

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

/** One CSV table of the report: arms and steps (funnel and measured), comparisons, or the breakdown by buyer and segment. */
export function reportCsv(report: Report, table: CsvTable): string {
  if (table === 'breakdown') return breakdownCsv(report);
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

/**
 * Each version's breakdown (src/core/breakdown.ts), one row per cell: the columns of the
 * sequence page's "By buyer and segment" table, unformatted, behind the sequence and version.
 * Exploratory, like the table: leads for a targeted test, not verdicts.
 */
function breakdownCsv(report: Report): string {
  const rows = report.sequences.flatMap((s) =>
    s.versions.flatMap((v) =>
      v.breakdown.map((r) => ({
        sequence: s.id,
        version: v.version,
        dimension: r.dimension,
        value: r.value,
        arm: r.arm,
        against: r.against,
        baseline: r.baseline,
        n_arm: r.n.arm,
        n_baseline: r.n.baseline,
        difference: r.difference,
        ci_low: r.interval?.[0] ?? null,
        ci_high: r.interval?.[1] ?? null,
        p_value: r.pValue,
        adjusted_p_value: r.adjustedPValue,
        stands_out: r.standsOut,
      })),
    ),
  );
  return stringify(rows, {
    header: true,
    columns: rows.length ? undefined : ['sequence', 'version', 'dimension', 'value', 'arm', 'against'],
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
