/**
 * Data-subject requests: everything stored about one customer (`customerExport`), and the
 * erasure of their personal data (`eraseCustomer`). An erased customer's rows stay, under a
 * placeholder address, so every count and revenue figure stays as it was; the address is
 * kept only as a hash in `erased_addresses`, which suppresses it for whoever bears it later
 * (`erasedAddressHash`, read where the step processor decides).
 */
import { asc, eq, inArray, or, sql, type SQL, type SQLWrapper } from 'drizzle-orm';
import { z } from 'zod';
import type { Db } from '../db/client.ts';
import {
  attributions,
  codePools,
  customers,
  discountCodes,
  enrollments,
  events,
  messages,
  orderItems,
  orders,
  products,
  refunds,
  suppressions,
} from '../db/schema.ts';
import { parsedRow, parsedRows } from './rows.ts';

/**
 * The hash an erased address is kept as: lower-case hex SHA-256 of the trimmed, lower-cased
 * address. One SQL expression for the erase and every check, on Postgres and PGlite alike,
 * so the two can never disagree on what "the same address" is.
 */
export function addressHash(email: SQLWrapper | string): SQL {
  return sql`encode(sha256(convert_to(lower(trim(${email})), 'UTF8')), 'hex')`;
}

/** The placeholder an erased customer's address becomes: unique per customer, and not an address anyone receives mail at (`.invalid`, RFC 2606). */
export function erasedPlaceholder(customerId: number): string {
  return `erased-${customerId}@erased.invalid`;
}

/** A row as JSON would carry it: times as ISO 8601 strings, the rest as stored (money is already a decimal string). */
type Plain<T> = { [K in keyof T]: T[K] extends Date ? string : T[K] extends Date | null ? string | null : T[K] };

function plain<T extends Record<string, unknown>>(row: T): Plain<T> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(row)) out[key] = value instanceof Date ? value.toISOString() : value;
  return out as Plain<T>;
}

/**
 * Everything stored about the customer with external id `externalId`, JSON-serialisable
 * (times as ISO strings, money as decimal strings), or undefined for an unknown id: the
 * customer row, their orders with lines, refunds and cancellation, the credit attribution
 * gave them, their enrollments (sequence, arm, state), the emails made for them (subject,
 * state, times, discount code), the events on those emails (type, time, IP, user agent),
 * the codes issued to them, the suppression of their address, and whether they were erased.
 */
export async function customerExport(db: Db, externalId: string) {
  const [customer] = await db.select().from(customers).where(eq(customers.externalId, externalId));
  if (!customer) return undefined;
  const id = customer.id;

  const orderRows = await db.select().from(orders).where(eq(orders.customerId, id)).orderBy(asc(orders.orderedAt), asc(orders.id));
  const orderIds = orderRows.map((o) => o.id);
  const none = orderIds.length === 0;
  const lines = none
    ? []
    : await db
        .select({
          orderId: orderItems.orderId,
          position: orderItems.position,
          sku: products.sku,
          name: products.name,
          quantity: orderItems.quantity,
          unitPrice: orderItems.unitPrice,
        })
        .from(orderItems)
        .innerJoin(products, eq(products.id, orderItems.productId))
        .where(inArray(orderItems.orderId, orderIds))
        .orderBy(asc(orderItems.orderId), asc(orderItems.position));
  const refundRows = none ? [] : await db.select().from(refunds).where(inArray(refunds.orderId, orderIds)).orderBy(asc(refunds.refundedAt));
  const credit = none
    ? []
    : await db.select().from(attributions).where(inArray(attributions.orderId, orderIds)).orderBy(asc(attributions.orderId));

  const enrollmentRows = await db
    .select({
      id: enrollments.id,
      sequenceId: enrollments.sequenceId,
      sequenceVersionId: enrollments.sequenceVersionId,
      arm: enrollments.arm,
      isHoldout: enrollments.isHoldout,
      state: enrollments.state,
      exitReason: enrollments.exitReason,
      nextStep: enrollments.nextStep,
      nextDueAt: enrollments.nextDueAt,
      triggerOrder: orders.externalId,
      enrolledAt: enrollments.enrolledAt,
      segment: enrollments.segment,
    })
    .from(enrollments)
    .innerJoin(orders, eq(orders.id, enrollments.triggerOrderId))
    .where(eq(enrollments.customerId, id))
    .orderBy(asc(enrollments.enrolledAt), asc(enrollments.id));

  const messageRows = await db
    .select({
      id: messages.id,
      enrollmentId: messages.enrollmentId,
      step: messages.step,
      recipient: messages.recipient,
      subject: messages.subject,
      state: messages.state,
      messageId: messages.messageId,
      recommendations: messages.recommendations,
      upsells: messages.upsells,
      discountCode: discountCodes.code,
      smtpResponse: messages.smtpResponse,
      error: messages.error,
      createdAt: messages.createdAt,
      sentAt: messages.sentAt,
    })
    .from(messages)
    .leftJoin(discountCodes, eq(discountCodes.id, messages.discountCodeId))
    .where(eq(messages.customerId, id))
    .orderBy(asc(messages.createdAt), asc(messages.id));
  const messageIds = messageRows.map((m) => m.id);

  const eventRows = await db
    .select({
      id: events.id,
      messageId: events.messageId,
      type: events.type,
      isHuman: events.isHuman,
      machineReason: events.machineReason,
      linkIndex: events.linkIndex,
      ip: events.ip,
      userAgent: events.userAgent,
      occurredAt: events.occurredAt,
    })
    .from(events)
    .where(messageIds.length ? or(eq(events.customerId, id), inArray(events.messageId, messageIds)) : eq(events.customerId, id))
    .orderBy(asc(events.occurredAt), asc(events.id));

  const enrollmentIds = enrollmentRows.map((e) => e.id);
  const codes = enrollmentIds.length
    ? await db
        .select({
          code: discountCodes.code,
          pool: codePools.name,
          enrollmentId: discountCodes.enrollmentId,
          messageId: discountCodes.messageId,
          issuedAt: discountCodes.issuedAt,
          expiresAt: discountCodes.expiresAt,
          redeemedOrder: orders.externalId,
          redeemedAt: discountCodes.redeemedAt,
        })
        .from(discountCodes)
        .innerJoin(codePools, eq(codePools.id, discountCodes.poolId))
        .leftJoin(orders, eq(orders.id, discountCodes.redeemedOrderId))
        .where(inArray(discountCodes.enrollmentId, enrollmentIds))
        .orderBy(asc(discountCodes.issuedAt), asc(discountCodes.id))
    : [];

  const suppressionRows = await db
    .select()
    .from(suppressions)
    .where(eq(suppressions.email, sql`lower(${customer.email})`));

  return {
    customer: { ...plain(customer), erased: customer.erasedAt !== null },
    orders: orderRows.map((o) => ({
      ...plain(o),
      cancelled: o.cancelledAt !== null,
      lines: lines.filter((l) => l.orderId === o.id).map(({ orderId: _, ...line }) => line),
      refunds: refundRows.filter((r) => r.orderId === o.id).map(plain),
      attributions: credit.filter((a) => a.orderId === o.id).map(plain),
    })),
    enrollments: enrollmentRows.map(plain),
    messages: messageRows.map(plain),
    events: eventRows.map(plain),
    discountCodes: codes.map(plain),
    suppressions: suppressionRows.map(plain),
  };
}

