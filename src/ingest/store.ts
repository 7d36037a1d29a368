/**
 * The ingest's SQL: batch upserts of products, customers and orders, shared by the file
 * import and the HTTP API. Each function takes already validated records whose keys are
 * unique within the batch, runs set-based statements (one JSON parameter expanded by
 * `jsonb_to_recordset`, so a batch of thousands is one round trip), and returns an outcome
 * per record, in input order.
 *
 * An upsert writes only rows whose values differ, so importing the same data twice writes
 * nothing and reports every row `unchanged`. An optional field that is absent keeps the
 * stored value. Callers wrap a batch in a transaction to make it all or nothing.
 *
 * Longer than most files on purpose: one upsert per record kind, each a single commented
 * statement, read best side by side since they share their conventions.
 */
import { sql, type SQL } from 'drizzle-orm';
import { mergeConsent, type ConsentState, type ConsentUpdate } from '../core/consent.ts';
import { lineTotal, toUnits } from '../core/money.ts';
import {
  REFUND_ALL,
  type CancellationRecord,
  type CustomerRecord,
  type ProductRecord,
  type RecordKind,
  type RefundRecord,
} from '../core/records.ts';
import { arrayParam, copyRows, jsonParam, queryRows, type Db } from '../db/client.ts';
import { lockCustomers, refreshOutcomes, refreshOutcomesOfOrders, refreshOutcomesOfProducts } from '../store/outcomes.ts';
import { refreshProfiles, refreshProfilesOfOrders } from '../store/profiles.ts';
import { analyze } from '../store/statistics.ts';

export type Outcome = 'inserted' | 'updated' | 'unchanged';

/** `xmax = 0` is true for a row this statement inserted, false for one it updated. */
const OUTCOME = sql.raw(`case when up.key is null then 'unchanged' when up.inserted then 'inserted' else 'updated' end`);

/** Upserts products by sku. */
export async function upsertProducts(db: Db, records: ProductRecord[]): Promise<Outcome[]> {
  if (records.length === 0) return [];
  const rows = await queryRows<{ key: string; outcome: Outcome; cost_changed: boolean }>(
    db,
    sql`
      with input as (
        select * from jsonb_to_recordset(${jsonParam(records)}) as r(
          sku text, name text, category text, price numeric, url text, image_url text, in_stock boolean, tier int,
          cost numeric, variant_id text, first_seen_at timestamptz, published_at timestamptz)
      ),
      -- Absent optional fields keep what is stored (a price feed need not repeat the urls, the cost or the variant id).
      merged as (
        select i.sku, i.name, i.category, i.price,
               coalesce(i.url, p.url) as url, coalesce(i.image_url, p.image_url) as image_url,
               coalesce(i.in_stock, p.in_stock, true) as in_stock, coalesce(i.tier, p.tier) as tier,
               coalesce(i.cost, p.cost) as cost, coalesce(i.variant_id, p.variant_id) as variant_id,
               -- First seen: the earlier of the stored time and the given one (least() skips nulls),
               -- so a re-imported feed never makes an old product new; a new product without one: now.
               coalesce(least(p.first_seen_at, coalesce(i.first_seen_at, i.published_at)), now()) as first_seen_at,
               -- A stored product's cost changing changes the margin of the orders that bought it.
               p.sku is not null and coalesce(i.cost, p.cost) is distinct from p.cost as cost_changed
        from input i left join products p on p.sku = i.sku
      ),
      up as (
        insert into products (sku, name, category, price, url, image_url, in_stock, tier, cost, variant_id, first_seen_at)
        select sku, name, category, price, url, image_url, in_stock, tier, cost, variant_id, first_seen_at from merged
        on conflict (sku) do update set
          name = excluded.name, category = excluded.category, price = excluded.price, url = excluded.url,
          image_url = excluded.image_url, in_stock = excluded.in_stock, tier = excluded.tier, cost = excluded.cost,
          variant_id = excluded.variant_id, first_seen_at = excluded.first_seen_at, updated_at = now()
        where (products.name, products.category, products.price, products.url, products.image_url,
               products.in_stock, products.tier, products.cost, products.variant_id, products.first_seen_at)
          is distinct from (excluded.name, excluded.category, excluded.price, excluded.url, excluded.image_url,
               excluded.in_stock, excluded.tier, excluded.cost, excluded.variant_id, excluded.first_seen_at)
        returning sku as key, (xmax = 0) as inserted
      )
      select i.sku as key, ${OUTCOME} as outcome, m.cost_changed and up.key is not null as cost_changed
      from input i left join up on up.key = i.sku join merged m on m.sku = i.sku`,
  );
  // The report's rollup follows the costs, in the same transaction.
  await refreshOutcomesOfProducts(
    db,
    rows.filter((r) => r.cost_changed).map((r) => r.key),
  );
  return inInputOrder(
    records.map((r) => r.sku),
    rows,
  );
}

/**
 * Upserts customers by their external id. An erased customer (`campaign customers erase`)
 * stays erased: a shop export sent again with their address and names changes nothing, so an
 * erasure is never undone by the next nightly import. A record's marketing consent is merged
 * into the stored one by src/core/consent.ts `mergeConsent` (the newer word wins; an undated
 * export never undoes an unsubscribe), the stored rows locked while it is decided.
 */
