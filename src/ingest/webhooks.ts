/**
 * A shop platform's webhook delivery, received: seen before → nothing; else its payload is
 * mapped to the engine's records (src/platforms), checked by the same schemas as the API's,
 * and stored by the same ingest, all in one transaction, so a delivery is stored whole or
 * not at all. What cannot be mapped or is refused is kept as a dead letter with the reason
 * (and the payload, to replay once the cause is fixed); an unknown topic is recorded and
 * ignored. Every outcome is answered 200 by the route: the platform retries only what the
 * engine could not take in at all (a 5xx: the database was down), and a retry is harmless.
 */
import type { z } from 'zod';
import { cancellationRecord, customerRecord, orderRecord, productRecord, refundRecord } from '../core/records.ts';
import type { Db } from '../db/client.ts';
import type { Relay } from '../outbox/relay.ts';
import { MappingError, shopifyCustomer, shopifyOrder, shopifyProducts, shopifyRefund } from '../platforms/shopify.ts';
import { customerExport, eraseCustomer } from '../store/customer-data.ts';
import {
  deliverySeen,
  linkPlatformProduct,
  recordDelivery,
  withdrawPlatformProduct,
  type DeliveryOutcome,
  type Platform,
} from '../store/webhooks.ts';
import { ingestCancellations, ingestCustomers, ingestOrders, ingestProducts, ingestRefunds, type BatchResult } from './batch.ts';

export interface WebhookDeps {
  db: Db;
  relay?: Relay | undefined;
  /** SHOP_CURRENCY: an order in another currency cannot be mapped. */
  shopCurrency: string;
  now: () => Date;
}

export interface Delivery {
  platform: Platform;
  deliveryId: string;
  topic: string;
  payload: unknown;
  /** The shop's domain (X-Shopify-Shop-Domain), for product links. */
  shopDomain?: string | undefined;
}

export type Received = { outcome: 'duplicate' } | { outcome: DeliveryOutcome; reason?: string | undefined };

/** Refused by a schema or the ingest: a dead letter. */
class Refused extends Error {}

/** The record checked by its schema, or a `Refused` naming each field. */
function checked<S extends z.ZodType>(schema: S, input: unknown, what: string): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  throw new Refused(`${what}: ${result.error.issues.map((i) => `${i.path.join('.') || '(record)'}: ${i.message}`).join('; ')}`);
}

/** The ingest's answer, or a `Refused` with its problems. */
function stored(result: BatchResult, what: string): BatchResult & { ok: true } {
  if (result.ok) return result;
  throw new Refused(`${what}: ${result.problems.map((p) => `${p.path.slice(1).join('.')}: ${p.message}`).join('; ')}`);
}

type Json = Record<string, unknown>;

