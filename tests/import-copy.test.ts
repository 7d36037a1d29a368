/**
 * The orders import writes each batch set-based (src/ingest/store.ts `importOrders`): a
 * batch of new orders straight into its tables by one statement, any other by COPY into a
 * staging table and a merge.
 * Values that COPY must escape arrive intact, NULL stays apart from empty text, a batch of
 * tens of thousands of lines is one COPY, an order with a bad line leaves nothing of itself
 * behind, importing again changes nothing, both paths store the same rows, and an order a
 * concurrent writer stores mid-batch is merged, not doubled. Beside it, the binary COPY of
 * numbers `recs build` stores its statistics with.
 */
import { sql } from 'drizzle-orm';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyNumberRows, copyRows, queryRows } from '../src/db/client.ts';
import { copyField, copyText } from '../src/db/copy-text.ts';
import { importRows, type ImportSummary, type Rejection } from '../src/ingest/import.ts';
import { formatOf, openRows } from '../src/ingest/read.ts';
import type { RecordKind } from '../src/core/records.ts';
import { DB_KINDS, freshDatabase, type TestDatabase } from './helpers/db.ts';
import { tempFile } from './helpers/files.ts';

/** Texts COPY's text format must escape, or could mistake for something else. */
const AWKWARD = [
  'plain',
  '',
  'tab\there',
  'new\nline',
  'cr\rand crlf\r\n',
  'back\\slash',
  '\\N',
  'N',
  '\\',
  '\\\\',
  '\\.',
  '.',
  'quote "double" \'single\'',
  'comma, and; semicolon',
  'ünïcødé ☕ 🫘 漢字',
  ' leading and trailing ',
  // What an array parameter's literal must quote (the straight path passes its columns as arrays).
  'NULL',
  'null',
  '{a,b}',
  '"',
];

describe('copyText', () => {
  it('writes NULL as \\N and escapes the backslash, tab, newline and carriage return', () => {
    expect(copyField(null)).toBe('\\N');
    expect(copyField(undefined)).toBe('\\N');
    expect(copyField('')).toBe('');
    expect(copyField('\\N')).toBe('\\\\N');
    expect(copyField('a\tb\nc\rd\\e')).toBe('a\\tb\\nc\\rd\\\\e');
    expect(copyField(12.5)).toBe('12.5');
    expect(copyField(true)).toBe('t');
    expect(copyField(false)).toBe('f');
    expect(
      copyText([
        ['a', null, 3],
        ['b\tc', '', 4],
      ]),
    ).toBe('a\t\\N\t3\nb\\tc\t\t4\n');
  });
});

async function run(database: TestDatabase, kind: RecordKind, path: string, batchSize = 1_000) {
  const rejections: Rejection[] = [];
  const summary: ImportSummary = await importRows(database.db, kind, await openRows(path, formatOf(path)), {
    batchSize,
    onReject: (r) => rejections.push(r),
  });
  return { summary, rejections };
}

const jsonl = (name: string, records: Record<string, unknown>[]) => tempFile(name, records.map((r) => JSON.stringify(r)).join('\n') + '\n');

const counts = ({ summary }: { summary: ImportSummary }) => ({
  inserted: summary.inserted,
  updated: summary.updated,
  unchanged: summary.unchanged,
  rejected: summary.rejected,
});

