/**
 * Shop platforms' catalogs as products files: a Shopify products export and a Google
 * Merchant Center feed (RSS and Atom XML, TSV), recognised without a flag and imported
 * through the real path (src/ingest/catalog.ts into the import loop) on Postgres and
 * PGlite; the stored rows checked exactly, bad rows reported at their line with the field
 * as the file names it, and files that are no catalog refused as before.
 */
import { truncateSync } from 'node:fs';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { queryRows } from '../src/db/client.ts';
import { MAX_FEED_BYTES, openImport, type ShopSettings } from '../src/ingest/catalog.ts';
import { importRows, type Rejection } from '../src/ingest/import.ts';
import { isMerchantColumns, parseMerchantXml } from '../src/ingest/formats/merchant-feed.ts';
import { isShopifyProducts, mapShopifyProduct } from '../src/ingest/formats/shopify-products.ts';
import { detectFormat, sniffFormat } from '../src/ingest/read.ts';
import { FileError } from '../src/errors.ts';
import { campaignInProcess } from './helpers/cli.ts';
import { DB_KINDS, freshDatabase, type TestDatabase } from './helpers/db.ts';
import { FIXTURES, tempFile } from './helpers/files.ts';

const SHOP: ShopSettings = { currency: 'USD', url: 'https://shop.example/' };
const CDN = 'https://cdn.shopify.com/s/files/1/0612/3456/7890/files/';

interface Stored {
  sku: string;
  name: string;
  category: string;
  price: string;
  cost: string | null;
  url: string | null;
  image_url: string | null;
  in_stock: boolean;
}

/** A stored product as the test writes it: [sku, name, category, price, cost, url, image_url, in_stock]. */
type Row = [string, string, string, string, string | null, string | null, string | null, boolean];

const SHOPIFY_ROWS: Row[] = [
  [
    'BEAN-1K',
    'House Blend Beans - 1kg',
    'Coffee Beans',
    '24.9000',
    '11.0000',
    'https://shop.example/products/house-blend',
    `${CDN}house-blend-1kg.jpg?v=1712345679`,
    false,
  ],
  [
    'BEAN-250',
    'House Blend Beans - 250g',
    'Coffee Beans',
    '9.9000',
    '4.1000',
    'https://shop.example/products/house-blend',
    `${CDN}house-blend-bag.jpg?v=1712345678`,
    true,
  ],
  ['GIFT-BOX', 'Gift Box', 'uncategorized', '45.0000', null, 'https://shop.example/products/gift-box', null, true],
  [
    'GRN-10',
    'Burr Grinder, Conical',
    'Coffee Grinders',
    '129.5000',
    '61.0000',
    'https://shop.example/products/burr-grinder',
    `${CDN}burr-grinder.jpg?v=1712345690`,
    true,
  ],
  [
    'MUG-BLUE-L',
    'Travel Mug - Blue / L',
    'Mugs',
    '21.0000',
    null,
    'https://shop.example/products/travel-mug',
    `${CDN}mug-blue.jpg?v=1`,
    true,
  ],
  [
    'MUG-RED-L',
    'Travel Mug - Red / L',
    'Mugs',
    '21.0000',
    null,
    'https://shop.example/products/travel-mug',
    `${CDN}mug-red.jpg?v=1`,
    false,
  ],
  ['MUG-RED-S', 'Travel Mug - Red / S', 'Mugs', '18.0000', null, 'https://shop.example/products/travel-mug', `${CDN}mug-red.jpg?v=1`, true],
  ['WINTER-1', 'Winter Roast', 'Coffee Beans', '16.5000', '7.2500', 'https://shop.example/products/winter-roast', null, false],
];

const FEED_ROWS: Row[] = [
  [
    'BEAN-1K',
    'House Blend Beans - 1kg',
    'Beans',
    '24.9000',
    '11.0000',
    'https://shop.example/products/house-blend?variant=40123456789013',
    'https://cdn.shop.example/house-blend-1kg.jpg',
    false,
  ],
  [
    'BEAN-250',
    'House Blend Beans - 250g',
    'Beans',
    '9.9000',
    null,
    'https://shop.example/products/house-blend?variant=40123456789012',
    'https://cdn.shop.example/house-blend-bag.jpg',
    true,
  ],
  ['FILTER-100', 'Paper Filters, 100', 'uncategorized', '4.0000', null, 'https://shop.example/products/paper-filters', null, true],
  [
    'GRN-10',
    'Burr Grinder & Scale \u2014 Conical',
    'Coffee Grinders',
    '129.5000',
    null,
    'https://shop.example/products/burr-grinder',
    'https://cdn.shop.example/burr-grinder.jpg',
    true,
  ],
];

