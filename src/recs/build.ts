/**
 * Builds the co-purchase statistics from the order items (the math is in
 * core/copurchase.ts; this is the data access). It streams orders in id order, in windows,
 * one basket per order, and stores the top neighbours of every product plus the full
 * counts, so the next build can continue from where this one stopped (incremental) and
 * agree exactly with a rebuild from scratch.
 */
import { sql } from 'drizzle-orm';
import { CoPurchaseCounter } from '../core/copurchase.ts';
import { copyNumberRows, queryRows, type Db } from '../db/client.ts';

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

/**
 * Calls `visit` with the distinct product ids of each order after `afterId`, in id order.
 * The next window is asked for before the current one is visited, so the database reads
 * while the caller counts.
 */
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
  const end = max ?? 0;
  // One row per order, its products aggregated: a window is one round trip.
  const read = (lo: number) =>
    queryRows<{ order_id: number; items: number[] }>(
      db,
      sql`select oi.order_id, array_agg(oi.product_id) as items
          from order_items oi
          where oi.order_id > ${lo} and oi.order_id <= ${lo + window}
          group by oi.order_id order by oi.order_id`,
    );
  let last = afterId;
  let next = afterId < end ? read(afterId) : undefined;
  try {
    for (let lo = afterId; lo < end; lo += window) {
      const rows = await next!;
      next = lo + window < end ? read(lo + window) : undefined;
      for (const row of rows) visit(row.order_id, row.items);
      last = Math.min(lo + window, end);
    }
  } finally {
    // A visit that threw leaves a read in flight: let it settle, unobserved.
    await next?.catch(() => undefined);
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

const PAIR_COLUMNS = [
  ['product_id', 'int4'],
  ['related_product_id', 'int4'],
  ['pair_orders', 'int4'],
  ['support', 'float8'],
  ['confidence', 'float8'],
  ['lift', 'float8'],
  ['score', 'float8'],
] as const;

/**
 * Replaces the stored neighbours, product counts and state in one transaction; the rows go
 * in by a binary COPY, each float as its exact bits.
 */
async function saveStatistics(db: Db, counter: CoPurchaseCounter, lastOrderId: number, k: number): Promise<void> {
  const neighbours = counter.topNeighbours(k);
  const rows: number[][] = [];
  for (const [productId, list] of neighbours)
    for (const { productId: related, measures: m } of list)
      rows.push([productId, related, m.pairOrders, m.support, m.confidence, m.lift, m.score]);
  const products: number[][] = [];
  counter.productOrders.forEach((n, p) => n > 0 && products.push([p, n]));

  await db.transaction(async (tx) => {
    await tx.execute(sql`delete from copurchase_pairs`);
    await tx.execute(sql`delete from copurchase_products`);
    await copyNumberRows(tx, 'copurchase_pairs', PAIR_COLUMNS, rows);
    await copyNumberRows(
      tx,
      'copurchase_products',
      [
        ['product_id', 'int4'],
        ['orders', 'int4'],
      ],
      products,
    );
    await tx.execute(sql`
      insert into copurchase_state (id, orders, pairs, last_order_id, built_at, counts)
      values (1, ${counter.totalOrders}, ${counter.pairCount}, ${lastOrderId}, now(), ${counter.serialize()})
      on conflict (id) do update set orders = excluded.orders, pairs = excluded.pairs,
        last_order_id = excluded.last_order_id, built_at = excluded.built_at, counts = excluded.counts`);
  });
}
