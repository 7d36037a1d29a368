/**
 * Signed tokens for tracking links: `<payload>.<signature>`, both base64url, signed with
 * HMAC-SHA256 under SECRET_KEY. A token names the message it was made for (and, for an
 * unsubscribe, the customer), so it cannot be forged or moved to another message or
 * customer.
 *
 * One `message` token serves a message's open pixel and all its click links
 * (`/t/c/<token>/<link index>`): the index only chooses among destinations stored with that
 * very message, so it needs no signature of its own, and a send signs twice, not per link.
 * Unsubscribe tokens are a kind apart, so a click URL cannot be replayed as an unsubscribe.
 *
 * A `product` token names a product instead of a message: the storefront's recommendation
 * links (`/t/p/<token>`) belong to no email. Its `message` is 0 and its `product` the
 * product's id, so it is neither a click nor an unsubscribe token, and a link cannot be
 * moved to another product.
 */
import { createHash, createHmac, createSecretKey, timingSafeEqual, type KeyObject } from 'node:crypto';

export type TokenKind = 'message' | 'unsubscribe' | 'product';

export interface TokenPayload {
  kind: TokenKind;
  /** messages.id */
  message: number;
  /** customers.id, for unsubscribes. */
  customer?: number;
  /** products.id, for `product` tokens (whose `message` is 0). */
  product?: number;
}

const KIND = { message: 'm', unsubscribe: 'u', product: 'p' } as const;
const KIND_BACK: Record<string, TokenKind> = { m: 'message', u: 'unsubscribe', p: 'product' };

// A KeyObject per secret spares the key setup on every signature.
const keys = new Map<string, KeyObject>();
function sign(body: string, secret: string): string {
  let key = keys.get(secret);
  if (!key) keys.set(secret, (key = createSecretKey(Buffer.from(secret))));
  return createHmac('sha256', key).update(body).digest().subarray(0, 16).toString('base64url');
}

export function signToken(payload: TokenPayload, secret: string): string {
  // A product token carries its product where the others carry their message.
  const first = payload.kind === 'product' ? (payload.product ?? 0) : payload.message;
  const parts = [KIND[payload.kind], first.toString(36), (payload.customer ?? 0).toString(36)];
  const body = Buffer.from(parts.join('.')).toString('base64url');
  return `${body}.${sign(body, secret)}`;
}

/** The payload of a genuine token, or undefined for anything forged, altered or malformed. */
export function verifyToken(token: string, secret: string): TokenPayload | undefined {
  const [body, signature, extra] = token.split('.');
  if (!body || !signature || extra !== undefined) return undefined;
  const expected = Buffer.from(sign(body, secret));
  const given = Buffer.from(signature);
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) return undefined;
  const [kind, message, customer] = Buffer.from(body, 'base64url').toString().split('.');
  const k = KIND_BACK[kind ?? ''];
  const m = Number.parseInt(message ?? '', 36);
  const c = Number.parseInt(customer ?? '', 36);
  if (!k || !Number.isSafeInteger(m) || !Number.isSafeInteger(c)) return undefined;
  if (k === 'product') return { kind: k, message: 0, product: m };
  return k === 'unsubscribe' ? { kind: k, message: m, customer: c } : { kind: k, message: m };
}

const digest = (value: string) => createHash('sha256').update(value).digest();

/** True when `given` is `secret`, compared in constant time whatever their lengths. */
export function sameSecret(given: string, secret: string): boolean {
  return timingSafeEqual(digest(given), digest(secret));
}

/**
 * The token that lets the storefront API personalise for a customer: the hex HMAC-SHA256 of
 * their customer id under STOREFRONT_CUSTOMER_SECRET, which only the shop's server knows (a
 * Shopify theme renders it server-side: `{{ customer.id | hmac_sha256: secret }}`). Without
 * it anyone holding the public storefront key could ask about any customer and learn what
 * they bought from what is left out.
 */
export function storefrontCustomerToken(customerId: string, secret: string): string {
  return createHmac('sha256', secret).update(customerId, 'utf8').digest('hex');
}
