/**
 * The benchmark harness: every benchmark measures its figure and its baseline side by
 * side in the same run, and reports the ratio against a target. Benchmarks are not tests.
 */
export interface BenchResult {
  name: string;
  /** What was measured, e.g. "rows/s". */
  unit: string;
  value: number;
  baselineName: string;
  baseline: number;
  /** value / baseline, or baseline / value where lower is better (see `higherIsBetter`). */
  ratio: number;
  target: string;
  met: boolean;
  notes?: string;
}

export interface Benchmark {
  name: string;
  run(options: { quick: boolean }): Promise<BenchResult[]>;
}

/** Wall time of `fn` in seconds. */
export async function timed<T>(fn: () => Promise<T>): Promise<{ seconds: number; value: T }> {
  const start = process.hrtime.bigint();
  const value = await fn();
  return { seconds: Number(process.hrtime.bigint() - start) / 1e9, value };
}
