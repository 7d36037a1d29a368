/**
 * `campaign demo` (what `npm start` runs): the whole job on the embedded defaults, see
 * src/demo/run.ts. Prints progress while the clock runs, then the report with the planted
 * truth beside the estimates.
 */
import { MultiBar, Presets } from 'cli-progress';
import type { Command } from 'commander';
import { formatReport, moneyFormat } from '../../analytics/format.ts';
import { DEMO_DEFAULTS, runDemo, type DemoOptions, type DemoOutput, type DemoResult } from '../../demo/run.ts';
import type { RefillTruth } from '../../demo/refill-truth.ts';
import type { PlantedFinding, PlantedMeasure } from '../../demo/planted.ts';
import type { ConfigSource } from '../options.ts';
import { positiveNumber, positiveWholeNumber } from '../options.ts';

export function registerDemo(program: Command, config: ConfigSource): void {
  program
    .command('demo')
    .description(
      'run a whole demo shop through the engine: history, recommendations, sequences, weeks of new orders, recipients, the report',
    )
    .option('--customers <n>', 'customers in the shop', positiveWholeNumber('--customers'), DEMO_DEFAULTS.customers)
    .option('--days <n>', 'days of new orders replayed through the API', positiveWholeNumber('--days'), DEMO_DEFAULTS.days)
    .option(
      '--orders-per-day <n>',
      'orders per day, in the history and the replay',
      positiveWholeNumber('--orders-per-day'),
      DEMO_DEFAULTS.ordersPerDay,
    )
    .option('--history-days <n>', 'days of order history imported first', positiveWholeNumber('--history-days'), DEMO_DEFAULTS.historyDays)
    .option(
      '--clock-scale <n>',
      'simulated seconds per real second while orders come in (five times that after)',
      positiveNumber('--clock-scale'),
      DEMO_DEFAULTS.clockScale,
    )
    .option('--seed <n>', 'seed of the generated shop and its recipients', positiveWholeNumber('--seed'), DEMO_DEFAULTS.seed)
    .option('--port <n>', 'port of the HTTP server (another is taken when busy)', (v) => Number(v), 3000)
    .option('--keep-serving', 'keep the HTTP server up after the report')
    .action(async (options: Omit<DemoOptions, 'keepServing'> & { keepServing?: boolean }) => {
      const settings = config();
      const bars = process.stdout.isTTY
        ? new MultiBar({ format: ' {label} [{bar}] {value}/{total}', hideCursor: true, clearOnComplete: true }, Presets.shades_classic)
        : undefined;
      let progress:
        | {
            day: ReturnType<MultiBar['create']>;
            orders: ReturnType<MultiBar['create']>;
            emails: ReturnType<MultiBar['create']>;
            events: ReturnType<MultiBar['create']>;
          }
        | undefined;
      const output: DemoOutput = {
        line: (text) => (bars ? bars.log(text + '\n') : process.stdout.write(text + '\n')),
        progress: bars
          ? (state) => {
              progress ??= {
                day: bars.create(Math.ceil(state.days), 0, { label: 'simulated days ' }),
                orders: bars.create(state.ordersPlanned, 0, { label: 'orders         ' }),
                emails: bars.create(Math.max(1, state.emails), 0, { label: 'emails sent    ' }),
                events: bars.create(Math.max(1, state.events), 0, { label: 'opens + clicks ' }),
              };
              progress.day.update(Math.floor(state.day));
              progress.orders.setTotal(Math.max(state.ordersPlanned, state.orders));
              progress.orders.update(state.orders);
              progress.emails.setTotal(state.emails);
              progress.emails.update(state.emails);
              progress.events.setTotal(Math.max(1, state.events));
              progress.events.update(state.events);
            }
          : undefined,
      };
      output.finished = (result) => {
        bars?.stop();
        process.stdout.write(
          '\n' +
            formatReport(result.report, { currency: settings.shop.currency }) +
            '\n\n' +
            formatTruth(result, settings.shop.currency) +
            '\n',
        );
      };
      try {
        await runDemo(settings, { ...options, keepServing: options.keepServing ?? false }, output);
      } finally {
        bars?.stop();
      }
    });
}

