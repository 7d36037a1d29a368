/**
 * What the platforms' topic handlers share: the check of a mapped record by the API's own
 * schema, the ingest's answer turned into a dead letter's reason, and the shape of a
 * handler. A `Refused` rolls the delivery's transaction back and becomes a dead letter.
 */
import type { z } from 'zod';
import { cancellationRecord, customerRecord, orderRecord, refundRecord } from '../core/records.ts';
import type { Db } from '../db/client.ts';
import type { Json } from '../platforms/payload.ts';
import type { Relay } from '../outbox/relay.ts';
import { knownRefundIds, markOrderVersion, newerOrderStored, type DeliveryOutcome, type Platform } from '../store/webhooks.ts';
import { ingestCancellations, ingestCustomers, ingestOrders, ingestRefunds, type BatchResult } from './batch.ts';

export interface WebhookDeps {
  db: Db;
  relay?: Relay | undefined;
  /** SHOP_CURRENCY: an order in another currency cannot be mapped. */
  shopCurrency: string;
  /** SHOP_URL: product links (never a header's domain, which the signature does not cover). */
  shopUrl?: string | undefined;
  now: () => Date;
}

export interface Delivery {
  platform: Platform;
  deliveryId: string;
  topic: string;
  payload: unknown;
}

export type { Json };

/** What a topic did: the outcome, a reason worth keeping, what to keep (a data request's export), and new orders (to kick the relay). */
export interface Handled {
  outcome: DeliveryOutcome;
  reason?: string;
  keep?: unknown;
  ordersPlaced?: number;
}

/** Carries out one delivery's topic inside its transaction. */
export type TopicHandler = (tx: Db, deps: WebhookDeps, d: Delivery, payload: Json) => Promise<Handled>;

/** Refused by a schema or the ingest: a dead letter. */
export class Refused extends Error {}

/** The record checked by its schema, or a `Refused` naming each field. */
export function checked<S extends z.ZodType>(schema: S, input: unknown, what: string): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  throw new Refused(`${what}: ${result.error.issues.map((i) => `${i.path.join('.') || '(record)'}: ${i.message}`).join('; ')}`);
}

/** The ingest's answer, or a `Refused` with its problems. */
export function stored(result: BatchResult, what: string): BatchResult & { ok: true } {
  if (result.ok) return result;
  throw new Refused(`${what}: ${result.problems.map((p) => `${p.path.slice(1).join('.')}: ${p.message}`).join('; ')}`);
}

/** An order as a platform's payload gives it, mapped (src/platforms). */
export interface PlatformOrder {
  updatedAt: Date | undefined;
  customer: z.input<typeof customerRecord> | undefined;
  order: z.input<typeof orderRecord>;
  cancellation: z.input<typeof cancellationRecord> | undefined;
  refunds: z.input<typeof refundRecord>[];
}

/**
 * Stores an order payload, inside the delivery's transaction: unless a newer version of the
 * order is stored already (a late delivery), the customer (when the payload has one), the
 * order, its cancellation and its refunds (those not stored yet, when `undatedRefunds`: a
 * refund dated by the change that first carried it keeps that date), then the version.
 */
export async function storePlatformOrder(tx: Db, mapped: PlatformOrder, options: { undatedRefunds: boolean }): Promise<Handled> {
  const id = String(mapped.order.order_id);
  if (mapped.updatedAt && (await newerOrderStored(tx, id, mapped.updatedAt)))
    return { outcome: 'ignored', reason: `a late delivery: a newer version of order ${id} is stored` };
  if (mapped.customer) stored(await ingestCustomers(tx, [checked(customerRecord, mapped.customer, 'customer')]), 'customer');
  const order = stored(await ingestOrders(tx, [checked(orderRecord, mapped.order, 'order')]), 'order');
  if (mapped.cancellation)
    stored(await ingestCancellations(tx, [checked(cancellationRecord, mapped.cancellation, 'cancellation')]), 'cancellation');
  const known = options.undatedRefunds
    ? await knownRefundIds(
        tx,
        mapped.refunds.map((r) => String(r.refund_id)),
      )
    : new Set<string>();
  const fresh = mapped.refunds.filter((r) => !known.has(String(r.refund_id)));
  if (fresh.length)
    stored(
      await ingestRefunds(
        tx,
        fresh.map((r, i) => checked(refundRecord, r, `refunds[${i}]`)),
      ),
      'refunds',
    );
  if (mapped.updatedAt) await markOrderVersion(tx, id, mapped.updatedAt);
  return { outcome: 'stored', ordersPlaced: order.ordersPlaced };
}
