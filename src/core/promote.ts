/**
 * Promoting the winner of a sequence's experiment: whether the report's evidence for one
 * version supports making a variant the control of the next version, each reason against it
 * in a sentence. Pure: the command (src/cli/commands/promote.ts) builds the report, asks
 * here, then rewrites the file (src/sequences/promote.ts) and records the decision.
 *
 * The rules, for a challenger (any variant but the control):
 * - it must be a variant of the version (else nothing can be decided: no `--force` helps);
 * - the version's split must be as planned (SRM): a broken assignment voids every comparison;
 * - both it and the control must have the minimum sample of measured customers;
 * - its sequential verdict against the control must be `better`: the always-valid interval
 *   of the CUPED difference lies above zero (the fixed-horizon verdict is shown, never used:
 *   the report is read daily, and only the always-valid interval survives that);
 * - no guardrail (unsubscribes, complaints, bounces) flagged against the control;
 * - no other challenger `better` than the control too: the report compares each variant with
 *   the control only, so it cannot say which of two winners is the better one;
 * - not `worse` than the holdout, when there is one and both have the minimum sample: a
 *   variant that beats the control while earning less than sending nothing is no winner.
 *
 * Keeping the control (promoting the variant that is the control now) ends the test with the
 * control alone. It needs a version that tested something, the split as planned, the minimum
 * sample in every comparison against the control, no challenger `better`, no guardrail
 * speaking against the control (the report tests each challenger one-sided for "worse"; the
 * control being worse is the other side, tested here with the same z: p' = 1 − p, Holm across
 * the three guardrails), and the control not `worse` than the holdout. A challenger that is
 * `no clear difference yet` does not stop it: the decision then says what the test could
 * have detected (the MDE), and the log keeps it.
 */
import { holm } from './multiple.ts';
import { pIs, type Comparison, type GuardrailMetric, type SrmCheck } from './experiment.ts';
import type { SequenceDefinition, StoredDefinition } from './sequence.ts';

/** What the decision reads of one version's report (src/analytics/report.ts `VersionReport` has all of it). */
export interface TestedVersion {
  version: number;
  /** The first variant, what the others were compared with. */
  control: string;
  arms: readonly { arm: string; holdout: boolean }[];
  srm: SrmCheck;
  comparisons: readonly Comparison[];
}

export interface PromotionOptions {
  /** Measured customers each arm needs before its comparison counts (REPORT_MIN_SAMPLE). */
  minSample: number;
  /** Money in sentences; default two decimals. */
  money?: (value: number) => string;
  /** The guardrails' family-wise level; default 0.05, as the report's. */
  alpha?: number;
}

export interface PromotionDecision {
  variant: string;
  /** The variant is the control now: the decision keeps it and ends the test. */
  keepsControl: boolean;
  /** The version's variants, the control first. */
  tested: string[];
  /** True when the evidence supports the promotion. */
  supported: boolean;
  /** Why the evidence does not support it, each a sentence (`--force` overrules these). */
  reasons: string[];
  /** Why nothing can be promoted at all (an unknown variant, a version that tested nothing); `--force` does not overrule these. */
  blocking: string[];
  /** What a supported decision does not prove, each a sentence: keeping the control after "no clear difference yet" says what the test could have detected. */
  caveats: string[];
  /** The version's sample-ratio check. */
  srm: SrmCheck;
  /** The comparisons the decision read: the variant's (or, keeping the control, every challenger's against it). */
  comparisons: Comparison[];
  /** The evidence in one line, for the experiment log. */
  summary: string;
}

const twoDecimals = (value: number) => (Number.isFinite(value) ? value.toFixed(2) : '—');

const percent = (share: number) => (Number.isFinite(share) ? `${(share * 100).toFixed(1)}%` : '—');

