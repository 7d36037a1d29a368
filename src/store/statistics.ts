/**
 * The planner's statistics of the engine's tables: how much each changed since it was last
 * analyzed, and ANALYZE. What decides which tables to analyze is src/core/statistics.ts; the
 * reconciler asks on every pass (src/engine/reconcile.ts).
 */
import { sql } from 'drizzle-orm';
import type { TableChanges } from '../core/statistics.ts';
import { queryRows, type Db } from '../db/client.ts';

/**
 * Per table of the engine's schema: its live rows and the rows inserted, updated or deleted
 * since its last ANALYZE, from the cumulative statistics (`pg_stat_user_tables`, which a
 * server updates within a second or so of a commit, PGlite as well).
 */
export async function tableChanges(db: Db): Promise<TableChanges[]> {
  return queryRows<TableChanges>(
    db,
    sql`select relname as "table", n_live_tup::float8 as rows, n_mod_since_analyze::float8 as "changedSinceAnalyze"
        from pg_stat_user_tables where schemaname = current_schema()`,
  );
}

/**
 * ANALYZE `tables` (a sample of each: well under a second at millions of rows; it takes no
 * lock that writers wait for), unless another connection is doing it now: a
 * transaction-scoped try-lock keeps two workers' reconcilers from analyzing the same tables
 * twice. Returns whether it ran.
 */
export async function analyzeTables(db: Db, tables: readonly string[]): Promise<boolean> {
  if (tables.length === 0) return false;
  return db.transaction(async (tx) => {
    const [lock] = await queryRows<{ ok: boolean }>(tx, sql`select pg_try_advisory_xact_lock(hashtext('campaign.analyze')) as ok`);
    if (!lock?.ok) return false;
    await analyze(tx, tables);
    return true;
  });
}

/** ANALYZE `tables` now (a sample read of each): the reconciler's, under its lock, and a large import's (src/ingest/store.ts). */
export async function analyze(db: Db, tables: readonly string[]): Promise<void> {
  await db.execute(
    sql`analyze ${sql.join(
      tables.map((t) => sql.identifier(t)),
      sql`, `,
    )}`,
  );
}
