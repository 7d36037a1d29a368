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

/**
 * Enrollments (first per customer) of the version whose measurement window has closed by
 * `asOf`, with the customer's external id and when the window opened.
 */
export async function measuredUnits(
  db: Db,
  versionId: number,
  options: { windowMs: number; asOf: Date },
): Promise<{ id: number; arm: string; customer: string; enrolledAt: Date }[]> {
  const rows = await parsedRows(
    db,
    sql`select e.id, e.arm, c.external_id as customer, e.enrolled_at
        from (${customerUnits(versionId, { from: '-infinity', ...options })}) e join customers c on c.id = e.customer_id
        where e.measured`,
    z.object({ id: z.coerce.number().int(), arm: z.string(), customer: z.string(), enrolled_at: z.coerce.date() }),
  );
  return rows.map((r) => ({ id: r.id, arm: r.arm, customer: r.customer, enrolledAt: r.enrolled_at }));
}
