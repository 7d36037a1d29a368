/**
 * `queryRows(db, query, { prepared: true })` (src/db/client.ts): a hot statement prepared once
 * per connection gives the rows the unprepared one gives (the same type parsing: a
 * timestamp stays text, as drizzle reads it), for every value of its parameters and past the
 * executions after which Postgres may switch to a generic plan; two texts never share a
 * name. On Postgres the statement is prepared on the connection, and only once.
 */
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryRows } from '../src/db/client.ts';
import { DB_KINDS, freshDatabase, type TestDatabase } from './helpers/db.ts';

describe.each(DB_KINDS)('prepared queries on %s', (kind) => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await freshDatabase(kind);
  });
  afterAll(() => database.drop());

  const series = (n: number, at: string) =>
    sql`select g as n, ${at}::timestamptz + g * interval '1 day' as at, ${`label ${n}`}::text as label
        from generate_series(1, ${n}::int) g order by g`;

  it('gives the rows the unprepared statement gives, for every parameter, in and out of a transaction', async () => {
    for (let n = 0; n < 12; n++) {
      const at = new Date(Date.UTC(2026, 0, 1 + n)).toISOString();
      const plain = await queryRows<{ n: number; at: string; label: string }>(database.db, series(n, at));
      expect(await queryRows(database.db, series(n, at), { prepared: true })).toEqual(plain);
      expect(await database.db.transaction((tx) => queryRows(tx, series(n, at), { prepared: true }))).toEqual(plain);
      if (n > 0) expect(typeof plain[0]!.at).toBe('string');
    }
  });

  it('keeps two statements apart, and prepares each once per connection', async () => {
    const other = (n: number) => sql`select ${n}::int * 2 as doubled`;
    await database.db.transaction(async (tx) => {
      for (let n = 1; n <= 8; n++) {
        expect(await queryRows(tx, other(n), { prepared: true })).toEqual([{ doubled: n * 2 }]);
        expect(await queryRows(tx, series(n, '2026-01-01T00:00:00Z'), { prepared: true })).toHaveLength(n);
      }
      if (kind === 'postgres') {
        const prepared = await queryRows<{ name: string; statement: string }>(
          tx,
          sql`select name, statement from pg_prepared_statements where name like 'q\\_%' order by statement`,
        );
        expect(prepared.map((p) => p.statement.includes('doubled'))).toEqual([true, false]);
      }
    });
  });
});
