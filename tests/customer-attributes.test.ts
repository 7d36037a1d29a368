/**
 * Customers' country, tags and attributes (any JSON object) from the customers file and the
 * API, on Postgres and PGlite: read in shops' shapes, refused with the field and the line
 * when malformed, kept when a later file leaves them out, replaced when it gives them, and
 * cleared by an erase.
 */
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { customerRecord } from '../src/core/records.ts';
import { queryRows } from '../src/db/client.ts';
import { importRows } from '../src/ingest/import.ts';
import { openRows } from '../src/ingest/read.ts';
import { eraseCustomer } from '../src/store/customer-data.ts';
import { DB_KINDS, freshDatabase, type TestDatabase } from './helpers/db.ts';
import { tempFile } from './helpers/files.ts';

const parse = (fields: Record<string, unknown>) => customerRecord.safeParse({ customer_id: 'a', email: 'a@example.com', ...fields });

describe('customer attributes as records', () => {
  it('reads tags as a list or comma-separated text, a country in any case, attributes as an object or its JSON', () => {
    expect(parse({ tags: 'vip, wholesale,,vip ' }).data!.tags).toEqual(['vip', 'wholesale']);
    expect(parse({ tags: ['a', ' b '] }).data!.tags).toEqual(['a', 'b']);
    expect(parse({ country: 'fr' }).data!.country).toBe('FR');
    expect(parse({ attributes: '{"plan":"gold","seats":3}' }).data!.attributes).toEqual({ plan: 'gold', seats: 3 });
    expect(parse({ attributes: { nested: { a: [1, 2] } } }).data!.attributes).toEqual({ nested: { a: [1, 2] } });
  });

  it('refuses what they cannot be, naming the field', () => {
    const refused = (fields: Record<string, unknown>) => {
      const result = parse(fields);
      expect(result.success, JSON.stringify(fields)).toBe(false);
      return result.error!.issues.map((i) => [i.path.join('.'), i.message]);
    };
    expect(refused({ country: 'France' })).toEqual([['country', expect.stringContaining('two-letter country code')]]);
    expect(refused({ attributes: '[1,2]' })).toEqual([['attributes', expect.stringContaining('must be a JSON object')]]);
    expect(refused({ attributes: '{plan: gold}' })).toEqual([['attributes', expect.stringContaining('must be a JSON object')]]);
    expect(refused({ attributes: { big: 'x'.repeat(9_000) } })).toEqual([['attributes', 'must be at most 8192 bytes as JSON']]);
    expect(refused({ attributes: { bad: 'nul\u0000' } })[0]![0]).toBe('attributes');
    expect(refused({ tags: Array.from({ length: 51 }, (_, i) => `t${i}`) })).toEqual([['tags', 'must hold at most 50 tags']]);
    // Nesting is bounded (the object itself is level 1): thousands deep fits in 8 KB, and once overflowed the stack (a 500).
    const nested = (depth: number) => {
      let value: unknown = 1;
      for (let i = 0; i < depth; i++) value = [value];
      return value;
    };
    expect(parse({ attributes: { deep: nested(63) } }).success).toBe(true);
    const tooDeep = [['attributes', 'must nest objects and arrays at most 64 levels deep']];
    expect(refused({ attributes: { deep: nested(64) } })).toEqual(tooDeep);
    expect(refused({ attributes: { deep: nested(4_000) } })).toEqual(tooDeep);
    expect(refused({ attributes: JSON.stringify({ deep: nested(4_000) }) })).toEqual(tooDeep);
  });
});

describe.each(DB_KINDS)('customer attributes stored, on %s', (kind) => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await freshDatabase(kind);
  });
  afterAll(() => database.drop());
  const stored = async (id: string) =>
    (
      await queryRows<{ country: string | null; tags: string[]; attributes: Record<string, unknown> }>(
        database.db,
        sql`select country, tags, attributes from customers where external_id = ${id}`,
      )
    )[0]!;
  const load = async (csv: string) => {
    const rejections: { line: number; reason: string }[] = [];
    const summary = await importRows(database.db, 'customers', await openRows(tempFile('customers.csv', csv), 'csv'), {
      batchSize: 100,
      onReject: (r) => rejections.push(r),
    });
    return { summary, rejections };
  };

  it('imports the columns, keeps them when a later file leaves them out, replaces them when it gives them, and an erase clears them', async () => {
    const first = await load(
      'customer_id,email,country,tags,attributes\n' +
        'at-1,at1@example.com,fr,"vip, wholesale","{""plan"":""gold""}"\n' +
        'at-2,at2@example.com,,,\n' +
        'at-3,at3@example.com,Germany,,\n',
    );
    expect(first.rejections).toEqual([{ line: 4, reason: expect.stringContaining('country: must be a two-letter country code') }]);
    expect(await stored('at-1')).toEqual({ country: 'FR', tags: ['vip', 'wholesale'], attributes: { plan: 'gold' } });
    expect(await stored('at-2')).toEqual({ country: null, tags: [], attributes: {} });

    // A file without the columns changes nothing; one with them replaces them whole.
    expect((await load('customer_id,email\nat-1,at1@example.com\n')).summary).toMatchObject({ unchanged: 1 });
    expect(await stored('at-1')).toEqual({ country: 'FR', tags: ['vip', 'wholesale'], attributes: { plan: 'gold' } });
    expect((await load('customer_id,email,tags,attributes\nat-1,at1@example.com,press,"{""seats"":2}"\n')).summary).toMatchObject({
      updated: 1,
    });
    expect(await stored('at-1')).toEqual({ country: 'FR', tags: ['press'], attributes: { seats: 2 } });

    expect((await eraseCustomer(database.db, 'at-1', new Date())).status).toBe('erased');
    expect(await stored('at-1')).toEqual({ country: null, tags: [], attributes: {} });
  });
});
