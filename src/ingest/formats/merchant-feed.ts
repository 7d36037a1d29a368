/**
 * A Google Merchant Center product feed, recognised and mapped into our product rows. Pure:
 * a feed's text, or one TSV/CSV row, in; product rows out. ../catalog.ts reads the file.
 *
 * The feed comes as XML (RSS 2.0 `<rss><channel><item>` or Atom `<feed><entry>`, the
 * attributes in the `g:` namespace or not) or as a delimited file whose header names the
 * attributes (`id  title  link  price …`). Each item is one variant already (variants share
 * an item_group_id), so each is one product row. Choices (README, "Shopify and Merchant
 * Center catalogs"): a price or cost in a currency other than the shop's is a rejected
 * item; sale_price is not read (our price is the regular one); availability in_stock,
 * preorder and backorder are in stock.
 *
 * XML is parsed safely: a feed with a DOCTYPE (where entities are declared) is refused, so
 * only XML's own entities and character references are read, never an external one.
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import type { RawRow } from '../read.ts';
import { DEFAULT_CATEGORY, lastSegment } from './shopify-products.ts';

export interface MerchantOptions {
  /** The shop's currency (SHOP_CURRENCY): a price in another is refused. */
  currency: string;
}

/** A feed that cannot be read as a whole, at a line when one is known. */
export class FeedError extends Error {
  constructor(
    message: string,
    readonly line?: number,
  ) {
    super(message);
  }
}

/** Our fields, and the feed attribute each comes from, to name it in a rejection. */
const LABELS: Record<string, string> = {
  sku: 'id',
  name: 'title',
  category: 'product_type',
  price: 'price',
  cost: 'cost_of_goods_sale',
  url: 'link',
  image_url: 'image_link',
  in_stock: 'availability',
};

/** The columns the mapped rows have. */
export const MERCHANT_COLUMNS = Object.keys(LABELS);

/** An attribute's name without its `g:` prefix (a feed's header may keep it). */
export function attributeName(column: string): string {
  return column.replace(/^g:/, '');
}

/** True when a delimited file's header (lower case) is a Merchant Center feed's. */
export function isMerchantColumns(columns: string[]): boolean {
  const names = columns.map(attributeName);
  return ['id', 'title', 'price'].every((name) => names.includes(name)) && !names.includes('sku');
}

/** One item of a feed: its attributes as text (`g:` dropped) and its line. */
export interface FeedItem {
  line: number;
  values: Record<string, string>;
}

/** Maps one item, or one TSV/CSV row keyed by attribute name, to a product row at `line`. */
export function mapMerchantItem(line: number, item: Record<string, unknown>, options: MerchantOptions): RawRow {
  const values: Record<string, string> = {};
  for (const [key, value] of Object.entries(item)) if (typeof value === 'string') values[attributeName(key)] = value.trim();
  const record: Record<string, unknown> = { category: categoryOf(values) };
  if (values.id) record.sku = values.id;
  if (values.title) record.name = values.title;
  for (const [field, attribute] of [
    ['price', 'price'],
    ['cost', 'cost_of_goods_sale'],
  ] as const) {
    const amount = values[attribute];
    if (!amount) continue;
    const parsed = /^(\d+(?:\.\d+)?)\s*([A-Za-z]{3})?$/.exec(amount);
    const currency = parsed?.[2]?.toUpperCase();
    if (currency && currency !== options.currency)
      return { line, error: `${attribute}: is in ${currency} but the shop's currency is ${options.currency} (SHOP_CURRENCY)` };
    record[field] = parsed ? parsed[1] : amount;
  }
  const availability = (values.availability ?? '').toLowerCase().replace(/\s+/g, '_');
  if (['in_stock', 'preorder', 'backorder'].includes(availability)) record.in_stock = 'true';
  else if (availability === 'out_of_stock') record.in_stock = 'false';
  else if (availability)
    return {
      line,
      error: `availability: must be in_stock, out_of_stock, preorder or backorder (got ${JSON.stringify(values.availability)})`,
    };
  if (values.link) record.url = values.link;
  if (values.image_link) record.image_url = values.image_link;
  return { line, values: record, labels: LABELS };
}

