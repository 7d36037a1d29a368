/**
 * The marketer's recommendation rules, a YAML file in the repo (RECS_RULES_FILE, by
 * default config/recommendations.yaml): pins, bans, always-pairs, consumable categories
 * and the per-category cap. Errors name the file, line and field.
 */
import { readFile } from 'node:fs/promises';
import { isMap, isSeq, LineCounter, parseDocument, type Node } from 'yaml';
import { z } from 'zod';
import { DEFAULT_RULES, type Rules } from '../core/recommend.ts';

const sku = z.string().min(1);
const schema = z
  .object({
    consumable_categories: z.array(z.string().min(1)).default([]),
    ban: z.array(sku).default([]),
    pin: z
      .array(z.object({ sku, when_sku: sku.optional(), when_category: z.string().min(1).optional() }).strict())
      .default([]),
    always_pair: z.array(z.object({ sku, with: z.array(sku).min(1) }).strict()).default([]),
    max_per_category: z.number().int().min(1).max(100).default(DEFAULT_RULES.maxPerCategory),
  })
  .strict();

export class RulesError extends Error {
  override name = 'RulesError';
}

/** Reads the rules; a missing file means the defaults (no pins, bans or pairs). */
export async function loadRules(path: string): Promise<Rules> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return DEFAULT_RULES;
  }
  return parseRules(text, path);
}

export function parseRules(text: string, path: string): Rules {
  const lines = new LineCounter();
  const document = parseDocument(text, { lineCounter: lines });
  if (document.errors.length) {
    const error = document.errors[0]!;
    throw new RulesError(`${path}:${error.linePos?.[0]?.line ?? 1}: ${error.message.split('\n')[0]}`);
  }
  const parsed = schema.safeParse(document.toJS() ?? {});
  if (!parsed.success) {
    const messages = parsed.error.issues.map((issue) => {
      const node = nodeAt(document.contents, issue.path);
      const line = node?.range ? lines.linePos(node.range[0]).line : 1;
      return `${path}:${line}: ${issue.path.join('.') || 'rules'}: ${issue.message}`;
    });
    throw new RulesError(messages.join('\n'));
  }
  const r = parsed.data;
  return {
    consumableCategories: r.consumable_categories,
    ban: r.ban,
    pin: r.pin.map((p) => ({ sku: p.sku, whenSku: p.when_sku, whenCategory: p.when_category })),
    alwaysPair: r.always_pair,
    maxPerCategory: r.max_per_category,
  };
}

/** The deepest YAML node along `path`, for a line number. */
function nodeAt(root: unknown, path: readonly PropertyKey[]): Node | undefined {
  let node = root as Node | undefined;
  for (const part of path) {
    let next: unknown;
    if (isMap(node)) next = node.get(String(part), true);
    else if (isSeq(node)) next = node.get(Number(part), true);
    if (!next || typeof next !== 'object') break;
    node = next as Node;
  }
  return node;
}