/** Decides whether `version`'s evidence supports making `variant` the control of the next version. */
export function decidePromotion(version: TestedVersion, variant: string, options: PromotionOptions): PromotionDecision {
  const money = options.money ?? twoDecimals;
  const alpha = options.alpha ?? 0.05;
  const interval = ([low, high]: readonly [number, number]) => `[${money(low)}, ${money(high)}]`;
  const tested = [version.control, ...version.arms.filter((a) => !a.holdout && a.arm !== version.control).map((a) => a.arm)];
  const challengers = tested.slice(1);
  const keepsControl = variant === version.control;
  const blocking: string[] = [];
  const reasons: string[] = [];
  const caveats: string[] = [];
  const against = (arm: string, kind: 'control' | 'holdout') => version.comparisons.find((c) => c.arm === arm && c.against === kind);
  const enough = (c: Comparison) => Math.min(c.n.arm, c.n.baseline) >= options.minSample;
  const read: Comparison[] = [];

  /** The sentence saying why a comparison cannot be read yet, or undefined when it can. */
  const tooFew = (c: Comparison): string | undefined => {
    if (enough(c)) return undefined;
    const name = c.against === 'holdout' ? 'the holdout' : `the control (${c.baseline})`;
    if (Math.min(c.n.arm, c.n.baseline) === 0)
      return `${c.arm} vs ${name} has no data: ${c.n.arm === 0 ? c.arm : c.baseline} has no measured customer yet.`;
    return `Not enough data for ${c.arm} vs ${name}: ${c.arm} has ${c.n.arm} and ${c.baseline} ${c.n.baseline} measured customers, ${options.minSample} per arm needed.`;
  };
  const holdoutWorse = (arm: string) => {
    const c = against(arm, 'holdout');
    if (!c) return;
    read.push(c);
    if (enough(c) && c.sequential.verdict === 'worse')
      reasons.push(
        `${arm} earns less than the holdout, which gets no email: its always-valid interval ${interval(c.sequential.interval)} lies below no difference.`,
      );
  };

  if (!tested.includes(variant)) {
    blocking.push(`"${variant}" is not a variant of version ${version.version} (its variants: ${tested.join(', ')}).`);
  } else if (keepsControl && challengers.length === 0) {
    blocking.push(`Version ${version.version} tested nothing: ${variant} is its only variant.`);
  }
  if (blocking.length === 0) {
    if (version.srm.flagged) {
      const split = version.srm.arms.map((a) => `${a.arm} ${a.observed} (expected ${Math.round(a.expected)})`).join(', ');
      reasons.push(
        `The split of version ${version.version} is broken (${pIs(version.srm.pValue, 'SRM p')}: enrolled ${split}), so no comparison can be trusted.`,
      );
    }
    if (!keepsControl) {
      const c = against(variant, 'control');
      if (c) {
        read.push(c);
        const few = tooFew(c);
        if (few) reasons.push(few);
        else if (c.sequential.verdict !== 'better')
          reasons.push(
            `${variant} vs the control (${c.baseline}) is "${c.sequential.verdict}", not "better": its always-valid interval ${interval(c.sequential.interval)} ${c.sequential.verdict === 'worse' ? 'lies below' : 'includes'} no difference.`,
          );
        for (const g of c.guardrails.filter((r) => r.flagged))
          reasons.push(
            `${variant} has more ${g.metric} than the control (${c.baseline}): ${percent(g.arm)} against ${percent(g.baseline)} of enrolled customers (${pIs(g.adjustedPValue, 'Holm p')}).`,
          );
      } else reasons.push(`The report has no comparison of ${variant} with the control.`);
      for (const other of challengers.filter((k) => k !== variant)) {
        const o = against(other, 'control');
        if (o && enough(o) && o.sequential.verdict === 'better')
          reasons.push(
            `${other} is better than the control too (always-valid interval ${interval(o.sequential.interval)}), and the report never compared ${variant} with ${other}: test the two against each other first.`,
          );
      }
      holdoutWorse(variant);
    } else {
      for (const challenger of challengers) {
        const c = against(challenger, 'control');
        if (!c) continue;
        read.push(c);
        const few = tooFew(c);
        if (few) reasons.push(few);
        else if (c.sequential.verdict === 'better')
          reasons.push(
            `${challenger} earns more than the control (${variant}): its always-valid interval ${interval(c.sequential.interval)} lies above no difference; promote ${challenger} instead.`,
          );
        else if (c.sequential.verdict === 'no clear difference yet')
          caveats.push(
            `${challenger} showed no clear difference from the control, but the test could only detect a difference of ${money(c.mde.absolute)} per customer (the MDE at 80% power): a smaller one may be there.`,
          );
        for (const g of controlWorse(c, alpha))
          reasons.push(
            `The control (${variant}) has more ${g.metric} than ${challenger}: ${percent(g.baseline)} against ${percent(g.arm)} of enrolled customers (${pIs(g.adjustedPValue, 'Holm p')}).`,
          );
      }
      holdoutWorse(variant);
    }
  }

  const supported = blocking.length === 0 && reasons.length === 0;
  return {
    variant,
    keepsControl,
    tested,
    supported,
    reasons,
    blocking,
    caveats,
    srm: version.srm,
    comparisons: read,
    summary: summarize(variant, keepsControl, read, version.srm, options.minSample, interval, money),
  };
}

