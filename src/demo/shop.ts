/**
 * A generated demo shop: a catalog in categories with tiers and planted complements
 * (an espresso machine buyer tends to buy a grinder and beans), customers, and months of
 * order history, written as CSV files in the stable input formats. Deterministic for a
 * given seed, so a demo run and its tests see the same shop.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { prng } from '../core/random.ts';

export interface ShopSize {
  customers: number;
  /** Days of order history before today. */
  days: number;
  ordersPerDay: number;
  seed: number;
}

interface Family {
  category: string;
  names: string[];
  basePrice: number;
  /** Categories bought with this one far more often than chance: the planted truth. */
  complements: string[];
  consumable?: boolean;
}

const FAMILIES: Family[] = [
  { category: 'espresso-machines', names: ['Espresso Machine'], basePrice: 249, complements: ['grinders', 'coffee-beans', 'milk-jugs'] },
  { category: 'grinders', names: ['Burr Grinder'], basePrice: 119, complements: ['coffee-beans', 'scales'] },
  {
    category: 'coffee-beans',
    names: ['Espresso Blend', 'Single Origin', 'Decaf Roast'],
    basePrice: 14,
    complements: ['filters'],
    consumable: true,
  },
  { category: 'milk-jugs', names: ['Milk Jug'], basePrice: 19, complements: ['thermometers'] },
  { category: 'scales', names: ['Brew Scale'], basePrice: 39, complements: ['coffee-beans'] },
  { category: 'filters', names: ['Paper Filters'], basePrice: 6, complements: ['pour-over'], consumable: true },
  { category: 'pour-over', names: ['Pour-over Dripper'], basePrice: 29, complements: ['filters', 'kettles'] },
  { category: 'kettles', names: ['Gooseneck Kettle'], basePrice: 59, complements: ['pour-over', 'scales'] },
  { category: 'thermometers', names: ['Milk Thermometer'], basePrice: 12, complements: ['milk-jugs'] },
  { category: 'tea', names: ['Green Tea', 'Black Tea', 'Herbal Tea'], basePrice: 9, complements: ['teapots'], consumable: true },
  { category: 'teapots', names: ['Glass Teapot', 'Cast Iron Teapot'], basePrice: 35, complements: ['tea', 'cups'] },
  { category: 'cups', names: ['Espresso Cup', 'Latte Mug', 'Travel Mug'], basePrice: 11, complements: ['coffee-beans', 'tea'] },
];

const TIERS = [
  { tier: 1, label: 'Classic', factor: 1 },
  { tier: 2, label: 'Plus', factor: 1.6 },
  { tier: 3, label: 'Pro', factor: 2.5 },
];

const FIRST = ['Ada', 'Grace', 'Alan', 'Edsger', 'Barbara', 'Donald', 'Frances', 'John', 'Margaret', 'Ken', 'Radia', 'Tim'];
const LAST = ['Lovelace', 'Hopper', 'Turing', 'Dijkstra', 'Liskov', 'Knuth', 'Allen', 'Backus', 'Hamilton', 'Thompson', 'Perlman', 'Lee'];
const ZONES = ['Europe/London', 'Europe/Paris', 'America/New_York', 'America/Los_Angeles', 'Asia/Tokyo', 'Australia/Sydney'];

export interface DemoProduct {
  sku: string;
  name: string;
  category: string;
  price: number;
  tier: number;
  /** Model line: accessories of the same line fit each other (the planted SKU-level truth). */
  variant: number;
}

/** The catalog: every family × name × variant × tier. */
export function demoCatalog(variants = 8): DemoProduct[] {
  const products: DemoProduct[] = [];
  FAMILIES.forEach((family, f) =>
    family.names.forEach((name, n) => {
      for (let v = 1; v <= variants; v++)
        for (const { tier, label, factor } of TIERS)
          products.push({
            sku: `${family.category.slice(0, 3).toUpperCase()}${f}-${n + 1}${v}${tier}`,
            name: `${name} ${label} No. ${v}`,
            category: family.category,
            price: Math.round(family.basePrice * factor * (0.85 + v * 0.04) * 100) / 100,
            tier,
            variant: v,
          });
    }),
  );
  return products;
}

