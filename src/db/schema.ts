/**
 * The whole data model, in one file. Postgres is the truth: everything in Redis can be
 * rebuilt from these tables. Money is `numeric` (never float) and travels through the
 * code as decimal strings; times are `timestamptz`.
 *
 * Change this file, then `npm run db:generate` to write a migration into drizzle/.
 *
 * Longer than most files on purpose: the data model reads best whole, one table after
 * another with its indexes, and drizzle-kit diffs it as one (Dittofeed's practice).
 */
import { sql } from 'drizzle-orm';
import {
  type AnyPgColumn,
  check,
  customType,
  bigint,
  doublePrecision,
  bigserial,
  boolean,
  index,
  integer,
  json,
  jsonb,
  numeric,
  pgTable,
  primaryKey,
  serial,
  text,
  timestamp,
  uniqueIndex,
} from 'drizzle-orm/pg-core';
import type { OfferedStep } from '../core/offers.ts';
import type { StoredDefinition } from '../core/sequence.ts';
import type { CompiledTemplate } from '../templates/compile.ts';

/** Raw bytes; pg hands back a Buffer, PGlite a Uint8Array. */
const bytea = customType<{ data: Uint8Array; driverData: Uint8Array }>({ dataType: () => 'bytea' });

const money = (name: string) => numeric(name, { precision: 16, scale: 4 });
const time = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });
const createdAt = () => time('created_at').notNull().defaultNow();
const updatedAt = () => time('updated_at').notNull().defaultNow();

// ---------------------------------------------------------------- catalog and customers