const EUR = "price: is in EUR but the shop's currency is USD (SHOP_CURRENCY)";

describe('recognising a catalog, without a database', () => {
  it('tells a Shopify export and a Merchant Center header from our own', () => {
    expect(isShopifyProducts(['handle', 'title', 'variant sku', 'variant price'])).toBe(true);
    expect(isShopifyProducts(['sku', 'name', 'category', 'price'])).toBe(false);
    expect(isMerchantColumns(['id', 'title', 'link', 'price', 'availability'])).toBe(true);
    expect(isMerchantColumns(['g:id', 'g:title', 'g:price'])).toBe(true);
    expect(isMerchantColumns(['sku', 'name', 'category', 'price'])).toBe(false);
    expect(isMerchantColumns(['sku', 'id', 'title', 'price'])).toBe(false);
  });

  it('tells the format of a file whose name does not', async () => {
    expect(sniffFormat('\uFEFF  <?xml version="1.0"?><rss/>')).toBe('xml');
    expect(sniffFormat('id\ttitle\tprice\nA\tB, C\t1.00 USD')).toBe('tsv');
    expect(sniffFormat('sku,name,category,price\n')).toBe('csv');
    expect(sniffFormat('{"sku":"A"}\n')).toBe('jsonl');
    expect(sniffFormat('hello\n')).toBeUndefined();
    expect(await detectFormat(tempFile('feed.txt', 'id\ttitle\tprice\n'))).toBe('tsv');
    expect(await detectFormat(tempFile('feed', '<rss/>'))).toBe('xml');
    await expect(detectFormat(tempFile('notes.txt', 'hello\n'))).rejects.toThrow(/cannot tell the format from the name/);
  });

  it('gives each XML item the line its element starts on, and refuses a DOCTYPE and XML that is no feed', () => {
    const items = parseMerchantXml('<rss>\n<channel>\n\n<item><g:id>A</g:id></item>\n<item>\n<id>B</id></item></channel></rss>');
    expect(items).toEqual([
      { line: 4, values: { id: 'A' } },
      { line: 5, values: { id: 'B' } },
    ]);
    expect(() => parseMerchantXml('<?xml version="1.0"?>\n<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><rss/>')).toThrow(
      /has a DOCTYPE/,
    );
    expect(() => parseMerchantXml('<catalog><product/></catalog>')).toThrow(/is XML but no product feed/);
    expect(() => parseMerchantXml('<rss>\n<channel>\n<item></channel></rss>')).toThrow(/is not well-formed XML/);
  });

  it('maps a product of one variant named by its title, and leaves the url empty without SHOP_URL', () => {
    const rows = mapShopifyProduct(
      [
        {
          line: 2,
          values: { handle: 'a', title: 'A', type: 'T', 'option1 value': 'Default Title', 'variant sku': 'A-1', 'variant price': '5' },
        },
      ],
      {},
    );
    expect(rows).toEqual([{ line: 2, values: { sku: 'A-1', name: 'A', category: 'T', price: '5' }, labels: expect.any(Object) }]);
  });
});

