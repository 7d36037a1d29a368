/**
 * Promoting a variant, or keeping the control (which ends the test), as both
 * `campaign sequences promote` (src/cli/commands/promote.ts) and the dashboard's promote and
 * end-test pages (src/dashboard/routes/actions.tsx) carry it out: one code path, so the two
 * never decide or record differently.
 *
 * 1. {@link promotionCase}: the live version's report and the decision on it
 *    (src/core/promote.ts), refused outright when the sequence file no longer says what the
 *    live version says (the evidence is about that version).
 * 2. {@link evidenceLines}: that evidence in words, which the command prints and the page shows.
 * 3. {@link carryOutPromotion}: the next version's file (./promote.ts) written together with
 *    its row in the experiment log (./replace.ts), then a line in the audit log. Refused when
 *    the evidence does not support it, unless forced; never when something blocks it.
 */
import { resolve } from 'node:path';
import { pct, srmLine } from '../analytics/format.ts';
import { buildReport, type VersionReport } from '../analytics/report.ts';
import { liveDefinition } from '../analytics/series.ts';
import type { AttributionModel } from '../core/attribution.ts';
import { pIs, type Comparison } from '../core/experiment.ts';
import { decidePromotion, sameDefinition, type PromotionDecision } from '../core/promote.ts';
import type { Db } from '../db/client.ts';
import { UserError, YamlSourceError } from '../errors.ts';
import { recordAudit } from '../store/audit-log.ts';
import { recordDecision } from '../store/experiment-log.ts';
import type { SequenceFile } from './files.ts';
import { promotedYaml } from './promote.ts';
import { replaceFile } from './replace.ts';

type Money = (value: number | null) => string;

/** The file of sequence `id` among the loaded ones; a UserError when there is none. */
export function sequenceFileFor(loaded: { files: SequenceFile[]; problems: string[] }, id: string): SequenceFile {
  const file = loaded.files.find((f) => f.definition.id === id);
  if (!file) throw new UserError(loaded.problems.length ? `no valid sequence file with id "${id}"` : `no sequence file with id "${id}"`);
  return file;
}

/** One decision to take: the evidence it rests on and what the rules say of it. */
export interface PromotionCase {
  sequenceId: string;
  file: SequenceFile;
  /** The report's moment (ISO) and minimum sample. */
  asOf: string;
  minSample: number;
  /** The live version's report: the evidence. */
  version: VersionReport;
  decision: PromotionDecision;
  /** What the experiment log keeps as the evidence (and `--json` prints). */
  evidence: Record<string, unknown> & PromotionDecision;
}

/**
 * Builds the live version's report of `sequenceId` as of `asOf` and decides whether it
 * supports making `variant` the control of the next version. A UserError when the sequence
 * has no live version, or when `file` is not what the live version says.
 */
export async function promotionCase(
  db: Db,
  options: {
    sequenceId: string;
    variant: string;
    file: SequenceFile;
    asOf: Date;
    attribution: AttributionModel;
    minSample: number;
    money: Money;
  },
): Promise<PromotionCase> {
  const { sequenceId: id, file } = options;
  const live = await liveDefinition(db, id);
  if (!live) throw new UserError(`no sequence "${id}" in the database: apply it first (\`campaign sequences apply ${id}\`)`);
  const report = await buildReport(db, {
    asOf: options.asOf,
    attribution: options.attribution,
    minSample: options.minSample,
    sequenceId: id,
  });
  const version = report.sequences[0]?.versions.find((v) => v.live);
  if (!version) throw new UserError(`sequence "${id}" has no live version: apply it first (\`campaign sequences apply ${id}\`)`);
  if (!sameDefinition(file.definition, live.definition))
    throw new UserError(
      `${file.path} is not what version ${version.version} (the live one) says: it changed after it was applied, and the evidence is about version ${version.version}. Restore the file, or apply it (a new test) and promote later`,
    );
  const decision = decidePromotion(version, options.variant, { minSample: options.minSample, money: (v) => options.money(v) });
  const evidence = {
    asOf: report.asOf,
    attributionModel: report.attributionModel,
    minSample: report.minSample,
    version: version.version,
    versionId: version.versionId,
    ...decision,
  };
  return { sequenceId: id, file, asOf: report.asOf, minSample: report.minSample, version, decision, evidence };
}

