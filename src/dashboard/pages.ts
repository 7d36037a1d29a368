/**
 * The dashboard's pages: overview and sequence (pause and resume there), with CSV export.
 * Every figure that is in the report comes from `buildReport`, the code behind
 * `campaign report --json`, so the two never disagree.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { readFileSync } from 'node:fs';
import { stringify } from 'csv-stringify/sync';
import type { FastifyInstance } from 'fastify';
import { moneyFormat, pct, reportCsv, type CsvTable } from '../analytics/format.ts';
import { buildReport, type Funnel, type Report, type VersionReport } from '../analytics/report.ts';
import type { AttributionModel } from '../core/attribution.ts';
import type { Comparison } from '../core/experiment.ts';
import type { Db } from '../db/client.ts';
import { setSequenceStatus } from '../sequences/store.ts';
import { cumulativeRevenue, liveDefinition, sentPerDay, slotPerformance, versionHistory } from '../analytics/series.ts';
import { Html, html, intervalBar, layout } from './html.ts';

export interface PageDeps {
  db: Db;
  attribution: AttributionModel;
  minSample: number;
  currency: string;
  now: () => Date;
}

const PERIODS: Record<string, { label: string; days: number | null }> = {
  '7d': { label: 'last 7 days', days: 7 },
  '30d': { label: 'last 30 days', days: 30 },
  '90d': { label: 'last 90 days', days: 90 },
  all: { label: 'all time', days: null },
};

const CHART_JS = join(dirname(createRequire(import.meta.url).resolve('chart.js')), 'chart.umd.min.js');

export async function dashboardPages(app: FastifyInstance, deps: PageDeps): Promise<void> {
  const m = moneyFormat(deps.currency);
  /** What one request looks at: one moment, one period, the report over both. */
  const viewOf = (query: { period?: unknown }) => {
    const asOf = deps.now();
    const period = typeof query.period === 'string' && Object.hasOwn(PERIODS, query.period) ? query.period : 'all';
    const days = PERIODS[period]!.days;
    const from = days === null ? undefined : new Date(asOf.getTime() - days * 86_400_000);
    const report = (sequenceId?: string): Promise<Report> =>
      buildReport(deps.db, { asOf, attribution: deps.attribution, minSample: deps.minSample, sequenceId, enrolledFrom: from });
    return { asOf, period, from, report };
  };
  const periodPicker = (base: string, current: string) =>
    html`<p>Customers enrolled in: ${Object.entries(PERIODS).map(([key, p]) =>
      key === current ? html`<strong>${p.label}</strong> ` : html`<a href="${base}?period=${key}">${p.label}</a> `,
    )}</p>`;
  const chartJs = readFileSync(CHART_JS);

  app.get('/assets/chart.umd.min.js', { schema: { hide: true } }, async (_request, reply) =>
    reply.type('application/javascript').header('cache-control', 'public, max-age=86400').send(chartJs),
  );

  app.get<{ Querystring: { period?: string } }>('/', { schema: { hide: true } }, async (request, reply) => {
    const { asOf, period, from, report } = viewOf(request.query);
    const data = await report();
    const trendFrom = from ?? new Date(asOf.getTime() - 90 * 86_400_000);
    const trend = await sentPerDay(deps.db, trendFrom);
    const rows = data.sequences.map((s) => {
      const live = s.versions.find((v) => v.live) ?? s.versions[0];
      const variants = live?.arms.filter((a) => !a.holdout) ?? [];
      const incremental = live?.comparisons.filter((c) => c.incrementalRevenue).reduce((sum, c) => sum + c.incrementalRevenue!.cuped.estimate, 0) ?? 0;
      return html`<tr data-sequence="${s.id}">
<td><a href="/sequences/${encodeURIComponent(s.id)}">${s.name}</a> <span class="muted">${s.id}</span></td>
<td><span class="badge ${s.status}">${s.status}</span></td>
<td data-field="enrolled">${sum(live?.arms ?? [], (a) => a.enrolled)}</td>
<td data-field="sent">${sum(variants, (a) => a.sent)}</td>
<td data-field="conversions">${sum(variants, (a) => a.conversions)}</td>
<td data-field="attributedRevenue">${m(sum(variants, (a) => a.attributedRevenue))}</td>
<td data-field="incrementalRevenue">${live?.comparisons.some((c) => c.incrementalRevenue) ? m(incremental) : '—'}</td></tr>`;
    });
    const days = [...new Set(trend.map((t) => t.day))];
    const series = [...new Set(trend.map((t) => t.sequence))].map((sequence) => ({
      label: sequence,
      data: days.map((day) => trend.find((t) => t.day === day && t.sequence === sequence)?.sent ?? 0),
    }));
    const body = html`<h1>Overview</h1>${periodPicker('/', period)}
<table id="sequences"><thead><tr><th>sequence</th><th>status</th><th>enrolled</th><th>sent</th><th>orders attributed</th><th>attributed revenue</th><th>incremental revenue (CUPED)</th></tr></thead>
<tbody>${rows.length ? rows : html`<tr><td colspan="7" class="muted">No sequences yet: apply one with <code>campaign sequences apply</code>.</td></tr>`}</tbody></table>
<p><a href="/export.csv?period=${period}">Export CSV</a> · figures as of ${data.asOf}; attribution ${data.attributionModel}</p>
<h2>Emails sent per day</h2><div class="card"><canvas id="trend" height="90"></canvas></div>
${chartScript('trend', 'line', days, series)}`;
    return reply.type('text/html').send(layout('Overview', body, { scripts: ['/assets/chart.umd.min.js'] }));
  });

  app.get<{ Querystring: { period?: string; table?: string } }>('/export.csv', { schema: { hide: true } }, async (request, reply) => {
    const table: CsvTable = request.query.table === 'comparisons' ? 'comparisons' : 'arms';
    const data = await viewOf(request.query).report();
    return reply.type('text/csv').header('content-disposition', `attachment; filename="report-${table}.csv"`).send(reportCsv(data, table));
  });

  app.get<{ Params: { id: string }; Querystring: { period?: string; table?: string } }>('/sequences/:id/export.csv', { schema: { hide: true } }, async (request, reply) => {
    const live = await liveDefinition(deps.db, request.params.id);
    if (!live) return reply.code(404).type('text/plain').send('No such sequence.');
    if (request.query.table === 'slots') {
      const slots = await slotPerformance(deps.db, live.versionId, deps.attribution, viewOf(request.query).from);
      return reply
        .type('text/csv')
        .header('content-disposition', `attachment; filename="${request.params.id}-slots.csv"`)
        .send(stringify(slots, { header: true, columns: ['slot', 'clicks', 'orders', 'revenue'] }));
    }
    const table: CsvTable = request.query.table === 'comparisons' ? 'comparisons' : 'arms';
    const data = await viewOf(request.query).report(request.params.id);
    return reply.type('text/csv').header('content-disposition', `attachment; filename="${request.params.id}-${table}.csv"`).send(reportCsv(data, table));
  });

  app.post<{ Params: { id: string; action: string } }>('/sequences/:id/:action', { schema: { hide: true } }, async (request, reply) => {
    const status = request.params.action === 'pause' ? 'paused' : request.params.action === 'resume' ? 'active' : undefined;
    if (!status) return reply.code(404).type('text/plain').send('No such action.');
    if (!(await setSequenceStatus(deps.db, request.params.id, status))) return reply.code(404).type('text/plain').send('No such sequence.');
    return reply.redirect(`/sequences/${encodeURIComponent(request.params.id)}`, 303);
  });

  app.get<{ Params: { id: string }; Querystring: { period?: string } }>('/sequences/:id', { schema: { hide: true } }, async (request, reply) => {
    const id = request.params.id;
    const live = await liveDefinition(deps.db, id);
    if (!live) return reply.code(404).type('text/html').send(layout('Not found', html`<h1>No sequence "${id}"</h1><p><a href="/">Back to the overview</a></p>`));
    const { asOf, period, from, report } = viewOf(request.query);
    const data = await report(id);
    const sequence = data.sequences[0]!;
    const version = sequence.versions.find((v) => v.live) ?? sequence.versions[0]!;
    const [curve, slots, history] = await Promise.all([
      cumulativeRevenue(deps.db, live.versionId, live.definition, asOf, from),
      slotPerformance(deps.db, live.versionId, deps.attribution, from),
      versionHistory(deps.db, id),
    ]);
    const d = live.definition;
    const timeline = d.steps.map((step, i) => {
      return html`<div class="step"><strong>${i + 1}.</strong> after ${step.delay}: <code>${step.template}</code>${step.recommendations ? html` <span class="muted">(${step.recommendations})</span>` : ''}${step.skip_if ? html` <span class="muted">skip if ${Object.keys(step.skip_if).join(', ')}</span>` : ''}</div>`;
    });
    const arms = [...new Set(curve.map((p) => p.arm))];
    const curveDays = [...new Set(curve.map((p) => p.day))];
    const action = sequence.status === 'active' ? 'pause' : 'resume';
    const body = html`<h1>${sequence.name} <span class="badge ${sequence.status}" id="status">${sequence.status}</span></h1>
<p class="muted">${sequence.id} · version ${version.version}${version.live ? ' (live)' : ''} · variants ${d.variants.map((v) => `${v.key} (${v.weight})`).join(', ')} · holdout ${pct(d.holdout)} · measured over ${Math.round(version.measurementWindowDays * 10) / 10} days</p>
<form method="post" action="/sequences/${encodeURIComponent(sequence.id)}/${action}"><button type="submit" id="toggle">${action === 'pause' ? 'Pause' : 'Resume'}</button></form>
${periodPicker(`/sequences/${encodeURIComponent(sequence.id)}`, period)}
<h2>Steps</h2><div class="timeline">${timeline}</div>
<h2>Variants compared</h2>${comparisonTable(version, m)}
<p class="muted">Revenue per customer counts the customers whose ${Math.round(version.measurementWindowDays)}-day window has closed; a period shorter than that has none yet.</p>
<p><a href="/sequences/${encodeURIComponent(sequence.id)}/export.csv?table=comparisons&period=${period}">Export comparisons (CSV)</a></p>
<h2>Revenue per enrolled customer, cumulative, by day since enrolling</h2><div class="card"><canvas id="curve" height="90"></canvas></div>
${chartScript('curve', 'line', curveDays, arms.map((arm) => ({ label: arm, data: curve.filter((p) => p.arm === arm).map((p) => Math.round(p.value * 100) / 100) })))}
<h2>Funnel per arm and step</h2>${funnelTable(version, m)}
<p><a href="/sequences/${encodeURIComponent(sequence.id)}/export.csv?table=arms&period=${period}">Export funnel (CSV)</a></p>
<h2>Recommendation slots</h2>
<table id="slots"><thead><tr><th>slot</th><th>human clicks</th><th>orders attributed</th><th>revenue attributed</th></tr></thead><tbody>
${slots.length ? slots.map((s) => html`<tr><td>${s.slot}</td><td>${s.clicks}</td><td>${s.orders}</td><td>${m(s.revenue)}</td></tr>`) : html`<tr><td colspan="4" class="muted">No clicks on recommendations yet.</td></tr>`}</tbody></table>
<p><a href="/sequences/${encodeURIComponent(sequence.id)}/export.csv?table=slots">Export slots (CSV)</a></p>
<h2>Versions</h2>
${history.map((v) => html`<details${v.live ? html` open` : ''}><summary>version ${v.version}${v.live ? ' (live)' : ''} · ${new Date(v.created_at).toISOString().slice(0, 16).replace('T', ' ')} · ${v.enrolled} enrolled</summary><pre>${v.yaml}</pre></details>`)}`;
    return reply.type('text/html').send(layout(sequence.name, body, { scripts: ['/assets/chart.umd.min.js'] }));
  });
}