export async function upsertCustomers(db: Db, records: CustomerRecord[], now = new Date()): Promise<Outcome[]> {
  if (records.length === 0) return [];
  const consents = await consentUpdates(db, records, now);
  const input = records.map((r) => {
    const { accepts_marketing: _, accepts_marketing_updated_at: __, consent_source: ___, ...rest } = r;
    const update = consents.get(r.customer_id);
    return update
      ? { ...rest, consent_state: update.state, consent_at: update.at?.toISOString() ?? null, consent_source: update.source }
      : rest;
  });
  const rows = await queryRows<{ key: string; outcome: Outcome }>(
    db,
    sql`
      with input as (
        select * from jsonb_to_recordset(${jsonParam(input)}) as r(
          customer_id text, email text, first_name text, last_name text, timezone text,
          consent_state text, consent_at timestamptz, consent_source text, country text, tags jsonb, attributes jsonb)
      ),
      merged as (
        select i.customer_id, i.email, coalesce(i.first_name, c.first_name) as first_name,
               coalesce(i.last_name, c.last_name) as last_name, coalesce(i.timezone, c.timezone) as timezone,
               -- A record whose consent changes nothing carries none (see consentUpdates).
               coalesce(i.consent_state, c.accepts_marketing, 'unknown') as accepts_marketing,
               case when i.consent_state is null then c.consent_at else i.consent_at end as consent_at,
               case when i.consent_state is null then c.consent_source else i.consent_source end as consent_source,
               coalesce(i.country, c.country) as country,
               case when i.tags is null then coalesce(c.tags, '{}') else array(select jsonb_array_elements_text(i.tags)) end as tags,
               coalesce(i.attributes, c.attributes, '{}') as attributes
        from input i left join customers c on c.external_id = i.customer_id
      ),
      up as (
        insert into customers (external_id, email, first_name, last_name, timezone, accepts_marketing, consent_at, consent_source,
                               country, tags, attributes)
        select customer_id, email, first_name, last_name, timezone, accepts_marketing, consent_at, consent_source,
               country, tags, attributes from merged
        on conflict (external_id) do update set
          email = excluded.email, first_name = excluded.first_name, last_name = excluded.last_name,
          timezone = excluded.timezone, accepts_marketing = excluded.accepts_marketing,
          consent_at = excluded.consent_at, consent_source = excluded.consent_source,
          country = excluded.country, tags = excluded.tags, attributes = excluded.attributes, updated_at = now()
        where customers.erased_at is null
          and (customers.email, customers.first_name, customers.last_name, customers.timezone,
               customers.accepts_marketing, customers.consent_at, customers.consent_source,
               customers.country, customers.tags, customers.attributes)
          is distinct from (excluded.email, excluded.first_name, excluded.last_name, excluded.timezone,
               excluded.accepts_marketing, excluded.consent_at, excluded.consent_source,
               excluded.country, excluded.tags, excluded.attributes)
        returning external_id as key, (xmax = 0) as inserted
      )
      select i.customer_id as key, ${OUTCOME} as outcome from input i left join up on up.key = i.customer_id`,
  );
  return inInputOrder(
    records.map((r) => r.customer_id),
    rows,
  );
}

/**
 * The consents the records change, by customer id: each record that says a consent, merged
 * with the stored one (locked `for update`, so an unsubscribe committing meanwhile is seen
 * or waits). A record whose consent changes nothing is absent.
 */
async function consentUpdates(db: Db, records: CustomerRecord[], now: Date): Promise<Map<string, ConsentUpdate>> {
  const saying = records.filter((r) => r.accepts_marketing !== undefined);
  const updates = new Map<string, ConsentUpdate>();
  if (saying.length === 0) return updates;
  const stored = await queryRows<{
    external_id: string;
    accepts_marketing: ConsentState;
    consent_at: Date | string | null;
    consent_source: string | null;
  }>(
    db,
    sql`select c.external_id, c.accepts_marketing, c.consent_at, c.consent_source from customers c
        join jsonb_array_elements_text(${jsonParam(saying.map((r) => r.customer_id))}) as k(v) on c.external_id = k.v
        order by c.id for update of c`,
  );
  const byId = new Map(stored.map((s) => [s.external_id, s]));
  for (const r of saying) {
    const row = byId.get(r.customer_id);
    const update = mergeConsent(
      row
        ? { state: row.accepts_marketing, at: row.consent_at === null ? null : new Date(row.consent_at), source: row.consent_source }
        : { state: 'unknown', at: null, source: null },
      {
        state: r.accepts_marketing,
        at: r.accepts_marketing_updated_at ? new Date(r.accepts_marketing_updated_at) : undefined,
        source: r.consent_source,
      },
      now,
    );
    if (update.changed) updates.set(r.customer_id, update);
  }
  return updates;
}

/** The known products among `skus`, as rows of (key, id): the sku and its internal id. */
function knownProducts(skus: Iterable<string>): SQL {
  return sql`select p.sku as key, p.id from products p
             join jsonb_array_elements_text(${jsonParam([...new Set(skus)])}) as k(v) on p.sku = k.v`;
}

