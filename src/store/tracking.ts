/**
 * The look-ups the tracking endpoints make. Each is one indexed statement (a primary key or
 * a unique index), so the pixel, the click redirect and the unsubscribe page cost at most
 * one round trip per look-up; the callers cache what never changes.
 */
import { eq } from 'drizzle-orm';
import type { Db } from '../db/client.ts';
import { customers, enrollments, messages } from '../db/schema.ts';

/** What an open, a click or an unsubscribe needs to know of the message its token names. */
export interface TrackedMessage {
  id: number;
  customerId: number;
  /** Null while the message is not sent yet; a sent message's row no longer changes. */
  sentAt: Date | null;
  /** The destinations of its tracked links, by index: a click goes only to one of these. */
  links: string[];
  sequenceId: string;
  arm: string;
  step: number;
}

/**
 * The message `id` with its links and the sequence and arm of its enrollment, or undefined
 * when there is no such message. One primary-key look-up joined to its enrollment by
 * primary key: every message belongs to exactly one enrollment, so the inner join never
 * drops a message nor repeats one.
 */
export async function findTrackedMessage(db: Db, id: number): Promise<TrackedMessage | undefined> {
  const [row] = await db
    .select({
      id: messages.id,
      customerId: messages.customerId,
      sentAt: messages.sentAt,
      links: messages.links,
      sequenceId: enrollments.sequenceId,
      arm: enrollments.arm,
      step: messages.step,
    })
    .from(messages)
    .innerJoin(enrollments, eq(enrollments.id, messages.enrollmentId))
    .where(eq(messages.id, id));
  return row;
}

/** The customer an unsubscribe token names, as the unsubscribe endpoints need it. */
export interface UnsubscribeTarget {
  id: number;
  email: string;
  /** When the customer unsubscribed (the first time), or null while subscribed. */
  unsubscribedAt: Date | null;
}

/**
 * The customer `id` of an unsubscribe token, or undefined when there is none (a token for a
 * customer since deleted, or none at all: the caller passes -1, which no serial id takes).
 */
export async function findUnsubscribeTarget(db: Db, id: number): Promise<UnsubscribeTarget | undefined> {
  const [row] = await db
    .select({ id: customers.id, email: customers.email, unsubscribedAt: customers.unsubscribedAt })
    .from(customers)
    .where(eq(customers.id, id));
  return row;
}

/**
 * The message whose RFC 5322 Message-ID is `rfcMessageId` (e.g. `<e12.s0@campaigns.shop.example>`,
 * as an ESP's webhook quotes it), or undefined when we sent no such email. Message-IDs are
 * unique (messages_message_id_key), so there is at most one.
 */
export async function findMessageByRfcId(db: Db, rfcMessageId: string): Promise<{ id: number; customerId: number } | undefined> {
  const [row] = await db
    .select({ id: messages.id, customerId: messages.customerId })
    .from(messages)
    .where(eq(messages.messageId, rfcMessageId));
  return row;
}