export const products = pgTable(
  'products',
  {
    id: serial('id').primaryKey(),
    sku: text('sku').notNull(),
    name: text('name').notNull(),
    category: text('category').notNull(),
    price: money('price').notNull(),
    url: text('url'),
    imageUrl: text('image_url'),
    inStock: boolean('in_stock').notNull().default(true),
    /** Higher is better within a category (1 = entry, 2 = mid, 3 = pro); null when unknown. */
    tier: integer('tier'),
    /**
     * What one unit costs the shop (the cost of goods), for margin; null when unknown, and
     * then the report assumes `SHOP_DEFAULT_MARGIN` (cost = price × (1 − margin)) and says so.
     */
    cost: money('cost'),
    /** The shop platform's variant id (Shopify's `variant_id`), for links that put it in the cart (SHOP_CART_URL); null when unknown. */
    variantId: text('variant_id'),
    /** The shop platform's product id shared by its variants (a Shopify or WooCommerce webhook's product id), so a deleted product can be withdrawn; null when unknown. */
    platformProductId: text('platform_product_id'),
    /**
     * When the product first appeared in the shop (a catalog's `published_at` or
     * `first_seen_at`, else when it was first imported): the `new-arrivals` strategy suggests
     * products first seen within its window. Never moved by a later import.
     */
    firstSeenAt: time('first_seen_at').notNull().defaultNow(),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [uniqueIndex('products_sku_key').on(t.sku), index('products_category_idx').on(t.category)],
);

export const customers = pgTable(
  'customers',
  {
    id: serial('id').primaryKey(),
    externalId: text('external_id').notNull(),
    email: text('email').notNull(),
    firstName: text('first_name'),
    lastName: text('last_name'),
    /** IANA zone, e.g. Europe/Paris; null means the shop's zone. */
    timezone: text('timezone'),
    unsubscribedAt: time('unsubscribed_at'),
    suppressedReason: text('suppressed_reason'),
    /** Set when the customer's personal data was erased on request; the row stays for counts and revenue. */
    erasedAt: time('erased_at'),
    /**
     * Marketing consent: `yes`, `no` or `unknown` (never said). A sequence with
     * `consent: required` enrolls and emails only `yes` (src/core/consent.ts).
     */
    acceptsMarketing: text('accepts_marketing').notNull().default('unknown'),
    /** When the consent was given or withdrawn, as the shop or the engine recorded it. */
    consentAt: time('consent_at'),
    /** Where the consent came from: what the shop said (`checkout`, `shopify`…), `import` by default, `unsubscribe` when the engine withdrew it. */
    consentSource: text('consent_source'),
    /** ISO 3166-1 alpha-2, upper case; null when not given. */
    country: text('country'),
    /** The shop's tags for the customer (`vip`, `wholesale`…), as last imported. */
    tags: text('tags')
      .array()
      .notNull()
      .default(sql`'{}'::text[]`),
    /** Any other facts the shop sends, a JSON object, as last imported. */
    attributes: jsonb('attributes').$type<Record<string, unknown>>().notNull().default({}),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    uniqueIndex('customers_external_id_key').on(t.externalId),
    index('customers_email_idx').on(sql`lower(${t.email})`),
    check('customers_accepts_marketing_known', sql`${t.acceptsMarketing} in ('yes', 'no', 'unknown')`),
  ],
);

/**
 * Each customer's order profile, kept up to date by the ingest (src/store/profiles.ts
 * `refreshProfiles`, in the same transaction as the orders, refunds and cancellations that
 * change it): orders not cancelled, their spend net of refunds, the first and last of them,
 * and the median days between consecutive ones. RFM scores and segments are read from it
 * against the shop's quantiles at the time of asking (src/core/profile.ts).
 */
export const customerProfiles = pgTable('customer_profiles', {
  customerId: integer('customer_id')
    .primaryKey()
    .references(() => customers.id),
  orders: integer('orders').notNull(),
  spend: money('spend').notNull(),
  firstOrderAt: time('first_order_at'),
  lastOrderAt: time('last_order_at'),
  /** Median days between consecutive orders; null under two orders. */
  typicalGapDays: doublePrecision('typical_gap_days'),
  updatedAt: updatedAt(),
});

/**
 * The addresses of erased customers, as the hex SHA-256 of the trimmed, lower-cased address
 * (src/store/customer-data.ts `addressHash`): never mailed again, without keeping the address.
 */
export const erasedAddresses = pgTable('erased_addresses', {
  emailHash: text('email_hash').primaryKey(),
  erasedAt: time('erased_at').notNull().defaultNow(),
});

// ---------------------------------------------------------------- orders

export const orders = pgTable(
  'orders',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    externalId: text('external_id').notNull(),
    customerId: integer('customer_id')
      .notNull()
      .references(() => customers.id),
    orderedAt: time('ordered_at').notNull(),
    /** Sum of quantity × unit_price over the order's items, kept in step by the ingest. */
    total: money('total').notNull(),
    itemCount: integer('item_count').notNull(),
    /**
     * Set when the shop cancelled the order. A cancelled order earns nothing: every revenue
     * figure counts it 0 (whenever it was cancelled: it never was a sale), a customer whose
     * only order was cancelled did not convert, and it is credited to no email (attribution
     * skips it, and cancelling deletes its credit). Re-sending the order keeps this.
     */
    cancelledAt: time('cancelled_at'),
    /** When the shop platform last changed the order, as its latest stored webhook said (`updated_at`, `date_modified_gmt`): an older delivery arriving late changes nothing. Null for orders from files and the API. */
    platformUpdatedAt: time('platform_updated_at'),
    /** The discount code the customer redeemed, as the shop sent it; null when none. */
    discountCode: text('discount_code'),
    /**
     * What the discount took off the order, in money. `total` is before it (Σ quantity ×
     * unit_price): revenue stays gross, and margin subtracts this (see ARCHITECTURE.md).
     */
    discountTotal: money('discount_total').notNull().default('0'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    uniqueIndex('orders_external_id_key').on(t.externalId),
    index('orders_customer_time_idx').on(t.customerId, t.orderedAt),
    index('orders_ordered_at_idx').on(t.orderedAt),
    /** The few cancelled orders, for the report's correction of the credited counts (migration 0033). */
    index('orders_cancelled_idx')
      .on(t.id)
      .where(sql`${t.cancelledAt} is not null`),
  ],
);

export const orderItems = pgTable(
  'order_items',
  {
    orderId: bigint('order_id', { mode: 'number' })
      .notNull()
      .references(() => orders.id, { onDelete: 'cascade' }),
    /** 1-based place of the line within its order, as it came in. */
    position: integer('position').notNull(),
    /**
     * A product's id, without a foreign key: its check took a row lock per line (about a fifth
     * of an order import's main statement). The one writer of order items (src/ingest/store.ts
     * `writeOrders`) takes the id from the products table in the same transaction (the file
     * import joins the skus in the statement that inserts the lines), and no code deletes a
     * product (a product deleted on the platform stays, marked out of stock).
     */
    productId: integer('product_id').notNull(),
    quantity: integer('quantity').notNull(),
    unitPrice: money('unit_price').notNull(),
  },
  (t) => [primaryKey({ columns: [t.orderId, t.position] }), index('order_items_product_idx').on(t.productId)],
);

/**
 * Money the shop gave back on an order, in part or in full: each refund is its own row, keyed
 * by the shop's refund id (`external_id`), so a refund sent again is an upsert. An order's net
 * revenue as of a time is its total minus the refunds made by then (never below 0: an order
 * re-sent with a smaller total keeps its refunds); the ingest refuses refunds that would sum
 * past the order's total. `amount` is what was refunded, resolved when a refund says `all`.
 */
export const refunds = pgTable(
  'refunds',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    externalId: text('external_id').notNull(),
    orderId: bigint('order_id', { mode: 'number' })
      .notNull()
      .references(() => orders.id, { onDelete: 'cascade' }),
    amount: money('amount').notNull(),
    refundedAt: time('refunded_at').notNull(),
    reason: text('reason'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    uniqueIndex('refunds_external_id_key').on(t.externalId),
    index('refunds_order_time_idx').on(t.orderId, t.refundedAt),
    check('refunds_amount_positive', sql`${t.amount} > 0`),
  ],
);

// ---------------------------------------------------------------- co-purchase statistics

// The co-purchase tables are derived data, replaced whole by every `recs build`; they carry
// no foreign keys (checking 200,000 inserted rows against products doubled the build time),
// and every query joins them to products.

/** Orders containing each product (a product bought twice in one order counts once). */
export const copurchaseProducts = pgTable('copurchase_products', {
  productId: integer('product_id').primaryKey(),
  orders: integer('orders').notNull(),
});

/** The top neighbours of each product, with the measures they were ranked by. */
export const copurchasePairs = pgTable(
  'copurchase_pairs',
  {
    productId: integer('product_id').notNull(),
    relatedProductId: integer('related_product_id').notNull(),
    pairOrders: integer('pair_orders').notNull(),
    support: doublePrecision('support').notNull(),
    confidence: doublePrecision('confidence').notNull(),
    lift: doublePrecision('lift').notNull(),
    score: doublePrecision('score').notNull(),
  },
  (t) => [primaryKey({ columns: [t.productId, t.relatedProductId] })],
);

/**
 * One row: how far the statistics have read the order items, over how many orders, and
 * the full pair counts (serialised typed arrays) that an incremental update continues from,
 * stored uncompressed (migration 0031: they are random bits that compression cannot shrink).
 */
export const copurchaseState = pgTable('copurchase_state', {
  id: integer('id').primaryKey().default(1),
  orders: integer('orders').notNull(),
  pairs: integer('pairs').notNull().default(0),
  lastOrderId: bigint('last_order_id', { mode: 'number' }).notNull(),
  builtAt: time('built_at').notNull(),
  counts: bytea('counts'),
});

/**
 * Learned replenishment, rebuilt by `recs build`: per product (`scope = 'product'`, `key` its
 * sku) and per category (`key` the category), the count, median and quartiles of the days
 * between a customer's repeat purchases of it (src/core/replenish.ts `repeatGaps`).
 */
export const replenishIntervals = pgTable(
  'replenish_intervals',
  {
    scope: text('scope').$type<'product' | 'category'>().notNull(),
    key: text('key').notNull(),
    intervals: integer('intervals').notNull(),
    median: doublePrecision('median').notNull(),
    q1: doublePrecision('q1').notNull(),
    q3: doublePrecision('q3').notNull(),
    builtAt: time('built_at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.scope, t.key] })],
);

/**
 * Every webhook delivery from a shop platform, by the platform's own delivery id: what makes
 * a redelivery a no-op. `outcome` is `stored` (mapped and ingested), `ignored` (an unknown
 * topic, or nothing to store: a customer without an email), `dead_letter` (could not be
 * mapped or was refused by the ingest: `reason` says why and `payload` keeps the body for a
 * replay), or `privacy` (a data request or redaction, with what was done in `reason`).
 */
export const webhookDeliveries = pgTable(
  'webhook_deliveries',
  {
    platform: text('platform').$type<'shopify' | 'woocommerce'>().notNull(),
    deliveryId: text('delivery_id').notNull(),
    topic: text('topic').notNull(),
    outcome: text('outcome').$type<'stored' | 'ignored' | 'dead_letter' | 'privacy'>().notNull(),
    reason: text('reason'),
    payload: jsonb('payload'),
    receivedAt: time('received_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.platform, t.deliveryId] }), index('webhook_deliveries_outcome_idx').on(t.outcome, t.receivedAt)],
);

// ---------------------------------------------------------------- templates and sequences

export const templates = pgTable(
  'templates',
  {
    id: serial('id').primaryKey(),
    name: text('name').notNull(),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex('templates_name_key').on(t.name)],
);

/** Immutable once written: a message points at the exact version it was rendered from. */
export const templateVersions = pgTable(
  'template_versions',
  {
    id: serial('id').primaryKey(),
    templateId: integer('template_id')
      .notNull()
      .references(() => templates.id),
    contentHash: text('content_hash').notNull(),
    /** The template and every partial it used, as authored. */
    source: jsonb('source').$type<Record<string, string>>().notNull(),
    /** Front matter, compiled HTML (Handlebars kept) and precompiled specs. */
    compiled: jsonb('compiled').$type<CompiledTemplate>().notNull(),
    publishedAt: time('published_at').notNull().defaultNow(),
  },
  (t) => [uniqueIndex('template_versions_hash_key').on(t.templateId, t.contentHash)],
);

export const sequences = pgTable('sequences', {
  /** The `id` of the sequence file, e.g. `thank-you-cross-sell`. */
  id: text('id').primaryKey(),
  name: text('name').notNull(),
  status: text('status').$type<'active' | 'paused'>().notNull().default('active'),
  liveVersionId: integer('live_version_id'),
  createdAt: createdAt(),
  updatedAt: updatedAt(),
});

export const sequenceVersions = pgTable(
  'sequence_versions',
  {
    id: serial('id').primaryKey(),
    sequenceId: text('sequence_id')
      .notNull()
      .references(() => sequences.id),
    version: integer('version').notNull(),
    contentHash: text('content_hash').notNull(),
    yaml: text('yaml').notNull(),
    definition: jsonb('definition').$type<StoredDefinition>().notNull(),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex('sequence_versions_key').on(t.sequenceId, t.version)],
);

/**
 * The experiment log: each decision taken on a sequence version (what was tested, what the
 * report said, what was decided and by whom). Rows are only ever added.
 */
export const experimentDecisions = pgTable(
  'experiment_decisions',
  {
    id: serial('id').primaryKey(),
    sequenceId: text('sequence_id')
      .notNull()
      .references(() => sequences.id),
    /** The version that was tested. */
    versionId: integer('version_id')
      .notNull()
      .references(() => sequenceVersions.id),
    /** `promote` (the variant becomes the control of the next version). */
    action: text('action').$type<'promote'>().notNull(),
    variant: text('variant').notNull(),
    /** The variants that were tested, the control first. */
    tested: jsonb('tested').$type<string[]>().notNull(),
    /** The evidence printed when deciding: verdicts, intervals, guardrails, SRM (JSON). */
    evidence: jsonb('evidence').$type<Record<string, unknown>>().notNull(),
    /** The decision went against the evidence (`--force`). */
    forced: boolean('forced').notNull().default(false),
    decidedBy: text('decided_by').notNull(),
    note: text('note'),
    /** Where the next version's file was written. */
    nextFile: text('next_file'),
    decidedAt: time('decided_at').notNull(),
  },
  (t) => [index('experiment_decisions_sequence_idx').on(t.sequenceId, t.decidedAt)],
);

/**
 * The audit log: who did what to a sequence, and when (pause, resume, promote, end a test),
 * from the dashboard or the command line. Rows are only ever added.
 */
export const auditLog = pgTable(
  'audit_log',
  {
    id: serial('id').primaryKey(),
    at: time('at').notNull(),
    /** The name given at login (or its default), or the `--by` of a command. */
    actor: text('actor').notNull(),
    action: text('action').$type<'pause' | 'resume' | 'promote' | 'end'>().notNull(),
    sequenceId: text('sequence_id')
      .notNull()
      .references(() => sequences.id),
    /** What changed: the status before and after, or the decision's id, variant and whether it was forced. */
    detail: jsonb('detail').$type<Record<string, unknown>>().notNull().default({}),
  },
  (t) => [index('audit_log_sequence_idx').on(t.sequenceId, t.at)],
);

// ---------------------------------------------------------------- enrollments and messages

export const enrollments = pgTable(
  'enrollments',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    customerId: integer('customer_id')
      .notNull()
      .references(() => customers.id),
    sequenceId: text('sequence_id')
      .notNull()
      .references(() => sequences.id),
    sequenceVersionId: integer('sequence_version_id')
      .notNull()
      .references(() => sequenceVersions.id),
    /** The variant key, or `holdout`. */
    arm: text('arm').notNull(),
    isHoldout: boolean('is_holdout').notNull(),
    triggerOrderId: bigint('trigger_order_id', { mode: 'number' })
      .notNull()
      .references(() => orders.id),
    state: text('state').$type<'active' | 'completed' | 'exited' | 'holdout'>().notNull(),
    exitReason: text('exit_reason'),
    /** Index of the next step to run; equals the step count once finished. */
    nextStep: integer('next_step').notNull().default(0),
    nextDueAt: time('next_due_at'),
    /** Spend in the 90 days before enrolling, the CUPED covariate. */
    preSpend: money('pre_spend').notNull().default('0'),
    /**
     * What the recommender would offer at each step, computed at enrollment for every arm
     * (the holdout too, which is never emailed): index = step, the cross-sell and upsell
     * skus. Offer acceptance is counted against these, so every arm, the holdout included,
     * is measured on the same footing. Null for enrollments made before offers were kept.
     */
    offered: jsonb('offered').$type<OfferedStep[]>(),
    /**
     * The time of the trigger order (or when it was handled, if that is earlier): windows
     * are measured from the purchase, however long the order waited in a queue.
     */
    enrolledAt: time('enrolled_at').notNull(),
    /** The customer's segment just before the trigger order (src/core/profile.ts; `new` without an earlier order); null for enrollments made before segments existed. */
    segment: text('segment'),
    /**
     * For a sequence with a `replenish` step: the learned median days until the trigger
     * order's product is bought again (the first of its products to run out), and where it
     * came from (`customer`, `product`, `category`); null when nothing was learned and a
     * refill step waits the fallback (src/core/replenish.ts).
     */
    replenishDays: doublePrecision('replenish_days'),
    replenishSource: text('replenish_source').$type<'customer' | 'product' | 'category'>(),
    updatedAt: updatedAt(),
  },
  (t) => [
    uniqueIndex('enrollments_sequence_order_key').on(t.sequenceId, t.triggerOrderId),
    index('enrollments_due_idx').on(t.state, t.nextDueAt),
    index('enrollments_customer_idx').on(t.customerId, t.enrolledAt),
    /** The enrollments an order triggered, whose rollup rows follow the order (src/store/outcomes.ts). */
    index('enrollments_trigger_idx').on(t.triggerOrderId),
  ],
);

export const messages = pgTable(
  'messages',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    enrollmentId: bigint('enrollment_id', { mode: 'number' })
      .notNull()
      .references(() => enrollments.id),
    step: integer('step').notNull(),
    templateVersionId: integer('template_version_id').references(() => templateVersions.id),
    customerId: integer('customer_id')
      .notNull()
      .references(() => customers.id),
    recipient: text('recipient').notNull(),
    subject: text('subject'),
    state: text('state').$type<'pending' | 'sent' | 'failed' | 'skipped'>().notNull(),
    /** RFC 5322 Message-ID derived from this row, so a retry carries the same one. */
    messageId: text('message_id').notNull(),
    /** Destinations of the tracked links, by index; a click redirects only to these. */
    links: jsonb('links').$type<string[]>().notNull().default([]),
    /** The cross-sell skus the email showed. */
    recommendations: jsonb('recommendations').$type<unknown[]>().notNull().default([]),
    /** The upsell skus the email showed. */
    upsells: jsonb('upsells').$type<string[]>().notNull().default([]),
    attempts: integer('attempts').notNull().default(0),
    /** While a worker is handing the email to SMTP (real time): no other worker may. */
    claimedUntil: time('claimed_until'),
    smtpResponse: text('smtp_response'),
    error: text('error'),
    /**
     * The discount code this email shows (its step offers a pool), chosen with the row and never
     * changed: a retry renders the same code. Null: no offer, or the pool was empty and the step
     * says `on_empty: send_without_offer`.
     */
    discountCodeId: bigint('discount_code_id', { mode: 'number' }).references((): AnyPgColumn => discountCodes.id),
    createdAt: createdAt(),
    sentAt: time('sent_at'),
    /**
     * The enrollment's version, arm and enrollment time, copied onto the row as it is
     * inserted (the `messages_enrollment_copy` trigger of migration 0030, so every writer
     * fills them; an enrollment never changes them): the report's funnel groups the sent
     * emails by them without joining every email to its enrollment.
     */
    sequenceVersionId: integer('sequence_version_id').notNull(),
    arm: text('arm').notNull(),
    enrolledAt: time('enrolled_at').notNull(),
  },
  (t) => [
    uniqueIndex('messages_enrollment_step_key').on(t.enrollmentId, t.step),
    uniqueIndex('messages_message_id_key').on(t.messageId),
    index('messages_customer_idx').on(t.customerId, t.createdAt),
    /** Whether an email was sent after a report's as-of, for the report's rollup (src/analytics/report.ts `rollupServes`). */
    index('messages_sent_idx').on(t.sentAt),
  ],
);

// ---------------------------------------------------------------- discount code pools

/**
 * A pool of single-use discount codes sharing one value (`campaign codes import`): a
 * percentage (`value` 10 = 10%) or an amount off in the shop's currency. A variant or a step
 * offers a pool by name.
 */
export const codePools = pgTable(
  'code_pools',
  {
    id: serial('id').primaryKey(),
    name: text('name').notNull(),
    valueKind: text('value_kind').$type<'percent' | 'amount'>().notNull(),
    value: money('value').notNull(),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex('code_pools_name_key').on(t.name),
    check('code_pools_value_positive', sql`${t.value} > 0 and (${t.valueKind} = 'amount' or ${t.value} <= 100)`),
  ],
);

/**
 * One code of a pool and its life: free, then issued to one enrollment (by the message that
 * first showed it, claimed in the same transaction as that message row:
 * src/store/discount-codes.ts), then perhaps redeemed by an order whose `discount_code` is it.
 * Codes are unique across pools without regard to case, as shops treat them. An enrollment
 * holds at most one code per pool, so every step offering that pool shows the same code.
 */
export const discountCodes = pgTable(
  'discount_codes',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    poolId: integer('pool_id')
      .notNull()
      .references(() => codePools.id),
    code: text('code').notNull(),
    /** After this the code is never issued; null: it never expires. */
    expiresAt: time('expires_at'),
    importedAt: time('imported_at').notNull().defaultNow(),
    enrollmentId: bigint('enrollment_id', { mode: 'number' }).references(() => enrollments.id),
    /** The message that issued it (the first step of the enrollment that offered the pool). */
    messageId: bigint('message_id', { mode: 'number' }).references((): AnyPgColumn => messages.id),
    /** When it was issued, on the engine's clock. */
    issuedAt: time('issued_at'),
    /** The first order (not cancelled, placed after the code was issued) that redeemed it; kept up to date by attribution. */
    redeemedOrderId: bigint('redeemed_order_id', { mode: 'number' }).references(() => orders.id),
    redeemedAt: time('redeemed_at'),
  },
  (t) => [
    uniqueIndex('discount_codes_code_key').on(sql`upper(${t.code})`),
    uniqueIndex('discount_codes_enrollment_pool_key')
      .on(t.enrollmentId, t.poolId)
      .where(sql`${t.enrollmentId} is not null`),
    index('discount_codes_free_idx')
      .on(t.poolId, t.id)
      .where(sql`${t.enrollmentId} is null`),
    index('discount_codes_message_idx').on(t.messageId),
    index('discount_codes_redeemed_order_idx').on(t.redeemedOrderId),
  ],
);

// ---------------------------------------------------------------- events and attribution

export const events = pgTable(
  'events',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    // No foreign keys: events are the one high-volume append-only table, written by group
    // commit from the tracking endpoints, which only record messages they have just looked
    // up. Two checks per inserted row cost a quarter of the pixel's throughput.
    messageId: bigint('message_id', { mode: 'number' }),
    customerId: integer('customer_id'),
    type: text('type').$type<'open' | 'click' | 'unsubscribe' | 'bounce' | 'complaint'>().notNull(),
    isHuman: boolean('is_human').notNull(),
    /** Why an event was judged a machine's (e.g. `apple-mpp`, `scanner-ua`); null for humans. */
    machineReason: text('machine_reason'),
    linkIndex: integer('link_index'),
    userAgent: text('user_agent'),
    ip: text('ip'),
    occurredAt: time('occurred_at').notNull(),
    createdAt: createdAt(),
  },
  (t) => [index('events_message_type_idx').on(t.messageId, t.type), index('events_customer_time_idx').on(t.customerId, t.occurredAt)],
);

/**
 * Clicks on storefront recommendation links (`/t/p/<token>`, src/http/routes/storefront.ts):
 * a storefront link belongs to no message, so it cannot be an `events` row. One row per
 * click, tagged with its placement (`storefront`), so placements can be compared with the
 * emails' clicks later. Append-only and without foreign keys, like `events`.
 */
export const storefrontClicks = pgTable(
  'storefront_clicks',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    productId: integer('product_id').notNull(),
    /** Where the link was shown: `storefront` (the recommendations API's links). */
    placement: text('placement').notNull(),
    isHuman: boolean('is_human').notNull(),
    /** Why the click was judged a machine's (`scanner-ua`, `head-request`); null for humans. */
    machineReason: text('machine_reason'),
    userAgent: text('user_agent'),
    ip: text('ip'),
    occurredAt: time('occurred_at').notNull(),
  },
  (t) => [index('storefront_clicks_product_time_idx').on(t.productId, t.occurredAt)],
);