export type CustomerExport = NonNullable<Awaited<ReturnType<typeof customerExport>>>;

/** What an erase did, or that there was nothing left to do. */
export type EraseResult =
  | { status: 'not-found' }
  | { status: 'already-erased'; customerId: number; erasedAt: Date }
  | {
      status: 'erased';
      customerId: number;
      erasedAt: Date;
      /** What the address became on the customer and their messages. */
      placeholder: string;
      messages: number;
      events: number;
      suppressions: number;
      outboxFacts: number;
    };

const count = z.object({ n: z.coerce.number().int() });
const customerRow = z.object({ id: z.coerce.number().int(), email: z.string(), erased_at: z.coerce.date().nullable() });

/**
 * Erases the personal data of the customer with external id `externalId`, in one
 * transaction, at `now`: the address becomes `erasedPlaceholder(id)` on the customer and on
 * every message made for them (an SMTP answer or error quoting it is dropped), names, time
 * zone, country, tags and attributes are cleared, the IP and user agent of every event on their emails are cleared,
 * their address's rows in `suppressions` are deleted (its hash in `erased_addresses`
 * suppresses it from now on, for any customer), and outbox facts quoting the address are
 * scrubbed, or deleted once consumed; a kept webhook payload quoting it is dropped. Orders, lines, refunds, enrollments, message states
 * and events stay, so every report counts exactly what it counted before. The customer row
 * is locked first, so two erases of one customer do the work once; a second erase answers
 * `already-erased`.
 */
