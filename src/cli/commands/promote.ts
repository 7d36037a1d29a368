/**
 * `campaign sequences promote ID VARIANT`: make a variant the control of the sequence's next
 * version when the live version's evidence supports it (src/core/promote.ts decides), write
 * that next version into the sequence file (src/sequences/promote.ts) and record the decision
 * in the experiment log. `--force` promotes against the evidence, and the log says so. The
 * new version is not applied: `campaign sequences apply ID` is the next step, when the file
 * has been read (and a challenger added, if one is wanted). The steps themselves are in
 * src/sequences/promotion.ts, which the dashboard's promote and end-test pages call too.
 *
 * Nothing is half-done (src/sequences/replace.ts). The next file is written beside the old
 * one under a temporary name first; the log row is inserted in a transaction, the temporary
 * file is renamed over the old one (atomic on one file system) inside it, and the transaction
 * commits after. A rename that fails rolls the row back and leaves the old file; a commit that
 * fails after the rename puts the old file back. A file changed by someone else since it was
 * read is not overwritten.
 */
import { userInfo } from 'node:os';
import type { Command } from 'commander';
import { moneyFormat } from '../../analytics/format.ts';
import { textProblem } from '../../core/text.ts';
import { UserError } from '../../errors.ts';
import { configuredClock, withDatabase } from '../../runtime.ts';
import type { SequenceFile } from '../../sequences/files.ts';
import { carryOutPromotion, evidenceLines, promotionCase, sequenceFileFor, type PromotionCase } from '../../sequences/promotion.ts';
import type { ConfigSource } from '../options.ts';

export const MAX_BY = 200;
const MAX_NOTE = 2000;

/** A text option as stored: trimmed, not empty, storable, at most `max` characters. */
export function textOption(flag: string, max: number): (value: string) => string {
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
export function osUser(): string {
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
      const file = sequenceFileFor(await load(options.dir), id);
      const money = moneyFormat(settings.shop.currency);
      const out = (text: string) => {
        if (!options.json) process.stdout.write(text + '\n');
      };

      await withDatabase(settings, async ({ db }) => {
        const now = configuredClock(settings).now();
        const found = await promotionCase(db, {
          sequenceId: id,
          variant,
          file,
          asOf: options.asOf ?? now,
          attribution: settings.attribution,
          minSample: settings.reportMinSample,
          money,
        });
        const { decision, evidence } = found;
        out(formatEvidence(found, money));
        if (decision.blocking.length) throw new UserError(decision.blocking.join(' '));
        const forced = !decision.supported;
        if (forced && !options.force) {
          if (options.json) process.stdout.write(JSON.stringify({ sequence: id, promoted: false, evidence }, null, 2) + '\n');
          process.stderr.write(
            `refused: the evidence does not support promoting ${variant}:\n${decision.reasons.map((r) => `  - ${r}\n`).join('')}use --force to promote anyway\n`,
          );
          process.exitCode = 1;
          return;
        }

        const done = await carryOutPromotion(db, found, {
          force: options.force ?? false,
          by: options.by ?? osUser(),
          note: options.note ?? null,
          decidedAt: now,
        });
        if (options.json)
          process.stdout.write(
            JSON.stringify(
              {
                sequence: id,
                promoted: true,
                forced,
                decisionId: done.decisionId,
                file: file.path,
                next: `campaign sequences apply ${id}`,
                evidence,
              },
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
            `wrote ${file.path}: ${variant} is the only variant (weight ${done.weight}), with room for a challenger`,
            `recorded decision ${done.decisionId} in the experiment log (\`campaign sequences log ${id}\`)`,
            `next: read the file, add a challenger if you want one, then \`campaign sequences apply ${id}\``,
          ].join('\n'),
        );
      });
    });
}

/** The evidence as the command prints it: the version and moment, then the shared lines (src/sequences/promotion.ts). */
function formatEvidence(found: PromotionCase, money: (value: number | null) => string): string {
  const { tested, split, comparisons } = evidenceLines(found, money);
  return [
    `${found.sequenceId}, version ${found.version.version} (live), as of ${found.asOf}; a verdict needs ${found.minSample} measured customers per arm`,
    tested,
    split,
    ...comparisons.flatMap((c) => [`${c.title}:`, ...c.lines.map((line) => `  ${line}`)]),
  ].join('\n');
}