function formatTruth(result: DemoResult, currency: string): string {
  const money = moneyFormat(currency);
  const percent = (value: number) => `${Math.round(value * 100)}%`;
  const lines = ['The planted truth beside the estimates (CUPED, 95% intervals; the narrowing CUPED bought against the plain interval):'];
  for (const c of result.checks)
    lines.push(
      `  ${c.covered ? 'inside ' : 'OUTSIDE'}  ${c.sequence}: ${c.arm} vs ${c.against === 'control' ? 'control' : 'holdout'}, ${c.measure}: ` +
        `truth ${money(c.truth)}, estimate ${money(c.estimate)} [${money(c.interval[0])}, ${money(c.interval[1])}], CUPED ${percent(c.cupedNarrowing)} narrower` +
        (c.enough ? '' : ` (${Math.min(c.n.arm, c.n.baseline)} customers in the smaller arm: under the minimum, not yet a claim)`),
    );
  const same = Math.abs(result.attributed.engine - result.attributed.ledger) < 0.005;
  lines.push(
    `Attributed revenue: ${money(result.attributed.engine)} by the engine, ${money(result.attributed.ledger)} by the simulator's own ledger under the same rule${same ? '' : ' — THEY DIFFER'}.`,
    `${result.counts.orders} orders (${result.counts.purchases} bought from emails), ${result.counts.emails} emails, ${result.counts.opens} opens, ${result.counts.clicks} clicks, in ${result.realSeconds.toFixed(0)} s.` +
      (result.pace.slowedSeconds > 0
        ? ` The machine fell behind the clock, so the clock waited for the workers: ${result.pace.slowedSeconds.toFixed(0)} s below its planned speed, at slowest ${percent(result.pace.slowest)} of it, once ${result.pace.latestHours.toFixed(1)} simulated hours behind.`
        : ''),
  );
  const r = result.rollup;
  lines.push(
    r.same
      ? `Report: ${r.seconds.toFixed(2)} s from the rollups, ${r.rawSeconds.toFixed(2)} s recomputed from the raw rows, every figure the same.`
      : `Report: ${r.seconds.toFixed(2)} s from the rollups, ${r.rawSeconds.toFixed(2)} s from the raw rows — THEY DIFFER at ${r.difference}.`,
  );
  const c = result.consent;
  lines.push(
    `Consent: ${c.saidNo + c.unknown} customers who ordered had not accepted marketing (${c.saidNo} said no, ${c.unknown} were never asked); ` +
      `their ${c.orders} orders enrolled them in ${c.enrolled} consent-required sequences${c.enrolled === 0 ? ' (none: eligibility is decided before the arm is drawn, so every arm and the holdout have the same population)' : ' — THAT IS A BUG'}.`,
  );
  lines.push(...refillLines(result.replenish), ...platformLines(result));
  if (result.planted.length)
    lines.push('', 'What the demo planted, and what the report decided (per customer against the control, always-valid 95% interval):');
  for (const p of result.planted) lines.push(...plantedLines(p, money), `      why: ${p.why}`);
  return lines.join('\n');
}

