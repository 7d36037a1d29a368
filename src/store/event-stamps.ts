/**
 * When the engine stamped events whose user agent carries a tag: a client that tags its
 * own requests (the demo's simulated recipients) learns the engine's clock time of each.
 */
import { sql } from 'drizzle-orm';
import { z } from 'zod';
import type { Db } from '../db/client.ts';
import { parsedRows } from './rows.ts';

/** Every event whose user agent contains `tag`, with its user agent and time. */
export async function eventsTagged(db: Db, tag: string): Promise<{ userAgent: string; occurredAt: Date }[]> {
  const rows = await parsedRows(
    db,
    sql`select user_agent, occurred_at from events where user_agent like ${`%${tag.replace(/[%_\\]/g, '\\$&')}%`}`,
    z.object({ user_agent: z.string(), occurred_at: z.coerce.date() }),
  );
  return rows.map((r) => ({ userAgent: r.user_agent, occurredAt: r.occurred_at }));
}
