/**
 * What the health endpoint asks of the database: one statement that touches no table, run
 * on every probe.
 */
import { sql } from 'drizzle-orm';
import type { Db } from '../db/client.ts';

/**
 * Resolves when the database answers a trivial statement, rejects with the driver's error
 * when it does not. `select 1` touches no table, so a probe measures the connection (pool,
 * network, server up) and never waits on a lock.
 */
export async function pingDatabase(db: Db): Promise<void> {
  await db.execute(sql`select 1`);
}