/**
 * The category: product_type's last segment (`Home > Coffee > Beans` → `Beans`), else
 * google_product_category's when it is a name, not a numeric id, else the default.
 */
function categoryOf(values: Record<string, string>): string {
  const type = lastSegment(values.product_type ?? '');
  if (type) return type;
  const google = lastSegment(values.google_product_category ?? '');
  return google && !/^\d+$/.test(google) ? google : DEFAULT_CATEGORY;
}

/** A DOCTYPE anywhere (the parser reads one even after the root): one linear search, no backtracking. */
const DOCTYPE = /<!DOCTYPE/i;

/**
 * The items of an XML feed, each with the line its `<item>` (or `<entry>`) starts on.
 * Throws a FeedError for XML that is not well-formed, has a DOCTYPE, or is no feed.
 */
export function parseMerchantXml(xml: string): FeedItem[] {
  const body = xml.replace(/^\uFEFF/, '');
  const doctype = body.search(DOCTYPE);
  if (doctype >= 0)
    throw new FeedError(
      'has a DOCTYPE; XML with a DTD or declared entities is not read (a Merchant Center feed has none)',
      lineOf(body, doctype + '<!DOCTYPE'.length),
    );
  const valid = XMLValidator.validate(body);
  if (valid !== true) throw new FeedError(`is not well-formed XML: ${valid.err.msg}`, valid.err.line);
  const parser = new XMLParser({
    ignoreAttributes: false,
    attributeNamePrefix: '@_',
    removeNSPrefix: true,
    parseTagValue: false,
    processEntities: true,
    htmlEntities: true,
    captureMetaData: true,
    isArray: (name) => name === 'item' || name === 'entry',
  });
  const document = parser.parse(body) as Record<string, unknown>;
  const rss = object(document.rss);
  const feed = object(document.feed);
  const nodes = rss ? (object(rss.channel)?.item ?? []) : feed ? (feed.entry ?? []) : undefined;
  if (!Array.isArray(nodes))
    throw new FeedError(
      'is XML but no product feed: a Google Merchant Center feed is RSS 2.0 (<rss><channel><item>) or Atom (<feed><entry>)',
    );
  const meta = XMLParser.getMetaDataSymbol() as unknown as string;
  const lines = new LineCounter(body);
  return nodes.map((node: unknown, index: number) => {
    const item = object(node) ?? {};
    const start = (item[meta] as { startIndex?: number } | undefined)?.startIndex;
    const values: Record<string, string> = {};
    for (const [key, value] of Object.entries(item)) {
      if (key.startsWith('@_')) continue;
      const text = textOf(value);
      if (text !== undefined && !(key in values)) values[key] = text;
    }
    // Without the parser's offset (never seen), the item's number stands in for its line.
    return { line: start === undefined ? index + 1 : lines.at(start), values };
  });
}

/** An element's text: a string, an element's `#text` or `href` (Atom's `<link href>`), the first of repeated ones. */
function textOf(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) return value.map(textOf).find((v) => v !== undefined && v.trim() !== '');
  const element = object(value);
  if (!element) return undefined;
  return textOf(element['#text']) ?? textOf(element['@_href']);
}

function object(value: unknown): Record<string, unknown> | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

function lineOf(text: string, offset: number): number {
  return new LineCounter(text).at(offset);
}

/** Lines of offsets asked in increasing order, counted once over the text. */
class LineCounter {
  private offset = 0;
  private line = 1;
  constructor(private readonly text: string) {}
  at(offset: number): number {
    if (offset < this.offset) {
      this.offset = 0;
      this.line = 1;
    }
    for (let i = this.text.indexOf('\n', this.offset); i >= 0 && i < offset; i = this.text.indexOf('\n', i + 1)) this.line += 1;
    this.offset = offset;
    return this.line;
  }
}