/** The known customers among `externalIds`, as rows of (key, id): the shop's id and the internal one. */
function knownCustomers(externalIds: Iterable<string>): SQL {
  return sql`select c.external_id as key, c.id from customers c
             join jsonb_array_elements_text(${jsonParam([...new Set(externalIds)])}) as k(v) on c.external_id = k.v`;
}

/** Internal ids of the given skus; unknown skus are absent from the map. */
export async function productIds(db: Db, skus: Iterable<string>): Promise<Map<string, number>> {
  const rows = await queryRows<{ key: string; id: number }>(db, knownProducts(skus));
  return new Map(rows.map((r) => [r.key, r.id]));
}

/** Internal ids of the given external customer ids; unknown ones are absent. */
export async function customerIds(db: Db, externalIds: Iterable<string>): Promise<Map<string, number>> {
  const rows = await queryRows<{ key: string; id: number }>(db, knownCustomers(externalIds));
  return new Map(rows.map((r) => [r.key, r.id]));
}

/** An order whose customer and products are resolved to internal ids. */
export interface ResolvedOrder {
  externalId: string;
  customerId: number;
  orderedAt: string;
  /** Absent keeps what is stored (none, and a discount of 0, for a new order). */
  discountCode?: string;
  discountTotal?: string;
  items: { productId: number; quantity: number; unitPrice: string }[];
}

export interface OrderOutcome {
  order: Outcome;
  /** One per item, in the order's item order. */
  items: Outcome[];
}

/**
 * Upserts orders by external id and replaces each order's items with the given ones
 * (position 1..n; stale positions beyond n are deleted). The total is the exact sum of
 * the items. A newly inserted order also writes an `order.placed` outbox row in the
 * same statement, so the fact is committed with the order or not at all — unless the
 * orders are `history` (a backfill of past orders, which must not start sequences); the
 * lines of new orders go in with that statement too.
 */
export async function upsertOrders(db: Db, orders: ResolvedOrder[], options: { history?: boolean } = {}): Promise<OrderOutcome[]> {
  if (orders.length === 0) return [];
  const heads = orders.map((o, index) => ({
    external_id: o.externalId,
    customer_id: o.customerId,
    ordered_at: o.orderedAt,
    total: lineTotal(o.items),
    item_count: o.items.length,
    discount_code: o.discountCode ?? null,
    discount_total: o.discountTotal ?? null,
    ord: index,
  }));
  const lines = orders.flatMap((o) =>
    o.items.map((item, index) => ({
      order_key: o.externalId,
      position: index + 1,
      product_id: item.productId,
      quantity: item.quantity,
      unit_price: item.unitPrice,
    })),
  );
  return writeOrders(
    db,
    {
      heads: sql`select * from jsonb_to_recordset(${jsonParam(heads)}) as o(
        external_id text, customer_id int, ordered_at timestamptz, total numeric, item_count int,
        discount_code text, discount_total numeric, ord int)`,
      lines: (ids) => sql`
        select h.id as order_id, l.position, l.product_id, l.quantity, l.unit_price
        from jsonb_to_recordset(${jsonParam(lines)}) as l(order_key text, position int, product_id int, quantity int, unit_price numeric)
        join ${ids} on h.key = l.order_key`,
      orders: orders.map((o) => ({ key: o.externalId, itemCount: o.items.length })),
    },
    options.history ?? false,
  );
}

/** One order of an orders file: its customer and products named as the file names them, not yet resolved. */
export interface FileOrder {
  externalId: string;
  customerId: string;
  orderedAt: string;
  /** Absent keeps what is stored (none, and a discount of 0, for a new order). */
  discountCode?: string;
  discountTotal?: string;
  /** In the order's line order; `line` is the line of the file, for problems. */
  lines: { line: number; sku: string; quantity: number; unitPrice: string }[];
}

/** What became of one order of a file: stored (how, and how its items), or the problems of its lines. */
export type FileOrderResult =
  { outcome: OrderOutcome; problems?: undefined } | { outcome?: undefined; problems: { line: number; reason: string }[] };

/** The staging table of `importOrders`, one row per order line, dropped when the transaction ends. */
const STAGED_LINES = 'import_order_lines';
const STAGED_COLUMNS = [
  'line',
  'order_key',
  'customer_key',
  'ordered_at',
  'total',
  'item_count',
  'discount_code',
  'discount_total',
  'position',
  'sku',
  'quantity',
  'unit_price',
] as const;

/**
 * The orders of one import batch, as `upsertOrders` stores them, written set-based: a batch
 * of new orders straight into its tables by one statement ({@link insertNewOrders}), any
 * other through a COPY into a staging table and a merge ({@link mergeStagedOrders}). Either
 * way a line naming an unknown customer or sku is a problem, and its order is left out
 * whole. Must run in a transaction (the batch's), once per transaction.
 */
export async function importOrders(db: Db, orders: FileOrder[], options: { history?: boolean } = {}): Promise<FileOrderResult[]> {
  if (orders.length === 0) return [];
  return (await insertNewOrders(db, orders, options.history ?? false)) ?? mergeStagedOrders(db, orders, options.history ?? false);
}

