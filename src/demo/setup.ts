/**
 * The demo's shop before the replay: a generated shop with months of history imported (it
 * teaches the recommender and starts no sequence), the recommendations built, and the
 * starter templates and sequences published.
 */
import { join } from 'node:path';
import type { Config } from '../config.ts';
import type { SequenceDefinition } from '../core/sequence.ts';
import type { Database } from '../db/client.ts';
import { UserError } from '../errors.ts';
import { importFile } from '../ingest/import-file.ts';
import { buildStatistics } from '../recs/build.ts';
import { learnReplenishment } from '../store/replenish.ts';
import { applySequence, loadSequenceFiles } from '../sequences/files.ts';
import { publishTemplate } from '../store/templates.ts';
import { compileTemplate } from '../templates/compile.ts';
import { emailNames, loadTemplateFiles } from '../templates/source.ts';
import { prng } from '../core/random.ts';
import { importCodes } from '../store/discount-codes.ts';
import { writeDemoShop } from './shop.ts';

/** Generates the shop and imports it as history, then builds the recommendations. */
export async function seedShop(
  database: Database,
  config: Config,
  options: { customers: number; historyDays: number; ordersPerDay: number; seed: number },
  output: { line(text: string): void },
): Promise<void> {
  const now = new Date();
  const files = writeDemoShop(
    join(config.dataDir, 'shop'),
    {
      customers: options.customers,
      days: options.historyDays,
      // The history is the same shop as the replay: as many orders a day.
      ordersPerDay: options.ordersPerDay,
      seed: options.seed,
    },
    now,
  );
  for (const kind of ['products', 'customers', 'orders'] as const) {
    const summary = await importFile(database, kind, files[kind], {
      batchSize: config.importBatchSize,
      progress: false,
      history: true,
      shop: { currency: config.shop.currency, url: config.shop.url },
    });
    output.line(`imported ${kind}: ${summary.rows.toLocaleString('en')} rows`);
  }
  const recs = await buildStatistics(database.db, { full: true, neighbours: 10 });
  output.line(`recommendations: ${recs.pairs.toLocaleString('en')} product pairs from ${recs.totalOrders.toLocaleString('en')} orders`);
  const refills = await learnReplenishment(database.db);
  output.line(`refill intervals: learned for ${refills.products} products and ${refills.categories} categories`);
  await importDemoCodes(database, options.seed, now, output);
}

/**
 * The starter sequence's discount variant offers codes from this pool: as a shop would
 * have generated them in its admin (single-use, 25% off, valid 60 days), more than the
 * replay issues.
 */
export const DEMO_CODE_POOL = { name: 'thank-you-25', value: '25', validDays: 60, count: 5_000 } as const;

async function importDemoCodes(database: Database, seed: number, now: Date, output: { line(text: string): void }): Promise<void> {
  const random = prng(seed + 7);
  const letters = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';
  const codes = new Set<string>();
  while (codes.size < DEMO_CODE_POOL.count)
    codes.add(`TY25-${Array.from({ length: 8 }, () => letters[Math.floor(random() * letters.length)]).join('')}`);
  const result = await importCodes(database.db, {
    pool: DEMO_CODE_POOL.name,
    value: { kind: 'percent', value: DEMO_CODE_POOL.value },
    expiresAt: new Date(now.getTime() + DEMO_CODE_POOL.validDays * 86_400_000),
    codes: [...codes].map((code, i) => ({ line: i + 1, code })),
  });
  if (!result.ok) throw new Error(`the demo's codes did not import: ${result.error ?? JSON.stringify(result.problems.slice(0, 3))}`);
  output.line(`discount codes: ${result.inserted.toLocaleString('en')} in pool ${DEMO_CODE_POOL.name} (${DEMO_CODE_POOL.value}% off)`);
}

/** Publishes the starter templates and applies the starter sequences; returns the live definitions by id. */
export async function applyStarters(
  database: Database,
  config: Config,
  output: { line(text: string): void },
): Promise<Map<string, SequenceDefinition>> {
  const set = await loadTemplateFiles(config.templatesDir);
  for (const name of emailNames(set)) {
    const result = await compileTemplate(set, name);
    if (!result.compiled || !result.assembled) throw new UserError(`template ${name} does not compile: run \`campaign templates check\``);
    await publishTemplate(database.db, result.compiled, result.assembled);
  }
  const { files, problems } = await loadSequenceFiles(config.sequencesDir);
  if (problems.length) throw new UserError(problems.join('\n'));
  const live = new Map<string, SequenceDefinition>();
  for (const file of files) {
    await applySequence(database.db, file);
    live.set(file.definition.id, file.definition);
  }
  output.line(`published ${emailNames(set).length} templates; sequences live: ${[...live.keys()].join(', ')}`);
  return live;
}
