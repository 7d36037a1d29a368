/**
 * Hostile import files, generated from seeds: bad quotes, wrong field counts, NUL bytes,
 * invalid UTF-8, over-long lines, bad numbers and times, unknown references, order lines
 * out of place, duplicate or missing header columns, mixed with good rows. For each file
 * the test keeps its own model of what it wrote and checks the import against it:
 *
 * - nothing throws but a FileError, and only for a file-level problem;
 * - every line of the file is either stored or reported, and reported at most once;
 * - every bad line is reported with its line number, and nothing of it is stored;
 * - every good product or customer is stored with its values;
 * - a stored order has exactly the lines the file gave it; an order with a bad line or
 *   lines out of place is not stored; a good order is stored unless a line next to it is
 *   bad (its order may be unknowable, so the importer may hold its neighbours back).
 *
 * Good quoted values never begin with a comma: after a quote left open, `",x` on a later
 * line would close it validly, an ambiguity no CSV reader can resolve.
 */
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prng } from '../src/core/random.ts';
import { queryRows } from '../src/db/client.ts';
import { FileError } from '../src/errors.ts';
import { importRows, type Rejection } from '../src/ingest/import.ts';
import { openRows, type FileFormat } from '../src/ingest/read.ts';
import { freshDatabase, type TestDatabase } from './helpers/db.ts';
import { FIXTURES, tempFile } from './helpers/files.ts';

const SEEDS = Number(process.env.FUZZ_SEEDS ?? 40);
const MAX_LINE = 2_048;
const SKUS = ['ESP-100', 'ESP-200', 'GRN-10', 'BEAN-1', 'TAMP-1'];
const CUSTOMERS = ['c-1', 'c-2', 'c-3'];

type Kind = 'products' | 'customers' | 'orders';
type Random = () => number;

/** One record to write: its fields by column, and how it is spoiled (undefined: a good row). */
interface Written {
  fields: Record<string, string>;
  fault?: string;
}

const pick = <T>(random: Random, list: readonly T[]): T => list[Math.floor(random() * list.length)]!;

const COLUMNS: Record<Kind, string[]> = {
  products: ['sku', 'name', 'category', 'price', 'description'],
  customers: ['customer_id', 'email', 'first_name'],
  orders: ['order_id', 'customer_id', 'ordered_at', 'sku', 'quantity', 'unit_price'],
};

/** Faults of one row, by what they break. Text faults apply to a text column of the kind. */
const ROW_FAULTS = [
  'badNumber',
  'badTime',
  'empty',
  'nul',
  'badUtf8',
  'huge',
  'badQuote',
  'openQuote',
  'wrongCount',
  'notJson',
  'notObject',
];
const TEXT_COLUMN: Record<Kind, string> = { products: 'name', customers: 'first_name', orders: 'sku' };
const NUMBER_COLUMN: Record<Kind, string> = { products: 'price', customers: 'email', orders: 'quantity' };
/** Faults that leave a line naming no order the importer can trust (a JSONL line that is not UTF-8 is not parsed). */
const UNREADABLE = { csv: new Set(['huge', 'wrongCount']), jsonl: new Set(['huge', 'notJson', 'notObject', 'badUtf8']) };
const REQUIRED_COLUMN: Record<Kind, string> = { products: 'category', customers: 'email', orders: 'unit_price' };

function faultFor(random: Random, kind: Kind, format: FileFormat): string | undefined {
  if (random() < 0.65) return undefined;
  const faults = ROW_FAULTS.filter(
    (f) =>
      (format === 'csv' ? !['notJson', 'notObject'].includes(f) : !['badQuote', 'openQuote', 'wrongCount'].includes(f)) &&
      (f !== 'badTime' || kind === 'orders'),
  );
  return pick(random, faults);
}

/** A good text value: sometimes with a comma inside (quoted in CSV), never at its start. */
const text = (random: Random, base: string) => (random() < 0.3 ? `${base}, ${Math.floor(random() * 100)}` : base);

