/**
 * Imports a file of products, customers, orders, refunds or cancellations: validates every row, reports each
 * rejected one with its line and reason, and upserts the good ones in batches (one
 * transaction per batch). Rows of one order are consecutive lines; an order is stored
 * whole or not at all, so a bad line also holds back its order's other lines.
 *
 * Orders are grouped and held back whole in ./order-sink.ts; a batch the database refuses
 * is written again item by item in ./storage-failure.ts; what the sinks share is ./sink.ts.
 */
import {
  describeIssue,
  knownColumns,
  recordSchemas,
  requiredColumns,
  type CancellationRecord,
  type CustomerRecord,
  type ProductRecord,
  type RecordKind,
  type RefundRecord,
} from '../core/records.ts';
import { parseOrderLine } from '../core/order-line.ts';
import type { Db } from '../db/client.ts';
import { type RowSource } from './read.ts';
import { analyzeImported, cancelOrders, upsertCustomers, upsertProducts, upsertRefunds, type Checked, type Outcome } from './store.ts';
import { FileError } from '../errors.ts';
import { orderSink, splitOrders, type SplitOrder } from './order-sink.ts';
import { InFlight, type ImportSummary, type Line, type Rejection, type Sink } from './sink.ts';
import { eachOrAlone } from './storage-failure.ts';

export type { ImportSummary, Rejection } from './sink.ts';

export interface ImportOptions {
  batchSize: number;
  /**
   * Order batches written at once (each in its own transaction). Orders never span
   * batches, so on Postgres two writers overlap safely; PGlite has one connection: use 1.
   */
  parallelBatches?: number;
  /** Past orders (a backfill): stored, but they place no `order.placed` and enroll no one. */
  history?: boolean;
  onReject?: (rejection: Rejection) => void;
  onProgress?: (summary: ImportSummary) => void;
}

/** An import that wrote at least this many rows refreshes the planner's statistics of its tables (`analyzeImported`). */
const ANALYZE_AFTER_ROWS = 1_000;

export async function importRows(db: Db, kind: RecordKind, source: RowSource, options: ImportOptions): Promise<ImportSummary> {
  const summary: ImportSummary = { kind, rows: 0, inserted: 0, updated: 0, unchanged: 0, rejected: 0, ordersPlaced: 0, ignoredColumns: [] };
  const reject = (line: number, reason: string) => {
    summary.rejected += 1;
    options.onReject?.({ line, reason });
  };
  const count = (outcome: Outcome) => (summary[outcome] += 1);
  const split =
    kind === 'orders' ? await splitOrders(source, (columns) => checkHeader(kind, columns, summary)) : new Map<string, SplitOrder>();
  const sink =
    kind === 'orders'
      ? orderSink(
          db,
          options.batchSize,
          new InFlight(options.parallelBatches ?? 1),
          reject,
          count,
          summary,
          options.history ?? false,
          split,
        )
      : kind === 'refunds'
        ? checkedSink<RefundRecord>(db, options.batchSize, (r) => r.refund_id, upsertRefunds, reject, count)
        : kind === 'cancellations'
          ? checkedSink<CancellationRecord>(db, options.batchSize, (r) => r.order_id, cancelOrders, reject, count)
          : keyedSink(db, kind, options.batchSize, new InFlight(1), reject, count);

  const schema = recordSchemas[kind];
  let headerChecked = false;
  const hasHeader = source.format === 'csv' || source.format === 'tsv';
  for await (const row of source.rows()) {
    if (!headerChecked && hasHeader) {
      checkHeader(kind, source.columns(), summary);
      headerChecked = true;
    }
    summary.rows += 1;
    if (row.error || !row.values) {
      reject(row.line, row.error ?? 'is empty');
      await sink.fail?.(row.line, row.values);
      continue;
    }
    const parsed = kind === 'orders' ? parseOrderLine(row.values) : schema.safeParse(row.values);
    if (!parsed.success) {
      reject(row.line, describeRow(parsed.error.issues, row.values, row.labels));
      await sink.fail?.(row.line, row.values);
      continue;
    }
    await sink.add({ line: row.line, record: parsed.data as never });
    if (summary.rows % 1000 === 0) options.onProgress?.(summary);
  }
  if (!headerChecked && hasHeader) checkHeader(kind, source.columns(), summary);
  await sink.flush();
  if (summary.inserted + summary.updated >= ANALYZE_AFTER_ROWS) await analyzeImported(db, kind);
  options.onProgress?.(summary);
  return summary;
}

