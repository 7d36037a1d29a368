/**
 * Shopify's topics, carried out: each payload mapped (src/platforms/shopify.ts), checked by
 * the API's schemas and stored by the same ingest, inside the delivery's transaction.
 */
import { customerRecord, productRecord, refundRecord } from '../core/records.ts';
import type { Db } from '../db/client.ts';
import { MappingError } from '../errors.ts';
import { guestKey, isObject, text } from '../platforms/payload.ts';
import { shopifyCustomer, shopifyOrder, shopifyProducts, shopifyRefund } from '../platforms/shopify.ts';
import { customerExport, eraseCustomer, eraseEveryCustomer } from '../store/customer-data.ts';
import { linkPlatformProduct, withdrawPlatformProduct } from '../store/webhooks.ts';
import { ingestCustomers, ingestProducts, ingestRefunds } from './batch.ts';
import {
  checked,
  stored,
  storePlatformOrder,
  type Delivery,
  type Handled,
  type Json,
  type TopicHandler,
  type WebhookDeps,
} from './webhook-records.ts';

/** What a Shopify topic does, inside the delivery's transaction; returns the outcome and, for privacy requests, what to keep. */
export const shopifyTopic: TopicHandler = async (tx: Db, deps: WebhookDeps, d: Delivery, payload: Json): Promise<Handled> => {
  switch (d.topic) {
    case 'orders/create':
    case 'orders/updated':
    case 'orders/cancelled':
    case 'orders/paid':
    case 'orders/fulfilled': {
      // Shopify's refunds carry their own dates: upserted as they are.
      return storePlatformOrder(tx, shopifyOrder(payload, deps.shopCurrency), { undatedRefunds: false });
    }
    case 'refunds/create': {
      const refund = shopifyRefund(payload);
      if (!refund) return { outcome: 'ignored', reason: 'the refund gave no money back' };
      stored(await ingestRefunds(tx, [checked(refundRecord, refund, 'refund')]), 'refund');
      return { outcome: 'stored' };
    }
    case 'products/create':
    case 'products/update': {
      const { productId, products } = shopifyProducts(payload, deps.shopUrl);
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
      let erased = await eraseCustomer(tx, id, deps.now());
      // A guest checkout's customer is keyed by their address's hash, not Shopify's id.
      const email = isObject(payload.customer) ? text(payload.customer.email) : undefined;
      if (erased.status === 'not-found' && email) erased = await eraseCustomer(tx, guestKey(email), deps.now());
      return { outcome: 'privacy', reason: `customer ${id}: ${erased.status}` };
    }
    case 'shop/redact': {
      // The shop uninstalled the app 48 hours ago: every customer's personal data goes, the figures stay.
      const erased = await eraseEveryCustomer(tx, deps.now());
      return { outcome: 'privacy', reason: `the shop's data was erased: ${erased.customers} customers` };
    }
    default:
      return { outcome: 'ignored', reason: `unknown topic "${d.topic}"` };
  }
};

/** A privacy payload's customer id (`customer.id`). */
function customerIdOf(payload: Json): string {
  const customer = payload.customer as Json | undefined;
  const id = customer?.id;
  if (typeof id !== 'number' && typeof id !== 'string') throw new MappingError('the payload has no customer.id');
  return String(id);
}
