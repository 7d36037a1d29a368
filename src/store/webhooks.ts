/**
 * Webhook deliveries from the shop platforms (`webhook_deliveries`): the record that makes a
 * redelivery a no-op and keeps what could not be stored (dead letters) with its reason; and
 * the link from a platform's product id to the skus of its variants, so a deleted product
 * can be withdrawn.
 */
import { sql } from 'drizzle-orm';
import { z } from 'zod';
import { jsonParam, type Db } from '../db/client.ts';
import { parsedRow, parsedRows } from './rows.ts';

export type Platform = 'shopify' | 'woocommerce';
export type DeliveryOutcome = 'stored' | 'ignored' | 'dead_letter' | 'privacy';

/** True when the platform's delivery `deliveryId` was recorded before (any outcome). */
export async function deliverySeen(db: Db, platform: Platform, deliveryId: string): Promise<boolean> {
  const row = await parsedRow(
    db,
    sql`select 1 as seen from webhook_deliveries where platform = ${platform} and delivery_id = ${deliveryId}`,
    z.object({ seen: z.number() }),
  );
  return row !== undefined;
}

/**
 * Records a delivery and what became of it; the first record of a delivery id wins (a
 * redelivery racing the first changes nothing). `payload` is kept for dead letters (to
 * replay them once the cause is fixed) and for data requests (the export).
 */
export async function recordDelivery(
  db: Db,
  d: { platform: Platform; deliveryId: string; topic: string; outcome: DeliveryOutcome; reason?: string | undefined; payload?: unknown },
): Promise<void> {
  await db.execute(sql`
    insert into webhook_deliveries (platform, delivery_id, topic, outcome, reason, payload)
    values (${d.platform}, ${d.deliveryId}, ${d.topic}, ${d.outcome}, ${d.reason ?? null},
            ${d.payload === undefined ? null : jsonParam(d.payload)})
    on conflict (platform, delivery_id) do nothing`);
}

/**
 * Claims a delivery id inside the transaction that stores it: true for the first claim; a
 * concurrent retry of the same delivery waits on this row and, once the first commits, gets
 * false (a duplicate), so a delivery's topic runs once however close the retries come. The
 * outcome is settled by `settleDelivery` in the same transaction.
 */
export async function claimDelivery(db: Db, d: { platform: Platform; deliveryId: string; topic: string }): Promise<boolean> {
  const rows = await parsedRows(
    db,
    sql`insert into webhook_deliveries (platform, delivery_id, topic, outcome)
        values (${d.platform}, ${d.deliveryId}, ${d.topic}, 'stored')
        on conflict (platform, delivery_id) do nothing returning 1 as claimed`,
    z.object({ claimed: z.number() }),
  );
  return rows.length > 0;
}

/** What became of a claimed delivery: its outcome, reason and what is kept of its payload. */
export async function settleDelivery(
  db: Db,
  d: { platform: Platform; deliveryId: string; outcome: DeliveryOutcome; reason?: string | undefined; payload?: unknown },
): Promise<void> {
  await db.execute(sql`
    update webhook_deliveries set outcome = ${d.outcome}, reason = ${d.reason ?? null},
      payload = ${d.payload === undefined ? null : jsonParam(d.payload)}
    where platform = ${d.platform} and delivery_id = ${d.deliveryId}`);
}

const deliveryRow = z.object({
  platform: z.string(),
  delivery_id: z.string(),
  topic: z.string(),
  outcome: z.string(),
  reason: z.string().nullable(),
  received_at: z.coerce.date(),
  /** A payload is kept (a dead letter's body, a data request's export); JSON `null` counts as none. */
  payload_kept: z.boolean(),
});
export type DeliveryRow = z.output<typeof deliveryRow>;

/** A kept payload that is something: SQL NULL and JSON `null` are none. */
const PAYLOAD_KEPT = sql`(payload is not null and jsonb_typeof(payload) <> 'null')`;