describe.each(DB_KINDS)('COPY on %s', (kind) => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await freshDatabase(kind);
  });
  afterAll(() => database.drop());

  const rows = <T>(query: ReturnType<typeof sql>) => queryRows<T>(database.db, query);

  it('reads back every value copyRows writes, NULL apart from empty text', async () => {
    const values: (string | null)[] = [...AWKWARD, null];
    const read = await database.db.transaction(async (tx) => {
      await tx.execute(sql`create temp table copy_check (n int, v text) on commit drop`);
      await copyRows(
        tx,
        'copy_check',
        ['n', 'v'],
        values.map((v, n) => [n, v]),
      );
      return queryRows<{ n: number; v: string | null }>(tx, sql`select n, v from copy_check order by n`);
    });
    expect(read.map((r) => r.v)).toEqual(values);
  });

  it('reads back every number copyNumberRows writes, each float to the bit, NULL included, over many pieces', async () => {
    const floats = [0.1 + 0.2, 1 / 3, -0, 5e-324, Number.MAX_VALUE, -1e300, Math.PI, Infinity, -Infinity, 123456789.000001, null];
    // About 1,700 rows fill a piece: 5,000 cross several.
    const written = Array.from({ length: 5_000 }, (_, i) => [
      i - 2_500,
      i % 7 === 0 ? null : (i - 2_500) * 2 ** 40,
      floats[i % floats.length]!,
    ]);
    const read = await database.db.transaction(async (tx) => {
      await tx.execute(sql`create temp table copy_numbers (n int, big bigint, f float8) on commit drop`);
      await copyNumberRows(
        tx,
        'copy_numbers',
        [
          ['n', 'int4'],
          ['big', 'int8'],
          ['f', 'float8'],
        ],
        written,
      );
      return queryRows<{ n: number; big: string | null; f: number | null }>(
        tx,
        sql`select n, big::text as big, f from copy_numbers order by n`,
      );
    });
    expect(read.map((r) => [r.n, r.big === null ? null : Number(r.big), r.f])).toEqual(written);
  });

  it('stores ids and discount codes that COPY must escape as they were, and a second import changes nothing', async () => {
    const keys = AWKWARD.filter((text) => text !== '' && !/\s/.test(text));
    await run(
      database,
      'products',
      jsonl(
        'products.jsonl',
        keys.map((sku, i) => ({ sku: `S${sku}`, name: `product ${i}`, category: 'c', price: '1.00' })),
      ),
    );
    await run(
      database,
      'customers',
      jsonl(
        'customers.jsonl',
        keys.map((key, i) => ({ customer_id: `C${key}`, email: `c${i}@example.com` })),
      ),
    );
    const codes = AWKWARD.filter((text) => text.trim() !== '');
    const lines = keys.flatMap((key, i) => [
      {
        order_id: `O${key}`,
        customer_id: `C${key}`,
        ordered_at: '2026-03-01T10:00:00Z',
        sku: `S${key}`,
        quantity: 1,
        unit_price: '2.50',
        discount_code: codes[i % codes.length],
      },
      {
        order_id: `O${key}`,
        customer_id: `C${key}`,
        ordered_at: '2026-03-01T10:00:00Z',
        sku: `S${keys[0]}`,
        quantity: 2,
        unit_price: '1.25',
      },
    ]);
    const file = jsonl('orders.jsonl', lines);
    const first = await run(database, 'orders', file);
    expect(first.rejections).toEqual([]);
    expect(counts(first)).toEqual({ inserted: lines.length, updated: 0, unchanged: 0, rejected: 0 });
    expect(first.summary.ordersPlaced).toBe(keys.length);

    const stored = await rows<{ order_id: string; customer_id: string; discount_code: string; total: string; skus: string[] }>(sql`
      select o.external_id as order_id, c.external_id as customer_id, o.discount_code, o.total::text as total,
             array_agg(p.sku order by i.position) as skus
      from orders o join customers c on c.id = o.customer_id join order_items i on i.order_id = o.id join products p on p.id = i.product_id
      group by o.id, c.external_id order by o.id`);
    expect(stored).toEqual(
      keys.map((key, i) => ({
        order_id: `O${key}`,
        customer_id: `C${key}`,
        discount_code: codes[i % codes.length]!.trim(),
        total: '5.0000',
        skus: [`S${key}`, `S${keys[0]}`],
      })),
    );
    const placed = await rows<{ n: number }>(sql`select count(*)::int as n from outbox where topic = 'order.placed'`);
    expect(placed[0]!.n).toBe(keys.length);

    const again = await run(database, 'orders', file);
    expect(counts(again)).toEqual({ inserted: 0, updated: 0, unchanged: lines.length, rejected: 0 });
    expect(again.summary.ordersPlaced).toBe(0);
    expect((await rows<{ n: number }>(sql`select count(*)::int as n from outbox where topic = 'order.placed'`))[0]!.n).toBe(keys.length);
  });

  it('writes 20,000 lines in one batch, and a later file updates what changed', async () => {
    await run(
      database,
      'products',
      jsonl(
        'big-products.jsonl',
        Array.from({ length: 50 }, (_, i) => ({ sku: `BIG-P${i}`, name: `p${i}`, category: 'c', price: '3.00' })),
      ),
    );
    await run(
      database,
      'customers',
      jsonl(
        'big-customers.jsonl',
        Array.from({ length: 100 }, (_, i) => ({ customer_id: `BIG-C${i}`, email: `big${i}@example.com` })),
      ),
    );
    const line = (n: number, price: string) => ({
      order_id: `BIG-O${Math.floor(n / 3)}`,
      customer_id: `BIG-C${Math.floor(n / 3) % 100}`,
      ordered_at: '2026-04-01T08:00:00Z',
      sku: `BIG-P${n % 50}`,
      quantity: 1 + (n % 3),
      unit_price: price,
    });
    const big = Array.from({ length: 20_000 }, (_, n) => line(n, '3.00'));
    const first = await run(database, 'orders', jsonl('big-orders.jsonl', big), 50_000);
    expect(counts(first)).toEqual({ inserted: 20_000, updated: 0, unchanged: 0, rejected: 0 });
    expect(first.summary.ordersPlaced).toBe(6_667);
    // A large import refreshes the planner's statistics of what it wrote (`analyzeImported`):
    // the planner knows the 6,667 orders and the few of the other cases (never measured, it
    // would read -1), none of them cancelled.
    const [measured] = await rows<{ orders: number; cancelled: number | null }>(sql`
      select (select reltuples from pg_class where relname = 'orders')::int as orders,
             (select null_frac from pg_stats where tablename = 'orders' and attname = 'cancelled_at') as cancelled`);
    expect(measured!.orders).toBeGreaterThanOrEqual(6_667);
    expect(measured!.orders).toBeLessThan(6_700);
    expect(measured!.cancelled).toBe(1);

    // Order BIG-O7 changes its second line's price; every other line is as before.
    const changed = big.map((l, n) => (n === 22 ? line(n, '4.00') : l));
    const second = await run(database, 'orders', jsonl('big-orders-2.jsonl', changed), 50_000);
    expect(counts(second)).toEqual({ inserted: 0, updated: 3, unchanged: 19_997, rejected: 0 });
    const order = await rows<{ total: string; prices: string[] }>(sql`
      select o.total::text as total, array_agg(i.unit_price::text order by i.position) as prices
      from orders o join order_items i on i.order_id = o.id where o.external_id = 'BIG-O7' group by o.id`);
    expect(order).toEqual([{ total: '20.0000', prices: ['3.0000', '4.0000', '3.0000'] }]);
  });

  it('leaves nothing of an order whose line names an unknown sku, in the middle of a batch, and stores the others whole', async () => {
    await run(database, 'products', jsonl('mid-products.jsonl', [{ sku: 'MID-P', name: 'p', category: 'c', price: '1.00' }]));
    await run(database, 'customers', jsonl('mid-customers.jsonl', [{ customer_id: 'MID-C', email: 'mid@example.com' }]));
    const orderLine = (order: string, sku: string) => ({
      order_id: order,
      customer_id: 'MID-C',
      ordered_at: '2026-05-01T08:00:00Z',
      sku,
      quantity: 1,
      unit_price: '1.00',
    });
    const lines = [
      orderLine('MID-1', 'MID-P'),
      orderLine('MID-2', 'MID-P'),
      orderLine('MID-2', 'NO-SUCH\\SKU'),
      orderLine('MID-2', 'MID-P'),
      orderLine('MID-3', 'MID-P'),
    ];
    const outboxBefore = (await rows<{ n: number }>(sql`select count(*)::int as n from outbox`))[0]!.n;
    const result = await run(database, 'orders', jsonl('mid-orders.jsonl', lines));
    expect(result.rejections).toEqual([
      { line: 3, reason: 'sku: no product "NO-SUCH\\SKU" (import products first)' },
      { line: 2, reason: 'order MID-2 not imported: its line 3 was rejected' },
      { line: 4, reason: 'order MID-2 not imported: its line 3 was rejected' },
    ]);
    expect(counts(result)).toEqual({ inserted: 2, updated: 0, unchanged: 0, rejected: 3 });
    const stored = await rows<{ external_id: string; items: number }>(sql`
      select o.external_id, (select count(*)::int from order_items i where i.order_id = o.id) as items
      from orders o where o.external_id like 'MID-%' order by o.external_id`);
    expect(stored).toEqual([
      { external_id: 'MID-1', items: 1 },
      { external_id: 'MID-3', items: 1 },
    ]);
    expect((await rows<{ n: number }>(sql`select count(*)::int as n from outbox`))[0]!.n).toBe(outboxBefore + 2);
  });
});

