/**
 * `campaign demo` (what `npm start` runs): on the embedded defaults, migrate, generate a
 * demo shop with months of order history and import it through the real import path,
 * then publish its new orders. `--keep-serving` then keeps the HTTP API up.
 */
import { join } from 'node:path';
import type { Command } from 'commander';
import { writeDemoShop } from '../../demo/shop.ts';
import { openConfiguredDatabase } from '../../runtime.ts';
import { importFile, summaryLine } from '../import-file.ts';
import type { ConfigSource } from '../main.ts';
import { publishNewOrders } from './import.ts';
import { serve } from './serve.ts';

const int = (value: string) => Number.parseInt(value, 10);

export function registerDemo(program: Command, config: ConfigSource): void {
  program
    .command('demo')
    .description('generate a demo shop and run the engine on it (embedded database by default)')
    .option('--customers <n>', 'customers in the shop', int, 2_000)
    .option('--days <n>', 'days of order history', int, 120)
    .option('--orders-per-day <n>', 'orders per day of history', int, 40)
    .option('--seed <n>', 'seed of the generated shop', int, 7)
    .option('--keep-serving', 'keep the HTTP API running afterwards')
    .action(async (options: { customers: number; days: number; ordersPerDay: number; seed: number; keepServing?: boolean }) => {
      const settings = config();
      const database = await openConfiguredDatabase(settings, { migrate: true });
      process.stdout.write(`database: ${database.location}\n`);
      // History ends at the start of today (UTC), so re-running the demo the same day changes nothing.
      const today = new Date(new Date().toISOString().slice(0, 10));
      const files = writeDemoShop(join(settings.dataDir, 'demo-shop'), options, today);
      let placed = 0;
      try {
        for (const kind of ['products', 'customers', 'orders'] as const) {
          // The generated months of orders are history: they teach the recommender, they start no sequence.
          const summary = await importFile(database, kind, files[kind], { batchSize: settings.importBatchSize, progress: true, history: true });
          process.stdout.write(summaryLine(files[kind], summary) + '\n');
          placed += summary.ordersPlaced;
        }
        const published = placed ? await publishNewOrders(settings, database) : 0;
        if (placed) process.stdout.write(`${placed} new orders stored; ${published} order.placed jobs published to Redis\n`);
      } finally {
        await database.close();
      }
      if (options.keepServing) await serve(settings, { migrate: false });
    });
}
