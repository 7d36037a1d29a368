/**
 * Imports a file of products, customers, orders, refunds or cancellations: validates every row, reports each
 * rejected one with its line and reason, and upserts the good ones in batches (one
 * transaction per batch). Rows of one order are consecutive lines; an order is stored
 * whole or not at all, so a bad line also holds back its order's other lines.
 *
 * An orders file is read twice. The first pass only notes which order ids come back after
 * another order began (their lines are not consecutive); the second holds those orders back
 * from their first line on. So an order is complete before it is written, and no batch is
 * ever committed with an order that a later line would have refused.
 *
 * A batch the database refuses is written again order by order (record by record), so one
 * bad row costs only itself; its lines are reported with a reason that names the problem
 * (from its SQLSTATE) but never the driver's message, which quotes the statement and its
 * parameters: customer data. A failure that is not about the data (the connection is gone)
 * stops the import with one such line.
 *
 * Longer than most files on purpose: the loop, the per-order grouping and the batching
 * share one state (pending lines, the open order, the batch in flight) and one invariant.
 */
import {
  describeIssues,
  knownColumns,
  orderLineRecord,
  orderTotalProblem,
  recordSchemas,
  requiredColumns,
  type CancellationRecord,
  type CustomerRecord,
  type OrderLineRecord,
  type ProductRecord,
  type RecordKind,
  type RefundRecord,
} from '../core/records.ts';
import type { Db } from '../db/client.ts';
import { type RowSource } from './read.ts';
import {
  cancelOrders,
  customerIds,
  productIds,
  upsertCustomers,
  upsertOrders,
  upsertProducts,
  upsertRefunds,
  type Checked,
  type OrderOutcome,
  type Outcome,
  type ResolvedOrder,
} from './store.ts';
import { FileError, UserError } from '../errors.ts';

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
  const split = kind === 'orders' ? await splitOrders(source, summary) : new Map<string, SplitOrder>();
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
  for await (const row of source.rows()) {
    if (!headerChecked && source.format === 'csv') {
      checkHeader(kind, source.columns(), summary);
      headerChecked = true;
    }
    summary.rows += 1;
    if (row.error || !row.values) {
      reject(row.line, row.error ?? 'is empty');
      await sink.fail?.(row.line, row.values);
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

/** An order whose lines are not consecutive: where it first began, and the line it came back at. */
interface SplitOrder {
  first: number;
  again: number;
}

/** The order a row names, as the schema reads `order_id` (or as written, when that fails); undefined when none. */
function orderIdOf(values: Record<string, unknown> | undefined): string | undefined {
  if (values === undefined || !('order_id' in values)) return undefined;
  const raw = values.order_id;
  const parsed = orderLineRecord.shape.order_id.safeParse(raw);
  if (parsed.success) return parsed.data;
  const text = typeof raw === 'string' ? raw.trim() : typeof raw === 'number' && Number.isFinite(raw) ? String(raw) : '';
  return text || undefined;
}

/**
 * The first pass over an orders file: the orders whose lines are not consecutive. Only the
 * order ids are kept (one Map entry per order); rows that name no order break no run.
 */
async function splitOrders(source: RowSource, summary: ImportSummary): Promise<Map<string, SplitOrder>> {
  const closed = new Map<string, number>();
  const split = new Map<string, SplitOrder>();
  let current: string | undefined;
  let currentFirst = 0;
  let headerChecked = false;
  for await (const row of source.rows()) {
    if (!headerChecked && source.format === 'csv') {
      checkHeader('orders', source.columns(), summary);
      headerChecked = true;
    }
    const id = orderIdOf(row.values);
    if (id === undefined || id === current) continue;
    if (current !== undefined) closed.set(current, currentFirst);
    const seen = closed.get(id);
    if (seen !== undefined && !split.has(id)) split.set(id, { first: seen, again: row.line });
    current = id;
    currentFirst = seen ?? row.line;
  }
  return split;
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

interface PendingOrder {
  id: string;
  firstLine: number;
  /** Its lines not yet reported: every line that was read and not itself rejected. */
  lines: Line<OrderLineRecord>[];
  /** Why the order is held back (`its line 5 was rejected`), once it is. */
  heldBy?: string;
}

/** An order whose lines resolved to ids, or the problems of its lines. */
type Resolution = { value: ResolvedOrder; problems?: undefined } | { value?: undefined; problems: { line: number; reason: string }[] };

/**
 * Orders: consecutive lines with one order_id form an order, stored whole or not at all.
 * `split` (from the first pass) names the orders whose lines are not consecutive.
 *
 * A line that cannot be read and names no order may belong to the order before it or the
 * one after it (the lines of one order are consecutive), so both are held back.
 */
function orderSink(
  db: Db,
  batchSize: number,
  writes: InFlight,
  reject: (line: number, reason: string) => void,
  count: (o: Outcome) => void,
  summary: ImportSummary,
  history: boolean,
  split: Map<string, SplitOrder>,
): Sink<OrderLineRecord> {
  let current: PendingOrder | undefined;
  let batch: PendingOrder[] = [];
  let batchLines = 0;
  /** A line that named no order, which the next order to begin may own. */
  let unreadBefore: number | undefined;
  const skuIds = new Map<string, number | null>();

  const close = async () => {
    if (!current) return;
    const order = current;
    current = undefined;
    if (order.heldBy !== undefined) {
      for (const { line } of order.lines) reject(line, `order ${order.id} not imported: ${order.heldBy}`);
      return;
    }
    // Each line fits, but their sum may not: the same rule the API applies to one request.
    const total = orderTotalProblem(order.lines.map(({ record }) => record));
    if (total) {
      for (const { line } of order.lines) reject(line, `order ${order.id} not imported: ${total}`);
      return;
    }
    batch.push(order);
    batchLines += order.lines.length;
    if (batchLines >= batchSize) await flush();
  };

  /** Begins the order `id` at `line`; true when that line is refused for coming back to a split order. */
  const open = (id: string, line: number, lineRejected: boolean): boolean => {
    const order: PendingOrder = { id, firstLine: line, lines: [] };
    current = order;
    if (unreadBefore !== undefined) order.heldBy = `line ${unreadBefore} before it could not be read and may be one of its lines`;
    unreadBefore = undefined;
    const apart = split.get(id);
    if (!apart) return false;
    order.heldBy ??= `its line ${apart.again} was rejected`;
    if (line !== apart.again || lineRejected) return false;
    reject(line, `order ${id} already appeared at line ${apart.first}; the lines of one order must be consecutive`);
    return true;
  };

  const flush = async () => {
    if (batch.length === 0) return;
    const pending = batch;
    batch = [];
    batchLines = 0;
    await writes.start(() => write(pending));
  };

  const refuse = (order: PendingOrder, reason: string) => {
    for (const { line } of order.lines) reject(line, `could not be stored: ${reason} (order ${order.id})`);
  };

  /** Looks up the customer and products of each order; lines naming unknown ones are problems. */
  const resolve = async (orders: PendingOrder[]): Promise<Resolution[]> => {
    const unknownSkus = [...new Set(orders.flatMap((o) => o.lines.map((l) => l.record.sku)).filter((sku) => !skuIds.has(sku)))];
    const found = unknownSkus.length ? await productIds(db, unknownSkus) : new Map<string, number>();
    const customers = await customerIds(
      db,
      orders.map((o) => o.lines[0]!.record.customer_id),
    );
    for (const sku of unknownSkus) skuIds.set(sku, found.get(sku) ?? null);
    return orders.map((order) => {
      const problems = order.lines.flatMap(({ line, record }) => {
        const reasons: string[] = [];
        if (!customers.has(record.customer_id)) reasons.push(`customer_id: no customer "${record.customer_id}" (import customers first)`);
        if (skuIds.get(record.sku) == null) reasons.push(`sku: no product "${record.sku}" (import products first)`);
        return reasons.length ? [{ line, reason: reasons.join('; ') }] : [];
      });
      if (problems.length) return { problems };
      const head = order.lines[0]!.record;
      return {
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
      };
    });
  };

  const write = async (pending: PendingOrder[]) => {
    const resolved: [PendingOrder, ResolvedOrder][] = [];
    for (const [order, resolution] of await eachOrAlone(pending, resolve, refuse)) {
      if (resolution.value) {
        resolved.push([order, resolution.value]);
        continue;
      }
      const { problems } = resolution;
      const bad = new Set(problems.map((p) => p.line));
      for (const p of problems) reject(p.line, p.reason);
      for (const { line } of order.lines)
        if (!bad.has(line)) reject(line, `order ${order.id} not imported: its line ${problems[0]!.line} was rejected`);
    }
    const upsert = (items: [PendingOrder, ResolvedOrder][]): Promise<OrderOutcome[]> =>
      db.transaction((tx) =>
        upsertOrders(
          tx,
          items.map(([, value]) => value),
          { history },
        ),
      );
    const stored = await eachOrAlone(resolved, upsert, ([order], reason) => refuse(order, reason));
    for (const [, outcome] of stored) {
      if (outcome.order === 'inserted' && !history) summary.ordersPlaced += 1;
      outcome.items.forEach(count);
    }
  };

  return {
    async add(line) {
      const { order_id: id } = line.record;
      if (current?.id !== id) {
        await close();
        if (open(id, line.line, false)) return;
      } else unreadBefore = undefined;
      const order = current!;
      const head = order.lines[0];
      if (head && (head.record.customer_id !== line.record.customer_id || head.record.ordered_at !== line.record.ordered_at)) {
        reject(line.line, `customer_id and ordered_at must match line ${head.line} of order ${id}`);
        order.heldBy ??= `its line ${line.line} was rejected`;
        return;
      }
      order.lines.push(line);
    },
    async fail(line, values) {
      const id = orderIdOf(values);
      if (id === undefined) {
        // Its order cannot be told: it is the one before this line, or the next one.
        if (current) current.heldBy ??= `line ${line} could not be read and may be one of its lines`;
        unreadBefore ??= line;
        return;
      }
      if (current?.id !== id) {
        await close();
        open(id, line, true);
      } else unreadBefore = undefined;
      current!.heldBy ??= `its line ${line} was rejected`;
    },
    async flush() {
      await close();
      await flush();
      await writes.finish();
    },
  };
}

/**
 * Runs `step` on all `items` at once (one round trip, one transaction); when the database
 * refuses, on each item alone, so that one bad item costs only itself. Returns each item
 * that went through with its result; `refused` hears of the others with a safe reason.
 * A failure that is not about the data stops the import (see {@link storageFailure}).
 */
async function eachOrAlone<T, R>(
  items: T[],
  step: (items: T[]) => Promise<R[]>,
  refused: (item: T, reason: string) => void,
): Promise<[T, R][]> {
  if (items.length === 0) return [];
  try {
    const results = await step(items);
    return items.map((item, index) => [item, results[index]!]);
  } catch (error) {
    const reason = storageFailure(error);
    if (items.length === 1) {
      refused(items[0]!, reason);
      return [];
    }
    const done: [T, R][] = [];
    for (const item of items) done.push(...(await eachOrAlone([item], step, refused)));
    return done;
  }
}

/** What a refused value is, by SQLSTATE: the reason printed instead of the driver's message. */
const SAFE_REASONS: Record<string, string> = {
  '22001': 'a text is longer than the database stores',
  '22003': 'a number is out of the range the database stores',
  '22007': 'a time has a form the database does not accept',
  '22008': 'a time is out of the range the database stores',
  '22021': 'a text holds bytes that are not valid text for the database',
  '22P02': 'a value has a form the database does not accept',
  '22P05': 'a text holds a character the database cannot store (such as a NUL byte)',
  '23502': 'a required value is missing',
  '23503': 'it refers to a row that does not exist',
  '23505': 'it repeats a key that is already stored',
  '23514': 'a value breaks a rule of the database',
  '54000': 'a value is larger than the database allows',
};

/** SQLSTATE classes that say the database itself failed, not this data: the import stops. */
const FATAL_CLASSES = new Set(['08', '53', '57', '58', 'XX']);

/**
 * The safe reason a batch was refused, from the error's SQLSTATE alone; throws a UserError
 * (printed as one line) when the failure is not about the data. Never uses the error's
 * message: drizzle's quotes the whole statement and its parameters.
 */
export function storageFailure(error: unknown): string {
  const code = sqlState(error);
  if (code === undefined || FATAL_CLASSES.has(code.slice(0, 2))) {
    const what = code ? `SQLSTATE ${code}` : errorCode(error);
    throw new UserError(
      `the database failed while storing rows (${what}); the rows committed before stay stored, and importing the file again completes it`,
    );
  }
  const reason = SAFE_REASONS[code] ?? (code.startsWith('22') ? 'the database refused a value' : 'the database refused it');
  return `${reason} (SQLSTATE ${code})`;
}

/** The five-character SQLSTATE of a driver error, looking through the wrapping errors' causes. */
function sqlState(error: unknown): string | undefined {
  for (let e: unknown = error, depth = 0; e && typeof e === 'object' && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return code;
  }
  return undefined;
}

/** A node error code (ECONNRESET) or the error's class name: safe to print, unlike its message. */
function errorCode(error: unknown): string {
  for (let e: unknown = error, depth = 0; e && typeof e === 'object' && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) return code;
  }
  return error instanceof Error ? error.name : 'unknown error';
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