/** Products, customers and the lines of orders `<prefix>-O<n>` (2 lines each, the first with a discount code but on every third order), as JSON lines. */
function shopFiles(prefix: string) {
  const products = jsonl(`${prefix}-products.jsonl`, [
    { sku: `${prefix}-P1`, name: 'one', category: 'c', price: '2.50' },
    { sku: `${prefix}-P2`, name: 'two', category: 'c', price: '1.25' },
  ]);
  const customers = jsonl(
    `${prefix}-customers.jsonl`,
    Array.from({ length: 3 }, (_, i) => ({ customer_id: `${prefix}-C${i}`, email: `${prefix}${i}@example.com` })),
  );
  const lines = (order: number) => [
    {
      order_id: `${prefix}-O${order}`,
      customer_id: `${prefix}-C${order % 3}`,
      ordered_at: `2026-06-0${1 + (order % 9)}T10:00:00Z`,
      sku: `${prefix}-P1`,
      quantity: 1 + (order % 2),
      unit_price: '2.50',
      // Every third order gives no discount: none, and 0, for a new order.
      ...(order % 3 === 2 ? {} : { discount_code: `CODE${order}`, discount_total: '0.50' }),
    },
    {
      order_id: `${prefix}-O${order}`,
      customer_id: `${prefix}-C${order % 3}`,
      ordered_at: `2026-06-0${1 + (order % 9)}T10:00:00Z`,
      sku: `${prefix}-P2`,
      quantity: 3,
      unit_price: '1.25',
    },
  ];
  return { products, customers, lines: (from: number, to: number) => Array.from({ length: to - from }, (_, i) => lines(from + i)).flat() };
}

