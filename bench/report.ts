/**
 * The report query on 1,000,000 sent messages and 5,000,000 events (and 500,000
 * enrollments, 700,000 orders), beside one full scan of the events table, in one run. The
 * data is generated in the database; attribution is brought up to date and the report's
 * per-enrollment rollup built first (their costs are printed in the notes), then the report
 * is timed as an analyst would wait for it.
 */
import { sign } from '@fastify/cookie';
import { sql } from 'drizzle-orm';
import { refreshAttribution } from '../src/analytics/attribution.ts';
import { buildReport, type Report } from '../src/analytics/report.ts';
import { rebuildOutcomes } from '../src/store/outcomes.ts';
import { DEFAULT_ATTRIBUTION } from '../src/core/attribution.ts';
import { fixedClock } from '../src/core/clock.ts';
import { sessionKey, sessionValue } from '../src/dashboard/auth.ts';
import { buildServer } from '../src/http/app.ts';
import { queryRows, type Db } from '../src/db/client.ts';
import { freshDatabase } from '../tests/helpers/db.ts';
import { prepareShop } from '../tests/helpers/engine.ts';
import { timed, type Benchmark } from './harness.ts';

const TARGET = 3;
/** The dashboard's pages answer in under this at the bench's size (issue: a report from rollups). */
const PAGE_TARGET_MS = 300;
const PAGES = ['/', '/sequences/big', '/?period=30d', '/sequences/big?period=30d'];
const START = Date.parse('2026-01-01T00:00:00Z');
const SEQUENCE = `
id: big
name: Big
trigger: { event: order_placed }
holdout: 10%
variants: [{ key: a, weight: 1 }, { key: b, weight: 1 }]
steps:
  - { delay: 1h, template: thank-you }
  - { delay: 3d, template: accessories }
measurement_window: 14d
`;

export const reportBenchmark: Benchmark = {
  name: 'report',
  async run({ quick }) {
    const scale = quick ? 0.1 : 1;
    const database = await freshDatabase('postgres', { poolSize: 4 });
    const db = database.db;
    try {
      await prepareShop(db, SEQUENCE);
      const generate = await timed(() => generateReportData(db, scale));
      const counts = await queryRows<{ messages: number; events: number }>(
        db,
        sql`select (select count(*)::int from messages) as messages, (select count(*)::int from events) as events`,
      );
      const asOf = new Date(START + 90 * 86_400_000);
      const attribution = await timed(() => refreshAttribution(db, DEFAULT_ATTRIBUTION));
      // The rows were written around the ingest, so the report's rollup is built from them, as `campaign report rebuild` does.
      const rollup = await timed(() => rebuildOutcomes(db));
      // Each side three times, keeping the best (warm for both). The first report reads the
      // 5,000,000 events into the engagement rollup and rewrites most rollup rows with their
      // flags; the rounds after it are the report an analyst waits for once that is done.
      // Every round's time is in the notes.
      let scan = Infinity;
      let report = Infinity;
      const rounds: number[] = [];
      for (let round = 0; round < 3; round++) {
        scan = Math.min(scan, (await timed(() => db.execute(sql`select count(*) filter (where is_human) from events`))).seconds);
        const built = await timed(() => buildReport(db, { asOf, attribution: DEFAULT_ATTRIBUTION, minSample: 100 }));
        checkReport(built.value, counts[0]!.messages);
        report = Math.min(report, built.seconds);
        rounds.push(built.seconds);
      }
      const ratio = report / scan;
      const pages = await dashboardPages(db, asOf);
      return [
        {
          name: 'report query',
          unit: 's',
          value: report,
          baselineName: 'one full scan of events',
          baseline: scan,
          ratio,
          target: `≤ ${TARGET}× one scan`,
          met: ratio <= TARGET,
          notes:
            `${counts[0]!.messages.toLocaleString('en')} messages, ${counts[0]!.events.toLocaleString('en')} events; generated in ${generate.seconds.toFixed(0)} s; ` +
            `first attribution of ${attribution.value.orders.toLocaleString('en')} orders took ${attribution.seconds.toFixed(1)} s (${attribution.value.attributed.toLocaleString('en')} credited); ` +
            `the rollup of ${rollup.value.enrollments.toLocaleString('en')} enrollments was built in ${rollup.seconds.toFixed(1)} s; ` +
            `the report's rounds: ${rounds.map((r) => `${r.toFixed(2)} s`).join(', ')}`,
        },
        {
          name: 'dashboard page, from its snapshot (slowest page)',
          unit: 'ms',
          value: pages.served,
          baselineName: 'the same page built live',
          baseline: pages.built,
          ratio: pages.built / pages.served,
          target: `< ${PAGE_TARGET_MS} ms`,
          met: pages.served < PAGE_TARGET_MS,
          notes: `pages ${pages.urls.join(', ')}; each built once (its snapshot stored), then read twice, the slower read kept; ${pages.detail}`,
        },
      ];
    } finally {
      await database.drop();
    }
  },
};

/**
 * A fast report that answers wrongly measures nothing: every generated email must be counted
 * sent, and the variants must have measured revenue and credited orders.
 */