export const attributions = pgTable(
  'attributions',
  {
    orderId: bigint('order_id', { mode: 'number' })
      .notNull()
      .references(() => orders.id),
    /** e.g. `last-touch:click=5d,open=1d`; rebuilding under a new model adds rows beside. */
    model: text('model').notNull(),
    messageId: bigint('message_id', { mode: 'number' })
      .notNull()
      .references(() => messages.id),
    /** `code`: the order redeemed a discount code the message issued (ahead of any click or open). */
    touch: text('touch').$type<'click' | 'open' | 'code'>().notNull(),
    touchedAt: time('touched_at').notNull(),
    /** The order's total, kept equal to it when the order changes (migration 0033's trigger on `orders`). */
    revenue: money('revenue').notNull(),
  },
  (t) => [primaryKey({ columns: [t.orderId, t.model] }), index('attributions_message_idx').on(t.messageId)],
);

/** How far attribution under each model has read the orders (see src/analytics/attribution.ts). */
export const attributionRuns = pgTable('attribution_runs', {
  model: text('model').primaryKey(),
  /** Every order up to this id has been attributed under the model. */
  lastOrderId: bigint('last_order_id', { mode: 'number' }).notNull().default(0),
  updatedAt: updatedAt(),
});

/**
 * Per sent message, whether anyone opened, clicked, unsubscribed, bounced or complained:
 * a rollup of `events` kept up to date incrementally (src/analytics/engagement.ts), so
 * reports read one row per message instead of every event. Booleans, so re-reading an
 * event is harmless.
 */
