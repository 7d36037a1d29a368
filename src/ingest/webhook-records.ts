/**
 * What the platforms' topic handlers share: the check of a mapped record by the API's own
 * schema, the ingest's answer turned into a dead letter's reason, and the shape of a
 * handler. A `Refused` rolls the delivery's transaction back and becomes a dead letter.
 */
import type { z } from 'zod';
import type { Db } from '../db/client.ts';
import type { Relay } from '../outbox/relay.ts';
import type { DeliveryOutcome, Platform } from '../store/webhooks.ts';
import type { BatchResult } from './batch.ts';

export interface WebhookDeps {
  db: Db;
  relay?: Relay | undefined;
  /** SHOP_CURRENCY: an order in another currency cannot be mapped. */
  shopCurrency: string;
  /** SHOP_URL: product links (never a header's domain, which the signature does not cover). */
  shopUrl?: string | undefined;
  now: () => Date;
}

export interface Delivery {
  platform: Platform;
  deliveryId: string;
  topic: string;
  payload: unknown;
}

export type Json = Record<string, unknown>;

/** What a topic did: the outcome, a reason worth keeping, what to keep (a data request's export), and new orders (to kick the relay). */
export interface Handled {
  outcome: DeliveryOutcome;
  reason?: string;
  keep?: unknown;
  ordersPlaced?: number;
}

/** Carries out one delivery's topic inside its transaction. */
export type TopicHandler = (tx: Db, deps: WebhookDeps, d: Delivery, payload: Json) => Promise<Handled>;

/** Refused by a schema or the ingest: a dead letter. */
export class Refused extends Error {}

/** The record checked by its schema, or a `Refused` naming each field. */
export function checked<S extends z.ZodType>(schema: S, input: unknown, what: string): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  throw new Refused(`${what}: ${result.error.issues.map((i) => `${i.path.join('.') || '(record)'}: ${i.message}`).join('; ')}`);
}

/** The ingest's answer, or a `Refused` with its problems. */
export function stored(result: BatchResult, what: string): BatchResult & { ok: true } {
  if (result.ok) return result;
  throw new Refused(`${what}: ${result.problems.map((p) => `${p.path.slice(1).join('.')}: ${p.message}`).join('; ')}`);
}
