/**
 * Promoting a winner, without IO: the decision rules of src/core/promote.ts on comparisons
 * built by the report's own core functions, and the rewrite of a sequence file by
 * src/sequences/promote.ts (the variant first and alone, comments and everything else kept,
 * the result valid).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { compareArms, decideVersion, srmCheck, type ArmOutcome, type GuardrailCounts } from '../src/core/experiment.ts';
import {
  controlWorse,
  decidePromotion,
  decisionLabel,
  evidenceSummary,
  evidentWinner,
  sameDefinition,
  type TestedVersion,
} from '../src/core/promote.ts';
import { sequenceSchema } from '../src/core/sequence.ts';
import { YamlSourceError } from '../src/errors.ts';
import { challengerPlaceholder, promotedYaml } from '../src/sequences/promote.ts';
import { parseYaml } from '../src/yaml-source.ts';

const MIN = 100;

/** An arm's outcome moments: `n` measured customers spending `mean` ± `sd`, pre-enrolment spend uncorrelated. */
const arm = (name: string, n: number, mean: number, sd = 20): ArmOutcome => ({
  arm: name,
  n,
  converted: Math.round(n / 2),
  mean,
  variance: sd * sd,
  covariateMean: 40,
  covariateVariance: 400,
  covariance: 0,
});

const calm = (n: number): GuardrailCounts => ({ n, unsubscribes: Math.round(n * 0.01), complaints: 0, bounces: Math.round(n * 0.01) });

/** A version as the report builds it: every variant against the first, and each against the holdout. */
function tested(
  arms: ArmOutcome[],
  options: { holdout?: ArmOutcome; enrolled?: Record<string, number>; counts?: Record<string, GuardrailCounts> } = {},
): TestedVersion {
  const control = arms[0];
  const compared = arms.flatMap((a) => [
    ...(a === control ? [] : [compareArms(a, control!, { against: 'control', minSample: MIN })]),
    ...(options.holdout ? [compareArms(a, options.holdout, { against: 'holdout', minSample: MIN })] : []),
  ]);
  const all = [...arms, ...(options.holdout ? [options.holdout] : [])];
  const share = options.holdout ? 0.1 : 0;
  // Enrolled exactly in the planned proportions (2,000 a variant) unless the test says otherwise.
  const enrolled = new Map(arms.map((a) => [a.arm, options.enrolled?.[a.arm] ?? 2000]));
  if (options.holdout) enrolled.set('holdout', options.enrolled?.holdout ?? Math.round((2000 * arms.length * share) / (1 - share)));
  const srm = srmCheck({ variants: arms.map((a) => ({ key: a.arm, weight: 1 })), holdout: share }, enrolled);
  const counts = new Map(all.map((a) => [a.arm, options.counts?.[a.arm] ?? calm(a.n)]));
  return {
    version: 3,
    control: control!.arm,
    arms: [...arms.map((a) => ({ arm: a.arm, holdout: false })), ...(options.holdout ? [{ arm: 'holdout', holdout: true }] : [])],
    srm,
    comparisons: decideVersion(compared, counts, srm),
  };
}

const decide = (version: TestedVersion, variant: string) => decidePromotion(version, variant, { minSample: MIN });