export const messageEngagement = pgTable('message_engagement', {
  messageId: bigint('message_id', { mode: 'number' }).primaryKey(),
  humanOpen: boolean('human_open').notNull().default(false),
  rawOpen: boolean('raw_open').notNull().default(false),
  humanClick: boolean('human_click').notNull().default(false),
  rawClick: boolean('raw_click').notNull().default(false),
  unsubscribed: boolean('unsubscribed').notNull().default(false),
  bounced: boolean('bounced').notNull().default(false),
  complained: boolean('complained').notNull().default(false),
  /**
   * The email's version, arm, step and enrollment time, copied from it as the row is
   * inserted (migration 0032's trigger); null only for an event naming no stored email.
   */
  sequenceVersionId: integer('sequence_version_id'),
  arm: text('arm'),
  step: integer('step'),
  enrolledAt: time('enrolled_at'),
  /**
   * The email was sent: set when its send is settled into the report's rollup
   * (src/store/outcomes.ts `settleSends`), so every sent email has its row here once
   * settled; false for a row an event made for an email not sent (yet).
   */
  sent: boolean('sent').notNull().default(false),
});

/**
 * The report's funnel per version, arm and step, as deltas (migration 0033): every statement
 * that inserts, updates or deletes `message_engagement` rows adds one row per step it
 * changed, the change in its sent emails and in those opened, clicked, unsubscribed from,
 * bounced and complained about (statement triggers on the transition tables, so no writer
 * waits on another's counter row). The report sums a few rows per step instead of counting a
 * million emails; the engagement refresh folds the deltas into one row per step.
 */