function sum<T>(items: T[], pick: (item: T) => number): number {
  return items.reduce((total, item) => total + pick(item), 0);
}

function comparisonTable(version: VersionReport, m: (v: number | null) => string): Html {
  if (version.comparisons.length === 0) return html`<p class="muted">One variant and no holdout: nothing to compare.</p>`;
  const ends = version.comparisons.flatMap((c) => [...c.cuped.interval, 0]).filter(Number.isFinite);
  const scale = { min: Math.min(...ends), max: Math.max(...ends) };
  const row = (c: Comparison) => html`<tr data-arm="${c.arm}" data-against="${c.against}">
<td>${c.arm} vs ${c.against === 'holdout' ? 'holdout' : `${c.baseline} (control)`}</td>
<td data-field="n">${c.n.arm} / ${c.n.baseline}</td>
<td data-field="difference">${m(c.revenuePerCustomer.difference)}</td>
<td data-field="cupedDifference">${m(c.cuped.difference)}</td>
<td data-field="interval">[${m(c.cuped.interval[0])}, ${m(c.cuped.interval[1])}]</td>
<td>${intervalBar(c.cuped.interval, c.cuped.difference, scale)}</td>
<td data-field="pValue">${Number.isFinite(c.cuped.pValue) ? c.cuped.pValue.toFixed(3) : '—'}</td>
<td data-field="conversion">${pct(c.conversionRate.arm)} vs ${pct(c.conversionRate.baseline)}</td>
<td data-field="incremental">${c.incrementalRevenue ? html`${m(c.incrementalRevenue.cuped.estimate)} <span class="muted">[${m(c.incrementalRevenue.cuped.interval[0])}, ${m(c.incrementalRevenue.cuped.interval[1])}]</span>` : '—'}</td>
<td data-field="verdict">${c.verdict}</td></tr>`;
  return html`<div class="scroll"><table id="comparisons"><thead><tr><th>revenue per customer</th><th>customers</th><th>difference</th><th>CUPED difference</th><th>95% interval</th><th>interval</th><th>p</th><th>conversion</th><th>incremental revenue</th><th>verdict</th></tr></thead>
<tbody>${version.comparisons.map(row)}</tbody></table></div>`;
}

