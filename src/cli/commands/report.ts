/**
 * `campaign report`: the analytics report as a table, JSON or CSV; `campaign report rebuild`:
 * recompute the report's per-enrollment rollup; `campaign attribution rebuild`: attribute
 * every order again under the configured model.
 */
import { Option, type Command } from 'commander';
import { rebuildAttribution } from '../../analytics/attribution.ts';
import { rebuildEngagement } from '../../analytics/engagement.ts';
import { reportCsv, type CsvTable } from '../../analytics/csv.ts';
import { formatReport } from '../../analytics/format.ts';
import { buildReport } from '../../analytics/report.ts';
import { sequenceExists } from '../../analytics/sequences.ts';
import type { Config } from '../../config.ts';
import { configuredClock, withDatabase } from '../../runtime.ts';
import { positiveWholeNumber, type ConfigSource } from '../options.ts';
import { UserError } from '../../errors.ts';
import { rebuildOutcomes } from '../../store/outcomes.ts';
import { percentileText } from '../../core/records.ts';
import { parseEffect } from './plan.ts';

function asOf(settings: Config, text: string | undefined, flag = '--as-of'): Date {
  if (text === undefined) return configuredClock(settings).now();
  const at = new Date(text);
  if (Number.isNaN(at.getTime())) throw new UserError(`${flag}: expected an ISO 8601 time, got "${text}"`);
  return at;
}

interface ReportFlags {
  sequence?: string;
  json?: boolean;
  csv?: CsvTable | true;
  asOf?: string;
  enrolledFrom?: string;
  mde: string;
  repeatDays: number;
  winsorize?: string;
  byAttribute?: string;
}

function parsePercentile(text: string): number {
  const parsed = percentileText.safeParse(text);
  if (!parsed.success) throw new UserError(`--winsorize: ${parsed.error.issues[0]!.message}`);
  return parsed.data;
}

export function registerReport(program: Command, config: ConfigSource): void {
  const report = program
    .command('report')
    .description('revenue per sequence, variant and step, with variant comparisons against the control and the holdout')
    .option('--sequence <id>', 'only this sequence')
    .option('--json', 'print the whole report as JSON (the same as GET /api/reports/sequences)')
    .addOption(
      new Option('--csv [table]', 'print a CSV table: arms (funnel per arm and step) or comparisons')
        .choices(['arms', 'comparisons'])
        .conflicts('json'),
    )
    .option('--as-of <time>', 'report as of this time (default: now): only enrollments, sends, opens and clicks, and orders by then')
    .option('--enrolled-from <time>', 'only customers enrolled at or after this time')
    .option('--mde <effect>', 'the effect each comparison says how many more days it needs to detect: 5% of the baseline, or 2.50', '5%')
    .option('--repeat-days <days>', 'the horizon of the repeat-purchase rate (kpis.repeatRate)', positiveWholeNumber('--repeat-days'), 90)
    .option('--winsorize <percentile>', 'also compare revenue per customer capped at this pooled percentile (99: the top 1% capped)')
    .option('--by-attribute <name>', "also break the comparisons down by this customer attribute's values (exploratory)")
    .action((options: ReportFlags) => {
      const settings = config();
      return withDatabase(settings, async ({ db }) => {
        if (options.sequence !== undefined) {
          if (!(await sequenceExists(db, options.sequence)))
            throw new UserError(`no sequence "${options.sequence}" (see \`campaign sequences list\`)`);
        }
        const report = await buildReport(db, {
          asOf: asOf(settings, options.asOf),
          attribution: settings.attribution,
          minSample: settings.reportMinSample,
          defaultMarginPercent: settings.defaultMarginPercent,
          sequenceId: options.sequence,
          enrolledFrom: options.enrolledFrom === undefined ? undefined : asOf(settings, options.enrolledFrom, '--enrolled-from'),
          detect: parseEffect(options.mde),
          repeatHorizonDays: options.repeatDays,
          winsorize: options.winsorize === undefined ? undefined : parsePercentile(options.winsorize),
          breakdownAttribute: options.byAttribute,
        });
        if (options.json) process.stdout.write(JSON.stringify(report, null, 2) + '\n');
        else if (options.csv) process.stdout.write(reportCsv(report, options.csv === true ? 'arms' : options.csv));
        else process.stdout.write(formatReport(report, { currency: settings.shop.currency }) + '\n');
      });
    });

  report
    .command('rebuild')
    .description(
      "recompute the report's rollups (per enrollment, and each sent email's acceptance) from the orders, refunds, enrollments, sent emails and engagement (after rows were written around the ingest)",
    )
    .action(() =>
      withDatabase(config(), async ({ db }) => {
        const built = await rebuildOutcomes(db);
        process.stdout.write(`report rollup rebuilt: ${built.enrollments} enrollments\n`);
      }),
    );

  const attribution = program.command('attribution').description('which email each order is credited to');
  attribution
    .command('rebuild')
    .description(
      'attribute every order again under the configured model and windows (ATTRIBUTION_*), and recount opens and clicks per email',
    )
    .action(() => {
      const settings = config();
      return withDatabase(settings, async ({ db }) => {
        const run = await rebuildAttribution(db, settings.attribution);
        const engagement = await rebuildEngagement(db);
        process.stdout.write(
          `${run.model}: ${run.attributed} of ${run.orders} orders credited to an email; engagement recounted for ${engagement.messages} emails\n`,
        );
      });
    });
}
