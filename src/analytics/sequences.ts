/**
 * Which sequences a report can be asked for. Reports cover the sequences applied to the
 * database (`campaign sequences apply`), whether active or paused: a paused sequence's
 * past emails still have results.
 */
import { eq } from 'drizzle-orm';
import type { Db } from '../db/client.ts';
import { sequences } from '../db/schema.ts';

/**
 * True when a sequence `id` is in the database (applied, active or paused): the report route answers 404 for any other
 * id rather than an empty report that would look like a sequence with no results. One
 * primary-key look-up.
 */
export async function sequenceExists(db: Db, id: string): Promise<boolean> {
  const [found] = await db.select({ id: sequences.id }).from(sequences).where(eq(sequences.id, id));
  return found !== undefined;
}