/**
 * The fast path of {@link importOrders}, for a batch none of whose orders is stored yet (a
 * first import, the bulk case): one look-up resolves the customers and skus and draws the
 * orders' ids from their sequence, then one statement inserts the orders, their items and
 * their `order.placed` facts from arrays, with no staging table and no merge. A line naming
 * an unknown customer or sku is a problem, as in the staged path, and its order is left out
 * whole. Undefined when an order of the batch is already stored. An order a concurrent
 * writer stores between the look-up and the insert is skipped by it (`on conflict do
 * nothing`) and merged by the staged path, in the same transaction.
 */
async function insertNewOrders(db: Db, orders: FileOrder[], history: boolean): Promise<FileOrderResult[] | undefined> {
  const known = await newOrderKeys(db, orders);
  if (!known) return undefined;
  const { customers, products, ids } = known;
  const results: FileOrderResult[] = orders.map((order) => {
    const customer = customers.has(order.customerId);
    const problems = order.lines.flatMap(({ line, sku }) =>
      customer && products.has(sku) ? [] : [{ line, reason: unresolvedReason(order.customerId, customer, sku, products.has(sku)) }],
    );
    return problems.length ? { problems } : { outcome: { order: 'inserted', items: order.lines.map(() => 'inserted' as const) } };
  });
  const heads = orders.filter((_, index) => results[index]!.outcome);
  if (heads.length === 0) return results;
  const idOf = new Map(heads.map((order, index) => [order.externalId, ids[index]!]));
  const lines = heads.flatMap((order) =>
    order.lines.map((line, index) => ({ order: idOf.get(order.externalId)!, position: index + 1, line })),
  );
  const inserted = await queryRows<{ id: string; customer_id: number }>(
    db,
    sql`
      with head as (
        insert into orders (id, external_id, customer_id, ordered_at, total, item_count, discount_code, discount_total)
        select * from unnest(
          ${arrayParam(heads.map((o) => idOf.get(o.externalId)!))}::bigint[],
          ${arrayParam(heads.map((o) => o.externalId))}::text[],
          ${arrayParam(heads.map((o) => customers.get(o.customerId)!))}::int[],
          ${arrayParam(heads.map((o) => o.orderedAt))}::timestamptz[],
          ${arrayParam(heads.map((o) => lineTotal(o.lines)))}::numeric[],
          ${arrayParam(heads.map((o) => o.lines.length))}::int[],
          ${arrayParam(heads.map((o) => o.discountCode ?? null))}::text[],
          ${arrayParam(heads.map((o) => o.discountTotal ?? '0'))}::numeric[])
        on conflict (external_id) do nothing
        returning id, customer_id
      ),
      placed as (
        insert into outbox (topic, payload)
        select 'order.placed', jsonb_build_object('orderId', id, 'customerId', customer_id)
        from head where not ${history} order by id
      ),
      -- Only the lines of the orders this statement inserted: their keys' checks run at its end and see them.
      fresh_lines as (
        insert into order_items (order_id, position, product_id, quantity, unit_price)
        select l.* from unnest(
          ${arrayParam(lines.map((l) => l.order))}::bigint[],
          ${arrayParam(lines.map((l) => l.position))}::int[],
          ${arrayParam(lines.map((l) => products.get(l.line.sku)!))}::int[],
          ${arrayParam(lines.map((l) => l.line.quantity))}::int[],
          ${arrayParam(lines.map((l) => l.line.unitPrice))}::numeric[]) as l(order_id, position, product_id, quantity, unit_price)
        join head h on h.id = l.order_id
      )
      select id::text, customer_id from head`,
  );
  const stored = new Set(inserted.map((r) => r.id));
  const raced = heads.filter((order) => !stored.has(idOf.get(order.externalId)!));
  // The refresh below and the merge's own would lock the rollup's customer buckets in two
  // statements, and two transactions taking buckets in different orders can deadlock: so
  // every bucket either will take (the batch's customers, and those the raced orders are
  // stored under) is locked first, in one sorted statement; taking them again is free.
  if (raced.length)
    await lockCustomers(
      db,
      sql`select customer_id from orders where external_id in (select jsonb_array_elements_text(${jsonParam(raced.map((o) => o.externalId))}))
          union select (jsonb_array_elements_text(${jsonParam(heads.map((o) => customers.get(o.customerId)!))}))::int`,
    );
  // The customers' profiles and the report's rollup follow their orders, as in `writeOrders`.
  const customerIdsOf = inserted.map((r) => r.customer_id);
  await refreshProfiles(db, customerIdsOf);
  await refreshOutcomes(db, customerIdsOf);
  if (raced.length === 0) return results;
  const merged = await mergeStagedOrders(db, raced, history);
  const byKey = new Map(raced.map((order, index) => [order.externalId, merged[index]!]));
  return orders.map((order, index) => byKey.get(order.externalId) ?? results[index]!);
}

/**
 * One round trip for {@link insertNewOrders}: undefined when an order of `orders` is
 * already stored; otherwise the internal ids of the customers and skus the orders name
 * (unknown ones absent) and one new order id per order, drawn from the orders' sequence in
 * ascending order (an order refused for an unknown customer or sku leaves its id unused).
 */
