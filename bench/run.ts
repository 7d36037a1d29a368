/**
 * `npm run bench`: runs every benchmark, prints one table and writes bench/results.json.
 * `npm run bench -- --quick` runs smaller sizes; `-- import` runs only the named ones
 * (`-- "recommendations api"` for a name with a space).
 */
import { writeFileSync } from 'node:fs';
import type { Benchmark, BenchResult } from './harness.ts';
import { e2eBenchmark } from './e2e.ts';
import { importBenchmark } from './import.ts';
import { pixelBenchmark } from './pixel.ts';
import { recsBenchmark } from './recs.ts';
import { reportBenchmark } from './report.ts';
import { scaleBenchmark } from './scale.ts';
import { renderBenchmark } from './render.ts';
import { storefrontBenchmark } from './storefront.ts';

const BENCHMARKS: Benchmark[] = [
  importBenchmark,
  renderBenchmark,
  recsBenchmark,
  e2eBenchmark,
  scaleBenchmark,
  pixelBenchmark,
  reportBenchmark,
  storefrontBenchmark,
];

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const only = args.filter((a) => !a.startsWith('--'));
const chosen = BENCHMARKS.filter((b) => only.length === 0 || only.includes(b.name));

const results: BenchResult[] = [];
for (const benchmark of chosen) {
  process.stderr.write(`bench: ${benchmark.name}...\n`);
  results.push(...(await benchmark.run({ quick })));
}

const fmt = (n: number) => (n >= 100 ? Math.round(n).toLocaleString('en') : n.toFixed(2));
const table = results.map((r) => ({
  benchmark: r.name,
  figure: `${fmt(r.value)} ${r.unit}`,
  baseline: `${fmt(r.baseline)} ${r.unit} (${r.baselineName})`,
  ratio: r.ratio.toFixed(2),
  target: r.target,
  met: r.met ? 'yes' : 'NO',
}));
for (const r of results) if (r.notes) process.stderr.write(`${r.name}: ${r.notes}\n`);
console.table(table);
const out = new URL('./results.json', import.meta.url);
writeFileSync(out, JSON.stringify({ at: new Date().toISOString(), quick, results }, null, 2) + '\n');
process.stderr.write(`bench: wrote ${out.pathname}\n`);
process.exit(0);