/** What a Shopify topic does, inside the delivery's transaction; returns the outcome and, for privacy requests, what to keep. */
async function shopifyTopic(
  tx: Db,
  deps: WebhookDeps,
  d: Delivery,
  payload: Json,
): Promise<{ outcome: DeliveryOutcome; reason?: string; keep?: unknown; ordersPlaced?: number }> {
  switch (d.topic) {
    case 'orders/create':
    case 'orders/updated':
    case 'orders/cancelled':
    case 'orders/paid':
    case 'orders/fulfilled': {
      const mapped = shopifyOrder(payload, deps.shopCurrency);
      if (mapped.customer) stored(await ingestCustomers(tx, [checked(customerRecord, mapped.customer, 'customer')]), 'customer');
      const order = stored(await ingestOrders(tx, [checked(orderRecord, mapped.order, 'order')]), 'order');
      if (mapped.cancellation)
        stored(await ingestCancellations(tx, [checked(cancellationRecord, mapped.cancellation, 'cancellation')]), 'cancellation');
      if (mapped.refunds.length)
        stored(
          await ingestRefunds(
            tx,
            mapped.refunds.map((r, i) => checked(refundRecord, r, `refunds[${i}]`)),
          ),
          'refunds',
        );
      return { outcome: 'stored', ordersPlaced: order.ordersPlaced };
    }
    case 'refunds/create': {
      const refund = shopifyRefund(payload);
      if (!refund) return { outcome: 'ignored', reason: 'the refund gave no money back' };
      stored(await ingestRefunds(tx, [checked(refundRecord, refund, 'refund')]), 'refund');
      return { outcome: 'stored' };
    }
    case 'products/create':
    case 'products/update': {
      const { productId, products } = shopifyProducts(payload, d.shopDomain);
      stored(
        await ingestProducts(
          tx,
          products.map((p, i) => checked(productRecord, p, `variants[${i}]`)),
        ),
        'products',
      );
      await linkPlatformProduct(
        tx,
        productId,
        products.map((p) => String(p.sku)),
      );
      return { outcome: 'stored' };
    }
    case 'products/delete': {
      const id = payload.id;
      if (typeof id !== 'number' && typeof id !== 'string') throw new MappingError('the payload has no id');
      const withdrawn = await withdrawPlatformProduct(tx, String(id));
      return { outcome: 'stored', reason: `${withdrawn} variants withdrawn (out of stock; kept for the orders that name them)` };
    }
    case 'customers/create':
    case 'customers/update': {
      const customer = shopifyCustomer(payload);
      if (!customer) return { outcome: 'ignored', reason: 'a customer without an email address is never mailed' };
      stored(await ingestCustomers(tx, [checked(customerRecord, customer, 'customer')]), 'customer');
      return { outcome: 'stored' };
    }
    case 'customers/data_request': {
      const id = customerIdOf(payload);
      const data = await customerExport(tx, id);
      return data
        ? { outcome: 'privacy', reason: `exported everything stored about customer ${id}: send it to the shop owner`, keep: data }
        : { outcome: 'privacy', reason: `nothing is stored about customer ${id}` };
    }
    case 'customers/redact': {
      const id = customerIdOf(payload);
      const erased = await eraseCustomer(tx, id, deps.now());
      return { outcome: 'privacy', reason: `customer ${id}: ${erased.status}` };
    }
    case 'shop/redact':
      return {
        outcome: 'privacy',
        reason: "the shop asked for all its data to be erased: erase each customer (campaign customers erase) or drop the shop's database",
      };
    default:
      return { outcome: 'ignored', reason: `unknown topic "${d.topic}"` };
  }
}

/** A privacy payload's customer id (`customer.id`). */
function customerIdOf(payload: Json): string {
  const customer = payload.customer as Json | undefined;
  const id = customer?.id;
  if (typeof id !== 'number' && typeof id !== 'string') throw new MappingError('the payload has no customer.id');
  return String(id);
}

/**
 * Receives one delivery: a duplicate changes nothing; otherwise its topic is carried out in
 * one transaction with the record of the delivery, or, refused, nothing of it is stored and
 * it becomes a dead letter.
 */
export async function receiveDelivery(deps: WebhookDeps, d: Delivery): Promise<Received> {
  if (await deliverySeen(deps.db, d.platform, d.deliveryId)) return { outcome: 'duplicate' };
  const record = { platform: d.platform, deliveryId: d.deliveryId, topic: d.topic };
  if (typeof d.payload !== 'object' || d.payload === null || Array.isArray(d.payload)) {
    const reason = 'the body is not a JSON object';
    await recordDelivery(deps.db, { ...record, outcome: 'dead_letter', reason, payload: d.payload ?? null });
    return { outcome: 'dead_letter', reason };
  }
  const payload = d.payload as Json;
  try {
    const done = await deps.db.transaction(async (tx) => {
      const result = await shopifyTopic(tx, deps, d, payload);
      await recordDelivery(tx, { ...record, outcome: result.outcome, reason: result.reason, payload: result.keep });
      return result;
    });
    if (done.ordersPlaced) deps.relay?.kick();
    return { outcome: done.outcome, reason: done.reason };
  } catch (error) {
    if (!(error instanceof MappingError || error instanceof Refused)) throw error;
    await recordDelivery(deps.db, { ...record, outcome: 'dead_letter', reason: error.message, payload });
    return { outcome: 'dead_letter', reason: error.message };
  }
}
