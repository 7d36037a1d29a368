/**
 * The next version of a sequence file once a variant is promoted: that variant alone in
 * `variants` (so it is the control), its settings kept and its weight reset, the other
 * variants removed, and a comment in the list showing how to add the next challenger.
 * Everything else in the file (trigger, holdout, steps, exit, every comment) stays byte for
 * byte. Pure: text in, text out; the command writes it (src/cli/commands/promote.ts).
 *
 * The edit is made on the yaml package's concrete syntax tree (its CST, the layer under the
 * Document API), not by printing a Document again: a printed Document normalises what people
 * wrote (a file mixing `[a, b]` and `{ a: 1 }` cannot come back unchanged), while the CST
 * gives each variant's exact text and offsets, so only the `variants` list is replaced. The
 * result is parsed with the sequence schema again and must say what the old file said, the
 * variants aside; anything else is a bug and throws.
 *
 * A comment above a removed variant goes with it; one above the list, or on the promoted
 * variant, stays. A placeholder left by an earlier promotion is not repeated.
 */
import { CST, Parser } from 'yaml';
import { sameDefinition } from '../core/promote.ts';
import { STRATEGIES } from '../core/recommend.ts';
import { sequenceSchema, type SequenceDefinition } from '../core/sequence.ts';
import { YamlSourceError } from '../errors.ts';
import { parseYaml } from '../yaml-source.ts';

/** The weight the promoted variant gets: any positive weight would do alone; 50 leaves room for a 50/50 challenger. */
export const PROMOTED_WEIGHT = 50;

export interface NextVersion {
  yaml: string;
  definition: SequenceDefinition;
}

type Token = CST.Token;
type Item = CST.CollectionItem;

/** The comment lines that show how to add a challenger, for a list whose items start at `indent`. */
export function challengerPlaceholder(control: string, strategy: string, indent: string): string {
  const other = STRATEGIES.find((s) => s !== strategy) ?? 'popularity';
  return [
    `# To test a challenger against ${control} (the control), add it here, e.g. (remove the "# "):`,
    `# - key: challenger`,
    `#   weight: ${PROMOTED_WEIGHT}`,
    `#   recommendations: ${other} # ${STRATEGIES.slice(0, -1).join(', ')} or ${STRATEGIES.at(-1)!}`,
  ]
    .map((line) => `${indent}${line}\n`)
    .join('');
}

/** Lines of an earlier placeholder, exactly as {@link challengerPlaceholder} wrote them. */
const PLACEHOLDER_LINES = [
  /^# To test a challenger against \S+ \(the control\), add it here, e\.g\. \(remove the "# "\):$/,
  /^# - key: challenger$/,
  /^# {3}weight: \d+$/,
  // The strategies as they were listed when the placeholder was written (fewer, in older files).
  /^# {3}recommendations: \S+ # [a-z-]+(, [a-z-]+)* or [a-z-]+$/,
];
const withoutPlaceholder = (text: string) =>
  text
    .split(/(?<=\n)/)
    .filter((line) => !PLACEHOLDER_LINES.some((p) => p.test(line.trim())))
    .join('');

/** A scalar token's value, or undefined for anything else. */
function scalar(token: Token | null | undefined): string | undefined {
  if (!token) return undefined;
  return CST.isScalar(token) ? CST.resolveAsScalar(token).value : undefined;
}

/** The value token of `key` in a block or flow mapping. */
function entry(map: Token | undefined, key: string): Item | undefined {
  if (!map || (map.type !== 'block-map' && !(map.type === 'flow-collection' && map.start.source === '{'))) return undefined;
  return (map.items as Item[]).find((item) => scalar(item.key) === key);
}

const startOf = (item: Item): number => item.start[0]?.offset ?? item.value!.offset;
const columnOf = (text: string, offset: number) => offset - (text.lastIndexOf('\n', offset - 1) + 1);