async function newOrderKeys(
  db: Db,
  orders: FileOrder[],
): Promise<{ customers: Map<string, number>; products: Map<string, number>; ids: string[] } | undefined> {
  const keys = jsonParam(orders.map((o) => o.externalId));
  const rows = await queryRows<{ kind: 'stored' | 'customer' | 'product' | 'id'; key: string | null; id: string }>(
    db,
    sql`with stored as (select o.external_id from orders o join jsonb_array_elements_text(${keys}) k(v) on o.external_id = k.v)
        select 'stored' as kind, external_id as key, '' as id from stored
        union all
        select 'customer', key, id::text from (${knownCustomers(orders.map((o) => o.customerId))}) c
        union all
        select 'product', key, id::text from (${knownProducts(orders.flatMap((o) => o.lines.map((l) => l.sku)))}) p
        union all
        select 'id', null, nextval(pg_get_serial_sequence('orders', 'id'))::text from generate_series(1, ${orders.length})
        where not exists (select from stored)`,
  );
  if (rows.some((r) => r.kind === 'stored')) return undefined;
  const byKind = (kind: 'customer' | 'product') => new Map(rows.filter((r) => r.kind === kind).map((r) => [r.key!, Number(r.id)]));
  const ids = rows.filter((r) => r.kind === 'id').map((r) => r.id);
  ids.sort((a, b) => Number(a) - Number(b));
  return { customers: byKind('customer'), products: byKind('product'), ids };
}

/**
 * The staged path of {@link importOrders}: the lines are streamed with one COPY into a
 * temporary staging table, every customer and sku is resolved against it in one query,
 * and the orders and their items are merged from it with the statements of `upsertOrders`.
 */
async function mergeStagedOrders(db: Db, orders: FileOrder[], history: boolean): Promise<FileOrderResult[]> {
  await db.execute(
    sql.raw(`
    create temp table ${STAGED_LINES} (
      line int, order_key text, customer_key text, ordered_at timestamptz, total numeric, item_count int,
      discount_code text, discount_total numeric, position int, sku text, quantity int, unit_price numeric
    ) on commit drop`),
  );
  await copyRows(db, STAGED_LINES, STAGED_COLUMNS, orders.flatMap(stagedRows));
  const problems = await unresolvedLines(db);
  const refused = new Set(problems.keys());
  const accepted = orders.filter((o) => !refused.has(o.externalId));
  if (refused.size)
    await db.execute(
      sql`delete from ${sql.raw(STAGED_LINES)} where order_key in (select jsonb_array_elements_text(${jsonParam([...refused])}))`,
    );
  const outcomes = await writeOrders(
    db,
    {
      heads: sql`
        select s.order_key as external_id, c.id as customer_id, s.ordered_at, s.total, s.item_count,
               s.discount_code, s.discount_total, s.line as ord
        from ${sql.raw(STAGED_LINES)} s join customers c on c.external_id = s.customer_key
        where s.position = 1`,
      lines: (ids) => sql`
        select h.id as order_id, s.position, p.id as product_id, s.quantity, s.unit_price
        from ${sql.raw(STAGED_LINES)} s join ${ids} on h.key = s.order_key join products p on p.sku = s.sku`,
      orders: accepted.map((o) => ({ key: o.externalId, itemCount: o.lines.length })),
    },
    history,
  );
  const byKey = new Map(accepted.map((o, index) => [o.externalId, outcomes[index]!]));
  return orders.map((o) => {
    const outcome = byKey.get(o.externalId);
    return outcome ? { outcome } : { problems: problems.get(o.externalId)! };
  });
}

/** An order's staging rows: its lines, each carrying the order's own fields. */
function stagedRows(order: FileOrder): (string | number | null)[][] {
  const total = lineTotal(order.lines);
  return order.lines.map((l, index) => [
    l.line,
    order.externalId,
    order.customerId,
    order.orderedAt,
    total,
    order.lines.length,
    order.discountCode ?? null,
    order.discountTotal ?? null,
    index + 1,
    l.sku,
    l.quantity,
    l.unitPrice,
  ]);
}

/** The staged lines that name an unknown customer or sku, as problems by order, in line order. */
async function unresolvedLines(db: Db): Promise<Map<string, { line: number; reason: string }[]>> {
  const rows = await queryRows<{ line: number; order_key: string; customer_key: string; sku: string; customer: boolean; product: boolean }>(
    db,
    sql`select s.line, s.order_key, s.customer_key, s.sku, c.id is not null as customer, p.id is not null as product
        from ${sql.raw(STAGED_LINES)} s
        left join customers c on c.external_id = s.customer_key left join products p on p.sku = s.sku
        where c.id is null or p.id is null order by s.line`,
  );
  const problems = new Map<string, { line: number; reason: string }[]>();
  for (const row of rows) {
    const reason = unresolvedReason(row.customer_key, row.customer, row.sku, row.product);
    problems.set(row.order_key, [...(problems.get(row.order_key) ?? []), { line: row.line, reason }]);
  }
  return problems;
}

/** Why a line naming an unknown customer or sku is refused. */
function unresolvedReason(customerKey: string, customerKnown: boolean, sku: string, productKnown: boolean): string {
  const reasons: string[] = [];
  if (!customerKnown) reasons.push(`customer_id: no customer "${customerKey}" (import customers first)`);
  if (!productKnown) reasons.push(`sku: no product "${sku}" (import products first)`);
  return reasons.join('; ');
}