/**
 * The guardrails on which the control is worse than the challenger of `c`: the report tests
 * "the challenger's rate is higher" one-sided with p = 1 − Φ(z); the other side is Φ(z) = 1 − p,
 * Holm-adjusted across the comparison's guardrails like the report's own.
 */
export function controlWorse(
  c: Pick<Comparison, 'guardrails'>,
  alpha = 0.05,
): { metric: GuardrailMetric; arm: number; baseline: number; pValue: number; adjustedPValue: number }[] {
  const reversed = c.guardrails.map((g) => ({ ...g, pValue: Number.isFinite(g.pValue) ? 1 - g.pValue : NaN }));
  const adjusted = holm(reversed.map((g) => g.pValue));
  return reversed
    .map((g, i) => ({ metric: g.metric, arm: g.arm, baseline: g.baseline, pValue: g.pValue, adjustedPValue: adjusted[i]! }))
    .filter((g) => g.adjustedPValue < alpha);
}

function summarize(
  variant: string,
  keepsControl: boolean,
  read: readonly Comparison[],
  srm: SrmCheck,
  minSample: number,
  interval: (i: readonly [number, number]) => string,
  money: (value: number) => string,
): string {
  const parts = read.map((c) => {
    const name = c.against === 'holdout' ? `${c.arm} vs the holdout` : `${c.arm} vs control (${c.baseline})`;
    if (Math.min(c.n.arm, c.n.baseline) < minSample) return `${name}: not enough data yet (${c.n.arm} / ${c.n.baseline})`;
    let text = `${name}: ${c.sequential.verdict} ${interval(c.sequential.interval)}`;
    if (c.sequential.verdict === 'no clear difference yet') text += ` (MDE ${money(c.mde.absolute)})`;
    if (c.flags.length) text += `, more ${c.flags.join(', ')}`;
    return text;
  });
  const head = keepsControl ? `keep ${variant}` : `promote ${variant}`;
  const split = srm.flagged ? `${pIs(srm.pValue, 'SRM p')}, split broken` : `split as planned (${pIs(srm.pValue, 'SRM p')})`;
  return [head, ...parts, split].join('; ');
}

/** Objects with the same keys and values whatever their keys' order (jsonb reorders them); `undefined` keys ignored. */
function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value !== null && typeof value === 'object')
    return Object.fromEntries(
      Object.entries(value)
        .filter(([, v]) => v !== undefined)
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([k, v]) => [k, canonical(v)]),
    );
  return value;
}

/**
 * True when a sequence file says what a stored version says (its pinned templates aside):
 * the evidence of that version is then the evidence of the file being promoted.
 */
export function sameDefinition(file: SequenceDefinition, stored: SequenceDefinition | StoredDefinition): boolean {
  const { templateVersions: _pinned, ...definition } = stored as StoredDefinition;
  return JSON.stringify(canonical(file)) === JSON.stringify(canonical(definition));
}

/** A logged decision in words: `promote b`, or `keep the control a` when the variant was the control. */
export function decisionLabel(decision: { variant: string; tested: readonly string[]; forced: boolean }): string {
  const what = decision.variant === decision.tested[0] ? `keep the control ${decision.variant}` : `promote ${decision.variant}`;
  return decision.forced ? `${what} (forced)` : what;
}

/** The one-line evidence summary stored with a decision, or `—` when the evidence has none. */
export function evidenceSummary(evidence: unknown): string {
  const summary = (evidence as { summary?: unknown } | null)?.summary;
  return typeof summary === 'string' && summary.length > 0 ? summary : '—';
}

/**
 * The variant the evidence names the winner of a version, or null: a challenger whose
 * promotion the evidence supports ({@link decidePromotion}), or the control when keeping it
 * is supported and every challenger is worse (not merely "no clear difference yet", which
 * keeps the control without making it a winner).
 */
export function evidentWinner(version: TestedVersion, options: PromotionOptions): string | null {
  const tested = [version.control, ...version.arms.filter((a) => !a.holdout && a.arm !== version.control).map((a) => a.arm)];
  for (const challenger of tested.slice(1)) if (decidePromotion(version, challenger, options).supported) return challenger;
  const control = decidePromotion(version, version.control, options);
  const beaten = control.comparisons.filter((c) => c.against === 'control');
  return control.supported && beaten.length > 0 && beaten.every((c) => c.sequential.verdict === 'worse') ? version.control : null;
}