function funnelTable(version: VersionReport, m: (v: number | null) => string): Html {
  const cells = (f: Funnel) => html`<td data-field="sent">${f.sent}</td><td data-field="delivered">${f.delivered}</td><td data-field="humanOpens">${f.opens.human}</td><td class="muted">${f.opens.raw}</td><td data-field="humanClicks">${f.clicks.human}</td><td class="muted">${f.clicks.raw}</td><td data-field="conversions">${f.conversions}</td><td data-field="attributedRevenue">${m(f.attributedRevenue)}</td>`;
  return html`<div class="scroll"><table id="funnel"><thead><tr><th>arm / step</th><th>enrolled</th><th>sent</th><th>delivered</th><th>human opens</th><th>raw</th><th>human clicks</th><th>raw</th><th>orders</th><th>attributed</th><th>measured per customer</th></tr></thead><tbody>
${version.arms.map((arm) => html`<tr data-arm="${arm.arm}" data-step="all"><td><strong>${arm.arm}</strong></td><td data-field="enrolled">${arm.enrolled}</td>${cells(arm)}<td data-field="revenuePerCustomer">${m(arm.measured.revenuePerCustomer)}</td></tr>
${arm.holdout ? '' : arm.steps.map((s) => html`<tr data-arm="${arm.arm}" data-step="${s.step}"><td>&nbsp;&nbsp;${s.step}. ${s.template}</td><td></td>${cells(s)}<td></td></tr>`)}`)}
</tbody></table></div>`;
}

/** A Chart.js chart from data embedded as JSON (escaped for a script element). */
function chartScript(id: string, type: 'line' | 'bar', labels: (string | number)[], datasets: { label: string; data: number[] }[]): Html {
  const config = { type, data: { labels, datasets: datasets.map((d) => ({ ...d, tension: 0.2, pointRadius: 0 })) }, options: { animation: false, plugins: { legend: { position: 'bottom' } } } };
  const json = JSON.stringify(config).replace(/</g, '\\u003c');
  return new Html(`<script>new Chart(document.getElementById(${JSON.stringify(id)}), ${json});</script>`);
}