/**
 * A rejected row's issues as `field: reason`, joined; a field the file calls otherwise
 * (`labels`, a Shopify or Merchant Center column) is named as the file names it.
 */
function describeRow(
  issues: Parameters<typeof describeIssue>[0][],
  values: Record<string, unknown>,
  labels?: Record<string, string>,
): string {
  return issues
    .map((issue) => {
      const { path, message } = describeIssue(issue, values);
      const label = labels?.[path];
      return path ? `${label ?? path}: ${message}` : message;
    })
    .join('; ');
}

function checkHeader(kind: RecordKind, columns: string[], summary: ImportSummary): void {
  const missing = requiredColumns[kind].filter((name) => !columns.includes(name));
  if (missing.length)
    throw new FileError(
      `line 1: the header lacks ${missing.map((m) => `"${m}"`).join(', ')}; ${kind} files need ${requiredColumns[kind].join(',')}` +
        ` and may have ${knownColumns[kind].filter((c) => !requiredColumns[kind].includes(c)).join(',') || 'nothing else'}`,
    );
  summary.ignoredColumns = columns.filter((name) => !knownColumns[kind].includes(name));
}

/** Products and customers: one row is one record, keyed by sku or customer id. */
function keyedSink(
  db: Db,
  kind: 'products' | 'customers',
  batchSize: number,
  writes: InFlight,
  reject: (line: number, reason: string) => void,
  count: (o: Outcome) => void,
): Sink<ProductRecord | CustomerRecord> {
  let batch = new Map<string, Line<ProductRecord | CustomerRecord>>();
  const keyOf = (record: ProductRecord | CustomerRecord) =>
    kind === 'products' ? (record as ProductRecord).sku : (record as CustomerRecord).customer_id;
  const upsert = (lines: Line<ProductRecord | CustomerRecord>[]) => {
    const records = lines.map((l) => l.record);
    return db.transaction((tx) =>
      kind === 'products' ? upsertProducts(tx, records as ProductRecord[]) : upsertCustomers(tx, records as CustomerRecord[]),
    );
  };
  const flush = async () => {
    if (batch.size === 0) return;
    const lines = [...batch.values()];
    batch = new Map();
    await writes.start(async () => {
      const stored = await eachOrAlone(lines, upsert, (line, reason) => reject(line.line, `could not be stored: ${reason}`));
      for (const [, outcome] of stored) count(outcome);
    });
  };
  return {
    async add(line) {
      // A key seen again in the same batch is applied after it, as the later line wins.
      if (batch.has(keyOf(line.record)) || batch.size >= batchSize) await flush();
      batch.set(keyOf(line.record), line);
    },
    async flush() {
      await flush();
      await writes.finish();
    },
  };
}

/**
 * Refunds (keyed by refund id) and cancellations (keyed by order id): one row is one
 * record, checked against its order by the store (`upsertRefunds`, `cancelOrders`) in the
 * batch's transaction; a row it refuses (unknown order, over-refund) is reported with its
 * line and field, and the rest of the batch is stored. Batches are written one at a time:
 * the refund check of one batch must see the refunds of the one before.
 */
function checkedSink<T>(
  db: Db,
  batchSize: number,
  keyOf: (record: T) => string,
  store: (db: Db, records: T[]) => Promise<Checked[]>,
  reject: (line: number, reason: string) => void,
  count: (o: Outcome) => void,
): Sink<T> {
  let batch = new Map<string, Line<T>>();
  const flush = async () => {
    if (batch.size === 0) return;
    const lines = [...batch.values()];
    batch = new Map();
    const upsert = (items: Line<T>[]) =>
      db.transaction((tx) =>
        store(
          tx,
          items.map((l) => l.record),
        ),
      );
    const stored = await eachOrAlone(lines, upsert, (line, reason) => reject(line.line, `could not be stored: ${reason}`));
    for (const [line, result] of stored) {
      if (result.problem) reject(line.line, `${result.problem.field}: ${result.problem.message}`);
      else count(result.outcome);
    }
  };
  return {
    async add(line) {
      // A key seen again in the same batch is applied after it, as the later line wins.
      if (batch.has(keyOf(line.record)) || batch.size >= batchSize) await flush();
      batch.set(keyOf(line.record), line);
    },
    flush,
  };
}
