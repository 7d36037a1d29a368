/**
 * Signed tokens for tracking links: `<payload>.<signature>`, both base64url. The payload
 * names the message (and link) it was made for, so a token cannot be moved to another
 * message, link or customer, and without SECRET_KEY it cannot be forged.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export type TokenKind = 'click' | 'open' | 'unsubscribe';

export interface TokenPayload {
  kind: TokenKind;
  /** messages.id */
  message: number;
  /** Link index within the message, for clicks. */
  link?: number;
  /** customers.id, for unsubscribes. */
  customer?: number;
}

const KIND = { click: 'c', open: 'o', unsubscribe: 'u' } as const;
const KIND_BACK: Record<string, TokenKind> = { c: 'click', o: 'open', u: 'unsubscribe' };

function sign(body: string, secret: string): string {
  return createHmac('sha256', secret).update(body).digest().subarray(0, 16).toString('base64url');
}

export function signToken(payload: TokenPayload, secret: string): string {
  const parts = [KIND[payload.kind], payload.message.toString(36), (payload.link ?? payload.customer ?? 0).toString(36)];
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
  const [kind, message, third] = Buffer.from(body, 'base64url').toString().split('.');
  const k = KIND_BACK[kind ?? ''];
  if (!k || !message || third === undefined) return undefined;
  const m = Number.parseInt(message, 36);
  const n = Number.parseInt(third, 36);
  if (!Number.isSafeInteger(m) || !Number.isSafeInteger(n)) return undefined;
  if (k === 'click') return { kind: k, message: m, link: n };
  if (k === 'unsubscribe') return { kind: k, message: m, customer: n };
  return { kind: k, message: m };
}
