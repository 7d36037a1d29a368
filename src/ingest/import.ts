/**
 * Imports a file of products, customers or orders: validates every row, reports each
 * rejected one with its line and reason, and upserts the good ones in batches (one
 * transaction per batch). Rows of one order are consecutive lines; an order is stored
 * whole or not at all, so a bad line also holds back its order's other lines.
 *
 * Longer than most files on purpose: the loop, the per-order grouping and the batching
 * share one state (pending lines, the open order, the batch in flight) and one invariant.
 */
import {
  describeIssues,
  knownColumns,
  recordSchemas,
  requiredColumns,
  type CustomerRecord,
  type OrderLineRecord,
  type ProductRecord,
  type RecordKind,
} from '../core/records.ts';
import type { Db } from '../db/client.ts';
import { type RowSource } from './read.ts';
import { customerIds, productIds, upsertCustomers, upsertOrders, upsertProducts, type Outcome, type ResolvedOrder } from './store.ts';
import { FileError } from '../errors.ts';

export interface Rejection {
  line: number;
  reason: string;
}

export interface ImportSummary {
  kind: RecordKind;
  rows: number;
  inserted: number;
  updated: number;
  unchanged: number;
  rejected: number;
  /** New orders stored, each of which wrote one `order.placed` outbox row. */
  ordersPlaced: number;
  /** Columns present but not part of the format; they are ignored. */
  ignoredColumns: string[];
}

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

interface Line<T> {
  line: number;
  record: T;
}