describe('promoting a challenger', () => {
  it('is supported when it is better against the control by the always-valid interval, with no guardrail and no broken split', () => {
    const version = tested([arm('a', 2000, 20), arm('b', 2000, 26)], { holdout: arm('holdout', 450, 15) });
    const decision = decide(version, 'b');
    expect(decision.comparisons.map((c) => `${c.arm}/${c.against}`)).toEqual(['b/control', 'b/holdout']);
    expect(decision.comparisons[0]!.sequential.verdict).toBe('better');
    expect(decision).toMatchObject({ supported: true, keepsControl: false, reasons: [], blocking: [], caveats: [], tested: ['a', 'b'] });
    expect(decision.summary).toMatch(
      /^promote b; b vs control \(a\): better \[\d+\.\d\d, \d+\.\d\d\]; b vs the holdout: better .*; split as planned/,
    );
  });

  it('refuses "no clear difference yet", saying so with the interval', () => {
    const version = tested([arm('a', 2000, 20), arm('b', 2000, 20.5)]);
    const decision = decide(version, 'b');
    const [lo, hi] = decision.comparisons[0]!.sequential.interval;
    expect(decision.supported).toBe(false);
    expect(decision.reasons).toEqual([
      `b vs the control (a) is "no clear difference yet", not "better": its always-valid interval [${lo.toFixed(2)}, ${hi.toFixed(2)}] includes no difference.`,
    ]);
    expect(decision.summary).toContain('(MDE ');
  });

  it('refuses a variant that is worse, and one only the fixed-horizon test calls better', () => {
    expect(decide(tested([arm('a', 2000, 20), arm('b', 2000, 14)]), 'b').reasons[0]).toMatch(
      /is "worse", not "better": .* lies below no difference/,
    );
    // Fixed horizon p < 0.05, yet inside the always-valid band: the report is read daily, so no.
    const peeked = tested([arm('a', 2000, 20), arm('b', 2000, 21.5)]);
    expect(peeked.comparisons[0]).toMatchObject({ fixedHorizonVerdict: 'better', verdict: 'no clear difference yet' });
    expect(decide(peeked, 'b').supported).toBe(false);
  });

  it('refuses when either arm lacks the minimum sample, or has no data', () => {
    expect(decide(tested([arm('a', 2000, 20), arm('b', 40, 60)]), 'b').reasons).toEqual([
      'Not enough data for b vs the control (a): b has 40 and a 2000 measured customers, 100 per arm needed.',
    ]);
    expect(decide(tested([arm('a', 0, NaN), arm('b', 300, 60)]), 'b').reasons).toEqual([
      'b vs the control (a) has no data: a has no measured customer yet.',
    ]);
  });

  it('refuses on a broken split, whatever the difference', () => {
    const version = tested([arm('a', 2000, 20), arm('b', 2000, 26)], { enrolled: { a: 2600, b: 2000 } });
    expect(version.srm.flagged).toBe(true);
    const decision = decide(version, 'b');
    expect(decision.reasons).toHaveLength(1);
    expect(decision.reasons[0]).toMatch(
      /^The split of version 3 is broken \(SRM p < 0\.001: enrolled a 2600 \(expected 2300\), b 2000 \(expected 2300\)\)/,
    );
    expect(decision.summary).toMatch(/split broken$/);
  });

  it('refuses a variant that makes a guardrail worse, naming the rates', () => {
    const version = tested([arm('a', 2000, 20), arm('b', 2000, 26)], {
      counts: { a: calm(2000), b: { ...calm(2000), unsubscribes: 80 } },
    });
    const decision = decide(version, 'b');
    expect(decision.reasons).toHaveLength(1);
    expect(decision.reasons[0]).toMatch(
      /^b has more unsubscribes than the control \(a\): 4\.0% against 1\.0% of enrolled customers \(Holm p < 0\.001\)\.$/,
    );
  });

  it('refuses when another challenger beats the control too, since the two were never compared', () => {
    const decision = decide(tested([arm('a', 2000, 20), arm('b', 2000, 26), arm('c', 2000, 27)]), 'b');
    expect(decision.reasons).toEqual([
      expect.stringMatching(/^c is better than the control too .* never compared b with c: test the two against each other first\.$/),
    ]);
  });

  it('refuses a variant that earns less than the holdout, which gets no email', () => {
    const decision = decide(tested([arm('a', 2000, 10), arm('b', 2000, 16)], { holdout: arm('holdout', 450, 25) }), 'b');
    expect(decision.reasons).toEqual([
      expect.stringMatching(/^b earns less than the holdout, which gets no email: its always-valid interval .* lies below/),
    ]);
  });

  it('cannot promote what is not a variant, force or not', () => {
    const decision = decide(tested([arm('a', 2000, 20), arm('b', 2000, 26)]), 'zz');
    expect(decision).toMatchObject({
      supported: false,
      reasons: [],
      blocking: ['"zz" is not a variant of version 3 (its variants: a, b).'],
    });
  });
});

