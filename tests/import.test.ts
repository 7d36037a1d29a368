import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryRows } from '../src/db/client.ts';
import { importRows, type ImportSummary, type Rejection } from '../src/ingest/import.ts';
import { storageFailure } from '../src/ingest/storage-failure.ts';
import { fileProblem, formatOf, MAX_LINE_BYTES, openRows } from '../src/ingest/read.ts';
import type { RecordKind } from '../src/core/records.ts';
import { DB_KINDS, freshDatabase, type TestDatabase } from './helpers/db.ts';
import { FIXTURES, tempFile } from './helpers/files.ts';
import { FileError, UserError } from '../src/errors.ts';

async function run(database: TestDatabase, kind: RecordKind, path: string, batchSize = 2) {
  const rejections: Rejection[] = [];
  const summary: ImportSummary = await importRows(database.db, kind, await openRows(path, formatOf(path)), {
    batchSize,
    onReject: (r) => rejections.push(r),
  });
  return { summary, rejections };
}

const counts = ({ summary }: { summary: ImportSummary }) => ({
  inserted: summary.inserted,
  updated: summary.updated,
  unchanged: summary.unchanged,
  rejected: summary.rejected,
});

describe.each(DB_KINDS)('import on %s', (kind) => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await freshDatabase(kind);
  });
  afterAll(() => database.drop());

  const rows = <T>(query: ReturnType<typeof sql>) => queryRows<T>(database.db, query);

  it('imports products, customers and orders, and a second import changes nothing', async () => {
    expect(counts(await run(database, 'products', `${FIXTURES}products.csv`))).toEqual({
      inserted: 5,
      updated: 0,
      unchanged: 0,
      rejected: 0,
    });
    expect(counts(await run(database, 'customers', `${FIXTURES}customers.csv`))).toEqual({
      inserted: 3,
      updated: 0,
      unchanged: 0,
      rejected: 0,
    });
    const orders = await run(database, 'orders', `${FIXTURES}orders.csv`);
    expect(counts(orders)).toEqual({ inserted: 6, updated: 0, unchanged: 0, rejected: 0 });
    expect(orders.summary.ordersPlaced).toBe(3);

    const stored = await rows<{ external_id: string; total: string; item_count: number; ordered_at: Date }>(
      sql`select external_id, total::text, item_count, ordered_at from orders order by external_id`,
    );
    expect(stored.map((o) => [o.external_id, Number(o.total), o.item_count])).toEqual([
      ['o-1', 298.8, 2],
      ['o-2', 129.5, 1],
      ['o-3', 592.9, 3],
    ]);
    expect(new Date(stored[1]!.ordered_at).toISOString()).toBe('2026-03-02T11:30:00.000Z');
    const product = (
      await rows<Record<string, unknown>>(sql`select name, price::text, in_stock, tier, url from products where sku = 'BEAN-1'`)
    )[0];
    expect(product).toEqual({ name: 'House Blend Beans, 1kg', price: '24.9000', in_stock: true, tier: null, url: null });

    const snapshot = () =>
      rows<Record<string, unknown>>(sql`
        select (select json_agg(p order by id) from products p) as p, (select json_agg(c order by id) from customers c) as c,
               (select json_agg(o order by id) from orders o) as o, (select json_agg(i order by order_id, position) from order_items i) as i,
               (select count(*) from outbox) as outbox`);
    const before = await snapshot();
    for (const k of ['products', 'customers', 'orders'] as const) {
      const again = await run(database, k, `${FIXTURES}${k}.csv`);
      expect(again.summary.inserted + again.summary.updated + again.summary.rejected).toBe(0);
    }
    expect(await snapshot()).toEqual(before);
  });

  it('reads JSONL with the same keys, and an upsert updates only what changed', async () => {
    const file = tempFile(
      'products.jsonl',
      [
        JSON.stringify({ sku: 'ESP-100', name: 'Espresso Machine Classic', category: 'espresso-machines', price: '229.00' }),
        JSON.stringify({ sku: 'MILK-1', name: 'Milk Jug', category: 'accessories', price: 12.5, in_stock: false, tier: 1 }),
        '',
      ].join('\n'),
    );
    expect(counts(await run(database, 'products', file))).toEqual({ inserted: 1, updated: 1, unchanged: 0, rejected: 0 });
    const [esp] = await rows<{ price: string; url: string }>(sql`select price::text, url from products where sku = 'ESP-100'`);
    expect(Number(esp!.price)).toBe(229);
    // An absent optional field keeps what was stored.
    expect(esp!.url).toBe('https://shop.example/p/esp-100');
  });

  it('replaces an order sent again with other lines, and places it only once', async () => {
    const file = tempFile(
      'orders.csv',
      'order_id,customer_id,ordered_at,sku,quantity,unit_price\no-3,c-3,2026-03-03T09:15:00Z,ESP-200,1,549.00\n',
    );
    const result = await run(database, 'orders', file);
    expect(counts(result)).toEqual({ inserted: 0, updated: 1, unchanged: 0, rejected: 0 });
    expect(result.summary.ordersPlaced).toBe(0);
    const [order] = await rows<{ total: string; item_count: number; items: number }>(
      sql`select total::text, item_count, (select count(*)::int from order_items where order_id = o.id) as items from orders o where external_id = 'o-3'`,
    );
    expect({ total: Number(order!.total), count: order!.item_count, items: order!.items }).toEqual({ total: 549, count: 1, items: 1 });
  });

  it('holds back an order whose lines each fit but whose total does not', async () => {
    const file = tempFile(
      'orders.csv',
      [
        'order_id,customer_id,ordered_at,sku,quantity,unit_price',
        'o-big,c-1,2026-03-05T09:00:00Z,ESP-200,1000000,600000.00', // 600,000,000,000
        'o-big,c-1,2026-03-05T09:00:00Z,ESP-200,1000000,500000.00', // and 500,000,000,000 more
        'o-fits,c-1,2026-03-05T10:00:00Z,ESP-200,1,549.00',
      ].join('\n') + '\n',
    );
    const result = await run(database, 'orders', file);
    const rejected = result.rejections.map((r) => `${r.line}: ${r.reason}`);
    expect(result.summary.rejected).toBe(2);
    expect(rejected).toHaveLength(2);
    for (const line of rejected)
      expect(line).toMatch(/^[23]: order o-big not imported: the order's total .* must be at most 999999999999\.9999/);
    const stored = await rows<{ external_id: string }>(sql`select external_id from orders where external_id in ('o-big', 'o-fits')`);
    expect(stored.map((o) => o.external_id)).toEqual(['o-fits']);
  });

  it('reports each bad line with its number and reason, and stores every good row', async () => {
    const lines = [
      'sku,name,category,price', //                         1
      'GOOD-1,Good One,misc,10.00', //                      2
      'BAD-PRICE,Bad Price,misc,ten', //                    3
      'GOOD-2,Good Two,misc,11', //                         4
      'SHORT,Too Few Fields,misc', //                       5
      ',No Sku,misc,3.00', //                               6
    ];
    const latin1 = Buffer.from('BAD-ENC,Caf\xe9 Cr\xe8me,misc,4.00\n', 'latin1'); // 7
    const file = tempFile(
      'products.csv',
      Buffer.concat([Buffer.from(lines.join('\n') + '\n'), latin1, Buffer.from('GOOD-3,Good Three,misc,12.5\n')]),
    );
    const { summary, rejections } = await run(database, 'products', file);
    expect(summary.inserted).toBe(3);
    expect(rejections.map((r) => r.line)).toEqual([3, 5, 6, 7]);
    expect(rejections[0]!.reason).toMatch(/^price: must be a decimal amount.*\(got "ten"\)/);
    expect(rejections[1]!.reason).toBe('has 3 fields but the header has 4');
    expect(rejections[2]!.reason).toMatch(/^sku: /);
    expect(rejections[3]!.reason).toMatch(/not valid UTF-8/);
    const skus = await rows<{ sku: string }>(sql`select sku from products where sku like 'GOOD-%' or sku like 'BAD%' order by sku`);
    expect(skus.map((s) => s.sku)).toEqual(['GOOD-1', 'GOOD-2', 'GOOD-3']);
  });

  it('rejects order lines with a bad date, an unknown sku or customer, holding back only their orders', async () => {
    const file = tempFile(
      'orders.csv',
      [
        'order_id,customer_id,ordered_at,sku,quantity,unit_price',
        'o-10,c-1,2026-04-01T10:00:00Z,ESP-100,1,249.00', //   2 good order
        'o-11,c-2,2026-02-30T10:00:00Z,GRN-10,1,129.50', //   3 bad date
        'o-12,c-2,2026-04-02T10:00:00Z,GRN-10,1,129.50', //   4 same order as 5
        'o-12,c-2,2026-04-02T10:00:00Z,NOPE-1,1,5.00', //     5 unknown sku
        'o-13,c-404,2026-04-03T10:00:00Z,GRN-10,1,129.50', // 6 unknown customer
        'o-14,c-3,2026-04-04T10:00:00,GRN-10,1,129.50', //    7 time without zone
        'o-15,c-3,2026-04-05T10:00:00Z,GRN-10,0,129.50', //   8 quantity 0
        'o-16,c-3,2026-04-06T10:00:00Z,BEAN-1,3,24.90', //    9 good order
        '',
      ].join('\n'),
    );
    const { summary, rejections } = await run(database, 'orders', file, 100);
    expect(summary.inserted).toBe(2);
    expect(summary.ordersPlaced).toBe(2);
    const byLine = Object.fromEntries(rejections.map((r) => [r.line, r.reason]));
    expect(Object.keys(byLine).map(Number)).toEqual([3, 4, 5, 6, 7, 8]);
    expect(byLine[3]).toMatch(/^ordered_at: must be an ISO 8601 time/);
    expect(byLine[4]).toBe('order o-12 not imported: its line 5 was rejected');
    expect(byLine[5]).toBe('sku: no product "NOPE-1" (import products first)');
    expect(byLine[6]).toBe('customer_id: no customer "c-404" (import customers first)');
    expect(byLine[7]).toMatch(/^ordered_at: must be an ISO 8601 time with a zone/);
    expect(byLine[8]).toMatch(/^quantity: /);
    const stored = await rows<{ external_id: string }>(
      sql`select external_id from orders where external_id between 'o-10' and 'o-19' order by 1`,
    );
    expect(stored.map((o) => o.external_id)).toEqual(['o-10', 'o-16']);
  });

  it('refuses a file whose header lacks a required column, storing nothing', async () => {
    const file = tempFile('customers.csv', 'customer_id,first_name\nc-900,Nobody\n');
    await expect(run(database, 'customers', file)).rejects.toThrow(FileError);
    await expect(run(database, 'customers', file)).rejects.toThrow(/line 1: the header lacks "email"/);
    const [row] = await rows<{ n: number }>(sql`select count(*)::int as n from customers where external_id = 'c-900'`);
    expect(row!.n).toBe(0);
  });

  it('holds back an order whose lines are not consecutive, both parts, even across committed batches', async () => {
    const file = tempFile(
      'orders.csv',
      [
        'order_id,customer_id,ordered_at,sku,quantity,unit_price',
        'o-20,c-1,2026-05-01T10:00:00Z,ESP-100,1,249.00', // 2
        'o-21,c-1,2026-05-01T11:00:00Z,BEAN-1,1,24.90', //  3
        'o-20,c-1,2026-05-01T10:00:00Z,BEAN-1,1,24.90', //  4 comes back
        'o-22,c-2,2026-05-01T12:00:00Z,BEAN-1,2,24.90', //  5
        'o-20,c-1,2026-05-01T10:00:00Z,GRN-10,1,129.50', // 6 and again
      ].join('\n'),
    );
    // A batch of one line: o-20's first part would be committed before line 4 is read.
    const { summary, rejections } = await run(database, 'orders', file, 1);
    expect(summary.inserted).toBe(2);
    expect(rejections.sort((a, b) => a.line - b.line)).toEqual([
      { line: 2, reason: 'order o-20 not imported: its line 4 was rejected' },
      { line: 4, reason: 'order o-20 already appeared at line 2; the lines of one order must be consecutive' },
      { line: 6, reason: 'order o-20 not imported: its line 4 was rejected' },
    ]);
    const stored = await rows<{ external_id: string }>(sql`select external_id from orders where external_id like 'o-2_' order by 1`);
    expect(stored.map((o) => o.external_id)).toEqual(['o-21', 'o-22']);
  });

  it('imports history without placing orders: no order.placed for a backfill', async () => {
    const before = (await rows<{ n: number }>(sql`select count(*)::int as n from outbox`))[0]!.n;
    const file = tempFile(
      'orders.csv',
      'order_id,customer_id,ordered_at,sku,quantity,unit_price\nh-1,c-1,2025-01-01T10:00:00Z,ESP-100,1,249.00\n',
    );
    const summary = await importRows(database.db, 'orders', await openRows(file, 'csv'), { batchSize: 10, history: true });
    expect(summary).toMatchObject({ inserted: 1, ordersPlaced: 0 });
    expect((await rows<{ n: number }>(sql`select count(*)::int as n from outbox`))[0]!.n).toBe(before);
  });
});

