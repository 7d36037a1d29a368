/**
 * Co-purchase build: `buildStatistics` over 1,000,000 order lines and 20,000 products,
 * beside one plain pass over the same order lines (the same windowed read, baskets
 * iterated and nothing counted), in the same process, with the peak memory of each; and
 * the time the refill learning that `recs build` runs after it takes on the same lines.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { prng } from '../src/core/random.ts';
import { writeLines } from '../src/demo/shop.ts';
import { importRows } from '../src/ingest/import.ts';
import { openRows } from '../src/ingest/read.ts';
import { buildStatistics, streamBaskets } from '../src/recs/build.ts';
import { learnReplenishment } from '../src/store/replenish.ts';
import { freshDatabase } from '../tests/helpers/db.ts';
import { timed, type Benchmark } from './harness.ts';

const TARGET = 5;

export const recsBenchmark: Benchmark = {
  name: 'recs',
  async run({ quick }) {
    const lines = quick ? 100_000 : 1_000_000;
    const products = quick ? 5_000 : 20_000;
    const dir = mkdtempSync(join(tmpdir(), 'campaign-bench-recs-'));
    const database = await freshDatabase('postgres');
    try {
      const files = writeCatalogAndOrders(dir, lines, products);
      for (const kind of ['products', 'customers', 'orders'] as const)
        await importRows(database.db, kind, await openRows(files[kind], 'csv'), { batchSize: 5_000, parallelBatches: 2 });

      const plainPeak = peakDuring();
      let baskets = 0;
      let items = 0;
      const plain = await timed(() =>
        streamBaskets(database.db, 0, (_id, basket) => {
          baskets += 1;
          items += basket.length;
        }),
      );
      const plainMemory = plainPeak.stop();
      const buildPeak = peakDuring();
      const build = await timed(() => buildStatistics(database.db, { full: true }));
      const buildMemory = buildPeak.stop();
      // `campaign recs build` also relearns refill intervals, set-based in SQL: timed apart, said in the notes.
      const refills = await timed(() => learnReplenishment(database.db));
      if (items !== lines) throw new Error(`read ${items} lines, expected ${lines}`);
      const rate = lines / build.seconds;
      const baseline = lines / plain.seconds;
      return [
        {
          name: `recs build (${lines.toLocaleString('en')} lines, ${products.toLocaleString('en')} products, postgres)`,
          unit: 'lines/s',
          value: rate,
          baselineName: 'one plain pass over the same lines',
          baseline,
          ratio: baseline / rate,
          target: `slowdown <= ${TARGET}x`,
          met: baseline / rate <= TARGET,
          notes:
            `${baskets} orders, ${build.value.pairs} pairs; peak RSS ${mb(buildMemory)} MB (plain pass ${mb(plainMemory)} MB); ` +
            `the refill intervals recs build also learns (${refills.value.products} products): ${refills.seconds.toFixed(1)} s more`,
        },
      ];
    } finally {
      await database.drop();
      rmSync(dir, { recursive: true, force: true });
    }
  },
};

const mb = (bytes: number) => Math.round(bytes / 2 ** 20);

function peakDuring(): { stop(): number } {
  let peak = process.memoryUsage().rss;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
  return {
    stop() {
      clearInterval(timer);
      return Math.max(peak, process.memoryUsage().rss);
    },
  };
}

/** Products in 400 categories; orders of 1–8 lines where a product's "partner" often joins (also the storefront bench's shop). */
export function writeCatalogAndOrders(dir: string, lines: number, products: number) {
  const random = prng(99);
  const catalog = ['sku,name,category,price'];
  for (let i = 0; i < products; i++) catalog.push(`S${i},Product ${i},c${i % 400},${(5 + (i % 500)).toFixed(2)}`);
  const customers = ['customer_id,email'];
  for (let i = 0; i < 50_000; i++) customers.push(`U${i},u${i}@example.com`);
  const orders = ['order_id,customer_id,ordered_at,sku,quantity,unit_price'];
  let written = 0;
  let order = 0;
  while (written < lines) {
    const size = Math.min(1 + Math.floor(random() * 8), lines - written);
    const at = new Date(Date.UTC(2025, 0, 1) + order * 30_000).toISOString();
    const customer = `U${Math.floor(random() * 50_000)}`;
    // Skewed popularity (a few products sell a lot), and partners bought together.
    const anchor = Math.floor(products * random() ** 2);
    for (let j = 0; j < size; j++) {
      const p = j === 0 ? anchor : random() < 0.5 ? (anchor + 1 + j) % products : Math.floor(products * random() ** 2);
      orders.push(`O${order},${customer},${at},S${p},1,${(5 + (p % 500)).toFixed(2)}`);
    }
    written += size;
    order += 1;
  }
  return {
    products: writeLines(dir, 'products.csv', catalog),
    customers: writeLines(dir, 'customers.csv', customers),
    orders: writeLines(dir, 'orders.csv', orders),
  };
}