export async function eraseCustomer(db: Db, externalId: string, now: Date): Promise<EraseResult> {
  return db.transaction(async (tx) => {
    const customer = await parsedRow(
      tx,
      sql`select id, email, erased_at from customers where external_id = ${externalId} for update`,
      customerRow,
    );
    if (!customer) return { status: 'not-found' };
    if (customer.erased_at) return { status: 'already-erased', customerId: customer.id, erasedAt: customer.erased_at };

    const { id, email } = customer;
    const placeholder = erasedPlaceholder(id);
    const at = now.toISOString();
    // The address as a case-insensitive pattern, for text that quotes it (regexp metacharacters escaped).
    const pattern = email.trim().replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const quotes = (column: SQL) => sql`(length(trim(${email})) > 0 and strpos(lower(${column}), lower(trim(${email}))) > 0)`;

    await tx.execute(sql`insert into erased_addresses (email_hash, erased_at) values (${addressHash(email)}, ${at})
                         on conflict (email_hash) do nothing`);
    const [suppressed] = await parsedRows(
      tx,
      sql`with gone as (delete from suppressions where email in (lower(${email}), lower(trim(${email}))) returning 1)
          select count(*) as n from gone`,
      count,
    );
    const [mailed] = await parsedRows(
      tx,
      sql`with done as (
            update messages set recipient = ${placeholder},
              smtp_response = case when ${quotes(sql`smtp_response`)} then null else smtp_response end,
              error = case when ${quotes(sql`error`)} then null else error end
            where customer_id = ${id} returning 1)
          select count(*) as n from done`,
      count,
    );
    const [tracked] = await parsedRows(
      tx,
      sql`with done as (
            update events set ip = null, user_agent = null
            where (customer_id = ${id} or message_id in (select m.id from messages m where m.customer_id = ${id}))
              and (ip is not null or user_agent is not null)
            returning 1)
          select count(*) as n from done`,
      count,
    );
    // Facts carry ids today; this keeps a future fact that quotes the address from outliving it.
    const [dropped] = await parsedRows(
      tx,
      sql`with gone as (delete from outbox where consumed_at is not null and ${quotes(sql`payload::text`)} returning 1),
          scrubbed as (
            update outbox set payload = regexp_replace(payload::text, ${pattern}, ${placeholder}, 'gi')::jsonb
            where consumed_at is null and ${quotes(sql`payload::text`)} returning 1)
          select (select count(*) from gone) + (select count(*) from scrubbed) as n`,
      count,
    );
    // A webhook delivery kept for a replay (a dead letter) or a data request (the export) that quotes the address or names the customer loses its payload.
    await tx.execute(sql`update webhook_deliveries set payload = null,
                           reason = coalesce(reason || '; ', '') || 'payload dropped: the customer was erased'
                         where payload is not null and (${quotes(sql`payload::text`)}
                           or payload->'customer'->>'id' = ${externalId} or payload->>'customer_id' = ${externalId})`);
    await tx.execute(sql`update customers set email = ${placeholder}, first_name = null, last_name = null, timezone = null, country = null, tags = '{}', attributes = '{}',
                           erased_at = ${at}, updated_at = now()
                         where id = ${id}`);
    return {
      status: 'erased',
      customerId: id,
      erasedAt: now,
      placeholder,
      messages: mailed?.n ?? 0,
      events: tracked?.n ?? 0,
      suppressions: suppressed?.n ?? 0,
      outboxFacts: dropped?.n ?? 0,
    };
  });
}

/**
 * The shop's request to erase all its data (Shopify's `shop/redact`): every customer's
 * personal data erased at once, set-based, in one transaction, by the rules of
 * `eraseCustomer`: each address kept only as its hash in `erased_addresses` (the
 * suppressions' addresses too, which are then deleted), every customer's address replaced by
 * `erasedPlaceholder(id)` on the customer and their messages (an SMTP answer or error quoting
 * it dropped), names, time zone, country, tags and attributes cleared, the IP and user agent
 * of every event and storefront click cleared, consumed outbox facts deleted and every kept
 * webhook payload dropped. Orders, enrollments, message states and events stay, so every
 * report counts what it counted. Returns how many customers were erased.
 */
export async function eraseEveryCustomer(db: Db, now: Date): Promise<{ customers: number }> {
  return db.transaction(async (tx) => {
    const at = now.toISOString();
    await tx.execute(sql`insert into erased_addresses (email_hash, erased_at)
                         select distinct ${addressHash(sql`email`)}, ${at}::timestamptz from customers where erased_at is null
                         union select distinct ${addressHash(sql`email`)}, ${at}::timestamptz from suppressions
                         on conflict (email_hash) do nothing`);
    await tx.execute(sql`delete from suppressions`);
    await tx.execute(sql`update messages m set recipient = 'erased-' || m.customer_id || '@erased.invalid',
                           smtp_response = case when strpos(lower(m.smtp_response), lower(trim(c.email))) > 0 then null else m.smtp_response end,
                           error = case when strpos(lower(m.error), lower(trim(c.email))) > 0 then null else m.error end
                         from customers c where c.id = m.customer_id and c.erased_at is null`);
    await tx.execute(sql`update events set ip = null, user_agent = null where ip is not null or user_agent is not null`);
    await tx.execute(sql`update storefront_clicks set ip = null, user_agent = null where ip is not null or user_agent is not null`);
    await tx.execute(sql`delete from outbox where consumed_at is not null`);
    await tx.execute(sql`update webhook_deliveries set payload = null,
                           reason = coalesce(reason || '; ', '') || 'payload dropped: the shop was erased'
                         where payload is not null`);
    const erased = await parsedRows(
      tx,
      sql`update customers set email = 'erased-' || id || '@erased.invalid', first_name = null, last_name = null, timezone = null,
            country = null, tags = '{}', attributes = '{}', erased_at = ${at}, updated_at = now()
          where erased_at is null returning id`,
      z.object({ id: z.coerce.number() }),
    );
    return { customers: erased.length };
  });
}
