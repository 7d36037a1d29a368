/**
 * `campaign sequences promote ID VARIANT`: make a variant the control of the sequence's next
 * version when the live version's evidence supports it (src/core/promote.ts decides), write
 * that next version into the sequence file (src/sequences/promote.ts) and record the decision
 * in the experiment log. `--force` promotes against the evidence, and the log says so. The
 * new version is not applied: `campaign sequences apply ID` is the next step, when the file
 * has been read (and a challenger added, if one is wanted).
 *
 * Nothing is half-done (src/sequences/replace.ts). The next file is written beside the old
 * one under a temporary name first; the log row is inserted in a transaction, the temporary
 * file is renamed over the old one (atomic on one file system) inside it, and the transaction
 * commits after. A rename that fails rolls the row back and leaves the old file; a commit that
 * fails after the rename puts the old file back. A file changed by someone else since it was
 * read is not overwritten.
 */
import { userInfo } from 'node:os';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { moneyFormat, pct, srmLine } from '../../analytics/format.ts';
import { buildReport, type VersionReport } from '../../analytics/report.ts';
import { liveDefinition } from '../../analytics/series.ts';
import type { Comparison } from '../../core/experiment.ts';
import { decidePromotion, formatP, sameDefinition, type PromotionDecision } from '../../core/promote.ts';
import { textProblem } from '../../core/text.ts';
import { UserError, YamlSourceError } from '../../errors.ts';
import { configuredClock, withDatabase } from '../../runtime.ts';
import type { SequenceFile } from '../../sequences/files.ts';
import { promotedYaml } from '../../sequences/promote.ts';
import { replaceFile } from '../../sequences/replace.ts';
import { recordDecision } from '../../store/experiment-log.ts';
import type { ConfigSource } from '../options.ts';

const MAX_BY = 200;
const MAX_NOTE = 2000;

/** A text option as stored: trimmed, not empty, storable, at most `max` characters. */
function textOption(flag: string, max: number): (value: string) => string {
  return (value) => {
    const text = value.trim();
    if (text === '') throw new UserError(`${flag}: must not be empty`);
    if (text.length > max) throw new UserError(`${flag}: must be at most ${max} characters (got ${text.length})`);
    const problem = textProblem(text);
    if (problem) throw new UserError(`${flag}: ${problem}`);
    return text;
  };
}

/** Who is deciding, when `--by` does not say: the operating system's user name (`unknown` where the system has none). */
function osUser(): string {
  try {
    return userInfo().username || 'unknown';
  } catch {
    // No passwd entry for this uid (some containers).
    return 'unknown';
  }
}

/** `--as-of`: an ISO 8601 time, as `campaign report --as-of` takes it. */
function isoTime(value: string): Date {
  const at = new Date(value);
  if (Number.isNaN(at.getTime())) throw new UserError(`--as-of: expected an ISO 8601 time, got "${value}"`);
  return at;
}

interface PromoteOptions {
  force?: boolean;
  asOf?: Date;
  by?: string;
  note?: string;
  dir?: string;
  json?: boolean;
}