export const funnelCounts = pgTable(
  'funnel_counts',
  {
    sequenceVersionId: integer('sequence_version_id').notNull(),
    arm: text('arm').notNull(),
    step: integer('step').notNull(),
    sent: integer('sent').notNull(),
    bounced: integer('bounced').notNull(),
    humanOpens: integer('human_opens').notNull(),
    rawOpens: integer('raw_opens').notNull(),
    humanClicks: integer('human_clicks').notNull(),
    rawClicks: integer('raw_clicks').notNull(),
    unsubscribes: integer('unsubscribes').notNull(),
    complaints: integer('complaints').notNull(),
  },
  (t) => [index('funnel_counts_version_idx').on(t.sequenceVersionId)],
);

/**
 * The orders credited to each step's emails per attribution model, as deltas (migration
 * 0033): a statement trigger on `attributions` adds the change in credited orders and in
 * their `revenue` (kept equal to the order's total by a trigger on `orders`). The report
 * subtracts what a cancelled order or a refund by its as-of takes away, from those few rows.
 */
export const creditedCounts = pgTable(
  'credited_counts',
  {
    model: text('model').notNull(),
    sequenceVersionId: integer('sequence_version_id').notNull(),
    arm: text('arm').notNull(),
    step: integer('step').notNull(),
    conversions: integer('conversions').notNull(),
    revenue: money('revenue').notNull(),
  },
  (t) => [index('credited_counts_model_version_idx').on(t.model, t.sequenceVersionId)],
);

