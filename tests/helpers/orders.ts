/** Orders with lines through the ingest path (as the API and the importer store them), for tests that read their lines. */
import { sql } from 'drizzle-orm';
import { expect } from 'vitest';
import { queryRows, type Db } from '../../src/db/client.ts';
import { ingestCancellations, ingestOrders, ingestRefunds } from '../../src/ingest/batch.ts';

/** An order line: SKU, quantity, unit price. */
export type Line = [sku: string, quantity: number, unitPrice: string];

/** Ingests one order of `lines` for a customer (by external id) per call, numbered `${prefix}0`, `${prefix}1`, …: its external id. */
export function orderIngester(db: Db, prefix: string): (customer: string, orderedAt: string, lines: Line[]) => Promise<string> {
  let next = 0;
  return async (customer, orderedAt, lines) => {
    const orderId = `${prefix}${next++}`;
    const result = await ingestOrders(db, [
      {
        order_id: orderId,
        customer_id: customer,
        ordered_at: orderedAt,
        items: lines.map(([sku, quantity, unit_price]) => ({ sku, quantity, unit_price })),
      },
    ]);
    expect(result.ok).toBe(true);
    return orderId;
  };
}

/** The internal id of the order whose external id is `external`. */
export async function orderIdOf(db: Db, external: string): Promise<number> {
  return Number((await queryRows<{ id: number }>(db, sql`select id from orders where external_id = ${external}`))[0]!.id);
}

/** Ingests `refunds`, then `cancellations`, as the API does: each batch must be accepted whole. */
export async function refundAndCancel(
  db: Db,
  refunds: Parameters<typeof ingestRefunds>[1],
  cancellations: Parameters<typeof ingestCancellations>[1],
): Promise<void> {
  expect((await ingestRefunds(db, refunds)).ok).toBe(true);
  expect((await ingestCancellations(db, cancellations)).ok).toBe(true);
}
