/**
 * The dashboard's stored page figures (`report_snapshots`): read one, save a newer one, and
 * say which were looked at lately. What a snapshot holds and when it is used is
 * src/dashboard/snapshots.ts; when it is fresh enough, src/core/snapshot.ts.
 */
import { sql } from 'drizzle-orm';
import { queryRows, type Db } from '../db/client.ts';

export interface StoredSnapshot {
  key: string;
  /** What the figures are as of: the engine's clock when they were built. */
  asOf: Date;
  /** Real time the build finished. */
  builtAt: Date;
  buildMs: number;
  body: unknown;
}

interface SnapshotRow {
  key: string;
  as_of: Date | string;
  built_at: Date | string;
  build_ms: number;
  body: unknown;
}

const snapshot = (row: SnapshotRow): StoredSnapshot => ({
  key: row.key,
  asOf: new Date(row.as_of),
  builtAt: new Date(row.built_at),
  buildMs: row.build_ms,
  body: typeof row.body === 'string' ? JSON.parse(row.body) : row.body,
});

/** The snapshot stored under `key`, noting that it was looked at `viewedAt` (real time); undefined when there is none. */
export async function readSnapshot(db: Db, key: string, viewedAt: Date): Promise<StoredSnapshot | undefined> {
  const [row] = await queryRows<SnapshotRow>(
    db,
    sql`update report_snapshots set viewed_at = greatest(viewed_at, ${viewedAt.toISOString()}::timestamptz) where key = ${key}
        returning key, as_of, built_at, build_ms, body`,
  );
  return row && snapshot(row);
}

/**
 * Stores `s` under its key, replacing the one there (two builders racing: the one finishing
 * last wins; both are fresh). Only a new key counts as looked at (it is built for a reader);
 * a rebuild leaves `viewed_at` to the readers, so the refresher stops once nobody looks.
 */
export async function saveSnapshot(db: Db, s: StoredSnapshot): Promise<void> {
  const builtAt = s.builtAt.toISOString();
  await db.execute(
    sql`insert into report_snapshots (key, as_of, built_at, build_ms, body, viewed_at)
        values (${s.key}, ${s.asOf.toISOString()}::timestamptz, ${builtAt}::timestamptz, ${s.buildMs}, ${JSON.stringify(s.body)}::json, ${builtAt}::timestamptz)
        on conflict (key) do update set as_of = excluded.as_of, built_at = excluded.built_at, build_ms = excluded.build_ms,
          body = excluded.body`,
  );
}

/** The snapshots looked at since `since` (real time), with when each was built: what the refresher keeps fresh. */
export async function viewedSnapshots(db: Db, since: Date): Promise<{ key: string; builtAt: Date }[]> {
  const rows = await queryRows<{ key: string; built_at: Date | string }>(
    db,
    sql`select key, built_at from report_snapshots where viewed_at >= ${since.toISOString()}::timestamptz order by viewed_at desc`,
  );
  return rows.map((r) => ({ key: r.key, builtAt: new Date(r.built_at) }));
}