/** Where `writeOrders` reads the orders it writes: SQL for their heads and for their lines. */
interface OrderSource {
  /**
   * One row per order: external_id, customer_id (internal), ordered_at, total, item_count,
   * discount_code and discount_total (null keeps what is stored), and `ord`, which orders
   * them as the input does.
   */
  heads: SQL;
  /**
   * The lines of the orders in `ids` (a relation `h` of key, the external id, and id, the
   * internal one, to join on): order_id (internal), position, product_id, quantity, unit_price.
   */
  lines: (ids: SQL) => SQL;
  /** The orders, in input order, with their number of lines. */
  orders: { key: string; itemCount: number }[];
}

/** Orders' external and internal ids as the relation `h(key, id)`, for `OrderSource.lines`. */
function orderIds(orders: { key: string; id: number }[]): SQL {
  return sql`jsonb_to_recordset(${jsonParam(orders.map(({ key, id }) => ({ key, id })))}) as h(key text, id bigint)`;
}

/** `upsertOrders` and `importOrders` alike: the statements that write the orders of `source`, their outcomes in input order. */
async function writeOrders(db: Db, source: OrderSource, history: boolean): Promise<OrderOutcome[]> {
  if (source.orders.length === 0) return [];
  const orderRows = await queryRows<{ key: string; id: number; customer_id: number; outcome: Outcome; previous_customer: number | null }>(
    db,
    sql`
      with input as (${source.heads}),
      -- An absent discount keeps what is stored (none, and 0, for a new order).
      merged as (
        select i.external_id, i.customer_id, i.ordered_at, i.total, i.item_count, i.ord,
               coalesce(i.discount_code, s.discount_code) as discount_code,
               coalesce(i.discount_total, s.discount_total, 0) as discount_total
        from input i left join orders s on s.external_id = i.external_id
      ),
      up as (
        insert into orders (external_id, customer_id, ordered_at, total, item_count, discount_code, discount_total)
        select external_id, customer_id, ordered_at, total, item_count, discount_code, discount_total from merged order by ord
        on conflict (external_id) do update set
          customer_id = excluded.customer_id, ordered_at = excluded.ordered_at, total = excluded.total,
          item_count = excluded.item_count, discount_code = excluded.discount_code,
          discount_total = excluded.discount_total, updated_at = now()
        where (orders.customer_id, orders.ordered_at, orders.total, orders.item_count, orders.discount_code,
               orders.discount_total)
          is distinct from (excluded.customer_id, excluded.ordered_at, excluded.total, excluded.item_count,
               excluded.discount_code, excluded.discount_total)
        returning id, external_id as key, customer_id, (xmax = 0) as inserted
      ),
      placed as (
        insert into outbox (topic, payload)
        select 'order.placed', jsonb_build_object('orderId', id, 'customerId', customer_id)
        from up where inserted and not ${history} order by id
      ),
      -- Lines of a new order cannot conflict: a plain insert skips the speculative-insert cost.
      fresh_lines as (
        insert into order_items (order_id, position, product_id, quantity, unit_price)
        ${source.lines(sql`(select key, id from up where inserted) as h`)}
      )
      -- Unchanged orders are not in "up"; the statement's snapshot still sees them in orders,
      -- and sees a changed order's customer before the change (a moved order leaves a window).
      select i.external_id as key, coalesce(up.id, o.id) as id, i.customer_id, ${OUTCOME} as outcome,
             before.customer_id as previous_customer
      from input i left join up on up.key = i.external_id
      left join orders o on up.key is null and o.external_id = i.external_id
      left join orders before on not up.inserted and before.external_id = i.external_id`,
  );
  const byKey = new Map(orderRows.map((r) => [r.key, r]));
  // An order inserted by a concurrent request was invisible to the statement's snapshot.
  const missing = orderRows.filter((r) => r.id == null).map((r) => r.key);
  if (missing.length) {
    const found = await queryRows<{ key: string; id: number }>(
      db,
      sql`select external_id as key, id from orders where external_id in (select jsonb_array_elements_text(${jsonParam(missing)}))`,
    );
    for (const f of found) byKey.set(f.key, { ...byKey.get(f.key)!, id: f.id, outcome: 'unchanged' });
  }
  const idOf = (key: string) => byKey.get(key)!.id;
  const existing = source.orders.filter((o) => byKey.get(o.key)!.outcome !== 'inserted');

  // Lines of orders seen before are upserted, and report which of them changed.
  const itemRows = existing.length
    ? await queryRows<{ order_id: number; position: number; inserted: boolean }>(
        db,
        sql`
          insert into order_items (order_id, position, product_id, quantity, unit_price)
          ${source.lines(orderIds(existing.map((o) => byKey.get(o.key)!)))}
          on conflict (order_id, position) do update set
            product_id = excluded.product_id, quantity = excluded.quantity, unit_price = excluded.unit_price
          where (order_items.product_id, order_items.quantity, order_items.unit_price)
            is distinct from (excluded.product_id, excluded.quantity, excluded.unit_price)
          returning order_id, position, (xmax = 0) as inserted`,
      )
    : [];

  // An order sent again with fewer lines loses the lines it no longer has. Only orders
  // that existed before can have such lines, so a first import skips this entirely.
  if (existing.length)
    await db.execute(sql`
      delete from order_items oi
      using jsonb_to_recordset(${jsonParam(existing.map((o) => ({ id: idOf(o.key), n: o.itemCount })))}) as m(id bigint, n int)
      where oi.order_id = m.id and oi.position > m.n`);

  // The customers' profiles and the report's rollup follow their orders, in the same transaction.
  await refreshProfiles(
    db,
    orderRows.map((o) => o.customer_id),
  );
  await refreshOutcomes(
    db,
    [
      ...orderRows.map((o) => o.customer_id),
      ...orderRows.flatMap((r) => (r.previous_customer === null ? [] : [Number(r.previous_customer)])),
    ],
    orderRows.filter((r) => r.outcome === 'updated').map((r) => Number(r.id)),
  );

  const itemOutcome = new Map(itemRows.map((r) => [`${r.order_id}/${r.position}`, r.inserted ? 'inserted' : 'updated'] as const));
  return source.orders.map((o) => {
    const head = byKey.get(o.key)!;
    return {
      order: head.outcome,
      items: Array.from({ length: o.itemCount }, (_, index) => itemOutcome.get(`${head.id}/${index + 1}`) ?? head.outcome),
    };
  });
}