/** The evidence of a case in words: what was tested, the split check, then each comparison read with its lines. */
export interface EvidenceLines {
  tested: string;
  split: string;
  comparisons: { arm: string; against: 'control' | 'holdout'; title: string; lines: string[] }[];
}

/** The evidence of `c` in the words `campaign sequences promote` prints. */
export function evidenceLines(c: Pick<PromotionCase, 'version' | 'decision'>, money: Money): EvidenceLines {
  const interval = ([low, high]: [number, number]) => `[${money(low)}, ${money(high)}]`;
  const comparison = (x: Comparison) => {
    const name = x.against === 'holdout' ? `${x.arm} vs the holdout` : `${x.arm} vs the control (${x.baseline})`;
    const lines = [
      `sequential verdict: ${x.verdict}; always-valid 95% interval ${interval(x.sequential.interval)}`,
      `fixed horizon: ${x.fixedHorizonVerdict}; CUPED difference ${money(x.cuped.difference)} ${interval(x.cuped.interval)}, ${pIs(x.cuped.pValue)}, ${pIs(x.adjustedPValue, 'Holm p')}`,
      `MDE (80% power): ${money(x.mde.absolute)}${x.mde.relative === null ? '' : ` (${pct(x.mde.relative)})`}`,
    ];
    if (x.against === 'control')
      lines.push(
        `guardrails: ${x.guardrails.map((g) => `${g.metric} ${pct(g.arm)} vs ${pct(g.baseline)} (${pIs(g.adjustedPValue, 'Holm p')}${g.flagged ? ', WORSE' : ''})`).join(', ') || 'none measured'}`,
      );
    return { arm: x.arm, against: x.against, title: `${name}, ${x.n.arm} / ${x.n.baseline} measured customers`, lines };
  };
  return {
    tested: `tested: ${c.decision.tested.join(', ')} (control ${c.version.control})`,
    split: srmLine(c.version),
    comparisons: c.decision.comparisons.map(comparison),
  };
}

/** A decision carried out: its row in the experiment log and the file written. */
export interface PromotionDone {
  decisionId: number;
  auditId: number;
  /** Taken against the evidence (`--force`, or the dashboard's "force" box). */
  forced: boolean;
  /** The sequence file, as loaded (its path as shown), now holding the next version. */
  path: string;
  /** The promoted variant's weight in the next version. */
  weight: number;
}

/**
 * Carries out the decision of `c`: writes the next version's file (the variant alone, with
 * room for a challenger) and its experiment-log row together or neither, then the audit
 * line (`end` when it keeps the control, `promote` otherwise). A UserError when something
 * blocks the decision, or when the evidence does not support it and `force` is not set.
 */
export async function carryOutPromotion(
  db: Db,
  c: PromotionCase,
  options: { force: boolean; by: string; note: string | null; decidedAt: Date },
): Promise<PromotionDone> {
  const { decision, file, sequenceId } = c;
  if (decision.blocking.length) throw new UserError(decision.blocking.join(' '));
  const forced = !decision.supported;
  if (forced && !options.force)
    throw new UserError(`the evidence does not support promoting ${decision.variant}: ${decision.reasons.join(' ')}`);
  const next = (() => {
    try {
      return promotedYaml(file.yaml, decision.variant, file.path);
    } catch (error) {
      throw error instanceof YamlSourceError ? new UserError(error.message) : error;
    }
  })();
  const nextFile = resolve(file.path);
  const decisionId = await replaceFile(file.path, file.yaml, next.yaml, (carryOut) =>
    recordDecision(
      db,
      {
        sequenceId,
        versionId: c.version.versionId,
        variant: decision.variant,
        tested: decision.tested,
        evidence: c.evidence,
        forced,
        decidedBy: options.by,
        note: options.note,
        nextFile,
        decidedAt: options.decidedAt,
      },
      carryOut,
    ),
  );
  // After the decision: the experiment log is its record, the audit line says who did what.
  const auditId = await recordAudit(db, {
    at: options.decidedAt,
    actor: options.by,
    action: decision.keepsControl ? 'end' : 'promote',
    sequenceId,
    detail: { variant: decision.variant, decisionId, forced, version: c.version.version, nextFile },
  });
  return { decisionId, auditId, forced, path: file.path, weight: next.definition.variants[0]!.weight };
}