describe.each(DB_KINDS)('both write paths on %s', (kind) => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await freshDatabase(kind);
  });
  afterAll(() => database.drop());

  /** What an order looks like stored, by its external id without the prefix, and its `order.placed` fact's payload. */
  async function storedOrders(prefix: string) {
    const orders = await queryRows<Record<string, unknown>>(
      database.db,
      sql`select substr(o.external_id, ${prefix.length + 2}) as order_id, substr(c.external_id, ${prefix.length + 2}) as customer,
                 o.ordered_at::text, o.total::text, o.item_count, o.discount_code, o.discount_total::text,
                 (select json_agg(json_build_array(substr(p.sku, ${prefix.length + 2}), i.quantity, i.unit_price::text) order by i.position)
                  from order_items i join products p on p.id = i.product_id where i.order_id = o.id) as items,
                 (select json_agg(jsonb_typeof(x.payload->'orderId') || '/' || jsonb_typeof(x.payload->'customerId') ||
                                  (case when (x.payload->>'orderId')::bigint = o.id and (x.payload->>'customerId')::int = o.customer_id
                                        then ' matches' else ' differs' end))
                  from outbox x where x.topic = 'order.placed' and (x.payload->>'orderId')::bigint = o.id) as placed,
                 row_number() over (order by o.id)::int as rank
          from orders o join customers c on c.id = o.customer_id
          where o.external_id like ${`${prefix}-%`} order by o.id`,
    );
    return orders;
  }

  it('stores a batch of new orders (written straight) exactly as a batch with a stored order in it (merged)', async () => {
    for (const prefix of ['FAST', 'MERGED']) {
      const shop = shopFiles(prefix);
      await run(database, 'products', shop.products);
      await run(database, 'customers', shop.customers);
    }
    // MERGED-O0 is stored first, alone, so the second batch of MERGED holds a stored order: the merge writes it.
    const fast = await run(database, 'orders', jsonl('fast.jsonl', shopFiles('FAST').lines(0, 40)), 10_000);
    await run(database, 'orders', jsonl('merged-first.jsonl', shopFiles('MERGED').lines(0, 1)), 10_000);
    const merged = await run(database, 'orders', jsonl('merged.jsonl', shopFiles('MERGED').lines(0, 40)), 10_000);
    expect(counts(fast)).toEqual({ inserted: 80, updated: 0, unchanged: 0, rejected: 0 });
    expect(counts(merged)).toEqual({ inserted: 78, updated: 0, unchanged: 2, rejected: 0 });
    expect(fast.summary.ordersPlaced).toBe(40);
    expect(merged.summary.ordersPlaced).toBe(39);

    const a = await storedOrders('FAST');
    const b = await storedOrders('MERGED');
    expect(a).toHaveLength(40);
    // Ids follow the file's order, and every order and its fact are the same whichever path wrote them.
    expect(a.map((o) => o.order_id)).toEqual(Array.from({ length: 40 }, (_, i) => `O${i}`));
    expect(a).toEqual(b);
    expect(a[1]).toMatchObject({
      customer: 'C1',
      total: '8.7500',
      item_count: 2,
      discount_code: 'CODE1',
      discount_total: '0.5000',
      items: [
        ['P1', 2, '2.5000'],
        ['P2', 3, '1.2500'],
      ],
      placed: ['number/number matches'],
    });
    expect(a[2]).toMatchObject({ discount_code: null, discount_total: '0.0000' });
    // A re-import finds its orders stored and takes the merge, which changes nothing.
    const again = await run(database, 'orders', jsonl('fast-again.jsonl', shopFiles('FAST').lines(0, 40)), 10_000);
    expect(counts(again)).toEqual({ inserted: 0, updated: 0, unchanged: 80, rejected: 0 });
    // The profiles follow the orders on both paths.
    const spend = await queryRows<{ prefix: string; spend: string; orders: number }>(
      database.db,
      sql`select split_part(c.external_id, '-', 1) as prefix, sum(p.spend)::text as spend, sum(p.orders)::int as orders
          from customer_profiles p join customers c on c.id = p.customer_id
          where c.external_id like 'FAST-%' or c.external_id like 'MERGED-%' group by 1 order by 1`,
    );
    expect(spend).toEqual([
      { prefix: 'FAST', spend: spend[0]!.spend, orders: 40 },
      { prefix: 'MERGED', spend: spend[0]!.spend, orders: 40 },
    ]);
  });

  it('keeps history orders out of the outbox when written straight', async () => {
    const shop = shopFiles('HIST');
    await run(database, 'products', shop.products);
    await run(database, 'customers', shop.customers);
    const before = await queryRows<{ n: number }>(database.db, sql`select count(*)::int as n from outbox`);
    const summary = await importRows(database.db, 'orders', await openRows(jsonl('hist.jsonl', shop.lines(0, 5)), 'jsonl'), {
      batchSize: 1_000,
      history: true,
    });
    expect(summary.inserted).toBe(10);
    expect(summary.ordersPlaced).toBe(0);
    expect(await queryRows<{ n: number }>(database.db, sql`select count(*)::int as n from outbox`)).toEqual(before);
  });
});

