/**
 * The orders of an orders file: consecutive lines with one order_id form an order, stored
 * whole or not at all. The file is read twice: the first pass (`splitOrders`) only notes
 * which order ids come back after another order began (their lines are not consecutive);
 * the second (`orderSink`) holds those orders back from their first line on. So an order
 * is complete before it is written, and no batch is ever committed with an order that a
 * later line would have refused.
 */
import { isPlainId } from '../core/order-line.ts';
import { discountProblem, orderLineRecord, orderTotalProblem, type OrderLineRecord } from '../core/records.ts';
import { toUnits } from '../core/money.ts';
import type { Db } from '../db/client.ts';
import type { RowSource } from './read.ts';
import { InFlight, type ImportSummary, type Line, type Sink } from './sink.ts';
import { eachOrAlone } from './storage-failure.ts';
import { importOrders, type FileOrder, type Outcome } from './store.ts';

/** An order whose lines are not consecutive: where it first began, and the line it came back at. */
export interface SplitOrder {
  first: number;
  again: number;
}

/** The order a row names, as the schema reads `order_id` (or as written, when that fails); undefined when none. */
function orderIdOf(values: Record<string, unknown> | undefined): string | undefined {
  if (values === undefined || !('order_id' in values)) return undefined;
  const raw = values.order_id;
  if (isPlainId(raw)) return raw;
  const parsed = orderLineRecord.shape.order_id.safeParse(raw);
  if (parsed.success) return parsed.data;
  const text = typeof raw === 'string' ? raw.trim() : typeof raw === 'number' && Number.isFinite(raw) ? String(raw) : '';
  return text || undefined;
}

/**
 * The first pass over an orders file: the orders whose lines are not consecutive. Only the
 * order ids are kept (one Map entry per order); rows that name no order break no run.
 */
export async function splitOrders(source: RowSource, checkHeader: (columns: string[]) => void): Promise<Map<string, SplitOrder>> {
  const closed = new Map<string, number>();
  const split = new Map<string, SplitOrder>();
  let current: string | undefined;
  let currentFirst = 0;
  let headerChecked = false;
  for await (const row of source.rows()) {
    if (!headerChecked && source.format === 'csv') {
      checkHeader(source.columns());
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

/** A complete order as the store takes it: the head from its first line, the discount from the first line that gives one. */
function fileOrder(order: PendingOrder): FileOrder {
  const head = order.lines[0]!.record;
  return {
    externalId: order.id,
    customerId: head.customer_id,
    orderedAt: head.ordered_at,
    discountCode: order.lines.find(({ record }) => record.discount_code !== undefined)?.record.discount_code,
    discountTotal: order.lines.find(({ record }) => record.discount_total !== undefined)?.record.discount_total,
    lines: order.lines.map(({ line, record }) => ({ line, sku: record.sku, quantity: record.quantity, unitPrice: record.unit_price })),
  };
}

/** Whether two lines give the same discount code, or the same discount amount however written (`5` and `5.00`). */
function sameDiscount(field: 'discount_code' | 'discount_total', a: string, b: string): boolean {
  return field === 'discount_total' ? toUnits(a) === toUnits(b) : a === b;
}

interface PendingOrder {
  id: string;
  firstLine: number;
  /** Its lines not yet reported: every line that was read and not itself rejected. */
  lines: Line<OrderLineRecord>[];
  /** Why the order is held back (`its line 5 was rejected`), once it is. */
  heldBy?: string;
}

/**
 * Orders: consecutive lines with one order_id form an order, stored whole or not at all.
 * `split` (from the first pass) names the orders whose lines are not consecutive.
 *
 * A line that cannot be read and names no order may belong to the order before it or the
 * one after it (the lines of one order are consecutive), so both are held back.
 */
export function orderSink(
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
    const discounted = order.lines.find(({ record }) => record.discount_total !== undefined);
    const discount = discountProblem(
      discounted?.record.discount_total,
      order.lines.map(({ record }) => record),
    );
    if (discounted && discount) {
      reject(discounted.line, `discount_total: ${discount} (got ${discounted.record.discount_total})`);
      for (const { line } of order.lines)
        if (line !== discounted.line) reject(line, `order ${order.id} not imported: its line ${discounted.line} was rejected`);
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

  /** The batch in one transaction (./store.ts `importOrders`); an order a line of which names an unknown customer or sku is reported whole. */
  const write = async (pending: PendingOrder[]) => {
    const store = (orders: PendingOrder[]) => db.transaction((tx) => importOrders(tx, orders.map(fileOrder), { history }));
    for (const [order, result] of await eachOrAlone(pending, store, refuse)) {
      if (result.outcome) {
        if (result.outcome.order === 'inserted' && !history) summary.ordersPlaced += 1;
        result.outcome.items.forEach(count);
        continue;
      }
      const { problems } = result;
      const bad = new Set(problems.map((p) => p.line));
      for (const p of problems) reject(p.line, p.reason);
      for (const { line } of order.lines)
        if (!bad.has(line)) reject(line, `order ${order.id} not imported: its line ${problems[0]!.line} was rejected`);
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
      // The order's discount may be repeated on each line or given on one; lines that give it must agree.
      for (const field of ['discount_code', 'discount_total'] as const) {
        const given = order.lines.find(({ record }) => record[field] !== undefined);
        const value = line.record[field];
        if (given && value !== undefined && !sameDiscount(field, value, given.record[field]!)) {
          reject(line.line, `${field}: must match line ${given.line} of order ${id} (${given.record[field]}, got ${value})`);
          order.heldBy ??= `its line ${line.line} was rejected`;
          return;
        }
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
