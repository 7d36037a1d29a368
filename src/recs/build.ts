/**
 * Builds the co-purchase statistics from the order items (the math is in
 * core/copurchase.ts; this is the data access). It streams orders in id order, in windows,
 * one basket per order, and stores the top neighbours of every product plus the full
 * counts, so the next build can continue from where this one stopped (incremental) and
 * agree exactly with a rebuild from scratch.
 */
import { sql } from 'drizzle-orm';
import { CoPurchaseCounter } from '../core/copurchase.ts';
import { jsonParam, queryRows, type Db } from '../db/client.ts';

export interface BuildOptions {
  /** Ignore stored counts and read every order again. */
  full?: boolean;
  /** Neighbours kept per product. */
  neighbours?: number;
  /** Orders read per query. */
  window?: number;
  onProgress?: (ordersRead: number) => void;
}

export interface BuildResult {
  mode: 'full' | 'incremental';
  /** Orders added by this build. */
  ordersRead: number;
  totalOrders: number;
  pairs: number;
  products: number;
  lastOrderId: number;
}

/** Calls `visit` with the distinct product ids of each order after `afterId`, in id order. */
export async function streamBaskets(
  db: Db,
  afterId: number,
  visit: (orderId: number, productIds: number[]) => void,
  options: { window?: number } = {},
): Promise<number> {
  const window = options.window ?? 20_000;
  const [{ max }] = (await queryRows<{ max: number | null }>(db, sql`select max(id)::bigint as max from orders`)) as [
    { max: number | null },
  ];
  let last = afterId;
  for (let lo = afterId; lo < (max ?? 0); lo += window) {
    // One row per order, its products aggregated: a window is one round trip.
    const rows = await queryRows<{ order_id: number; items: number[] }>(
      db,
      sql`select oi.order_id, array_agg(oi.product_id) as items
          from order_items oi
          where oi.order_id > ${lo} and oi.order_id <= ${lo + window}
          group by oi.order_id order by oi.order_id`,
    );
    for (const row of rows) visit(row.order_id, row.items);
    last = Math.min(lo + window, max ?? 0);
  }
  return last;
}

async function loadCounter(db: Db): Promise<{ counter: CoPurchaseCounter; lastOrderId: number } | undefined> {
  const [state] = await queryRows<{ counts: Uint8Array | null; last_order_id: number }>(
    db,
    sql`select counts, last_order_id from copurchase_state where id = 1`,
  );
  if (!state?.counts) return undefined;
  return { counter: CoPurchaseCounter.deserialize(state.counts), lastOrderId: state.last_order_id };
}

export async function buildStatistics(db: Db, options: BuildOptions = {}): Promise<BuildResult> {
  const stored = options.full ? undefined : await loadCounter(db);
  const counter = stored?.counter ?? new CoPurchaseCounter();
  let ordersRead = 0;
  const lastOrderId = await streamBaskets(
    db,
    stored?.lastOrderId ?? 0,
    (_orderId, items) => {
      counter.addBasket(items);
      ordersRead += 1;
      if (ordersRead % 10_000 === 0) options.onProgress?.(ordersRead);
    },
    { window: options.window },
  );
  await saveStatistics(db, counter, lastOrderId, options.neighbours ?? 10);
  return {
    mode: stored ? 'incremental' : 'full',
    ordersRead,
    totalOrders: counter.totalOrders,
    pairs: counter.pairCount,
    products: counter.productOrders.filter((n) => n > 0).length,
    lastOrderId,
  };
}

/** Replaces the stored neighbours, product counts and state in one transaction. */
async function saveStatistics(db: Db, counter: CoPurchaseCounter, lastOrderId: number, k: number): Promise<void> {
  const neighbours = counter.topNeighbours(k);
  const rows: unknown[] = [];
  for (const [productId, list] of neighbours)
    for (const { productId: related, measures: m } of list)
      rows.push({ p: productId, r: related, n: m.pairOrders, s: m.support, c: m.confidence, l: m.lift, x: m.score });
  const products: { p: number; n: number }[] = [];
  counter.productOrders.forEach((n, p) => n > 0 && products.push({ p, n }));

  await db.transaction(async (tx) => {
    await tx.execute(sql`delete from copurchase_pairs`);
    await tx.execute(sql`delete from copurchase_products`);
    for (let i = 0; i < rows.length; i += 10_000)
      await tx.execute(sql`
        insert into copurchase_pairs (product_id, related_product_id, pair_orders, support, confidence, lift, score)
        select p, r, n, s, c, l, x from jsonb_to_recordset(${jsonParam(rows.slice(i, i + 10_000))})
          as t(p int, r int, n int, s float8, c float8, l float8, x float8)`);
    for (let i = 0; i < products.length; i += 20_000)
      await tx.execute(sql`
        insert into copurchase_products (product_id, orders)
        select p, n from jsonb_to_recordset(${jsonParam(products.slice(i, i + 20_000))}) as t(p int, n int)`);
    await tx.execute(sql`
      insert into copurchase_state (id, orders, pairs, last_order_id, built_at, counts)
      values (1, ${counter.totalOrders}, ${counter.pairCount}, ${lastOrderId}, now(), ${counter.serialize()})
      on conflict (id) do update set orders = excluded.orders, pairs = excluded.pairs,
        last_order_id = excluded.last_order_id, built_at = excluded.built_at, counts = excluded.counts`);
  });
}
