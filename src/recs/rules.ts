/**
 * The marketer's recommendation rules, a YAML file in the repo (RECS_RULES_FILE, by
 * default config/recommendations.yaml): pins, bans, always-pairs, consumable categories
 * and the per-category cap. Errors name the file, line and field.
 */
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { DEFAULT_RULES, type Rules } from '../core/recommend.ts';
import { parseYaml } from '../yaml-source.ts';
import { RulesError, YamlSourceError } from '../errors.ts';

const sku = z.string().min(1);
const schema = z
  .object({
    consumable_categories: z.array(z.string().min(1)).default([]),
    ban: z.array(sku).default([]),
    pin: z.array(z.object({ sku, when_sku: sku.optional(), when_category: z.string().min(1).optional() }).strict()).default([]),
    always_pair: z.array(z.object({ sku, with: z.array(sku).min(1) }).strict()).default([]),
    max_per_category: z.number().int().min(1).max(100).default(DEFAULT_RULES.maxPerCategory),
  })
  .strict();

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
  let r: z.output<typeof schema>;
  try {
    r = parseYaml(text, path, schema);
  } catch (error) {
    if (error instanceof YamlSourceError) throw new RulesError(error.message);
    throw error;
  }
  return {
    consumableCategories: r.consumable_categories,
    ban: r.ban,
    pin: r.pin.map((p) => ({ sku: p.sku, whenSku: p.when_sku, whenCategory: p.when_category })),
    alwaysPair: r.always_pair,
    maxPerCategory: r.max_per_category,
  };
}