describe('keeping the control', () => {
  it('is supported when no challenger is better and no guardrail speaks against it', () => {
    const decision = decide(
      tested([arm('a', 2000, 20), arm('b', 2000, 19.5), arm('c', 2000, 14)], { holdout: arm('holdout', 675, 15) }),
      'a',
    );
    expect(decision).toMatchObject({ supported: true, keepsControl: true, tested: ['a', 'b', 'c'] });
    // What "no clear difference" did not rule out is said beside the decision.
    const mde = decision.comparisons[0]!.mde.absolute;
    expect(decision.caveats).toEqual([
      `b showed no clear difference from the control, but the test could only detect a difference of ${mde.toFixed(2)} per customer (the MDE at 80% power): a smaller one may be there.`,
    ]);
    expect(decision.comparisons.map((c) => `${c.arm}/${c.against}`)).toEqual(['b/control', 'c/control', 'a/holdout']);
    expect(decision.summary).toMatch(/^keep a; b vs control \(a\): no clear difference yet .*; c vs control \(a\): worse /);
  });

  it('refuses when a challenger is better, or the control has more complaints', () => {
    expect(decide(tested([arm('a', 2000, 20), arm('b', 2000, 26)]), 'a').reasons).toEqual([
      expect.stringMatching(/^b earns more than the control \(a\): .* lies above no difference; promote b instead\.$/),
    ]);
    const noisy = tested([arm('a', 2000, 20), arm('b', 2000, 20)], { counts: { a: { ...calm(2000), complaints: 60 }, b: calm(2000) } });
    expect(decide(noisy, 'a').reasons).toEqual([
      expect.stringMatching(
        /^The control \(a\) has more complaints than b: 3\.0% against 0\.0% of enrolled customers \(Holm p < 0\.001\)\.$/,
      ),
    ]);
  });

  it('refuses while a comparison lacks data, and cannot end a test that tested nothing', () => {
    expect(decide(tested([arm('a', 2000, 20), arm('b', 30, 20)]), 'a').reasons[0]).toMatch(/^Not enough data for b vs the control \(a\)/);
    expect(decide(tested([arm('a', 2000, 20)]), 'a').blocking).toEqual(['Version 3 tested nothing: a is its only variant.']);
  });

  it("tests the guardrails' other side with the same z: p' = 1 − p, Holm across the three", () => {
    const c = tested([arm('a', 2000, 20), arm('b', 2000, 20)], { counts: { a: { ...calm(2000), bounces: 45 }, b: calm(2000) } })
      .comparisons[0]!;
    const worse = controlWorse(c);
    expect(worse.map((g) => g.metric)).toEqual(['bounces']);
    const bounces = c.guardrails.find((g) => g.metric === 'bounces')!;
    expect(worse[0]!.pValue).toBeCloseTo(1 - bounces.pValue, 12);
    expect(worse[0]!.adjustedPValue).toBeGreaterThanOrEqual(worse[0]!.pValue);
  });
});

describe('the winner the dashboard marks', () => {
  const winner = (version: TestedVersion) => evidentWinner(version, { minSample: MIN });
  it('is the challenger the evidence supports promoting', () => {
    expect(winner(tested([arm('a', 2000, 20), arm('b', 2000, 26)], { holdout: arm('holdout', 450, 15) }))).toBe('b');
  });
  it('is the control only when every challenger is worse, never on "no clear difference yet"', () => {
    expect(winner(tested([arm('a', 2000, 26), arm('b', 2000, 20), arm('c', 2000, 19)]))).toBe('a');
    expect(winner(tested([arm('a', 2000, 20), arm('b', 2000, 20.5)]))).toBeNull();
    expect(winner(tested([arm('a', 2000, 26), arm('b', 2000, 20), arm('c', 2000, 25.9)]))).toBeNull();
  });
  it('is nobody while data is short, the split is broken or a guardrail is worse', () => {
    expect(winner(tested([arm('a', 60, 20), arm('b', 60, 40)]))).toBeNull();
    expect(winner(tested([arm('a', 2000, 20), arm('b', 2000, 26)], { enrolled: { a: 2000, b: 1700 } }))).toBeNull();
    const unsubscribing = tested([arm('a', 2000, 20), arm('b', 2000, 26)], {
      counts: { a: calm(2000), b: { ...calm(2000), unsubscribes: 90 } },
    });
    expect(winner(unsubscribing)).toBeNull();
  });
});

