/**
 * Opens a file for import as rows, reading shop platforms' catalogs as products too: a
 * Shopify products export (CSV) and a Google Merchant Center feed (XML, or TSV/CSV) are
 * recognised by their header or root element, no flag needed, and mapped (./formats/)
 * into our product rows at their own lines, so that the import loop, its summary, progress
 * and `FILE:LINE` rejections work for them as for our own files.
 *
 * Delimited files stream as before (a Shopify product's rows are held until its Handle
 * ends); an XML feed is read whole, up to `MAX_FEED_BYTES`.
 */
import { readFile, stat } from 'node:fs/promises';
import { isUtf8 } from 'node:buffer';
import type { RecordKind } from '../core/records.ts';
import { FileError } from '../errors.ts';
import { FeedError, isMerchantColumns, mapMerchantItem, MERCHANT_COLUMNS, parseMerchantXml } from './formats/merchant-feed.ts';
import { handleOf, isShopifyProducts, mapShopifyProduct, SHOPIFY_COLUMNS, SHOPIFY_REQUIRED } from './formats/shopify-products.ts';
import { fileProblem, openRows, type FileFormat, type RawRow, type RowSource } from './read.ts';

/** What a catalog's mapping needs to know of the shop (config: SHOP_CURRENCY, SHOP_URL). */
export interface ShopSettings {
  currency: string;
  url?: string | undefined;
}

/** The largest XML feed read (it is parsed in memory); a larger one can come as TSV, which streams. */
export const MAX_FEED_BYTES = 200 * 1024 * 1024;

/** The most rows of one Shopify product held at once (Shopify allows 2,048 variants, 250 images). */
const MAX_PRODUCT_ROWS = 10_000;

/** Opens `path` as rows of `kind`: a products file may be a Shopify export or a Merchant Center feed. */
export async function openImport(path: string, format: FileFormat, kind: RecordKind, shop: ShopSettings): Promise<RowSource> {
  if (format === 'xml') {
    if (kind !== 'products') throw new FileError(`${path}: XML is read only for products (a Google Merchant Center feed)`);
    return xmlFeed(path, shop);
  }
  const source = await openRows(path, format);
  return kind === 'products' && format !== 'jsonl' ? recognising(path, source, shop) : source;
}

type Catalog = 'shopify' | 'merchant' | 'ours';

function catalogOf(columns: string[]): Catalog {
  if (isShopifyProducts(columns)) return 'shopify';
  if (isMerchantColumns(columns)) return 'merchant';
  return 'ours';
}

/** A delimited source whose rows are mapped when its header is a Shopify export's or a feed's. */
function recognising(path: string, source: RowSource, shop: ShopSettings): RowSource {
  return {
    format: source.format,
    columns() {
      const catalog = catalogOf(source.columns());
      return catalog === 'shopify' ? SHOPIFY_COLUMNS : catalog === 'merchant' ? MERCHANT_COLUMNS : source.columns();
    },
    progress: () => source.progress(),
    async *rows() {
      let catalog: Catalog | undefined;
      let product: RawRow[] = [];
      const shopify = { shopUrl: shop.url };
      for await (const row of source.rows()) {
        catalog ??= start(path, source.columns());
        if (catalog === 'ours') yield row;
        else if (catalog === 'merchant') yield row.error || !row.values ? row : mapMerchantItem(row.line, row.values, shop);
        else {
          // A row without a Handle is one the reader could not read: reported, it ends no product.
          const handle = handleOf(row);
          if (handle === undefined) {
            yield row;
            continue;
          }
          if (product.length && (handle !== handleOf(product[0]!) || product.length >= MAX_PRODUCT_ROWS)) {
            yield* mapShopifyProduct(product, shopify);
            product = [];
          }
          product.push(row);
        }
      }
      if (product.length) yield* mapShopifyProduct(product, shopify);
    },
  };
}

/** The catalog a header shows; a Shopify export without a column its mapping needs is a FileError. */
function start(path: string, columns: string[]): Catalog {
  const catalog = catalogOf(columns);
  const missing = SHOPIFY_REQUIRED.filter((name) => !columns.includes(name));
  if (catalog === 'shopify' && missing.length)
    throw new FileError(
      `${path}:1: the header is a Shopify products export's (it has Handle) but lacks ${missing.map((m) => `"${m}"`).join(', ')}; ` +
        'export the products again from Shopify admin (Products → Export)',
    );
  return catalog;
}

/** A Merchant Center XML feed as rows: read whole when `rows()` starts, each item at its line. */
async function xmlFeed(path: string, shop: ShopSettings): Promise<RowSource> {
  const info = await stat(path).catch((error: unknown) => {
    throw fileProblem(path, error);
  });
  if (info.isDirectory()) throw new FileError(`${path}: is a directory, not a file`);
  if (info.size > MAX_FEED_BYTES)
    throw new FileError(
      `${path}: the feed is ${Math.ceil(info.size / 2 ** 20)} MB; XML feeds of up to ${MAX_FEED_BYTES / 2 ** 20} MB are read ` +
        '(fetch the feed as TSV, which is streamed, or split it)',
    );
  let read = 0;
  return {
    format: 'xml',
    columns: () => MERCHANT_COLUMNS,
    progress: () => ({ read, total: info.size }),
    async *rows() {
      read = 0;
      const bytes = await readFile(path).catch((error: unknown) => {
        throw fileProblem(path, error);
      });
      if (bytes.length > MAX_FEED_BYTES) throw new FileError(`${path}: the feed grew over ${MAX_FEED_BYTES / 2 ** 20} MB while read`);
      if (!isUtf8(bytes)) throw new FileError(`${path}: is not valid UTF-8 text (save the feed as UTF-8)`);
      let items;
      try {
        items = parseMerchantXml(bytes.toString('utf8'));
      } catch (error) {
        if (error instanceof FeedError) throw new FileError(`${path}${error.line ? `:${error.line}` : ''}: ${error.message}`);
        throw error;
      }
      read = info.size;
      for (const item of items) yield mapMerchantItem(item.line, item.values, shop);
    },
  };
}