/** How far the engagement rollup has read `events`. One row. */
export const engagementRuns = pgTable('engagement_runs', {
  id: integer('id').primaryKey().default(1),
  lastEventId: bigint('last_event_id', { mode: 'number' }).notNull().default(0),
  /** The latest `occurred_at` of the events read (null: none), so a report as of now need not scan `events` to know none is later. */
  lastOccurredAt: time('last_occurred_at'),
  updatedAt: updatedAt(),
});

/**
 * The report's per-enrollment rollup (src/store/outcomes.ts): per enrollment, what the
 * report measures of it, kept up to date in the transactions that store orders, refunds,
 * cancellations, product costs and enrollments, and by the engagement refresh for the
 * guardrail flags. Window figures count the customer's orders after enrolling and inside the
 * window (`window_end`, from the version's measurement window), the trigger and cancelled
 * orders left out, each net of all its refunds (never below 0). A report reads these rows
 * instead of joining orders, refunds and events (src/analytics/report.ts).
 */
export const enrollmentOutcomes = pgTable(
  'enrollment_outcomes',
  {
    enrollmentId: bigint('enrollment_id', { mode: 'number' }).primaryKey(),
    sequenceVersionId: integer('sequence_version_id').notNull(),
    customerId: integer('customer_id').notNull(),
    arm: text('arm').notNull(),
    enrolledAt: time('enrolled_at').notNull(),
    /** enrolled_at + the version's measurement window. */
    windowEnd: time('window_end').notNull(),
    preSpend: money('pre_spend').notNull(),
    /** Whether this is the customer's first enrollment in the version (by time, then id): the unit when no enrolled-from is asked. */
    firstInVersion: boolean('first_in_version').notNull(),
    /** The segment at enrollment (`unknown` before segments existed) and whether an order came before the trigger order. */
    segment: text('segment').notNull(),
    repeatBuyer: boolean('repeat_buyer').notNull(),
    /** Window orders and their revenue net of refunds. */
    orders: integer('orders').notNull(),
    revenue: money('revenue').notNull(),
    /** Σ (net revenue − discount − cost of goods of the lines with a cost); the cost of those lines; whether a line had no cost. */
    margin: money('margin').notNull(),
    cogs: money('cogs').notNull(),
    uncosted: boolean('uncosted').notNull(),
    /** Whether an email of this enrollment was unsubscribed from, complained about, bounced (from message_engagement). */
    unsubscribed: boolean('unsubscribed').notNull().default(false),
    complained: boolean('complained').notNull().default(false),
    bounced: boolean('bounced').notNull().default(false),
    /**
     * The same flags ORed over this enrollment and the customer's later ones in the version
     * (by enrolled_at, then id; migration 0034): on a unit's row, whether the customer
     * unsubscribed, complained or bounced on any email of the version from the unit on, what
     * the guardrails count, read from the unit's row alone.
     */
    laterUnsubscribed: boolean('later_unsubscribed').notNull().default(false),
    laterComplained: boolean('later_complained').notNull().default(false),
    laterBounced: boolean('later_bounced').notNull().default(false),
    /**
     * The offer KPIs' figures of the window orders (src/analytics/kpis.ts), against what the
     * enrollment was offered (its sent emails' skus, `enrollments.offered` for a step not sent):
     * items bought; revenue of the offered lines (a partial refund spread over the lines); the
     * revenue and number of the orders holding an offered product; whether one held an offered
     * cross-sell, upsell, either.
     */
    items: bigint('items', { mode: 'number' }).notNull().default(0),
    recommended: numeric('recommended').notNull().default('0'),
    offerRevenue: money('offer_revenue').notNull().default('0'),
    offerOrders: integer('offer_orders').notNull().default(0),
    acceptedCross: boolean('accepted_cross').notNull().default(false),
    acceptedUp: boolean('accepted_up').notNull().default(false),
    acceptedAny: boolean('accepted_any').notNull().default(false),
    /** The customer's first uncancelled order after enrolling other than the trigger order (the repeat rate), whenever it came. */
    nextOrderAt: time('next_order_at'),
  },
  (t) => [
    index('enrollment_outcomes_version_idx').on(t.sequenceVersionId, t.customerId),
    index('enrollment_outcomes_customer_idx').on(t.customerId),
  ],
);

