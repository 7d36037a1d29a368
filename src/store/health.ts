/**
 * What the health and metrics endpoints ask of the database. Kept apart from the
 * processors' statements: these run on every probe and every scrape, so each is one cheap
 * statement that reads no more than an index.
 */
import { sql } from 'drizzle-orm';
import { z } from 'zod';
import type { Db } from '../db/client.ts';
import { parsedRow } from './rows.ts';

/**
 * Resolves when the database answers a trivial statement, rejects with the driver's error
 * when it does not. `select 1` touches no table, so a probe measures the connection (pool,
 * network, server up) and never waits on a lock.
 */
export async function pingDatabase(db: Db): Promise<void> {
  await db.execute(sql`select 1`);
}

const dueRow = z.object({ due: z.coerce.date().nullable() });

/**
 * The earliest `next_due_at` of the active enrollments, or null when none is active: the
 * step the schedule is furthest behind on, for the schedule-lag gauge. `min` over
 * `state = 'active'` reads the first entry of the (state, next_due_at) index, so a scrape
 * costs the same whatever the table's size. Enrollments still active with no due time
 * (null `next_due_at`) are ignored by `min`, which is right: nothing of theirs is due.
 */
export async function earliestActiveDueAt(db: Db): Promise<Date | null> {
  const row = await parsedRow(db, sql`select min(next_due_at) as due from enrollments where state = 'active'`, dueRow);
  return row?.due ?? null;
}
