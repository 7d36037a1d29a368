/**
 * The dashboard's links to its own pages, built in one place so a page that links to
 * another (a funnel cell to its recipients, a message to its sequence) agrees with the
 * route's query schema (../query.ts).
 */
import type { FunnelStage } from '../../analytics/recipients.ts';
import type { Period } from '../query.ts';

export interface RecipientsCell {
  /** The sequence's id. */
  sequence: string;
  /** The version's id (sequence_versions.id, `VersionReport.versionId`); absent for the live version. */
  version?: number | undefined;
  arm: string;
  /** 1-based, as the report counts (`StepReport.step`); absent for every step of the arm. */
  step?: number | undefined;
  stage: FunnelStage;
  /** The sequence page's period; absent (or `all`) for every enrolled customer. */
  period?: Period | undefined;
}

/**
 * The recipients behind one funnel cell: `/messages?sequence=…&version=…&arm=…&step=…&stage=…`.
 * Its count equals the report's figure for that cell (stage `opened` is `opens.human`,
 * `clicked` is `clicks.human`, `ordered` is `conversions`, the rest their own names).
 */
export function recipientsLink({ sequence, version, arm, step, stage, period }: RecipientsCell): string {
  const query = new URLSearchParams({ sequence });
  if (version !== undefined) query.set('version', String(version));
  query.set('arm', arm);
  if (step !== undefined) query.set('step', String(step));
  query.set('stage', stage);
  if (period !== undefined && period !== 'all') query.set('period', period);
  return `/messages?${query.toString()}`;
}

/** An arm of a sequence on its page: `/sequences/ID#arm-ARM`. */
export function sequenceArmLink(sequence: string, arm: string): string {
  return `/sequences/${encodeURIComponent(sequence)}#arm-${encodeURIComponent(arm)}`;
}

/** A customer's emails on the messages page. */
/** A customer's page: profile, segment, consent, orders, enrollments and emails. */
export function customerPageLink(customer: string): string {
  return `/customers/${encodeURIComponent(customer)}`;
}

export function customerLink(customer: string): string {
  return `/messages?customer=${encodeURIComponent(customer)}`;
}

/**
 * Where an email can be read: as received, when the captured inbox holds one with its
 * Message-ID (`/inbox/:index`); else its recorded facts (`/messages/:id`).
 */
export function emailLink(message: { id: number; rfcMessageId: string }, inboxIndex: ReadonlyMap<string, number> | undefined) {
  const index = inboxIndex?.get(message.rfcMessageId);
  return index === undefined
    ? { href: `/messages/${message.id}`, label: 'as recorded' }
    : { href: `/inbox/${index}`, label: 'as received' };
}

/** The index in the inbox of each Message-ID (the newest, should one repeat). */
export function inboxIndex(emails: readonly { messageId: string }[] | undefined): Map<string, number> | undefined {
  return emails && new Map(emails.map((e, i) => [e.messageId, i]));
}

/** A webhook delivery's page: its reason and kept payload (`/webhooks/<platform>/<delivery id>`). */
export function webhookDeliveryLink(platform: string, deliveryId: string): string {
  return `/webhooks/${encodeURIComponent(platform)}/${encodeURIComponent(deliveryId)}`;
}

/** A webhook delivery's kept payload (a data request's export) as a JSON download. */
export function webhookPayloadLink(platform: string, deliveryId: string): string {
  return `${webhookDeliveryLink(platform, deliveryId)}/payload.json`;
}
