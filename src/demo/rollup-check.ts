/**
 * The demo's look at the report's rollups: the same report built from the rollups and from
 * the raw rows (`rollup: false`), each timed, and whether every figure agrees. Sums of
 * floating-point numbers taken in another order differ in their last bits, so numbers agree
 * within a relative 1e-9 (as tests/report-rollup.test.ts compares them).
 */
import { buildReport, type Report, type ReportOptions } from '../analytics/report.ts';
import type { Db } from '../db/client.ts';

export interface RollupLook {
  /** Seconds to build the report from the rollups (after bringing them up to date). */
  seconds: number;
  /** Seconds to build the same report from the raw rows. */
  rawSeconds: number;
  /** Whether every figure of the two agrees; `difference` names the first that does not. */
  same: boolean;
  difference: string | null;
}

/** Builds the report both ways; returns the one read from the rollups and how the two compared. */
export async function lookAtRollups(db: Db, options: ReportOptions): Promise<{ report: Report; look: RollupLook }> {
  let started = Date.now();
  const report = await buildReport(db, options);
  const seconds = (Date.now() - started) / 1000;
  started = Date.now();
  const raw = await buildReport(db, { ...options, refresh: false, rollup: false });
  const rawSeconds = (Date.now() - started) / 1000;
  const difference = firstDifference(report, raw);
  return { report, look: { seconds, rawSeconds, same: difference === null, difference } };
}

/** The path of the first value where `a` and `b` differ (numbers within a relative 1e-9), or null when they agree. */
export function firstDifference(a: unknown, b: unknown, path = 'report'): string | null {
  if (typeof a === 'number' && typeof b === 'number') {
    if (Number.isNaN(a) || Number.isNaN(b)) return Number.isNaN(a) && Number.isNaN(b) ? null : path;
    return Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b)) ? null : path;
  }
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return path;
    for (let i = 0; i < a.length; i++) {
      const found = firstDifference(a[i], b[i], `${path}[${i}]`);
      if (found) return found;
    }
    return null;
  }
  if (a && b && typeof a === 'object' && typeof b === 'object') {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    for (const key of keys) {
      const found = firstDifference((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key], `${path}.${key}`);
      if (found) return found;
    }
    return null;
  }
  return Object.is(a, b) ? null : path;
}
