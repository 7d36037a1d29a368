/**
 * The recommendation tables (./recommendations.ts) as columns: one list per table, read by the
 * dashboard's view (src/dashboard/views/recommendations.tsx) and by the CSV export here, so
 * the page and the export have the same rows, the same columns and the same figures. A page
 * cell is the CSV cell with its thousands separators, currency sign and `%` added (and `—`
 * for an empty one): counts as whole numbers, money in cents to two decimals, rates as the
 * page's percentage to one decimal.
 */
import { stringify } from 'csv-stringify/sync';
import { int, pct } from './format.ts';
import type { ProductLine, RecFigures, RecommendationTables, StrategyLine } from './recommendations.ts';

/** What a cell holds, which says how the page and the CSV write it. */
export type CellKind = 'text' | 'count' | 'money' | 'rate';

export interface RecColumn<Row> {
  /** The CSV header, and the cell's `data-field` on the page. */
  key: string;
  /** The page's column heading. */
  head: string;
  kind: CellKind;
  /** Text, a count, cents (money) or a share (rate); null when there is none. */
  value: (row: Row) => string | number | null;
}

/** How a strategy row is named: the strategy as the sequence file names it, or `total` for the arm's. */
export function strategyLabel(row: StrategyLine): string {
  return row.row === 'total' ? 'total' : (row.strategy ?? 'unknown');
}

/** How a product row is named: its name, `other products (N)`, or `total (N products)`. */
export function productLabel(row: ProductLine): string {
  if (row.row === 'other') return `other products (${int(row.products)})`;
  if (row.row === 'total') return `total (${int(row.products)} products)`;
  return row.name ?? row.sku ?? '';
}

const figureColumns = <Row extends RecFigures>(): RecColumn<Row>[] => [
  { key: 'shown', head: 'shown', kind: 'count', value: (r) => r.shown },
  { key: 'human_clicks', head: 'human clicks', kind: 'count', value: (r) => r.clicked },
  { key: 'click_rate_percent', head: 'click rate', kind: 'rate', value: (r) => r.clickRate },
  { key: 'buyers', head: 'buyers', kind: 'count', value: (r) => r.buyers },
  { key: 'units', head: 'units', kind: 'count', value: (r) => r.units },
  { key: 'revenue', head: 'revenue', kind: 'money', value: (r) => r.revenueCents },
  { key: 'buy_rate_percent', head: 'buy rate', kind: 'rate', value: (r) => r.buyRate },
];

/** The columns of the strategy table (`id="recs-by-strategy"`). */
export const STRATEGY_COLUMNS: RecColumn<StrategyLine>[] = [
  { key: 'arm', head: 'arm', kind: 'text', value: (r) => r.arm },
  { key: 'strategy', head: 'strategy', kind: 'text', value: strategyLabel },
  { key: 'kind', head: 'kind', kind: 'text', value: (r) => r.kind ?? '' },
  { key: 'offered_in', head: 'offered in', kind: 'text', value: (r) => r.offeredIn ?? '' },
  { key: 'emails', head: 'emails', kind: 'count', value: (r) => r.emails },
  ...figureColumns<StrategyLine>(),
];

/** The columns of the product table (`id="recs-by-product"`). */
export const PRODUCT_COLUMNS: RecColumn<ProductLine>[] = [
  { key: 'arm', head: 'arm', kind: 'text', value: (r) => r.arm },
  { key: 'product', head: 'product', kind: 'text', value: productLabel },
  { key: 'sku', head: 'sku', kind: 'text', value: (r) => r.sku ?? '' },
  ...figureColumns<ProductLine>(),
];

/** Cents as a plain decimal with two places, exactly: 123456 → `1234.56`. */
export function centsText(cents: number): string {
  const abs = Math.abs(cents);
  return `${cents < 0 ? '-' : ''}${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, '0')}`;
}

/** A cell as the CSV writes it: counts whole, money to the cent, rates as the page's percentage without `%`; empty for none. */
export function csvCell(kind: CellKind, value: string | number | null): string {
  if (value === null) return '';
  if (typeof value === 'string') return value;
  if (kind === 'money') return centsText(value);
  if (kind === 'rate') return pct(value).replace(/%$/, '');
  return String(value);
}

/** A cell as the page shows it: the CSV's figure with thousands separators, the currency (`money`, in currency units) and `%`. */
export function pageCell(kind: CellKind, value: string | number | null, money: (value: number | null) => string): string {
  if (value === null) return '—';
  if (typeof value === 'string') return value;
  if (kind === 'money') return money(value / 100);
  if (kind === 'rate') return pct(value);
  return int(value);
}

export type RecsCsvTable = 'recs-strategy' | 'recs-product';

/** One recommendation table as CSV, the rows and columns of the page's table: `recs-strategy` or `recs-product`. */
export function recommendationCsv(tables: RecommendationTables, table: RecsCsvTable): string {
  const write = <Row>(columns: RecColumn<Row>[], rows: Row[]) =>
    stringify(
      rows.map((row) => Object.fromEntries(columns.map((c) => [c.key, csvCell(c.kind, c.value(row))]))),
      { header: true, columns: columns.map((c) => c.key) },
    );
  return table === 'recs-strategy' ? write(STRATEGY_COLUMNS, tables.byStrategy) : write(PRODUCT_COLUMNS, tables.byProduct);
}