/** The latest deliveries with outcome `outcome` (dead letters, by default), newest first. */
export async function recentDeliveries(db: Db, options: { outcome?: DeliveryOutcome; limit?: number } = {}): Promise<DeliveryRow[]> {
  return parsedRows(
    db,
    sql`select platform, delivery_id, topic, outcome, reason, received_at, ${PAYLOAD_KEPT} as payload_kept from webhook_deliveries
        where outcome = ${options.outcome ?? 'dead_letter'} order by received_at desc, delivery_id limit ${options.limit ?? 100}`,
    deliveryRow,
  );
}

const countRow = z.object({ platform: z.string(), outcome: z.string(), deliveries: z.number() });
export type DeliveryCount = z.output<typeof countRow>;

/**
 * How many deliveries each platform sent since `since`, per outcome: only the pairs that
 * occurred (a missing pair is zero), by platform then outcome.
 */
export async function deliveryCounts(db: Db, since: Date): Promise<DeliveryCount[]> {
  return parsedRows(
    db,
    sql`select platform, outcome, count(*)::int as deliveries from webhook_deliveries
        where received_at >= ${since.toISOString()}::timestamptz group by platform, outcome order by platform, outcome`,
    countRow,
  );
}

const storedDelivery = deliveryRow.extend({
  /** The kept payload as indented JSON text (`jsonb_pretty`: 64-bit ids exact); null when none is kept. */
  payload_json: z.string().nullable(),
});
export type StoredDelivery = z.output<typeof storedDelivery>;

/** One delivery with its kept payload, or undefined when the platform never sent `deliveryId`. */
export async function findDelivery(db: Db, platform: Platform, deliveryId: string): Promise<StoredDelivery | undefined> {
  return parsedRow(
    db,
    sql`select platform, delivery_id, topic, outcome, reason, received_at, ${PAYLOAD_KEPT} as payload_kept,
               case when ${PAYLOAD_KEPT} then jsonb_pretty(payload) end as payload_json
        from webhook_deliveries where platform = ${platform} and delivery_id = ${deliveryId}`,
    storedDelivery,
  );
}

/** Marks the products with these skus as variants of the platform's product `productId`. */
export async function linkPlatformProduct(db: Db, productId: string, skus: readonly string[]): Promise<void> {
  await db.execute(sql`update products set platform_product_id = ${productId}
                       where sku in (select jsonb_array_elements_text(${jsonParam(skus)}))`);
}

/**
 * A product deleted on the platform: its variants stay (orders reference them) but are out
 * of stock, so nothing recommends them again. Returns how many were withdrawn.
 */
export async function withdrawPlatformProduct(db: Db, productId: string): Promise<number> {
  const rows = await parsedRows(
    db,
    sql`update products set in_stock = false, updated_at = now() where platform_product_id = ${productId} returning sku`,
    z.object({ sku: z.string() }),
  );
  return rows.length;
}

/**
 * Which of these refund ids are stored already. WooCommerce's order payload lists its
 * refunds without their dates (they are dated by the order's change that first carried
 * them), so a later update of the order must not move a known refund's date.
 */
export async function knownRefundIds(db: Db, refundIds: readonly string[]): Promise<Set<string>> {
  const rows = await parsedRows(
    db,
    sql`select external_id from refunds where external_id in (select jsonb_array_elements_text(${jsonParam(refundIds)}))`,
    z.object({ external_id: z.string() }),
  );
  return new Set(rows.map((r) => r.external_id));
}

/**
 * True when the stored order `orderId` (external id) came from a platform version newer than
 * `updatedAt`: a delivery that arrives late (platforms do not promise order) must not put an
 * older version of the order back.
 */
export async function newerOrderStored(db: Db, orderId: string, updatedAt: Date): Promise<boolean> {
  const row = await parsedRow(
    db,
    sql`select 1 as newer from orders where external_id = ${orderId} and platform_updated_at > ${updatedAt.toISOString()}::timestamptz`,
    z.object({ newer: z.number() }),
  );
  return row !== undefined;
}

/** Records the platform version of order `orderId` just stored (never moving it back). */
export async function markOrderVersion(db: Db, orderId: string, updatedAt: Date): Promise<void> {
  await db.execute(sql`update orders set platform_updated_at = greatest(platform_updated_at, ${updatedAt.toISOString()}::timestamptz)
                       where external_id = ${orderId}`);
}