/** The closing lines of one planted comparison: the truth, what the report said, and what this size could find. */
function plantedLines(p: PlantedFinding, money: (value: number) => string): string[] {
  const signed = (value: number) => (value >= 0 ? '+' : '') + money(value);
  const percent = (value: number) => `${Math.round(value * 100)}%`;
  const said = (m: PlantedMeasure) => `the report: ${m.verdict}, ${signed(m.estimate)} [${money(m.interval[0])}, ${money(m.interval[1])}]`;
  const head = `  planted ${p.kind.padEnd(10)}  ${p.sequence}: ${p.arm} vs ${p.baseline} (control)`;
  if (p.kind === 'null')
    return [
      `${head}: truth ${signed(p.truth)} per customer (no planted difference); ${said(p)}; it could have found ${money(p.detectable)} (80% power) -> ${p.asPlanted ? 'KEPT NULL' : 'A FALSE WINNER'}`,
    ];
  const found = `power to find it at this size ${percent(p.power)} -> ${p.asPlanted ? 'FOUND' : 'NOT FOUND'}`;
  const lines = [`${head}: revenue truth ${signed(p.truth)} per customer; ${said(p)}; ${found}`];
  if (p.kind === 'discount' && p.margin) {
    const m = p.margin;
    const decided = m.verdict === 'better' || m.verdict === 'worse';
    lines.push(
      `      margin truth ${signed(m.truth)} per customer; ${said(m)}; ` +
        (decided ? `power ${percent(m.power)}` : `it could have found ${money(m.detectable)} (80% power)`) +
        ` -> ${marginWords(p, m)}`,
    );
  }
  return lines;
}

/** Whether the planted revenue win is a margin win, in truth and in what the report could tell. */
function marginWords(revenue: PlantedMeasure, margin: PlantedMeasure): string {
  const truth =
    revenue.truth > 0
      ? margin.truth < 0
        ? 'truth: more revenue, less profit (the code does not pay for itself)'
        : 'truth: more revenue and more profit (the code pays for itself)'
      : `truth: ${margin.truth < 0 ? 'less' : 'more'} profit`;
  const said =
    margin.verdict === 'worse'
      ? 'the report finds the lost profit'
      : margin.verdict === 'better'
        ? 'the report finds more profit'
        : `the report cannot tell yet whether it pays for itself (margin undecided at this size)`;
  return `${truth}; ${said}`;
}

/** The planted refill cycles beside the learned rhythm, and the refill backtest on the replay. */
function refillLines(r: RefillTruth): string[] {
  const days = (x: number) => `${x.toFixed(1)} days`;
  const b = r.backtest;
  return [
    `Refill timing: ${r.regulars} regulars refill on planted cycles of ${r.plantedDays[0].toFixed(0)} to ${r.plantedDays[1].toFixed(0)} days; ` +
      `the rhythm learned from their orders is ${days(r.ownRhythmError)} from the planted cycle on average.`,
    b.cases === 0
      ? '  No purchase of the replay was bought again within it: nothing to score.'
      : `  On ${b.cases} re-purchases during the replay, \`delay: replenish\` would have gone ${days(b.learned.meanAbsError)} from the actual day on average ` +
        `(median ${days(b.learned.medianAbsError)}); a fixed ${b.fixedDays} days, ${days(b.fixed.meanAbsError)} (median ${days(b.fixed.medianAbsError)}).`,
  ];
}

/** The orders that came as Shopify webhooks, and a product page's storefront recommendations beside the planted truth. */
function platformLines(result: DemoResult): string[] {
  const w = result.webhooks;
  const s = result.storefront;
  const planted = s.shown.filter((r) => r.sameLine).length;
  return [
    `Shopify: ${w.orders} orders (customers on the demo's Shopify shop) came as signed orders/create webhooks, each delivered twice: ` +
      `${w.stored} stored, ${w.duplicates} answered as duplicates${w.other ? `, ${w.other} NOT STORED` : ''}.`,
    `Storefront: GET /api/recommendations?skus=${s.sku} (${s.name}) answered in ${s.milliseconds.toFixed(0)} ms; ` +
      `${planted} of its ${s.shown.length} products are the planted accessories of the same model line:`,
    ...s.shown.map(
      (r) => `  ${r.sameLine ? 'planted ' : r.complement ? 'category' : 'other   '}  ${r.sku.padEnd(10)} ${r.name} — ${r.reason}`,
    ),
  ];
}
