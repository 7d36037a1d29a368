/**
 * WooCommerce's topics, carried out: each payload mapped (src/platforms/woocommerce.ts),
 * checked by the API's schemas and stored by the same ingest, inside the delivery's
 * transaction.
 */
import { customerRecord, productRecord } from '../core/records.ts';
import { MappingError } from '../errors.ts';
import { wooCustomer, wooOrder, wooProduct } from '../platforms/woocommerce.ts';
import { linkPlatformProduct, withdrawPlatformProduct } from '../store/webhooks.ts';
import { ingestCustomers, ingestProducts } from './batch.ts';
import { checked, stored, storePlatformOrder, type TopicHandler } from './webhook-records.ts';

export const wooCommerceTopic: TopicHandler = async (tx, deps, d, payload) => {
  switch (d.topic) {
    case 'order.created':
    case 'order.updated':
    case 'order.restored': {
      const mapped = wooOrder(payload, deps.shopCurrency);
      if (!mapped)
        return { outcome: 'ignored', reason: `order ${String(payload.id)} is ${String(payload.status)}: stored once it is paid` };
      // WooCommerce's refunds come undated: each keeps the date of the change that first carried it.
      return storePlatformOrder(tx, mapped, { undatedRefunds: true });
    }
    case 'product.created':
    case 'product.updated':
    case 'product.restored': {
      const mapped = wooProduct(payload);
      if (!mapped) return { outcome: 'ignored', reason: 'a variable product: its variations come from the catalog import' };
      stored(await ingestProducts(tx, [checked(productRecord, mapped.product, 'product')]), 'product');
      await linkPlatformProduct(tx, mapped.productId, [String(mapped.product.sku)]);
      return { outcome: 'stored' };
    }
    case 'product.deleted': {
      const id = payload.id;
      if (typeof id !== 'number' && typeof id !== 'string') throw new MappingError('the payload has no id');
      const withdrawn = await withdrawPlatformProduct(tx, String(id));
      return { outcome: 'stored', reason: `${withdrawn} products withdrawn (out of stock; kept for the orders that name them)` };
    }
    case 'customer.created':
    case 'customer.updated': {
      const customer = wooCustomer(payload);
      if (!customer) return { outcome: 'ignored', reason: 'a customer without an email address is never mailed' };
      stored(await ingestCustomers(tx, [checked(customerRecord, customer, 'customer')]), 'customer');
      return { outcome: 'stored' };
    }
    default:
      return { outcome: 'ignored', reason: `unknown topic "${d.topic}"` };
  }
};
