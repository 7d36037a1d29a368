/**
 * A Shopify products export (admin: Products → Export, "CSV for Excel" or "plain CSV"),
 * recognised by its header and mapped into our product rows, one per variant. Pure: the
 * rows of one product in, product rows out; ../catalog.ts streams a file through it.
 *
 * The export writes one row per variant. The first row of a product (a Handle) carries the
 * product's columns (Title, Type, Status…) and its first variant; the next rows of the same
 * Handle carry only a variant's columns, and rows with only Handle, Image Src and Image
 * Position add images. Choices (README, "Shopify and Merchant Center catalogs"):
 * - a variant without a SKU is a rejected line: orders name products by SKU, so a made-up
 *   key would never meet an order;
 * - a draft or archived product (Status), or one not published on the online store
 *   (Published FALSE), is imported out of stock, so no email recommends it;
 * - Variant Compare At Price is not read: our price is what the customer pays.
 */
import type { RawRow } from '../read.ts';

export interface ShopifyOptions {
  /** The shop's address (SHOP_URL): a product's url is its `products/HANDLE` page there. */
  shopUrl?: string | undefined;
}

/** The category of a product with neither a Type nor a Product Category. */
export const DEFAULT_CATEGORY = 'uncategorized';

/** The columns a Shopify export must have to be read (lower case, as the reader gives them). */
export const SHOPIFY_REQUIRED = ['handle', 'title', 'variant sku', 'variant price'];

/** Our fields, and the Shopify column each comes from, to name it in a rejection. */
const LABELS: Record<string, string> = {
  sku: 'Variant SKU',
  name: 'Title',
  category: 'Type',
  price: 'Variant Price',
  cost: 'Cost per item',
  url: 'Handle',
  image_url: 'Variant Image',
  in_stock: 'Variant Inventory Qty',
  published_at: 'Published At',
};

/** The columns the mapped rows have. */
export const SHOPIFY_COLUMNS = Object.keys(LABELS);

/** True when a header (names in lower case) is a Shopify products export's. */
export function isShopifyProducts(columns: string[]): boolean {
  return columns.includes('handle') && (columns.includes('variant sku') || columns.includes('variant price'));
}

/** The Handle of a row, or undefined when the row has none that can be read. */
export function handleOf(row: RawRow): string | undefined {
  const handle = text(row.values?.handle);
  return handle || undefined;
}

/**
 * The product rows of one Shopify product: `rows` are the file's consecutive rows of one
 * Handle, in order. Image-only rows give no row; a row the reader could not read is passed
 * on as it is; every other row is one variant, one product row (or a rejection) at its line.
 */
export function mapShopifyProduct(rows: RawRow[], options: ShopifyOptions): RawRow[] {
  const head = rows.find((row) => !row.error && text(row.values?.title));
  const handle = rows.map(handleOf).find((h) => h !== undefined) ?? '';
  const images = rows
    .filter((row) => !row.error && text(row.values?.['image src']))
    .sort((a, b) => position(a) - position(b))
    .map((row) => text(row.values!['image src']));
  const out: RawRow[] = [];
  for (const row of rows) {
    if (row.error || !row.values) {
      out.push(row);
      continue;
    }
    const values = row.values;
    if (row !== head && !text(values['variant sku']) && !text(values['variant price']) && !text(values['option1 value'])) continue;
    if (!head) {
      out.push({ line: row.line, error: `Title: is empty; the first row of product "${handle}" must carry its Title` });
      continue;
    }
    const sku = text(values['variant sku']);
    if (!sku) {
      out.push({
        line: row.line,
        error: `Variant SKU: is empty for a variant of product "${handle}"; give each variant a SKU in Shopify (orders name products by SKU)`,
      });
      continue;
    }
    const stock = inStock(head.values!, values);
    if (stock.error) {
      out.push({ line: row.line, error: stock.error });
      continue;
    }
    const product = head.values!;
    const record: Record<string, unknown> = {
      sku,
      name: nameOf(text(product.title), values),
      category: text(product.type) || lastSegment(text(product['product category'])) || DEFAULT_CATEGORY,
      price: text(values['variant price']),
    };
    const cost = text(values['cost per item']);
    if (cost) record.cost = cost;
    if (stock.value !== undefined) record.in_stock = stock.value;
    const image = text(values['variant image']) || images[0];
    if (image) record.image_url = image;
    if (options.shopUrl) record.url = new URL(`products/${encodeURIComponent(handle)}`, withSlash(options.shopUrl)).toString();
    const published = text(product['published at']);
    if (published) record.published_at = isoZone(published);
    out.push({ line: row.line, values: record, labels: LABELS });
  }
  return out;
}

/** Title, then the variant's option values when the product has real options (`Mug - Red / Large`). */
function nameOf(title: string, values: Record<string, unknown>): string {
  const options = [1, 2, 3].map((i) => text(values[`option${i} value`])).filter((v) => v);
  if (options.length === 0 || (options.length === 1 && options[0] === 'Default Title')) return title;
  return `${title} - ${options.join(' / ')}`;
}

/**
 * Whether a variant can be bought: not when its product is a draft, archived or unpublished;
 * always when Shopify does not track its stock or sells on when out of it (policy
 * `continue`); otherwise when Variant Inventory Qty is above 0. Unknown (absent: what is
 * stored stays) when the export has no inventory columns.
 */
function inStock(product: Record<string, unknown>, variant: Record<string, unknown>): { value?: string; error?: string } {
  const status = text(product.status).toLowerCase();
  if (status === 'draft' || status === 'archived') return { value: 'false' };
  const published = text(product.published ?? product['published on online store']).toLowerCase();
  if (published === 'false') return { value: 'false' };
  if (text(variant['variant inventory policy']).toLowerCase() === 'continue') return { value: 'true' };
  if ('variant inventory tracker' in variant && !text(variant['variant inventory tracker'])) return { value: 'true' };
  const quantity = text(variant['variant inventory qty']);
  if (!quantity) return {};
  if (!/^-?\d+$/.test(quantity)) return { error: `Variant Inventory Qty: must be a whole number (got ${JSON.stringify(quantity)})` };
  return { value: Number(quantity) > 0 ? 'true' : 'false' };
}

function position(row: RawRow): number {
  const value = Number.parseInt(text(row.values?.['image position']), 10);
  return Number.isFinite(value) ? value : Number.MAX_SAFE_INTEGER;
}

/** `Home & Garden > Kitchen > Coffee` → `Coffee`. */
export function lastSegment(path: string): string {
  return (path.split('>').pop() ?? '').trim();
}

/** A time as Shopify writes it, `2026-03-01 10:00:00 -0500`, without the blank before its zone. */
function isoZone(time: string): string {
  return time.replace(/\s+([+-]\d{2}:?\d{2})$/, '$1');
}

function withSlash(url: string): string {
  return url.endsWith('/') ? url : `${url}/`;
}

function text(value: unknown): string {
  return typeof value === 'string' ? value.trim() : '';
}