export async function importRows(db: Db, kind: RecordKind, source: RowSource, options: ImportOptions): Promise<ImportSummary> {
  const summary: ImportSummary = { kind, rows: 0, inserted: 0, updated: 0, unchanged: 0, rejected: 0, ordersPlaced: 0, ignoredColumns: [] };
  const reject = (line: number, reason: string) => {
    summary.rejected += 1;
    options.onReject?.({ line, reason });
  };
  const count = (outcome: Outcome) => (summary[outcome] += 1);
  const sink =
    kind === 'orders'
      ? orderSink(db, options.batchSize, new InFlight(options.parallelBatches ?? 1), reject, count, summary, options.history ?? false)
      : keyedSink(db, kind, options.batchSize, new InFlight(1), count);

  const schema = recordSchemas[kind];
  let headerChecked = false;
  for await (const row of source.rows()) {
    if (!headerChecked && source.format === 'csv') {
      checkHeader(kind, source.columns(), summary);
      headerChecked = true;
    }
    summary.rows += 1;
    if (row.error || !row.values) {
      reject(row.line, row.error ?? 'is empty');
      await sink.fail?.(row.line);
      continue;
    }
    const parsed = schema.safeParse(row.values);
    if (!parsed.success) {
      reject(row.line, describeIssues(parsed.error, row.values).join('; '));
      await sink.fail?.(row.line, row.values);
      continue;
    }
    await sink.add({ line: row.line, record: parsed.data as never });
    if (summary.rows % 1000 === 0) options.onProgress?.(summary);
  }
  if (!headerChecked && source.format === 'csv') checkHeader(kind, source.columns(), summary);
  await sink.flush();
  options.onProgress?.(summary);
  return summary;
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

interface Sink<T> {
  add(line: Line<T>): Promise<void>;
  /** A line of the file was rejected; `values` holds what could be read of it. */
  fail?(line: number, values?: Record<string, unknown>): Promise<void>;
  flush(): Promise<void>;
}

/** Products and customers: one row is one record, keyed by sku or customer id. */
function keyedSink(
  db: Db,
  kind: 'products' | 'customers',
  batchSize: number,
  writes: InFlight,
  count: (o: Outcome) => void,
): Sink<ProductRecord | CustomerRecord> {
  let batch = new Map<string, ProductRecord | CustomerRecord>();
  const keyOf = (record: ProductRecord | CustomerRecord) =>
    kind === 'products' ? (record as ProductRecord).sku : (record as CustomerRecord).customer_id;
  const flush = async () => {
    if (batch.size === 0) return;
    const records = [...batch.values()];
    batch = new Map();
    await writes.start(async () => {
      const outcomes = await db.transaction((tx) =>
        kind === 'products' ? upsertProducts(tx, records as ProductRecord[]) : upsertCustomers(tx, records as CustomerRecord[]),
      );
      outcomes.forEach(count);
    });
  };
  return {
    async add({ record }) {
      // A key seen again in the same batch is applied after it, as the later line wins.
      if (batch.has(keyOf(record)) || batch.size >= batchSize) await flush();
      batch.set(keyOf(record), record);
    },
    async flush() {
      await flush();
      await writes.finish();
    },
  };
}

interface PendingOrder {
  id: string;
  firstLine: number;
  lines: Line<OrderLineRecord>[];
  /** Why the order is held back, once one of its lines is rejected. */
  failedLine?: number;
}

/** Orders: consecutive lines with one order_id form an order, stored whole or not at all. */
function orderSink(
  db: Db,
  batchSize: number,
  writes: InFlight,
  reject: (line: number, reason: string) => void,
  count: (o: Outcome) => void,
  summary: ImportSummary,
  history: boolean,
): Sink<OrderLineRecord> {
  let current: PendingOrder | undefined;
  let batch: PendingOrder[] = [];
  let batchLines = 0;
  const finished = new Map<string, number>();
  const skuIds = new Map<string, number | null>();

  const close = async () => {
    if (!current) return;
    const order = current;
    current = undefined;
    finished.set(order.id, order.firstLine);
    if (order.failedLine !== undefined) {
      for (const { line } of order.lines) reject(line, `order ${order.id} not imported: its line ${order.failedLine} was rejected`);
      return;
    }
    batch.push(order);
    batchLines += order.lines.length;
    if (batchLines >= batchSize) await flush();
  };

  const open = (id: string, line: number): PendingOrder | undefined => {
    const seenAt = finished.get(id);
    if (seenAt !== undefined) {
      reject(line, `order ${id} already appeared at line ${seenAt}; the lines of one order must be consecutive`);
      return undefined;
    }
    current = { id, firstLine: line, lines: [] };
    return current;
  };

  const flush = async () => {
    if (batch.length === 0) return;
    const pending = batch;
    batch = [];
    batchLines = 0;
    await writes.start(() => write(pending));
  };

  const write = async (pending: PendingOrder[]) => {
    const unknownSkus = pending.flatMap((o) => o.lines.map((l) => l.record.sku)).filter((sku) => !skuIds.has(sku));
    if (unknownSkus.length) {
      const found = await productIds(db, unknownSkus);
      for (const sku of unknownSkus) skuIds.set(sku, found.get(sku) ?? null);
    }
    const customers = await customerIds(
      db,
      pending.map((o) => o.lines[0]!.record.customer_id),
    );
    const resolved: { order: PendingOrder; value: ResolvedOrder }[] = [];
    for (const order of pending) {
      const problems = order.lines.flatMap(({ line, record }) => {
        const reasons: string[] = [];
        if (!customers.has(record.customer_id)) reasons.push(`customer_id: no customer "${record.customer_id}" (import customers first)`);
        if (skuIds.get(record.sku) == null) reasons.push(`sku: no product "${record.sku}" (import products first)`);
        return reasons.length ? [{ line, reason: reasons.join('; ') }] : [];
      });
      if (problems.length) {
        const bad = new Set(problems.map((p) => p.line));
        for (const p of problems) reject(p.line, p.reason);
        for (const { line } of order.lines)
          if (!bad.has(line)) reject(line, `order ${order.id} not imported: its line ${problems[0]!.line} was rejected`);
        continue;
      }
      const head = order.lines[0]!.record;
      resolved.push({
        order,
        value: {
          externalId: order.id,
          customerId: customers.get(head.customer_id)!,
          orderedAt: head.ordered_at,
          items: order.lines.map(({ record }) => ({
            productId: skuIds.get(record.sku)!,
            quantity: record.quantity,
            unitPrice: record.unit_price,
          })),
        },
      });
    }
    const outcomes = await db.transaction((tx) =>
      upsertOrders(
        tx,
        resolved.map((r) => r.value),
        { history },
      ),
    );
    for (const outcome of outcomes) {
      if (outcome.order === 'inserted' && !history) summary.ordersPlaced += 1;
      outcome.items.forEach(count);
    }
  };

  return {
    async add(line) {
      const { order_id: id } = line.record;
      if (current?.id !== id) {
        await close();
        if (!open(id, line.line)) return;
      }
      const order = current!;
      const head = order.lines[0];
      if (head && (head.record.customer_id !== line.record.customer_id || head.record.ordered_at !== line.record.ordered_at)) {
        reject(line.line, `customer_id and ordered_at must match line ${head.line} of order ${id}`);
        order.failedLine ??= line.line;
        return;
      }
      order.lines.push(line);
    },
    async fail(line, values) {
      // A rejected line that still names its order holds that order back.
      const id = typeof values?.order_id === 'string' || typeof values?.order_id === 'number' ? String(values.order_id).trim() : undefined;
      if (!id || (current?.id !== id && finished.has(id))) return;
      if (current?.id !== id) {
        await close();
        open(id, line);
      }
      current!.failedLine ??= line;
    },
    async flush() {
      await close();
      await flush();
      await writes.finish();
    },
  };
}

/**
 * At most `limit` batch writes in flight, so reading and validating the next batch
 * overlaps with the database writing this one. A failed write fails the import.
 */
class InFlight {
  private readonly running = new Set<Promise<void>>();
  /** The first failed write's rejection, boxed so that any value (even undefined) counts. */
  private failure: { error: unknown } | undefined;
  constructor(private readonly limit: number) {}

  async start(write: () => Promise<void>): Promise<void> {
    this.check();
    while (this.running.size >= this.limit) await Promise.race(this.running);
    this.check();
    const task: Promise<void> = write()
      .catch((error: unknown) => {
        this.failure ??= { error };
      })
      .finally(() => this.running.delete(task));
    this.running.add(task);
  }

  async finish(): Promise<void> {
    await Promise.all(this.running);
    this.check();
  }

  private check(): void {
    if (this.failure) throw this.failure.error;
  }
}