/** The orders whose external id starts with `prefix-`, with their totals and how many items each has. */
function ordersWithItems(database: TestDatabase, prefix: string) {
  return queryRows<{ external_id: string; total: string; items: number }>(
    database.db,
    sql`select o.external_id, o.total::text, (select count(*)::int from order_items i where i.order_id = o.id) as items
        from orders o where o.external_id like ${`${prefix}-%`} order by o.external_id`,
  );
}

/**
 * Imports `file` while another writer holds `order` (of `customer`, a total of 1 and no
 * items, with an `order.placed` fact) in an open transaction: the batch's look-up cannot
 * see it and its insert waits on the order's unique key; then the writer commits or rolls back.
 */
async function importBesideWriter(
  database: TestDatabase,
  writer: { order: string; customer: string; end: 'commit' | 'rollback' },
  file: string,
) {
  const other = new pg.Client({ connectionString: database.url });
  await other.connect();
  try {
    await other.query('begin');
    await other.query(
      `insert into orders (external_id, customer_id, ordered_at, total, item_count)
       select $1, id, '2026-06-04T10:00:00Z', 1, 0 from customers where external_id = $2`,
      [writer.order, writer.customer],
    );
    await other.query(`insert into outbox (topic, payload) values ('order.placed', '{"by": "other"}')`);
    const imported = run(database, 'orders', file, 1_000);
    await waitForLockWait(other);
    await other.query(writer.end);
    return await imported;
  } finally {
    await other.end();
  }
}