function checkReport(report: Report, messages: number): void {
  const arms = report.sequences.flatMap((s) => s.versions).flatMap((v) => v.arms);
  const sent = arms.reduce((n, a) => n + a.sent, 0);
  const variants = arms.filter((a) => !a.holdout);
  if (sent !== messages || variants.some((a) => a.measured.revenue <= 0 || a.conversions <= 0))
    throw new Error(`the report counted ${sent} of ${messages} emails sent, or a variant without revenue or credited orders`);
}

/**
 * The dashboard's overview and sequence pages (all time and 30 days) on the bench's data,
 * with snapshots on: each page's first view builds its figures (the baseline), the next two
 * are served from the stored snapshot; the slowest page of each kind is reported.
 */
async function dashboardPages(db: Db, asOf: Date): Promise<{ served: number; built: number; urls: string[]; detail: string }> {
  const token = 'bench-token-0123456789abcdefghijkl';
  const secret = 'bench-secret-0123456789abcdefghijk';
  const app = await buildServer({
    db,
    apiToken: token,
    bodyLimitBytes: 1 << 20,
    clock: fixedClock(asOf),
    dashboard: { apiToken: token, secret, sessionHours: 1, currency: 'USD', timeZone: 'UTC', snapshotSeconds: 3_600 },
  });
  const session = sign(sessionValue(Date.now() + 86_400_000, 'B'.repeat(22)), sessionKey({ secret, apiToken: token }));
  const view = async (url: string) => {
    const start = performance.now();
    const answer = await app.inject({ method: 'GET', url, headers: { cookie: `campaign_session=${encodeURIComponent(session)}` } });
    if (answer.statusCode !== 200) throw new Error(`${url} answered ${answer.statusCode}`);
    return performance.now() - start;
  };
  try {
    const times = [];
    for (const url of PAGES) {
      const built = await view(url);
      const served = Math.max(await view(url), await view(url));
      times.push({ url, built, served });
    }
    const detail = times.map((t) => `${t.url} ${t.built.toFixed(0)} → ${t.served.toFixed(0)} ms`).join('; ');
    return { served: Math.max(...times.map((t) => t.served)), built: Math.max(...times.map((t) => t.built)), urls: PAGES, detail };
  } finally {
    await app.close();
  }
}

/** Enrollments (two emails each, a holdout beside), their messages, events and orders, made in the database. */
export async function generateReportData(db: Db, scale: number): Promise<void> {
  const sent = Math.round(500_000 * scale); // enrollments with two messages each
  const holdout = Math.round(sent / 9);
  const customers = Math.round(200_000 * scale);
  const [{ id: version } = { id: 0 }] = await queryRows<{ id: number }>(
    db,
    sql`select id from sequence_versions where sequence_id = 'big'`,
  );
  const enrollments = sent + holdout;
  await db.execute(
    sql`insert into customers (external_id, email) select 'c' || n, 'c' || n || '@example.com' from generate_series(1, ${customers}) n`,
  );
  const base = sql`(select min(id) - 1 from customers)`;
  // One trigger order per enrollment, spread over 60 days, then later orders for a fifth.
  await db.execute(sql`insert into orders (external_id, customer_id, ordered_at, total, item_count)
    select 't' || n, ${base} + 1 + n % ${customers}, ${new Date(START).toISOString()}::timestamptz + (n * interval '60 days') / ${enrollments}, 40 + n % 60, 1
    from generate_series(1, ${enrollments}) n`);
  await db.execute(sql`insert into enrollments (customer_id, sequence_id, sequence_version_id, arm, is_holdout, trigger_order_id, state, enrolled_at, pre_spend)
    select o.customer_id, 'big', ${version}, case when n > ${sent} then 'holdout' when n % 2 = 0 then 'a' else 'b' end, n > ${sent}, o.id,
           case when n > ${sent} then 'holdout' else 'completed' end, o.ordered_at, (n % 7) * 25
    from (select row_number() over (order by id) as n, id, customer_id, ordered_at from orders) o`);
  await db.execute(sql`insert into messages (enrollment_id, step, customer_id, recipient, state, message_id, sent_at)
    select e.id, s.step, e.customer_id, 'x@example.com', 'sent', '<' || e.id || '.' || s.step || '@bench>', e.enrolled_at + (1 + s.step * 72) * interval '1 hour'
    from enrollments e cross join (values (0), (1)) s(step) where not e.is_holdout`);
  // Each email as the send path leaves it (src/store/enrollments.ts): waiting to be settled
  // into the report's rollups, which the rollup build below does, marking its engagement row
  // sent. Without this the report's funnel would count none of them.
  await db.execute(sql`insert into sends_to_roll_up (message_id) select id from messages`);
  await db.execute(sql`insert into events (message_id, customer_id, type, is_human, machine_reason, occurred_at)
    select m.id, m.customer_id, case when k <= 3 then 'open' when k = 4 then 'click' else (array['open', 'click', 'unsubscribe', 'bounce'])[1 + (m.id % 4)] end,
           (m.id + k) % 3 <> 0, case when (m.id + k) % 3 = 0 then 'apple-mpp' end, m.sent_at + k * interval '2 hours'
    from messages m cross join generate_series(1, 5) k`);
  await db.execute(sql`insert into orders (external_id, customer_id, ordered_at, total, item_count)
    select 'l' || e.id, e.customer_id, e.enrolled_at + interval '5 hours' + (e.id % 200) * interval '1 hour', 30 + e.id % 90, 1
    from enrollments e where e.id % 5 = 0`);
  await db.execute(sql`analyze`);
}