export function registerPromote(
  sequences: Command,
  config: ConfigSource,
  load: (dir: string | undefined) => Promise<{ files: SequenceFile[]; problems: string[] }>,
): void {
  sequences
    .command('promote')
    .description("make a variant the control of the sequence's next version when the evidence supports it, and log the decision")
    .argument('<id>', 'the sequence (applied, and its file unchanged since)')
    .argument('<variant>', 'the variant to promote; the control itself keeps it and ends the test')
    .option('--force', 'promote even when the evidence does not support it (the log records it as forced)')
    .option('--by <name>', 'who decides (default: your user name)', textOption('--by', MAX_BY))
    .option('--note <text>', 'why, in a sentence or two, kept in the log', textOption('--note', MAX_NOTE))
    .option('--as-of <time>', 'the evidence as of this time (default: now), as `campaign report --as-of`', isoTime)
    .option('--dir <path>', 'sequences folder (default: SEQUENCES_DIR or ./templates/sequences)')
    .option('--json', 'print the evidence and the decision as JSON')
    .action(async (id: string, variant: string, options: PromoteOptions) => {
      const settings = config();
      const { files, problems } = await load(options.dir);
      const file = files.find((f) => f.definition.id === id);
      if (!file) throw new UserError(problems.length ? `no valid sequence file with id "${id}"` : `no sequence file with id "${id}"`);
      const money = moneyFormat(settings.shop.currency);
      const out = (text: string) => {
        if (!options.json) process.stdout.write(text + '\n');
      };

      await withDatabase(settings, async ({ db }) => {
        const live = await liveDefinition(db, id);
        if (!live) throw new UserError(`no sequence "${id}" in the database: apply it first (\`campaign sequences apply ${id}\`)`);
        const now = configuredClock(settings).now();
        const asOf = options.asOf ?? now;
        const report = await buildReport(db, {
          asOf,
          attribution: settings.attribution,
          minSample: settings.reportMinSample,
          sequenceId: id,
        });
        const version = report.sequences[0]?.versions.find((v) => v.live);
        if (!version) throw new UserError(`sequence "${id}" has no live version: apply it first (\`campaign sequences apply ${id}\`)`);
        if (!sameDefinition(file.definition, live.definition))
          throw new UserError(
            `${file.path} is not what version ${version.version} (the live one) says: it changed after it was applied, and the evidence is about version ${version.version}. Restore the file, or apply it (a new test) and promote later`,
          );

        const decision = decidePromotion(version, variant, { minSample: settings.reportMinSample, money: (v) => money(v) });
        out(formatEvidence(id, version, decision, report.asOf, report.minSample, money));
        if (decision.blocking.length) throw new UserError(decision.blocking.join(' '));
        const evidence = {
          asOf: report.asOf,
          attributionModel: report.attributionModel,
          minSample: report.minSample,
          version: version.version,
          versionId: version.versionId,
          ...decision,
        };
        const forced = !decision.supported;
        if (forced && !options.force) {
          if (options.json) process.stdout.write(JSON.stringify({ sequence: id, promoted: false, evidence }, null, 2) + '\n');
          process.stderr.write(
            `refused: the evidence does not support promoting ${variant}:\n${decision.reasons.map((r) => `  - ${r}\n`).join('')}use --force to promote anyway\n`,
          );
          process.exitCode = 1;
          return;
        }

        const next = (() => {
          try {
            return promotedYaml(file.yaml, variant, file.path);
          } catch (error) {
            throw error instanceof YamlSourceError ? new UserError(error.message) : error;
          }
        })();
        const decisionId = await replaceFile(file.path, file.yaml, next.yaml, (carryOut) =>
          recordDecision(
            db,
            {
              sequenceId: id,
              versionId: version.versionId,
              variant,
              tested: decision.tested,
              evidence,
              forced,
              decidedBy: options.by ?? osUser(),
              note: options.note ?? null,
              nextFile: resolve(file.path),
              decidedAt: now,
            },
            carryOut,
          ),
        );
        if (options.json)
          process.stdout.write(
            JSON.stringify(
              { sequence: id, promoted: true, forced, decisionId, file: file.path, next: `campaign sequences apply ${id}`, evidence },
              null,
              2,
            ) + '\n',
          );
        out(
          [
            forced
              ? `promoted ${variant} against the evidence (--force): the log records it as forced`
              : decision.keepsControl
                ? `kept the control ${variant}: the evidence supports it`
                : `promoted ${variant}: the evidence supports it`,
            ...decision.caveats.map((c) => `note: ${c}`),
            `wrote ${file.path}: ${variant} is the only variant (weight ${next.definition.variants[0]!.weight}), with room for a challenger`,
            `recorded decision ${decisionId} in the experiment log (\`campaign sequences log ${id}\`)`,
            `next: read the file, add a challenger if you want one, then \`campaign sequences apply ${id}\``,
          ].join('\n'),
        );
      });
    });
}

function formatEvidence(
  id: string,
  version: VersionReport,
  decision: PromotionDecision,
  asOf: string,
  minSample: number,
  money: (value: number | null) => string,
): string {
  const interval = ([low, high]: [number, number]) => `[${money(low)}, ${money(high)}]`;
  const lines = [
    `${id}, version ${version.version} (live), as of ${asOf}; a verdict needs ${minSample} measured customers per arm`,
    `tested: ${decision.tested.join(', ')} (control ${version.control})`,
    srmLine(version),
  ];
  const comparison = (c: Comparison) => {
    const name = c.against === 'holdout' ? `${c.arm} vs the holdout` : `${c.arm} vs the control (${c.baseline})`;
    lines.push(
      `${name}, ${c.n.arm} / ${c.n.baseline} measured customers:`,
      `  sequential verdict: ${c.verdict}; always-valid 95% interval ${interval(c.sequential.interval)}`,
      `  fixed horizon: ${c.fixedHorizonVerdict}; CUPED difference ${money(c.cuped.difference)} ${interval(c.cuped.interval)}, p = ${formatP(c.cuped.pValue)}, Holm p = ${formatP(c.adjustedPValue)}`,
      `  MDE (80% power): ${money(c.mde.absolute)}${c.mde.relative === null ? '' : ` (${pct(c.mde.relative)})`}`,
    );
    if (c.against === 'control')
      lines.push(
        `  guardrails: ${c.guardrails.map((g) => `${g.metric} ${pct(g.arm)} vs ${pct(g.baseline)} (Holm p ${formatP(g.adjustedPValue)}${g.flagged ? ', WORSE' : ''})`).join(', ') || 'none measured'}`,
      );
  };
  decision.comparisons.forEach(comparison);
  return lines.join('\n');
}
