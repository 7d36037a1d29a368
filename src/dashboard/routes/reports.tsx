/**
 * The report pages: overview and sequence (the decision, the flow, the detailed tables, recommendation performance), with CSV exports.
 * Every figure that is in the report comes from `buildReport`, the code behind
 * `campaign report --json`, so the two never disagree.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { stringify } from 'csv-stringify/sync';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { overviewCsv, reportCsv } from '../../analytics/csv.ts';
import { moneyFormat } from '../../analytics/format.ts';
import { sequenceSummaries } from '../../analytics/overview.ts';
import { recommendationPerformance } from '../../analytics/recommendations.ts';
import { recommendationCsv } from '../../analytics/recommendations-format.ts';
import { buildReport, type Report } from '../../analytics/report.ts';
import { cumulativeRevenue, everyDay, liveDefinition, sentPerDay, slotPerformance, versionHistory } from '../../analytics/series.ts';
import { attributionInWords, attributionKey } from '../../core/attribution.ts';
import { poolIsLow } from '../../core/discount.ts';
import { listAudit } from '../../store/audit-log.ts';
import { poolCounts } from '../../store/discount-codes.ts';
import { deliveryCounts } from '../../store/webhooks.ts';
import { listDecisions } from '../../store/experiment-log.ts';
import { sequenceStates } from '../../store/sequences.ts';
import { AUDIT_SHOWN } from './actions.tsx';
import type { PageDeps } from './deps.ts';
import { WEBHOOK_DAYS, webhooksSince } from './webhooks.tsx';
import { PERIODS, periodQuery, reportExportQuery, sequenceExportQuery, sequenceParams, type Period } from '../query.ts';
import { pageSnapshots } from '../snapshots.ts';
import { renderPage } from '../views/layout.tsx';
import { OverviewPage } from '../views/overview.tsx';
import { SequenceNotFound, SequencePage } from '../views/sequence.tsx';

const DAY_MS = 86_400_000;
/** The shape of the pages' snapshots: raise it when what a page stores changes, so no older snapshot is read. */
const SNAPSHOT_FORMAT = 1;
/** A snapshot key's part standing for `text`: 12 hex digits of its SHA-256. */
const shortHash = (text: string) => createHash('sha256').update(text).digest('hex').slice(0, 12);
const require = createRequire(import.meta.url);
const CHART_JS = join(dirname(require.resolve('chart.js')), 'chart.umd.min.js');
/** The annotation plugin's browser build, which registers itself with the Chart it finds. */
const ANNOTATION_JS = join(dirname(require.resolve('chartjs-plugin-annotation')), 'chartjs-plugin-annotation.min.js');
const CHARTS = new URL('../assets/charts.js', import.meta.url);

/**
 * Adds the overview (`/`), the sequence pages, their CSV exports and the chart scripts to
 * `app` (pause, resume and the other actions: ./actions.tsx). Every page and export reads one
 * moment (`deps.now()`), so the figures of one answer agree with each other.
 */
