/**
 * Rows of a raw statement, typed at the boundary. Where a query is more than drizzle's
 * builder says well (lateral joins, `with` chains, `union all`), the store writes it as
 * `sql` and hands its rows to a zod schema here, so a column renamed in a migration fails
 * loudly at the boundary instead of flowing on as `undefined`.
 */
import type { SQL } from 'drizzle-orm';
import type { z } from 'zod';
import { queryRows, type Db, type QueryOptions } from '../db/client.ts';

/** Runs `query` and parses every row with `row`; throws a ZodError naming the column that does not fit. */
export async function parsedRows<S extends z.ZodType>(db: Db, query: SQL, row: S, options: QueryOptions = {}): Promise<z.output<S>[]> {
  const rows = await queryRows<unknown>(db, query, options);
  return rows.map((r) => row.parse(r));
}

/** The first row of `query` parsed with `row`, or undefined when there is none. */
export async function parsedRow<S extends z.ZodType>(db: Db, query: SQL, row: S): Promise<z.output<S> | undefined> {
  const [first] = await queryRows<unknown>(db, query);
  return first === undefined ? undefined : row.parse(first);
}