export interface BasketLine {
  product: DemoProduct;
  quantity: number;
}

/** The categories each category's buyers tend to add: the planted truth. */
export function plantedComplements(): Map<string, string[]> {
  return new Map(FAMILIES.map((f) => [f.category, f.complements]));
}

/**
 * Baskets as the shop's customers fill them. Planted truth: each complement of the first
 * product's category joins with probability 0.35, and 70% of the time it is one of the
 * same model line (the grinder that fits that machine); 15% of baskets add anything else.
 */
export function basketMaker(random: () => number, catalog: DemoProduct[]): () => BasketLine[] {
  const pick = <T>(items: T[]) => items[Math.floor(random() * items.length)]!;
  const byCategory = new Map<string, DemoProduct[]>();
  for (const p of catalog) byCategory.set(p.category, [...(byCategory.get(p.category) ?? []), p]);
  return () => {
    const anchor = pick(FAMILIES);
    const first = pick(byCategory.get(anchor.category)!);
    const lines: DemoProduct[] = [first];
    for (const complement of anchor.complements)
      if (random() < 0.35) {
        const all = byCategory.get(complement)!;
        const fitting = all.filter((p) => p.variant === first.variant);
        lines.push(pick(random() < 0.7 && fitting.length ? fitting : all));
      }
    if (random() < 0.15) lines.push(pick(catalog));
    return lines.map((product) => ({ product, quantity: 1 + Math.floor(random() * 2) }));
  };
}

/** Writes products.csv, customers.csv and orders.csv under `dir`; returns their paths. */
export function writeDemoShop(dir: string, size: ShopSize, now: Date): { products: string; customers: string; orders: string } {
  mkdirSync(dir, { recursive: true });
  const random = prng(size.seed);
  const pick = <T>(items: T[]) => items[Math.floor(random() * items.length)]!;
  const catalog = demoCatalog();

  const products = ['sku,name,category,price,url,image_url,in_stock,tier'];
  for (const p of catalog)
    products.push(
      [
        p.sku,
        p.name,
        p.category,
        p.price.toFixed(2),
        `https://shop.example/p/${p.sku}`,
        `https://shop.example/img/${p.sku}.jpg`,
        random() > 0.03,
        p.tier,
      ].join(','),
    );

  const customers = ['customer_id,email,first_name,last_name,timezone'];
  for (let i = 1; i <= size.customers; i++) {
    const first = pick(FIRST);
    const last = pick(LAST);
    customers.push(`cust-${i},${first.toLowerCase()}.${last.toLowerCase()}.${i}@example.com,${first},${last},${pick(ZONES)}`);
  }

  const orders = ['order_id,customer_id,ordered_at,sku,quantity,unit_price'];
  const basket = basketMaker(random, catalog);
  const start = now.getTime() - size.days * 86_400_000;
  let orderNo = 0;
  for (let day = 0; day < size.days; day++)
    for (let k = 0; k < size.ordersPerDay; k++) {
      orderNo += 1;
      const at = new Date(start + day * 86_400_000 + Math.floor(random() * 86_400_000)).toISOString();
      const customer = `cust-${1 + Math.floor(random() * size.customers)}`;
      for (const line of basket())
        orders.push(`demo-${orderNo},${customer},${at},${line.product.sku},${line.quantity},${line.product.price.toFixed(2)}`);
    }

  return {
    products: writeLines(dir, 'products.csv', products),
    customers: writeLines(dir, 'customers.csv', customers),
    orders: writeLines(dir, 'orders.csv', orders),
  };
}

/** Writes `rows` as the lines of `dir/name` (a CSV with its header first); returns the path. */
export function writeLines(dir: string, name: string, rows: string[]): string {
  const path = join(dir, name);
  writeFileSync(path, rows.join('\n') + '\n');
  return path;
}