export async function reportPages(app: FastifyInstance, deps: PageDeps): Promise<void> {
  const pages = app.withTypeProvider<ZodTypeProvider>();
  const snapshots = pageSnapshots({
    db: deps.db,
    maxAgeMs: (deps.snapshotSeconds ?? 0) * 1_000,
    onError: (err, key) => app.log.error({ err, key }, 'the figures of a dashboard page could not be built'),
  });
  app.addHook('onClose', () => snapshots.stop());
  const money = moneyFormat(deps.currency);
  const timeZone = deps.timeZone ?? 'UTC';
  /**
   * What the figures depend on besides the data, in every snapshot's key, so a snapshot
   * stored before a change of settings (or of the code's figures: SNAPSHOT_FORMAT) is never
   * served after it.
   */
  const settings = shortHash(
    JSON.stringify([SNAPSHOT_FORMAT, attributionKey(deps.attribution), deps.minSample, deps.defaultMarginPercent ?? null, timeZone]),
  );
  /** What one request looks at: one moment, one period, the report over both. */
  const viewOf = (period: Period) => {
    const asOf = deps.now();
    const days = PERIODS[period].days;
    const from = days === null ? undefined : new Date(asOf.getTime() - days * DAY_MS);
    const report = (sequenceId?: string): Promise<Report> =>
      buildReport(deps.db, {
        asOf,
        attribution: deps.attribution,
        minSample: deps.minSample,
        defaultMarginPercent: deps.defaultMarginPercent,
        sequenceId,
        enrolledFrom: from,
      });
    return { asOf, from, report };
  };
  const csv = (filename: string) => ({
    'content-type': 'text/csv',
    'content-disposition': `attachment; filename="${filename}"`,
  });

  const assets: [string, Buffer][] = [
    ['chart.umd.min.js', readFileSync(CHART_JS)],
    ['chartjs-plugin-annotation.min.js', readFileSync(ANNOTATION_JS)],
    ['charts.js', readFileSync(CHARTS)],
  ];
  for (const [name, body] of assets) {
    pages.get(`/assets/${name}`, { schema: { hide: true } }, async (_request, reply) =>
      reply.type('application/javascript').header('cache-control', 'public, max-age=86400').send(body),
    );
  }

  pages.get('/', { schema: { hide: true, querystring: periodQuery } }, async (request, reply) => {
    const { period } = request.query;
    // The report and the trend from the page's snapshot (../snapshots.ts), one per set of
    // live versions (publishing one starts a new snapshot); the statuses and the alerts live.
    const states = await sequenceStates(deps.db);
    const versions = shortHash(states.map((s) => `${s.id}=${s.liveVersionId ?? ''}`).join(','));
    const figures = await snapshots.figures(`overview:${period}:${settings}:${versions}`, async () => {
      const { asOf, from, report } = viewOf(period);
      // With no period, the trend still stops at 90 days: a chart of years of days says nothing.
      const since = from ?? new Date(asOf.getTime() - 90 * DAY_MS);
      const [data, trend] = await Promise.all([report(), sentPerDay(deps.db, since, timeZone)]);
      return { asOf, body: { report: data, since: since.toISOString(), trend } };
    });
    const { trend } = figures.body;
    const status = new Map(states.map((s) => [s.id, s.status]));
    const data = {
      ...figures.body.report,
      sequences: figures.body.report.sequences.map((s) => ({ ...s, status: status.get(s.id) ?? s.status })),
    };
    const asOf = figures.asOf;
    const since = new Date(figures.body.since);
    const now = deps.now();
    const [pools, deliveries] = await Promise.all([poolCounts(deps.db, now), deliveryCounts(deps.db, webhooksSince(now))]);
    const low = deps.codePoolLow ?? 100;
    const page = (
      <OverviewPage
        summaries={sequenceSummaries(data)}
        period={period}
        trend={trend}
        days={everyDay(since, asOf, timeZone)}
        money={money}
        asOf={asOf}
        timeZone={timeZone}
        attribution={attributionInWords(deps.attribution)}
        minSample={deps.minSample}
        lowPools={pools.filter((p) => poolIsLow(p.left, low)).map((p) => ({ name: p.name, left: p.left }))}
        deadLetters={deliveries.filter((d) => d.outcome === 'dead_letter').reduce((sum, d) => sum + d.deliveries, 0)}
        webhookDays={WEBHOOK_DAYS}
      />
    );
    return reply.type('text/html').send(renderPage(page));
  });

  pages.get('/export.csv', { schema: { hide: true, querystring: reportExportQuery } }, async (request, reply) => {
    const { period, table } = request.query;
    const data = await viewOf(period).report();
    const body = table === 'sequences' ? overviewCsv(sequenceSummaries(data)) : reportCsv(data, table);
    return reply.headers(csv(`report-${table}.csv`)).send(body);
  });

  pages.get(
    '/sequences/:id/export.csv',
    { schema: { hide: true, params: sequenceParams, querystring: sequenceExportQuery } },
    async (request, reply) => {
      const { id } = request.params;
      const { period, table } = request.query;
      const live = await liveDefinition(deps.db, id);
      if (!live) return reply.notFound('No such sequence.');
      if (table === 'recs-strategy' || table === 'recs-product') {
        const { asOf, from } = viewOf(period);
        const recs = await recommendationPerformance(deps.db, live.versionId, live.definition, { asOf, from });
        return reply.headers(csv(`${id}-${table}.csv`)).send(recommendationCsv(recs, table));
      }
      if (table === 'slots') {
        const slots = await slotPerformance(deps.db, live.versionId, deps.attribution, viewOf(period).from);
        const body = stringify(slots, { header: true, columns: ['slot', 'clicks', 'orders', 'revenue'] });
        return reply.headers(csv(`${id}-slots.csv`)).send(body);
      }
      const data = await viewOf(period).report(id);
      // Exactly what the page shows: its live version.
      const shown = data.sequences.map((s) => ({ ...s, versions: s.versions.filter((v) => v.versionId === live.versionId) }));
      return reply.headers(csv(`${id}-${table}.csv`)).send(reportCsv({ ...data, sequences: shown }, table));
    },
  );

  const sequencePage = { schema: { hide: true, params: sequenceParams, querystring: periodQuery } };
  pages.get('/sequences/:id', sequencePage, async (request, reply) => {
    const { id } = request.params;
    const { period } = request.query;
    const live = await liveDefinition(deps.db, id);
    // A page, not an API answer: the person who followed a stale link gets a way back.
    if (!live)
      return reply
        .code(404)
        .type('text/html')
        .send(renderPage(<SequenceNotFound id={id} />));
    // The report, the curve, the slots and the recommendations from the page's snapshot
    // (../snapshots.ts), per live version: publishing a version starts a new one. The
    // status, the history, the decisions and the audit are read live, so an action shows at once.
    const figures = await snapshots.figures(`sequence:${id}:${live.versionId}:${period}:${settings}`, async () => {
      const { asOf, from, report } = viewOf(period);
      // The report first: it brings the attribution and engagement rollups up to date, which
      // the slot figures read.
      const data = await report(id);
      const [curve, slots, recs] = await Promise.all([
        cumulativeRevenue(deps.db, live.versionId, live.definition, asOf, from),
        slotPerformance(deps.db, live.versionId, deps.attribution, from),
        recommendationPerformance(deps.db, live.versionId, live.definition, { asOf, from }),
      ]);
      return { asOf, body: { report: data, curve, slots, recs } };
    });
    const { report: data, curve, slots, recs } = figures.body;
    const asOf = figures.asOf;
    const [history, decisions, audit] = await Promise.all([
      versionHistory(deps.db, id),
      listDecisions(deps.db, id),
      listAudit(deps.db, id, AUDIT_SHOWN),
    ]);
    const sequence = { ...data.sequences[0]!, status: live.status };
    const version = sequence.versions.find((v) => v.live) ?? sequence.versions[0]!;
    const page = (
      <SequencePage
        sequence={sequence}
        version={version}
        definition={live.definition}
        period={period}
        curve={curve}
        slots={slots}
        recs={recs}
        audit={audit}
        history={history}
        decisions={decisions}
        money={money}
        currency={deps.currency}
        timeZone={timeZone}
        asOf={asOf}
        attribution={attributionInWords(deps.attribution)}
        minSample={deps.minSample}
      />
    );
    return reply.type('text/html').send(renderPage(page));
  });
}