/**
 * The report's per-email acceptance rollup (src/store/outcomes.ts): per sent email whose
 * recipient bought one of the products it offered (a cross-sell or an upsell), the time of
 * the first such order: uncancelled, not the trigger order, after the send and by the end of
 * the enrollment's measurement window. An email with no such order has no row. Kept with
 * `enrollment_outcomes`, in the transactions that store orders and cancellations, and for
 * a new send by the settling of `sends_to_roll_up`; a report as of T counts the rows with
 * `accepted_at` by T.
 */
export const messageAcceptance = pgTable('message_acceptance', {
  messageId: bigint('message_id', { mode: 'number' }).primaryKey(),
  acceptedAt: time('accepted_at').notNull(),
});

/**
 * Emails marked sent whose rollup rows (their acceptance, their enrollment's offer figures)
 * are not yet written: the send adds its row in the statement that marks it sent, taking no
 * lock of the rollup, and `settleSends` (src/store/outcomes.ts) writes the rows and deletes
 * these, before every report and on the workers' reconciling pass.
 */
export const sendsToRollUp = pgTable('sends_to_roll_up', {
  messageId: bigint('message_id', { mode: 'number' }).primaryKey(),
});

/** When the outcome rollup was last built whole (one row); until then the report reads the raw rows. */
export const outcomeRuns = pgTable('outcome_runs', {
  id: integer('id').primaryKey().default(1),
  builtAt: time('built_at').notNull().defaultNow(),
});