describe('the log in words', () => {
  it('labels a decision and reads its summary', () => {
    expect(decisionLabel({ variant: 'b', tested: ['a', 'b'], forced: false })).toBe('promote b');
    expect(decisionLabel({ variant: 'a', tested: ['a', 'b'], forced: true })).toBe('keep the control a (forced)');
    expect(evidenceSummary({ summary: 'promote b; …' })).toBe('promote b; …');
    expect(evidenceSummary({})).toBe('—');
    expect(evidenceSummary(null)).toBe('—');
  });
});

const STARTER = new URL('../templates/sequences/post-purchase.yaml', import.meta.url).pathname;

describe('the next version of the file', () => {
  it('puts the promoted variant first and alone, keeps every other byte, and validates', () => {
    const text = readFileSync(STARTER, 'utf8');
    const { yaml, definition } = promotedYaml(text, 'best-sellers', 'post-purchase.yaml');
    const [head, tail] = [text.slice(0, text.indexOf('variants:\n')), text.slice(text.indexOf('steps:\n'))];
    expect(yaml.startsWith(head + 'variants:\n')).toBe(true);
    expect(yaml.endsWith(tail)).toBe(true);
    expect(yaml.slice(head.length, yaml.length - tail.length)).toBe(
      'variants:\n  - key: best-sellers\n    weight: 50\n    recommendations: popularity\n' +
        challengerPlaceholder('best-sellers', 'popularity', '  '),
    );
    expect(definition.variants).toEqual([{ key: 'best-sellers', weight: 50, recommendations: 'popularity', templates: {} }]);
    expect(parseYaml(yaml, 'x.yaml', sequenceSchema)).toEqual(definition);
    const before = parseYaml(text, 'x.yaml', sequenceSchema);
    expect({ ...definition, variants: before.variants }).toEqual(before);
  });

  it("keeps the comments above the list and on the variant, drops the removed variants' own", () => {
    const text = [
      'id: x # the id',
      'name: X',
      'trigger: { event: order_placed }',
      'holdout: 10% # no email',
      'variants:',
      '  # the arms',
      '  - key: a # the old control',
      '    weight: 1',
      '',
      '  # the new one, with its own thank-you',
      '  - key: b',
      '    weight: 3 # more traffic',
      '    recommendations: upsell-only',
      '    templates: { thank-you: accessories }',
      '',
      '  # after the list',
      '# steps below',
      'steps:',
      '  - { delay: 1h, template: thank-you }',
      'exit: { on: [ordered_again] }',
      '',
    ].join('\n');
    const { yaml, definition } = promotedYaml(text, 'b', 'x.yaml');
    expect(yaml).toBe(
      [
        'id: x # the id',
        'name: X',
        'trigger: { event: order_placed }',
        'holdout: 10% # no email',
        'variants:',
        '  # the arms',
        '  # the new one, with its own thank-you',
        '  - key: b',
        '    weight: 50 # more traffic',
        '    recommendations: upsell-only',
        '    templates: { thank-you: accessories }',
        challengerPlaceholder('b', 'upsell-only', '  ').trimEnd(),
        '',
        '  # after the list',
        '# steps below',
        'steps:',
        '  - { delay: 1h, template: thank-you }',
        'exit: { on: [ordered_again] }',
        '',
      ].join('\n'),
    );
    expect(definition.variants).toEqual([
      { key: 'b', weight: 50, recommendations: 'upsell-only', templates: { 'thank-you': 'accessories' } },
    ]);
    // Keeping the control works the same way, with the first variant.
    expect(promotedYaml(text, 'a', 'x.yaml').yaml).toContain(
      'variants:\n  # the arms\n  - key: a # the old control\n    weight: 50\n  # To test',
    );
  });

  it('turns a flow list into a block list with room for the challenger', () => {
    const text =
      'id: x\nname: X\ntrigger: { event: order_placed }\nvariants: [{ key: a, weight: 1 }, { key: b, weight: 1 }] # two\nsteps:\n  - { delay: 1h, template: t }\n';
    const { yaml, definition } = promotedYaml(text, 'b', 'x.yaml');
    expect(yaml).toBe(
      'id: x\nname: X\ntrigger: { event: order_placed }\nvariants:\n  - { key: b, weight: 50 } # two\n' +
        challengerPlaceholder('b', 'co-purchase', '  ') +
        'steps:\n  - { delay: 1h, template: t }\n',
    );
    expect(definition.variants.map((v) => v.key)).toEqual(['b']);
  });

  it('works when the list ends the file without a line break', () => {
    const text =
      'id: x\nname: X\ntrigger: { event: order_placed }\nsteps:\n  - { delay: 1h, template: t }\nvariants:\n  - key: a\n    weight: 1\n  - key: b\n    weight: 2';
    const { yaml } = promotedYaml(text, 'a', 'x.yaml');
    expect(yaml).toBe(
      text.slice(0, text.indexOf('  - key: b')).replace('weight: 1', 'weight: 50') + challengerPlaceholder('a', 'co-purchase', '  '),
    );
  });

  it('the placeholder, uncommented, is a valid challenger, and the next promotion does not repeat it', () => {
    const once = promotedYaml(readFileSync(STARTER, 'utf8'), 'best-sellers', 'p.yaml').yaml;
    const added = once.replace(
      / {2}# (- key: challenger\n) {2}# ( {2}weight: 50\n) {2}# ( {2}recommendations: co-purchase)/,
      '  $1  $2  $3',
    );
    const withChallenger = parseYaml(added, 'p.yaml', sequenceSchema);
    expect(withChallenger.variants.map((v) => [v.key, v.weight, v.recommendations])).toEqual([
      ['best-sellers', 50, 'popularity'],
      ['challenger', 50, 'co-purchase'],
    ]);
    const twice = promotedYaml(added, 'challenger', 'p.yaml').yaml;
    expect(twice.match(/To test a challenger/g)).toHaveLength(1);
    expect(twice).toContain(
      '  - key: challenger\n    weight: 50\n    recommendations: co-purchase # co-purchase, popularity, upsell-only, shipping-gap or new-arrivals\n',
    );
    // Promoting the only variant again changes nothing.
    expect(promotedYaml(once, 'best-sellers', 'p.yaml').yaml).toBe(once);
  });

  it('refuses a variant the file does not have, naming the file', () => {
    expect(() => promotedYaml(readFileSync(STARTER, 'utf8'), 'nope', 'p.yaml')).toThrow(YamlSourceError);
    expect(() => promotedYaml(readFileSync(STARTER, 'utf8'), 'nope', 'p.yaml')).toThrow(
      'p.yaml:1: variants: no variant "nope" (its variants: co-purchase, best-sellers, co-purchase-25off)',
    );
  });

  it('a sequence of one variant is valid', () => {
    const one = parseYaml(
      'id: x\nname: X\ntrigger: { event: order_placed }\nvariants: [{ key: a, weight: 50 }]\nsteps: [{ delay: 1h, template: t }]\n',
      'x',
      sequenceSchema,
    );
    expect(one.variants).toHaveLength(1);
  });
});

describe('a file against its stored version', () => {
  const definition = parseYaml(readFileSync(STARTER, 'utf8'), 'p.yaml', sequenceSchema);
  it('is the same whatever the order of keys (jsonb reorders them), the pinned templates aside', () => {
    // Keys in reverse order, as jsonb may hand them back, and the templates pinned when applied.
    const reversed = Object.fromEntries(Object.entries(definition).reverse());
    const reordered = JSON.parse(JSON.stringify({ templateVersions: { 'thank-you': 4 }, ...reversed })) as typeof definition;
    expect(Object.keys(reordered)[0]).toBe('templateVersions');
    expect(sameDefinition(definition, reordered)).toBe(true);
    expect(
      sameDefinition(definition, { ...definition, variants: [{ ...definition.variants[0]!, weight: 60 }, definition.variants[1]!] }),
    ).toBe(false);
  });
});