/**
 * The file of the next version: `variant` first and alone, weight {@link PROMOTED_WEIGHT},
 * room for a challenger. `path` names the file in errors. Throws a YamlSourceError when the
 * file does not validate or has no such variant.
 */
export function promotedYaml(text: string, variant: string, path: string): NextVersion {
  const before = parseYaml(text, path, sequenceSchema);
  const promoted = before.variants.find((v) => v.key === variant);
  if (!promoted)
    throw new YamlSourceError([
      `${path}:1: variants: no variant "${variant}" (its variants: ${before.variants.map((v) => v.key).join(', ')})`,
    ]);

  const tokens = [...new Parser().parse(text)];
  const documents = tokens.filter((t): t is CST.Document => t.type === 'document');
  const root = documents.length === 1 ? documents[0]!.value : undefined;
  const list = entry(root, 'variants');
  const seq = list?.value;
  if (!list || !seq || (seq.type !== 'block-seq' && !(seq.type === 'flow-collection' && seq.start.source === '[')))
    throw new YamlSourceError([`${path}:1: variants: cannot rewrite this file: write it as one YAML mapping with a variants list`]);
  const items = seq.items as Item[];
  const index = items.findIndex((item) => scalar(entry(item.value, 'key')?.value) === variant);
  const chosen = items[index];
  const weight = entry(chosen?.value, 'weight');
  if (!chosen?.value || !weight?.value || !CST.isScalar(weight.value))
    throw new YamlSourceError([`${path}:1: variants: cannot find variant "${variant}" and its weight in the file`]);
  // Where the list's text is, measured before anything in it changes.
  const sep = list.sep ?? [];
  const colon = sep.findIndex((t) => t.type === 'map-value-ind');
  const block = seq.type === 'block-seq';
  // A block list from its first item to its end (comments after the last variant included);
  // a flow list from just after `variants:`, to become a block list the placeholder fits in.
  const from = block ? startOf(items[0]!) : (sep[colon + 1]?.offset ?? seq.offset);
  const to = block ? startOf(items.at(-1)!) + CST.stringify(items.at(-1)!).length : seq.offset + CST.stringify(seq).length;
  const indent = ' '.repeat(
    block
      ? columnOf(text, chosen.start.find((t) => t.type === 'seq-item-ind')?.offset ?? chosen.value.offset)
      : columnOf(text, list.key!.offset) + 2,
  );

  CST.setScalarValue(weight.value, String(PROMOTED_WEIGHT));
  const value = CST.stringify(chosen.value);
  const placeholder = challengerPlaceholder(variant, promoted.recommendations, indent);
  let replacement: string;
  if (seq.type === 'block-seq') {
    // The indentation before the first item belongs to the line of the key above, so the
    // promoted item's own leading blank lines and indentation go; its comments stay.
    const lead = withoutPlaceholder(chosen.start.map((t) => t.source).join('')).replace(/^\s+/, '');
    const rest = items
      .filter((item) => !item.value)
      .map((item) => withoutPlaceholder(CST.stringify(item)))
      .join('');
    replacement = lead + value + (value.endsWith('\n') ? '' : '\n') + placeholder + rest;
  } else {
    // What followed the closing bracket on its line (a comment, the line break) ends the item's line.
    const close = seq.end.findIndex((t) => t.type === 'flow-seq-end');
    const after = seq.end
      .slice(close + 1)
      .map((t) => t.source)
      .join('');
    replacement = `\n${indent}- ${value.trimEnd()}${after}${after.endsWith('\n') ? '' : '\n'}${placeholder}`;
  }
  const yaml = text.slice(0, from) + replacement + text.slice(to);

  const definition = parseYaml(yaml, path, sequenceSchema);
  const expected = { ...promoted, weight: PROMOTED_WEIGHT };
  if (
    !sameDefinition({ ...definition, variants: before.variants }, before) ||
    !sameDefinition({ ...before, variants: [expected] }, definition)
  )
    throw new Error(`${path}: rewriting the variants changed more than the variants`);
  return { yaml, definition };
}