/** Addresses never to be mailed again, whoever's they are. Keyed by lower-cased email. */
export const suppressions = pgTable('suppressions', {
  email: text('email').primaryKey(),
  reason: text('reason').$type<'hard-bounce' | 'complaint' | 'unsubscribe' | 'manual'>().notNull(),
  source: text('source'),
  createdAt: createdAt(),
});

// ---------------------------------------------------------------- outbox

/**
 * Facts committed with the data they describe, waiting to be published to BullMQ. The
 * relay drains it; a crash between commit and enqueue leaves the row for the next drain.
 */
export const outbox = pgTable(
  'outbox',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    topic: text('topic').notNull(),
    payload: jsonb('payload').$type<Record<string, unknown>>().notNull(),
    createdAt: createdAt(),
    publishedAt: time('published_at'),
    /** Set by the consumer once the fact is handled; published but never consumed is re-published. */
    consumedAt: time('consumed_at'),
  },
  (t) => [
    index('outbox_pending_idx')
      .on(t.id)
      .where(sql`${t.publishedAt} is null`),
  ],
);

// ---------------------------------------------------------------- dashboard

/**
 * The dashboard's page figures as last computed (src/dashboard/snapshots.ts): per page and
 * period, the report and the other slow figures as JSON (`json`, not `jsonb`: kept as written, key order and all), what they were as of (the engine's
 * clock), and when they were built and last looked at (real time). Pages read them while
 * they are younger than DASHBOARD_SNAPSHOT_SECONDS and rebuild them behind the reader; a
 * cache, never the truth: deleting every row loses nothing.
 */
export const reportSnapshots = pgTable('report_snapshots', {
  key: text('key').primaryKey(),
  asOf: time('as_of').notNull(),
  builtAt: time('built_at').notNull(),
  buildMs: integer('build_ms').notNull(),
  body: json('body').$type<unknown>().notNull(),
  viewedAt: time('viewed_at').notNull(),
});