describe.each(DB_KINDS)('catalog formats imported on %s', (kind) => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await freshDatabase(kind);
  });
  afterAll(() => database.drop());
  beforeEach(async () => {
    await queryRows(database.db, sql`delete from products`);
  });

  async function run(path: string, shop: ShopSettings = SHOP) {
    const rejections: Rejection[] = [];
    const source = await openImport(path, await detectFormat(path), 'products', shop);
    const summary = await importRows(database.db, 'products', source, { batchSize: 3, onReject: (r) => rejections.push(r) });
    return { summary, rejections };
  }

  const stored = async (): Promise<Row[]> =>
    (
      await queryRows<Stored>(
        database.db,
        sql`select sku, name, category, price::text as price, cost::text as cost, url, image_url, in_stock from products order by sku`,
      )
    ).map((p) => [p.sku, p.name, p.category, p.price, p.cost, p.url, p.image_url, p.in_stock]);

  it('imports a Shopify products export, one product per variant, and a second import changes nothing', async () => {
    const { summary, rejections } = await run(`${FIXTURES}shopify-products.csv`);
    expect(rejections).toEqual([]);
    // Image-only rows are no products: 12 rows in the file, 8 variants.
    expect(summary).toMatchObject({ rows: 8, inserted: 8, updated: 0, rejected: 0, ignoredColumns: [] });
    expect(await stored()).toEqual(SHOPIFY_ROWS);
    const again = await run(`${FIXTURES}shopify-products.csv`);
    expect(again.summary).toMatchObject({ rows: 8, inserted: 0, updated: 0, unchanged: 8, rejected: 0 });
  });

  it('reports a Shopify export’s bad variants at their line, by their Shopify column, and stores the rest', async () => {
    const file = tempFile(
      'products_export_1.csv',
      [
        'Handle,Title,Type,Option1 Name,Option1 Value,Variant SKU,Variant Price,Variant Inventory Qty,Image Src,Image Position,Published At,Status',
        'a,"Aeropress, Go",Brewers,Title,Default Title,A-1,5.00,3,https://cdn.example/a.jpg,1,2026-01-15 10:00:00 -0500,active',
        'a,,,,Large,,6.00,3,,,,',
        'a,,,,Small,A-3,abc,3,,,,',
        'b,,,,Default Title,B-1,5.00,3,,,,',
        'c,C,Brewers,Title,Default Title,C-1,5.00,many,,,,active',
        'c,,,,,,,,https://cdn.example/c2.jpg,2,,',
      ].join('\n'),
    );
    const { summary, rejections } = await run(file, { currency: 'USD' });
    expect(rejections).toEqual([
      {
        line: 3,
        reason: 'Variant SKU: is empty for a variant of product "a"; give each variant a SKU in Shopify (orders name products by SKU)',
      },
      { line: 4, reason: 'Variant Price: must be a decimal amount such as 19.99, with at most 4 decimals (got "abc")' },
      { line: 5, reason: 'Title: is empty; the first row of product "b" must carry its Title' },
      { line: 6, reason: 'Variant Inventory Qty: must be a whole number (got "many")' },
    ]);
    expect(summary).toMatchObject({ rows: 5, inserted: 1, rejected: 4 });
    expect(await stored()).toEqual([['A-1', 'Aeropress, Go', 'Brewers', '5.0000', null, null, 'https://cdn.example/a.jpg', true]]);
    const [first] = await queryRows<{ first_seen_at: Date }>(database.db, sql`select first_seen_at from products`);
    expect(new Date(first!.first_seen_at).toISOString()).toBe('2026-01-15T15:00:00.000Z');
  });

  it('refuses a Shopify export that lacks a column its mapping needs, storing nothing', async () => {
    const file = tempFile('shopify.csv', 'Handle,Title,Variant Price\na,A,5.00\n');
    await expect(run(file)).rejects.toThrow(/:1: the header is a Shopify products export's \(it has Handle\) but lacks "variant sku"/);
    expect(await stored()).toEqual([]);
  });

  it('imports a Merchant Center RSS feed; an item in another currency is reported at its <item> line', async () => {
    const { summary, rejections } = await run(`${FIXTURES}merchant-feed.xml`);
    expect(rejections).toEqual([{ line: 51, reason: EUR }]);
    expect(summary).toMatchObject({ rows: 5, inserted: 4, rejected: 1 });
    expect(await stored()).toEqual(FEED_ROWS);
  });

  it('imports the same feed as TSV (named .tsv or .txt), row by row', async () => {
    const { summary, rejections } = await run(`${FIXTURES}merchant-feed.tsv`);
    expect(rejections).toEqual([{ line: 5, reason: EUR }]);
    expect(summary).toMatchObject({ rows: 5, inserted: 4, rejected: 1, ignoredColumns: [] });
    // The TSV has no cost_of_goods_sale column.
    expect(await stored()).toEqual(
      FEED_ROWS.map((row) => (row[0] === 'BEAN-1K' ? ([...row.slice(0, 4), null, ...row.slice(5)] as Row) : row)),
    );
  });

  it('imports an Atom feed: <link href>, a price without currency, availability "out of stock"', async () => {
    const { rejections } = await run(`${FIXTURES}merchant-feed-atom.xml`);
    expect(rejections).toEqual([]);
    expect(await stored()).toEqual([
      [
        'BEAN-250',
        'House Blend Beans - 250g',
        'Beans',
        '9.9000',
        null,
        'https://shop.example/products/house-blend?variant=40123456789012',
        'https://cdn.shop.example/house-blend-bag.jpg',
        true,
      ],
      ['GRN-10', 'Burr Grinder', 'Grinders', '129.5000', null, 'https://shop.example/products/burr-grinder', null, false],
    ]);
  });

  it('reports a feed’s bad items by their attribute, and refuses malformed XML whole', async () => {
    const feed = tempFile(
      'feed.xml',
      [
        '<?xml version="1.0"?>',
        '<rss version="2.0" xmlns:g="http://base.google.com/ns/1.0"><channel>',
        '<item><g:id>OK-1</g:id><g:title>Fine</g:title><g:price>1.00 USD</g:price></item>',
        '<item><g:id>BAD-1</g:id><g:title>Limited</g:title><g:price>1.00 USD</g:price><g:availability>limited</g:availability></item>',
        '<item>',
        '  <g:title>No id</g:title><g:price>1.00 USD</g:price></item>',
        '<item><g:id>BAD-3</g:id><g:title>Odd price</g:title><g:price>1,00 USD</g:price></item>',
        '</channel></rss>',
      ].join('\n'),
    );
    const { rejections } = await run(feed);
    expect(rejections).toEqual([
      { line: 4, reason: 'availability: must be in_stock, out_of_stock, preorder or backorder (got "limited")' },
      { line: 5, reason: 'id: is required' },
      { line: 7, reason: 'price: must be a decimal amount such as 19.99, with at most 4 decimals (got "1,00 USD")' },
    ]);
    expect((await stored()).map((row) => row[0])).toEqual(['OK-1']);

    const broken = tempFile('broken.xml', '<rss><channel>\n<item><g:id>X</g:id>\n</channel></rss>');
    await expect(run(broken)).rejects.toThrow(/broken\.xml:3: is not well-formed XML/);
    await expect(run(tempFile('catalog.xml', '<catalog/>'))).rejects.toThrow(/catalog\.xml: is XML but no product feed/);
    expect((await stored()).map((row) => row[0])).toEqual(['OK-1']);
  });

  it('refuses an XML feed over the size it parses in memory, before reading it', async () => {
    const big = tempFile('huge.xml', '<rss>');
    truncateSync(big, MAX_FEED_BYTES + 1);
    await expect(run(big)).rejects.toThrow(/XML feeds of up to 200 MB are read/);
  });

  it('still gives a file that is no catalog the header error of our own format', async () => {
    const file = tempFile('export.csv', 'Name,Price\nMug,5.00\n');
    await expect(run(file)).rejects.toThrow(FileError);
    await expect(run(file)).rejects.toThrow(/line 1: the header lacks "sku", "category"; products files need sku,name,category,price/);
  });
});

describe('campaign import products on catalogs', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await freshDatabase('postgres');
  });
  afterAll(() => database.drop());

  it('reads a Shopify export and a Merchant feed without a flag, and prints FILE:LINE for a bad item', async () => {
    const env = { DATABASE_URL: database.url!, SHOP_URL: 'https://shop.example/' };
    const shopify = await campaignInProcess(['import', 'products', `${FIXTURES}shopify-products.csv`, '--no-publish'], env);
    expect(shopify.stdout).toContain('shopify-products.csv: 8 rows: 8 imported, 0 updated, 0 unchanged, 0 rejected');
    expect(shopify.code, shopify.stderr).toBe(0);
    const feed = await campaignInProcess(['import', 'products', `${FIXTURES}merchant-feed.xml`, '--no-publish'], env);
    expect(feed.stderr).toContain(`${FIXTURES}merchant-feed.xml:51: ${EUR}`);
    expect(feed.stdout).toContain('merchant-feed.xml: 5 rows: 1 imported, 3 updated, 0 unchanged, 1 rejected');
    expect(feed.code).toBe(1);
  });
});