const ORDER_HEADER = 'order_id,customer_id,ordered_at,sku,quantity,unit_price';

describe.each(DB_KINDS)('bad files on %s', (kind) => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await freshDatabase(kind);
    await run(database, 'products', `${FIXTURES}products.csv`);
    await run(database, 'customers', `${FIXTURES}customers.csv`);
  });
  afterAll(() => database.drop());

  const rows = <T>(query: ReturnType<typeof sql>) => queryRows<T>(database.db, query);
  const storedOrders = async (pattern: string) =>
    (
      await rows<{ external_id: string; n: number }>(
        sql`select external_id, (select count(*)::int from order_items i where i.order_id = o.id) as n
            from orders o where external_id like ${pattern} order by external_id`,
      )
    ).map((o) => `${o.external_id}:${o.n}`);
  const byLine = (rejections: Rejection[]) => Object.fromEntries(rejections.map((r) => [r.line, r.reason]));

  it('holds back the whole order of a line that cannot be parsed as CSV, and imports the rest', async () => {
    const file = tempFile(
      'orders.csv',
      [
        ORDER_HEADER,
        'q-1,c-1,2026-05-01T10:00:00Z,ESP-100,1,249.00', //  2
        'q-1,c-1,2026-05-01T10:00:00Z,"BEAN-1"x,1,24.90', // 3 a closing quote followed by text
        'q-2,c-2,2026-05-01T11:00:00Z,BEAN-1,1,24.90', //  4
        'q-3,c-3,2026-05-01T12:00:00Z,"BEAN-1,1,24.90', // 5 a quote never closed
        'q-3,c-3,2026-05-01T12:00:00Z,BEAN-1,1,24.90', //  6
        'q-4,c-3,2026-05-01T13:00:00Z,"BEAN-1",2,24.90', // 7 properly quoted
        'q-7,c-3,2026-05-01T13:30:00Z,BEAN-1,1,24.90', //  8 next to line 9, whose order cannot be told
        'q-5,c-1,2026-05-01T14:00:00Z,BEAN-1,1,24.90,extra', // 9 one field too many
        'q-6,c-1,2026-05-01T15:00:00Z,BEAN-1,1,24.90', //  10 next to line 9 too
      ].join('\n'),
    );
    const { summary, rejections } = await run(database, 'orders', file, 100);
    const reasons = byLine(rejections);
    expect(rejections).toHaveLength(7);
    expect(Object.keys(reasons).map(Number)).toEqual([2, 3, 5, 6, 8, 9, 10]);
    expect(reasons[3]).toMatch(/^cannot be parsed as CSV: the closing quote of field 4 is followed by "x"/);
    expect(reasons[2]).toBe('order q-1 not imported: its line 3 was rejected');
    expect(reasons[5]).toBe('cannot be parsed as CSV: field 4 opens a quote that is not closed on this line');
    expect(reasons[6]).toBe('order q-3 not imported: its line 5 was rejected');
    expect(reasons[9]).toBe('has 7 fields but the header has 6');
    expect(reasons[8]).toBe('order q-7 not imported: line 9 could not be read and may be one of its lines');
    expect(reasons[10]).toBe('order q-6 not imported: line 9 before it could not be read and may be one of its lines');
    expect(summary.inserted).toBe(2);
    expect(await storedOrders('q-%')).toEqual(['q-2:1', 'q-4:1']);
  });

  it('reports a bad quote once, past the first 64 KiB too, and reads on after it', async () => {
    const good = (i: number) => `p-${i},c-1,2026-05-02T10:00:00Z,BEAN-1,1,24.90`;
    const lines = [ORDER_HEADER, 'p-0,c-1,2026-05-02T10:00:00Z,"BEAN-1,1,24.90'];
    for (let i = 1; i <= 2_000; i++) lines.push(good(i));
    lines.push('p-2000,c-1,2026-05-02T10:00:00Z,BEAN-1,"1"0,24.90', good(2001), '');
    const { summary, rejections } = await run(database, 'orders', tempFile('orders.csv', lines.join('\n')), 500);
    expect(rejections.map((r) => r.line).sort((a, b) => a - b)).toEqual([2, 2002, 2003]);
    const reasons = byLine(rejections);
    expect(reasons[2]).toMatch(/^cannot be parsed as CSV: field 4 opens a quote/);
    expect(reasons[2003]).toMatch(/^cannot be parsed as CSV: the closing quote of field 5/);
    expect(reasons[2002]).toBe('order p-2000 not imported: its line 2003 was rejected');
    expect(summary.inserted).toBe(2_000);
    expect(await storedOrders('p-2000')).toEqual([]);
  });

  it('refuses a header that names a column twice', async () => {
    const file = tempFile('products.csv', 'sku,name,category,price,SKU\nX-1,X,misc,1.00,X-2\n');
    await expect(run(database, 'products', file)).rejects.toThrow(FileError);
    await expect(run(database, 'products', file)).rejects.toThrow(/:1: the header names the column "sku" twice \(columns 1 and 5\)/);
  });

  it('explains a directory, a missing file, an empty file; a header alone is zero rows', async () => {
    await expect(openRows(FIXTURES, 'csv')).rejects.toThrow(/is a directory, not a file/);
    await expect(openRows('/nonexistent/orders.csv', 'csv')).rejects.toThrow(/: no such file$/);
    for (const content of ['', '\n\n']) {
      const empty = tempFile('orders.csv', content);
      await expect(run(database, 'orders', empty)).rejects.toThrow(/the file is empty; a header row is required/);
    }
    expect(counts(await run(database, 'orders', tempFile('orders.csv', `${ORDER_HEADER}\n`)))).toEqual({
      inserted: 0,
      updated: 0,
      unchanged: 0,
      rejected: 0,
    });
    expect((await run(database, 'customers', tempFile('customers.jsonl', ''))).summary.rows).toBe(0);
    expect(fileProblem('x.csv', Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES' })).message).toBe(
      'x.csv: permission denied (this user cannot read the file)',
    );
  });

  it('refuses an over-long line fast, in CSV and JSONL, and goes on', async () => {
    const huge = 'x'.repeat(20 << 20);
    const csv = tempFile('customers.csv', `customer_id,email,first_name\nl-1,l1@example.com,${huge}\nl-2,l2@example.com,Ann\n`);
    const started = Date.now();
    const fromCsv = await run(database, 'customers', csv);
    expect(fromCsv.rejections).toEqual([{ line: 2, reason: `line longer than ${MAX_LINE_BYTES} bytes` }]);
    expect(fromCsv.summary.inserted).toBe(1);
    const jsonl = tempFile(
      'customers.jsonl',
      [
        JSON.stringify({ customer_id: 'l-3', email: 'l3@example.com', first_name: huge }),
        JSON.stringify({ customer_id: 'l-4', email: 'l4@example.com' }),
      ].join('\n'),
    );
    const fromJsonl = await run(database, 'customers', jsonl);
    expect(fromJsonl.rejections).toEqual([{ line: 1, reason: `line longer than ${MAX_LINE_BYTES} bytes` }]);
    expect(fromJsonl.summary.inserted).toBe(1);
    expect(Date.now() - started).toBeLessThan(10_000);
    // A quoted field left open is not read past the limit either.
    const open = tempFile(
      'customers.csv',
      `customer_id,email,first_name\nl-5,l5@example.com,"${'y,'.repeat(1 << 20)}\nl-6,l6@example.com,Bo\n`,
    );
    const fromOpen = await run(database, 'customers', open);
    expect(fromOpen.rejections.map((r) => r.line)).toEqual([2]);
    expect(fromOpen.summary.inserted).toBe(1);
  });

  it('keeps multi-line quoted fields, CRLF line ends and quotes inside unquoted fields', async () => {
    const file = tempFile(
      'products.csv',
      'sku,name,category,price,description\r\nM-1,"Mug, large",misc,3.00,"two\r\nlines"\r\nM-2,Skillet 12" pan,misc,4.00,\r\nM-3,"Say ""hi""",misc,5.00,x\r\n',
    );
    const { summary, rejections } = await run(database, 'products', file);
    expect(rejections).toEqual([]);
    expect(summary.inserted).toBe(3);
    const names = await rows<{ name: string }>(sql`select name from products where sku like 'M-%' order by sku`);
    expect(names.map((n) => n.name)).toEqual(['Mug, large', 'Skillet 12" pan', 'Say "hi"']);
  });

  it('reads a file whose lines end in a lone CR, with line numbers', async () => {
    const file = tempFile(
      'products.csv',
      'sku,name,category,price\rCR-1,Old Mac File,misc,3.00\rCR-2,Second,misc,ten\rCR-3,Third,misc,5.00\r',
    );
    const { summary, rejections } = await run(database, 'products', file);
    expect(summary.inserted).toBe(2);
    expect(rejections.map((r) => r.line)).toEqual([3]);
  });

  it('stores the good rows of a batch the database refuses, and reports the bad one without its data', async () => {
    await database.db.execute(sql`
      create function refuse_boom() returns trigger language plpgsql as $$
      begin
        if new.name like 'BOOM%' then raise exception 'refused %', new.name using errcode = '22023'; end if;
        if new.name like 'DOWN%' then raise exception 'down %', new.name using errcode = '57P01'; end if;
        return new;
      end $$`);
    await database.db.execute(
      sql`create trigger refuse_boom before insert or update on products for each row execute function refuse_boom()`,
    );
    try {
      const file = tempFile(
        'products.csv',
        'sku,name,category,price\nB-1,Fine,misc,1.00\nB-2,BOOM secret@example.com,misc,2.00\nB-3,Fine too,misc,3.00\n',
      );
      const { summary, rejections } = await run(database, 'products', file, 100);
      expect(summary.inserted).toBe(2);
      expect(rejections).toEqual([{ line: 3, reason: 'could not be stored: the database refused a value (SQLSTATE 22023)' }]);

      const down = tempFile('products.csv', 'sku,name,category,price\nB-4,DOWN secret@example.com,misc,1.00\n');
      const failure = await run(database, 'products', down).catch((error: unknown) => error as Error);
      expect(failure).toBeInstanceOf(UserError);
      expect((failure as Error).message).toMatch(/^the database failed while storing rows \(SQLSTATE 57P01\)/);
      expect((failure as Error).message).not.toMatch(/secret|insert|B-4/);
      expect(storageFailure(Object.assign(new Error('boom'), { cause: { code: '22P05' } }))).toMatch(/NUL byte.*22P05/);
    } finally {
      await database.db.execute(sql`drop trigger refuse_boom on products`);
      await database.db.execute(sql`drop function refuse_boom()`);
    }
  });

  it('refuses one order the database refuses, order by order, and keeps the others of its batch', async () => {
    const file = tempFile(
      'orders.csv',
      [
        ORDER_HEADER,
        'd-1,c-1,2026-05-03T10:00:00Z,BEAN-1,1,24.90',
        'd-2,c-1,2026-05-03T10:00:00Z,BEAN-1,1,24.90',
        'd-2,c-1,2026-05-03T10:00:00Z,ESP-100,1,249.00',
        // A total beyond numeric(16,4): the database refuses it (records.ts may refuse it first).
        'd-2,c-1,2026-05-03T10:00:00Z,ESP-100,1000000,999999999999.00',
        'd-3,c-2,2026-05-03T11:00:00Z,BEAN-1,2,24.90',
      ].join('\n'),
    );
    const { summary, rejections } = await run(database, 'orders', file, 100);
    expect(rejections.map((r) => r.line).sort()).toEqual([3, 4, 5]);
    expect(rejections.map((r) => r.reason).join('\n')).not.toMatch(/Failed query|params/);
    expect(summary.inserted).toBe(2);
    expect(await storedOrders('d-%')).toEqual(['d-1:1', 'd-3:1']);
  });
});
