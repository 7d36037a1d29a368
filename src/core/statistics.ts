/**
 * When a table's planner statistics are stale: the rule autovacuum applies before it
 * analyzes a table (PostgreSQL's `autovacuum_analyze_threshold` of 50 rows plus
 * `autovacuum_analyze_scale_factor` of 10% of the table), for databases where nothing else
 * applies it: PGlite, which runs no autovacuum, and servers where it is turned off.
 */

/** A table's size and how many of its rows were inserted, updated or deleted since it was last analyzed. */
export interface TableChanges {
  table: string;
  rows: number;
  changedSinceAnalyze: number;
}

/** Autovacuum's defaults: a table is analyzed once more rows changed than `base` + `scale` × its rows. */
export const ANALYZE_RULE = { base: 50, scale: 0.1 } as const;

/** The tables whose statistics are stale under `rule`, most changed first. */
export function staleTables(tables: readonly TableChanges[], rule: { base: number; scale: number } = ANALYZE_RULE): string[] {
  return tables
    .filter((t) => t.changedSinceAnalyze > rule.base + rule.scale * t.rows)
    .sort((a, b) => b.changedSinceAnalyze - a.changedSinceAnalyze || a.table.localeCompare(b.table))
    .map((t) => t.table);
}