/** The bytes of one record in `format`, spoiled by its fault. Invalid UTF-8 is written as a marker, replaced at the end. */
function encode(kind: Kind, format: FileFormat, record: Written, random: Random): string {
  const fields = { ...record.fields };
  const column = TEXT_COLUMN[kind];
  switch (record.fault ?? 'none') {
    case 'badNumber':
      fields[NUMBER_COLUMN[kind]] = pick(random, ['ten', '1.2.3', '-4', '1e400', '12345678901234567890']);
      break;
    case 'badTime':
      fields.ordered_at = pick(random, ['2026-02-30T10:00:00Z', '2026-03-01T10:00:00', 'yesterday', '2026-13-01T00:00:00Z']);
      break;
    case 'empty':
      fields[REQUIRED_COLUMN[kind]] = '';
      break;
    case 'nul':
      fields[column] = `${fields[column]}\u0000x`;
      break;
    case 'badUtf8':
      fields[column] = `${fields[column]}\u0001BAD\u0001`;
      break;
    case 'huge':
      fields[column] = `${fields[column]}${'z'.repeat(MAX_LINE + Math.floor(random() * 5_000))}`;
      break;
  }
  if (format === 'jsonl') {
    if (record.fault === 'notJson') return `{"${COLUMNS[kind][0]}": "${fields[COLUMNS[kind][0]!]}", oops`;
    if (record.fault === 'notObject') return JSON.stringify(Object.values(fields));
    // JSON escapes the invalid-UTF-8 marker: put it back raw (NUL stays escaped, as JSON writes it).
    return JSON.stringify(fields).replaceAll('\\u0001BAD\\u0001', '\u0001BAD\u0001');
  }
  const cells = COLUMNS[kind].map((name) => {
    const value = fields[name] ?? '';
    return /[",\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
  });
  const at = COLUMNS[kind].indexOf(column);
  if (record.fault === 'badQuote') cells[at] = `"${fields[column]}"x`;
  if (record.fault === 'openQuote') cells[at] = `"${fields[column]}`;
  if (record.fault === 'wrongCount') {
    if (random() < 0.5) cells.push('extra');
    else cells.pop();
  }
  return cells.join(',');
}

/** Writes records (and a header) to a file; returns the file and each record's last line. */
function writeFile(kind: Kind, format: FileFormat, records: Written[], random: Random, header?: string) {
  const eol = random() < 0.3 ? '\r\n' : '\n';
  const lines: string[] = [];
  if (format === 'csv') lines.push(header ?? COLUMNS[kind].join(','));
  const lineOf: number[] = [];
  for (const record of records) {
    if (random() < 0.05) lines.push(''); // blank lines are skipped, not rows
    const encoded = encode(kind, format, record, random);
    lines.push(encoded);
    lineOf.push(lines.reduce((n, l) => n + l.split('\n').length, 0));
  }
  const body = (random() < 0.2 ? '\uFEFF' : '') + lines.join(eol) + (random() < 0.5 ? eol : '');
  // Invalid UTF-8: a lone continuation byte where the marker is.
  const parts = body.split('\u0001BAD\u0001').map((p) => Buffer.from(p, 'utf8'));
  const bytes = Buffer.concat(parts.flatMap((p, i) => (i === 0 ? [p] : [Buffer.from([0x80, 0xfe]), p])));
  return { path: tempFile(`${kind}.${format}`, bytes), lineOf };
}

describe('fuzzed import files', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await freshDatabase('pglite');
    for (const kind of ['products', 'customers'] as const)
      await importRows(database.db, kind, await openRows(`${FIXTURES}${kind}.csv`, 'csv'), { batchSize: 100 });
  });
  afterAll(() => database.drop());

  const run = async (kind: Kind, path: string, format: FileFormat, random: Random) => {
    const rejections: Rejection[] = [];
    const summary = await importRows(database.db, kind, await openRows(path, format, { maxLineBytes: MAX_LINE }), {
      batchSize: 1 + Math.floor(random() * 8),
      onReject: (r) => rejections.push(r),
    });
    const lines = rejections.map((r) => r.line);
    expect(new Set(lines).size, `a line reported twice: ${JSON.stringify(rejections)}`).toBe(lines.length);
    return { summary, rejections, rejected: new Set(lines) };
  };

  /** A file-level problem, for one file in eight: the import must refuse it whole. */
  const fileFault = (random: Random, kind: Kind, format: FileFormat): string | undefined => {
    if (format === 'jsonl' || random() > 0.125) return undefined;
    const columns = COLUMNS[kind];
    return pick(random, [
      [...columns, columns[1]!.toUpperCase()].join(','), // a duplicate column
      columns.slice(1).join(','), // a missing column
      `"${columns.join(',')}`, // a header quote never closed
    ]);
  };

  for (const kind of ['products', 'customers'] as const)
    for (const format of ['csv', 'jsonl'] as const)
      it(`${kind} as ${format}: every line stored or reported once, good ones stored with their values`, async () => {
        for (let seed = 1; seed <= SEEDS; seed++) {
          const random = prng(seed * 7919 + kind.length * 31 + format.length);
          const prefix = `z${format}${seed}-`;
          const records: Written[] = [];
          const count = 1 + Math.floor(random() * 40);
          for (let i = 0; i < count; i++) {
            const key = `${prefix}${i}`;
            const fields: Record<string, string> =
              kind === 'products'
                ? { sku: key, name: text(random, `Name ${i}`), category: 'misc', price: (1 + i).toFixed(2) }
                : { customer_id: key, email: `${key}@example.com`, first_name: text(random, `First ${i}`) };
            const fault = faultFor(random, kind, format);
            // A quoted field over two lines, in good rows only: a line that cannot be read ends
            // where its physical line ends, so the rest of a broken record is reported on its own.
            if (kind === 'products' && !fault && random() < 0.2) fields.description = `line one\nline "two", ${i}`;
            records.push({ fields, ...(fault ? { fault } : {}) });
          }
          const header = fileFault(random, kind, format);
          const { path, lineOf } = writeFile(kind, format, records, random, header);
          const keyColumn = COLUMNS[kind][0]!;
          const stored = async () =>
            kind === 'products'
              ? queryRows<{ key: string; value: string }>(
                  database.db,
                  sql`select sku as key, name as value from products where sku like ${prefix + '%'}`,
                )
              : queryRows<{ key: string; value: string }>(
                  database.db,
                  sql`select external_id as key, first_name as value from customers where external_id like ${prefix + '%'}`,
                );
          if (header !== undefined) {
            await expect(run(kind, path, format, random), `seed ${seed}`).rejects.toThrow(FileError);
            expect(await stored()).toEqual([]);
            continue;
          }
          const { rejected } = await run(kind, path, format, random);
          const got = new Map((await stored()).map((r) => [r.key, r.value]));
          records.forEach((record, index) => {
            const line = lineOf[index]!;
            const where = `seed ${seed}, line ${line} (${record.fault ?? 'good'})`;
            if (record.fault) {
              expect(rejected.has(line), where).toBe(true);
              expect(got.has(record.fields[keyColumn]!), where).toBe(false);
            } else {
              expect(rejected.has(line), where).toBe(false);
              expect(got.get(record.fields[keyColumn]!), where).toBe(record.fields[TEXT_COLUMN[kind]]);
            }
          });
          expect(rejected.size, `seed ${seed}`).toBe(records.filter((r) => r.fault).length);
        }
      });

  for (const format of ['csv', 'jsonl'] as const)
    it(`orders as ${format}: an order is stored with exactly its lines, or not at all`, async () => {
      const seen = { stored: 0, held: 0 };
      for (let seed = 1; seed <= SEEDS; seed++) {
        const random = prng(seed * 104729 + format.length);
        const prefix = `o${format}${seed}-`;
        interface Order {
          id: string;
          records: Written[];
          split: boolean;
        }
        const orders: Order[] = [];
        const count = 1 + Math.floor(random() * 14);
        for (let n = 0; n < count; n++) {
          const id = `${prefix}${n}`;
          const customer = pick(random, CUSTOMERS);
          const at = new Date(Date.UTC(2026, 4, 1) + n * 3_600_000).toISOString();
          const size = 1 + Math.floor(random() * 4);
          const records: Written[] = [];
          for (let i = 0; i < size; i++) {
            const fields = {
              order_id: id,
              customer_id: customer,
              ordered_at: at,
              sku: pick(random, SKUS),
              quantity: String(1 + Math.floor(random() * 3)),
              unit_price: (1 + Math.floor(random() * 5000) / 100).toFixed(2),
            };
            let fault = random() < 0.6 ? undefined : faultFor(random, 'orders', format);
            if (!fault && i > 0 && random() < 0.04) fault = 'mismatch';
            if (!fault && random() < 0.04) fault = 'unknownSku';
            if (fault === 'mismatch') fields.customer_id = CUSTOMERS.find((c) => c !== customer)!;
            if (fault === 'unknownSku') fields.sku = 'NO-SUCH-SKU';
            records.push({ fields, ...(fault ? { fault } : {}) });
          }
          orders.push({ id, records, split: size > 1 && random() < 0.12 });
        }
        // Lay the lines out: a split order's last line comes after the next order.
        const emitted: { order: Order; record: Written }[] = [];
        let late: { order: Order; record: Written } | undefined;
        for (const order of orders) {
          const own = order.records.map((record) => ({ order, record }));
          const held = order.split ? own.pop() : undefined;
          emitted.push(...own);
          if (late) emitted.push(late);
          // Out of place is what the layout made of it (the last order's late line follows it directly).
          for (const order of orders) {
            const at = emitted.flatMap((e, index) => (e.order === order ? [index] : []));
            order.split = at[at.length - 1]! - at[0]! !== at.length - 1;
          }
          late = held;
        }
        if (late) emitted.push(late);
        // Out of place is what the layout made of it (the last order's late line follows it directly).
        for (const order of orders) {
          const at = emitted.flatMap((e, index) => (e.order === order ? [index] : []));
          order.split = at[at.length - 1]! - at[0]! !== at.length - 1;
        }
        const header = fileFault(random, 'orders', format);
        const { path, lineOf } = writeFile(
          'orders',
          format,
          emitted.map((e) => e.record),
          random,
          header,
        );
        const storedItems = async () => {
          const rows = await queryRows<{ id: string; sku: string; quantity: number; unit_price: string }>(
            database.db,
            sql`select o.external_id as id, p.sku, i.quantity, i.unit_price::text from orders o
                join order_items i on i.order_id = o.id join products p on p.id = i.product_id
                where o.external_id like ${prefix + '%'} order by o.external_id, i.position`,
          );
          const byOrder = new Map<string, string[]>();
          for (const r of rows)
            byOrder.set(r.id, [...(byOrder.get(r.id) ?? []), `${r.sku}x${r.quantity}@${Number(r.unit_price).toFixed(2)}`]);
          return byOrder;
        };
        if (header !== undefined) {
          await expect(run('orders', path, format, random), `seed ${seed}`).rejects.toThrow(FileError);
          expect((await storedItems()).size).toBe(0);
          continue;
        }
        const { rejected } = await run('orders', path, format, random);
        const stored = await storedItems();
        const linesOf = new Map<Order, number[]>();
        emitted.forEach((e, index) => linesOf.set(e.order, [...(linesOf.get(e.order) ?? []), lineOf[index]!]));
        const badLines = new Set(emitted.flatMap((e, index) => (e.record.fault ? [lineOf[index]!] : [])));
        const allLines = lineOf;
        for (const order of orders) {
          const lines = linesOf.get(order)!;
          const where = `seed ${seed}, order ${order.id} at lines ${lines.join(',')}`;
          // A line that names no order and stands apart from its order's other lines cannot be
          // tied to it by anyone: the order may be stored without it (it is reported itself).
          const at = emitted.flatMap((e, index) => (e.order === order ? [index] : []));
          const runs: number[][] = [];
          for (const index of at) {
            const run = runs[runs.length - 1];
            if (run && run[run.length - 1] === index - 1) run.push(index);
            else runs.push([index]);
          }
          const lost = new Set(runs.filter((run) => run.every((i) => UNREADABLE[format].has(emitted[i]!.record.fault ?? ''))).flat());
          const tellable = at.filter((i) => !lost.has(i));
          const spoiled =
            runs.length - (lost.size ? runs.filter((run) => lost.has(run[0]!)).length : 0) > 1 ||
            tellable.some((i) => emitted[i]!.record.fault);
          const got = stored.get(order.id);
          seen[got ? 'stored' : 'held'] += 1;
          if (got) {
            // Stored: exactly the lines the file gave it, and none of them reported.
            expect(spoiled, where).toBe(false);
            expect(got, where).toEqual(tellable.map((i) => emitted[i]!.record.fields).map((f) => `${f.sku}x${f.quantity}@${f.unit_price}`));
            for (const i of tellable) expect(rejected.has(lineOf[i]!), where).toBe(false);
            for (const i of lost) expect(rejected.has(lineOf[i]!), where).toBe(true);
            continue;
          }
          // Not stored: every one of its lines reported.
          for (const line of lines) expect(rejected.has(line), where).toBe(true);
          if (!order.split && order.records.every((r) => !r.fault)) {
            const first = allLines.indexOf(Math.min(...lines));
            const last = allLines.indexOf(Math.max(...lines));
            const nextToBad = badLines.has(allLines[first - 1] ?? -1) || badLines.has(allLines[last + 1] ?? -1);
            expect(nextToBad, `${where}: a good order not stored`).toBe(true);
          }
        }
        // Every reported line is a line of the file.
        for (const line of rejected) expect(allLines.includes(line), `seed ${seed}: line ${line} reported`).toBe(true);
      }
      // The files mix both, or the checks above would prove little.
      expect(seen.stored).toBeGreaterThan(20);
      expect(seen.held).toBeGreaterThan(20);
    });
});