/** What became of one refund or cancellation: stored (how), or refused for a reason about one of its fields. */
export type Checked = { outcome: Outcome; problem?: undefined } | { outcome?: undefined; problem: { field: string; message: string } };

/** `125000n` → `"12.5"`: units of 1/10,000 as the shortest decimal. */
function formatUnits(units: bigint): string {
  const fraction = (units % 10_000n).toString().padStart(4, '0').replace(/0+$/, '');
  return `${units / 10_000n}${fraction ? `.${fraction}` : ''}`;
}

/**
 * Upserts refunds by the shop's refund id, after checking each against its order: the
 * order must exist, the refund must not predate it, and the order's refunds (those stored,
 * a refund sent again replacing its old self, plus the earlier records of this call) must
 * not sum past its total. `all` becomes whatever the order has left. The orders are locked
 * (`for update`) first, so two writers refunding one order take turns and cannot both pass
 * the check. With `allOrNothing` (the API), a single refused record stores none of them;
 * otherwise the accepted ones are stored and the others returned with their problem.
 */
export async function upsertRefunds(db: Db, records: RefundRecord[], options: { allOrNothing?: boolean } = {}): Promise<Checked[]> {
  if (records.length === 0) return [];
  const orderRows = await queryRows<{ id: number; external_id: string; total: string; ordered_at: Date }>(
    db,
    sql`select o.id, o.external_id, o.total::text as total, o.ordered_at from orders o
        where o.external_id in (select jsonb_array_elements_text(${jsonParam([...new Set(records.map((r) => r.order_id))])}))
        order by o.id for update`,
  );
  const byKey = new Map(orderRows.map((o) => [o.external_id, o]));
  const refunded = new Map<number, bigint>();
  if (orderRows.length) {
    const sums = await queryRows<{ order_id: number; refunded: string }>(
      db,
      sql`select r.order_id, sum(r.amount)::text as refunded from refunds r
          where r.order_id in (select jsonb_array_elements(${jsonParam(orderRows.map((o) => o.id))})::bigint)
            and r.external_id not in (select jsonb_array_elements_text(${jsonParam(records.map((r) => r.refund_id))}))
          group by r.order_id`,
    );
    for (const row of sums) refunded.set(Number(row.order_id), toUnits(row.refunded));
  }
  const accepted: { external_id: string; order_id: number; amount: string; refunded_at: string; reason: string | null }[] = [];
  const results = records.map((record): Checked => {
    const order = byKey.get(record.order_id);
    if (!order) return { problem: { field: 'order_id', message: `no order "${record.order_id}" (import orders first)` } };
    if (new Date(record.refunded_at) < new Date(order.ordered_at))
      return {
        problem: {
          field: 'refunded_at',
          message: `must not be before the order was placed (${new Date(order.ordered_at).toISOString()}, order ${order.external_id})`,
        },
      };
    const total = toUnits(order.total);
    const before = refunded.get(Number(order.id)) ?? 0n;
    const left = total - before;
    const amount = record.amount === REFUND_ALL ? left : toUnits(record.amount);
    if (record.amount === REFUND_ALL && left <= 0n)
      return { problem: { field: 'amount', message: `nothing is left to refund: order ${order.external_id} is refunded in full` } };
    if (amount > left)
      return {
        problem: {
          field: 'amount',
          message:
            `must be at most ${formatUnits(left)}, what order ${order.external_id} has left to refund ` +
            `(its total ${formatUnits(total)}, refunded ${formatUnits(before)}; got ${record.amount})`,
        },
      };
    refunded.set(Number(order.id), before + amount);
    accepted.push({
      external_id: record.refund_id,
      order_id: Number(order.id),
      amount: formatUnits(amount),
      refunded_at: record.refunded_at,
      reason: record.reason ?? null,
    });
    return { outcome: 'unchanged' };
  });
  if (accepted.length === 0 || (options.allOrNothing && accepted.length < records.length)) return results;
  // A refund sent again against another order leaves the first order's customer: their rollup rows follow too.
  const previous = await queryRows<{ customer_id: number }>(
    db,
    sql`select distinct o.customer_id from refunds r join orders o on o.id = r.order_id
        where r.external_id in (select jsonb_array_elements_text(${jsonParam(accepted.map((r) => r.external_id))}))`,
  );
  const rows = await queryRows<{ key: string; inserted: boolean }>(
    db,
    sql`insert into refunds (external_id, order_id, amount, refunded_at, reason)
        select external_id, order_id, amount, refunded_at, reason from jsonb_to_recordset(${jsonParam(accepted)}) as r(
          external_id text, order_id bigint, amount numeric, refunded_at timestamptz, reason text)
        on conflict (external_id) do update set
          order_id = excluded.order_id, amount = excluded.amount, refunded_at = excluded.refunded_at,
          reason = coalesce(excluded.reason, refunds.reason), updated_at = now()
        where (refunds.order_id, refunds.amount, refunds.refunded_at, refunds.reason)
          is distinct from (excluded.order_id, excluded.amount, excluded.refunded_at, coalesce(excluded.reason, refunds.reason))
        returning external_id as key, (xmax = 0) as inserted`,
  );
  if (rows.length) {
    const orderIds = records.map((r) => r.order_id);
    await refreshProfilesOfOrders(db, orderIds);
    await refreshOutcomesOfOrders(db, orderIds);
    await refreshOutcomes(
      db,
      previous.map((p) => Number(p.customer_id)),
    );
  }
  const written = new Map(rows.map((r) => [r.key, r.inserted ? ('inserted' as const) : ('updated' as const)]));
  return results.map((result, index) => (result.problem ? result : { outcome: written.get(records[index]!.refund_id) ?? 'unchanged' }));
}