/** Returns once another session of `client`'s database waits on a lock (the batch's insert, on the order's unique key). */
async function waitForLockWait(client: pg.Client): Promise<void> {
  for (let tries = 0; ; tries++) {
    const [waiting] = (
      await client.query(
        `select count(*)::int as n from pg_stat_activity
         where datname = current_database() and wait_event_type = 'Lock' and pid <> pg_backend_pid()`,
      )
    ).rows;
    if (waiting.n > 0) return;
    if (tries > 500) throw new Error('the batch never waited on the other writer');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('an order stored by another writer while a batch of new orders is written (Postgres)', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await freshDatabase('postgres');
  });
  afterAll(() => database.drop());

  it('is merged by the batch (updated, not doubled), and the rest of the batch is stored', async () => {
    const shop = shopFiles('RACE');
    await run(database, 'products', shop.products);
    await run(database, 'customers', shop.customers);
    // Line 3, an order of an unknown sku, is refused; the orders before and after it are not.
    const bad = { ...shop.lines(0, 1)[1]!, order_id: 'RACE-BAD', sku: 'NO-SUCH-SKU' };
    const lines = [...shop.lines(0, 1), bad, ...shop.lines(1, 6)];
    // The other writer stores RACE-O3 (a different total, no items) with its fact, and commits.
    const result = await importBesideWriter(database, { order: 'RACE-O3', customer: 'RACE-C0', end: 'commit' }, jsonl('race.jsonl', lines));
    expect(result.rejections).toEqual([{ line: 3, reason: 'sku: no product "NO-SUCH-SKU" (import products first)' }]);
    // Every line is new (RACE-O3 was stored without lines); RACE-O3 places no second fact.
    expect(counts(result)).toEqual({ inserted: 12, updated: 0, unchanged: 0, rejected: 1 });
    expect(result.summary.ordersPlaced).toBe(5);
    const stored = await ordersWithItems(database, 'RACE');
    expect(stored).toEqual(
      Array.from({ length: 6 }, (_, i) => ({ external_id: `RACE-O${i}`, total: i % 2 ? '8.7500' : '6.2500', items: 2 })),
    );
    const placed = await queryRows<{ n: number }>(database.db, sql`select count(*)::int as n from outbox where topic = 'order.placed'`);
    expect(placed[0]!.n).toBe(6);
    // The batch stayed one transaction (the order the insert skipped was merged in it), not one per order.
    const writers = await queryRows<{ n: number }>(
      database.db,
      sql`select count(distinct xmin::text)::int as n from orders where external_id like 'RACE-%'`,
    );
    expect(writers[0]!.n).toBe(1);
    // The profile of RACE-O3's customer counts it as the file gives it: RACE-O0 (6.25) and RACE-O3 (8.75).
    const [profile] = await queryRows<{ orders: number; spend: string }>(
      database.db,
      sql`select p.orders, p.spend::text as spend from customer_profiles p join customers c on c.id = p.customer_id
          where c.external_id = 'RACE-C0'`,
    );
    expect(profile).toEqual({ orders: 2, spend: '15.0000' });
  });

  it('is inserted by the batch when the other writer rolls back', async () => {
    const shop = shopFiles('UNDO');
    await run(database, 'products', shop.products);
    await run(database, 'customers', shop.customers);
    const result = await importBesideWriter(
      database,
      { order: 'UNDO-O1', customer: 'UNDO-C1', end: 'rollback' },
      jsonl('undo.jsonl', shop.lines(0, 3)),
    );
    expect(counts(result)).toEqual({ inserted: 6, updated: 0, unchanged: 0, rejected: 0 });
    expect(result.summary.ordersPlaced).toBe(3);
    const stored = await ordersWithItems(database, 'UNDO');
    expect(stored).toEqual([
      { external_id: 'UNDO-O0', total: '6.2500', items: 2 },
      { external_id: 'UNDO-O1', total: '8.7500', items: 2 },
      { external_id: 'UNDO-O2', total: '6.2500', items: 2 },
    ]);
  });
});
