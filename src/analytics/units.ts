/**
 * The measured units of a version's comparison, one row per customer: what the demo's
 * truth check averages the planted worth over, so it checks exactly the customers the
 * report measured.
 */
import { sql } from 'drizzle-orm';
import { z } from 'zod';
import type { Db } from '../db/client.ts';
import { parsedRows } from '../store/rows.ts';
import { customerUnits } from './report.ts';

/** Enrollments (first per customer) of the version whose measurement window has closed by `asOf`. */
export async function measuredUnits(
  db: Db,
  versionId: number,
  options: { windowMs: number; asOf: Date },
): Promise<{ id: number; arm: string }[]> {
  return parsedRows(
    db,
    sql`select e.id, e.arm from (${customerUnits(versionId, { from: '-infinity', ...options })}) e where e.measured`,
    z.object({ id: z.coerce.number().int(), arm: z.string() }),
  );
}