/**
 * Marks orders cancelled (by external id) at the given time. A first cancellation is
 * `inserted`, a new time `updated`, the same time `unchanged`; an unknown order is refused.
 * A cancelled order earns no attribution credit: the credit it had under every model is
 * deleted in the same statement (attribution skips cancelled orders from then on). With
 * `allOrNothing` (the API), one refused record stores none.
 */
export async function cancelOrders(db: Db, records: CancellationRecord[], options: { allOrNothing?: boolean } = {}): Promise<Checked[]> {
  if (records.length === 0) return [];
  const rows = await queryRows<{ id: number; external_id: string; cancelled_at: Date | null }>(
    db,
    sql`select o.id, o.external_id, o.cancelled_at from orders o
        where o.external_id in (select jsonb_array_elements_text(${jsonParam(records.map((r) => r.order_id))}))
        order by o.id for update`,
  );
  const byKey = new Map(rows.map((o) => [o.external_id, o]));
  const changes: { id: number; cancelled_at: string }[] = [];
  const results = records.map((record): Checked => {
    const order = byKey.get(record.order_id);
    if (!order) return { problem: { field: 'order_id', message: `no order "${record.order_id}" (import orders first)` } };
    const stored = order.cancelled_at === null ? undefined : new Date(order.cancelled_at).getTime();
    if (stored === new Date(record.cancelled_at).getTime()) return { outcome: 'unchanged' };
    changes.push({ id: Number(order.id), cancelled_at: record.cancelled_at });
    return { outcome: stored === undefined ? 'inserted' : 'updated' };
  });
  if (changes.length === 0 || (options.allOrNothing && results.some((r) => r.problem))) return results;
  await db.execute(sql`
    with input as (select * from jsonb_to_recordset(${jsonParam(changes)}) as c(id bigint, cancelled_at timestamptz)),
    up as (
      update orders o set cancelled_at = i.cancelled_at, updated_at = now() from input i where o.id = i.id returning o.id
    )
    delete from attributions a using up where a.order_id = up.id`);
  const orderIds = records.map((r) => r.order_id);
  await refreshProfilesOfOrders(db, orderIds);
  await refreshOutcomesOfOrders(db, orderIds);
  return results;
}

function inInputOrder(keys: string[], rows: { key: string; outcome: Outcome }[]): Outcome[] {
  const byKey = new Map(rows.map((r) => [r.key, r.outcome]));
  return keys.map((key) => byKey.get(key) ?? 'unchanged');
}

/** The tables an import of each kind writes, whose planner statistics {@link analyzeImported} refreshes. */
const IMPORTED_TABLES: Record<RecordKind, readonly string[]> = {
  products: ['products'],
  customers: ['customers'],
  orders: ['orders', 'order_items', 'customers', 'customer_profiles', 'enrollment_outcomes', 'outbox'],
  refunds: ['refunds'],
  cancellations: ['orders'],
};

/**
 * Refreshes the planner's statistics of the tables a large import of `kind` just wrote
 * (ANALYZE reads a sample: well under a second at millions of rows). Autovacuum does it on
 * its own schedule, and not at all where it is off; until then the planner plans the next
 * statements for the table it last measured. Seen in the demo, on a database where
 * autovacuum was off: after importing 20,000 past orders it still believed almost every
 * order cancelled, and refreshed each batch of new orders' rollups by reading every order
 * in the shop, at 190 ms a batch.
 */
export async function analyzeImported(db: Db, kind: RecordKind): Promise<void> {
  await analyze(db, IMPORTED_TABLES[kind]);
}
