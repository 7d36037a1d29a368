/**
 * Storing events: opens and clicks (by group commit, from the tracking sink), bounces and
 * complaints (from an ESP's webhook) and unsubscribes. `events` is the one high-volume,
 * append-only table; an event that suppresses an address commits with its suppression, in
 * one transaction, so neither is ever stored without the other.
 */
import { sql } from 'drizzle-orm';
import { z } from 'zod';
import { jsonParam, type Db } from '../db/client.ts';
import { events } from '../db/schema.ts';
import { suppress, unsubscribeCustomer, type SuppressionReason } from './suppressions.ts';
import { parsedRows } from './rows.ts';
import { findMessageByRfcId } from './tracking.ts';

/** One event to store, as the tracking endpoints observed it. */
export interface NewEvent {
  messageId: number | null;
  customerId: number | null;
  type: 'open' | 'click' | 'unsubscribe' | 'bounce' | 'complaint';
  isHuman: boolean;
  /** Why the event was judged a machine's (e.g. `apple-mpp`); null for a human's. */
  machineReason: string | null;
  linkIndex: number | null;
  userAgent: string | null;
  ip: string | null;
  occurredAt: Date;
}

/**
 * Inserts `batch` in one statement, all or nothing: the rows travel as one JSON parameter
 * expanded by `jsonb_to_recordset`, so a batch of 500 costs one round trip and one plan
 * whatever its size (a multi-row VALUES would need 4,500 parameters and a plan per size).
 * User agents are cut to 500 characters: they are evidence for the human/machine verdict,
 * not something to store unbounded from a request header.
 */
export async function insertEvents(db: Db, batch: readonly NewEvent[]): Promise<void> {
  await db.execute(sql`
    insert into events (message_id, customer_id, type, is_human, machine_reason, link_index, user_agent, ip, occurred_at)
    select m, c, t, h, r, l, u, i, o from jsonb_to_recordset(${jsonParam(
      batch.map((e) => ({
        m: e.messageId,
        c: e.customerId,
        t: e.type,
        h: e.isHuman,
        r: e.machineReason,
        l: e.linkIndex,
        u: e.userAgent?.slice(0, 500) ?? null,
        i: e.ip,
        o: e.occurredAt.toISOString(),
      })),
    )}) as x(m bigint, c int, t text, h boolean, r text, l int, u text, i text, o timestamptz)`);
}

/** A bounce or complaint an ESP reported, with what it means for the address. */
export interface DeliveryReport {
  type: 'bounce' | 'complaint';
  email: string;
  /** The RFC 5322 Message-ID of our email, when the ESP quotes it. */
  rfcMessageId: string | undefined;
  /** The ESP's words (an SMTP response, say), stored as the event's machine reason. */
  reason: string | null;
  occurredAt: Date;
  /** The suppression it calls for (a hard bounce or a complaint), or null (a soft bounce). */
  suppression: { reason: SuppressionReason; source: string } | null;
}

/**
 * Stores every report as an event, of the message it names when it names one we sent (else
 * of no message), and suppresses the addresses that call for it, all in one transaction:
 * a webhook batch is stored whole or not at all, so the ESP's retry stores it once.
 * Returns how many addresses were newly suppressed (one already suppressed counts zero).
 */
export async function storeDeliveryReports(db: Db, reports: readonly DeliveryReport[]): Promise<{ suppressed: number }> {
  let suppressed = 0;
  await db.transaction(async (tx) => {
    for (const report of reports) {
      const message = report.rfcMessageId ? await findMessageByRfcId(tx, report.rfcMessageId) : undefined;
      await tx.insert(events).values({
        messageId: message?.id ?? null,
        customerId: message?.customerId ?? null,
        type: report.type,
        isHuman: false,
        machineReason: report.reason,
        occurredAt: report.occurredAt,
      });
      if (report.suppression && (await suppress(tx, report.email, report.suppression.reason, report.suppression.source))) suppressed += 1;
    }
  });
  return { suppressed };
}

/**
 * A customer's own unsubscribe: the customer is unsubscribed and the address suppressed
 * (src/store/suppressions.ts) and the unsubscribe is stored as a human's event, in one
 * transaction. Repeating it is harmless: the first time stays the one that counts, and each
 * request is still stored as the event it was.
 */
export async function storeUnsubscribe(
  db: Db,
  customer: { id: number; email: string },
  event: { messageId: number | null; userAgent: string | null; ip: string; occurredAt: Date },
): Promise<void> {
  await db.transaction(async (tx) => {
    await unsubscribeCustomer(tx, customer);
    await tx.insert(events).values({
      messageId: event.messageId,
      customerId: customer.id,
      type: 'unsubscribe',
      isHuman: true,
      userAgent: event.userAgent,
      ip: event.ip,
      occurredAt: event.occurredAt,
    });
  });
}

/**
 * When the engine stamped events whose user agent carries a tag: a client that tags its
 * own requests (the demo's simulated recipients) learns the engine's clock time of each.
 */
export async function eventsTagged(db: Db, tag: string): Promise<{ userAgent: string; occurredAt: Date }[]> {
  const rows = await parsedRows(
    db,
    sql`select user_agent, occurred_at from events where user_agent like ${`%${tag.replace(/[%_\\]/g, '\\$&')}%`}`,
    z.object({ user_agent: z.string(), occurred_at: z.coerce.date() }),
  );
  return rows.map((r) => ({ userAgent: r.user_agent, occurredAt: r.occurred_at }));
}
