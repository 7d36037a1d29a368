/**
 * Ingest of one validated batch, all or nothing, as the HTTP API needs it: duplicate keys
 * and unknown references are returned as problems (with the path of the offending field)
 * and nothing is stored; otherwise every record is upserted in one transaction.
 */
import type { CancellationRecord, CustomerRecord, OrderRecord, ProductRecord, RefundRecord } from '../core/records.ts';
import type { Db } from '../db/client.ts';
import {
  cancelOrders,
  customerIds,
  productIds,
  upsertCustomers,
  upsertOrders,
  upsertProducts,
  upsertRefunds,
  type Checked,
  type Outcome,
} from './store.ts';

export interface Problem {
  path: (string | number)[];
  message: string;
}

export type BatchResult =
  { ok: true; outcomes: { key: string; outcome: Outcome }[]; ordersPlaced: number } | { ok: false; problems: Problem[] };

export async function ingestProducts(db: Db, records: ProductRecord[]): Promise<BatchResult> {
  const problems = duplicates(
    records.map((r) => r.sku),
    'sku',
  );
  if (problems.length) return { ok: false, problems };
  const outcomes = await db.transaction((tx) => upsertProducts(tx, records));
  return { ok: true, ordersPlaced: 0, outcomes: outcomes.map((outcome, i) => ({ key: records[i]!.sku, outcome })) };
}

export async function ingestCustomers(db: Db, records: CustomerRecord[]): Promise<BatchResult> {
  const problems = duplicates(
    records.map((r) => r.customer_id),
    'customer_id',
  );
  if (problems.length) return { ok: false, problems };
  const outcomes = await db.transaction((tx) => upsertCustomers(tx, records));
  return { ok: true, ordersPlaced: 0, outcomes: outcomes.map((outcome, i) => ({ key: records[i]!.customer_id, outcome })) };
}

export async function ingestOrders(db: Db, records: OrderRecord[]): Promise<BatchResult> {
  const problems = duplicates(
    records.map((r) => r.order_id),
    'order_id',
  );
  if (problems.length) return { ok: false, problems };
  return db.transaction(async (tx): Promise<BatchResult> => {
    const customers = await customerIds(
      tx,
      records.map((r) => r.customer_id),
    );
    const products = await productIds(
      tx,
      records.flatMap((r) => r.items.map((i) => i.sku)),
    );
    records.forEach((record, i) => {
      if (!customers.has(record.customer_id)) problems.push({ path: [i, 'customer_id'], message: `no customer "${record.customer_id}"` });
      record.items.forEach((item, j) => {
        if (!products.has(item.sku)) problems.push({ path: [i, 'items', j, 'sku'], message: `no product "${item.sku}"` });
      });
    });
    if (problems.length) return { ok: false, problems };
    const outcomes = await upsertOrders(
      tx,
      records.map((r) => ({
        externalId: r.order_id,
        customerId: customers.get(r.customer_id)!,
        orderedAt: r.ordered_at,
        discountCode: r.discount_code,
        discountTotal: r.discount_total,
        items: r.items.map((item) => ({ productId: products.get(item.sku)!, quantity: item.quantity, unitPrice: item.unit_price })),
      })),
    );
    return {
      ok: true,
      ordersPlaced: outcomes.filter((o) => o.order === 'inserted').length,
      outcomes: outcomes.map((o, i) => ({ key: records[i]!.order_id, outcome: o.order })),
    };
  });
}

/** Refunds, all or nothing: a refund for an unknown order, or past what its order has left, refuses the request. */
export function ingestRefunds(db: Db, records: RefundRecord[]): Promise<BatchResult> {
  return checkedBatch(
    db,
    records,
    (r) => r.refund_id,
    'refund_id',
    (tx) => upsertRefunds(tx, records, { allOrNothing: true }),
  );
}

/** Cancellations, all or nothing: an unknown order refuses the request. */
export function ingestCancellations(db: Db, records: CancellationRecord[]): Promise<BatchResult> {
  return checkedBatch(
    db,
    records,
    (r) => r.order_id,
    'order_id',
    (tx) => cancelOrders(tx, records, { allOrNothing: true }),
  );
}

async function checkedBatch<T>(
  db: Db,
  records: T[],
  keyOf: (record: T) => string,
  field: string,
  store: (tx: Db) => Promise<Checked[]>,
): Promise<BatchResult> {
  const problems = duplicates(records.map(keyOf), field);
  if (problems.length) return { ok: false, problems };
  // The store writes nothing when it refuses any record, so returning the problems from the transaction stores none.
  return db.transaction(async (tx): Promise<BatchResult> => {
    const results = await store(tx);
    results.forEach((result, i) => {
      if (result.problem) problems.push({ path: [i, result.problem.field], message: result.problem.message });
    });
    if (problems.length) return { ok: false, problems };
    return { ok: true, ordersPlaced: 0, outcomes: results.map((r, i) => ({ key: keyOf(records[i]!), outcome: r.outcome! })) };
  });
}

function duplicates(keys: string[], field: string): Problem[] {
  const first = new Map<string, number>();
  const problems: Problem[] = [];
  keys.forEach((key, index) => {
    const seen = first.get(key);
    if (seen === undefined) first.set(key, index);
    else problems.push({ path: [index, field], message: `duplicates [${seen}].${field} "${key}" in the same request` });
  });
  return problems;
}
