/**
 * A shop platform's webhook delivery, received: seen before → nothing; else its payload is
 * mapped to the engine's records (src/platforms), checked by the same schemas as the API's,
 * and stored by the same ingest, all in one transaction, so a delivery is stored whole or
 * not at all. What cannot be mapped or is refused is kept as a dead letter with the reason
 * (and the payload, to replay once the cause is fixed); an unknown topic is recorded and
 * ignored. Every outcome is answered 200 by the route: the platform retries only what the
 * engine could not take in at all (a 5xx: the database was down), and a retry is harmless.
 */
import { MappingError } from '../errors.ts';
import { claimDelivery, deliverySeen, recordDelivery, settleDelivery, type DeliveryOutcome, type Platform } from '../store/webhooks.ts';
import { shopifyTopic } from './shopify-topics.ts';
import { Refused, type Delivery, type Json, type TopicHandler, type WebhookDeps } from './webhook-records.ts';
import { wooCommerceTopic } from './woocommerce-topics.ts';

export type { Delivery, WebhookDeps } from './webhook-records.ts';

/** What came of a delivery: a duplicate, or the outcome recorded. */
export type Received = { outcome: 'duplicate' } | { outcome: DeliveryOutcome; reason?: string | undefined };

const TOPICS: Record<Platform, TopicHandler> = { shopify: shopifyTopic, woocommerce: wooCommerceTopic };

/**
 * Receives one delivery: a duplicate changes nothing; otherwise its topic is carried out in
 * one transaction with the record of the delivery, or, refused, nothing of it is stored and
 * it becomes a dead letter.
 */
export async function receiveDelivery(deps: WebhookDeps, d: Delivery): Promise<Received> {
  if (await deliverySeen(deps.db, d.platform, d.deliveryId)) return { outcome: 'duplicate' };
  const record = { platform: d.platform, deliveryId: d.deliveryId, topic: d.topic };
  if (typeof d.payload !== 'object' || d.payload === null || Array.isArray(d.payload)) {
    const reason = 'the body is not a JSON object';
    await keepDeadLetter(deps.db, { ...record, reason, payload: d.payload ?? null });
    return { outcome: 'dead_letter', reason };
  }
  const payload = d.payload as Json;
  try {
    const done = await deps.db.transaction(async (tx) => {
      // Claimed first, in the transaction: a retry racing this one waits, then finds it stored.
      if (!(await claimDelivery(tx, record))) return undefined;
      const result = await TOPICS[d.platform](tx, deps, d, payload);
      await settleDelivery(tx, { ...record, outcome: result.outcome, reason: result.reason, payload: result.keep });
      return result;
    });
    if (!done) return { outcome: 'duplicate' };
    if (done.ordersPlaced) deps.relay?.kick();
    return { outcome: done.outcome, reason: done.reason };
  } catch (error) {
    if (!(error instanceof MappingError || error instanceof Refused)) throw error;
    await keepDeadLetter(deps.db, { ...record, reason: error.message, payload });
    return { outcome: 'dead_letter', reason: error.message };
  }
}

/**
 * Records a dead letter with its payload; a payload Postgres cannot store (a string holding
 * `\u0000`, which jsonb refuses) is dropped and the reason says so, rather than answering
 * 5xx on every retry until the platform gives up on the webhook.
 */
async function keepDeadLetter(db: WebhookDeps['db'], d: Omit<Parameters<typeof recordDelivery>[1], 'outcome'>): Promise<void> {
  try {
    await recordDelivery(db, { ...d, outcome: 'dead_letter' });
  } catch {
    await recordDelivery(db, {
      ...d,
      outcome: 'dead_letter',
      reason: `${d.reason ?? ''} (payload not kept: it cannot be stored)`,
      payload: undefined,
    });
  }
}
