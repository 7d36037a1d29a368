/**
 * Reading a platform's JSON payload, field by field, without trusting its shape: what the
 * Shopify and WooCommerce mappings share. A field of the wrong type reads as absent; a
 * required one absent is a `MappingError` naming it.
 */
import { createHash } from 'node:crypto';
import { MappingError } from '../errors.ts';

export type Json = Record<string, unknown>;

export const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);

/** A non-blank string (trimmed) or a number as text; else undefined. */
export const text = (value: unknown): string | undefined =>
  typeof value === 'string' && value.trim() !== '' ? value.trim() : typeof value === 'number' ? String(value) : undefined;

/** A decimal amount (a string or a number) in cents; NaN when it is not one. */
export const cents = (value: unknown): number => Math.round(Number(text(value) ?? NaN) * 100);

/** An array, or an empty one for anything else. */
export const list = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);

/** A required field as text, or a `MappingError` naming it. */
export function need(payload: Json, field: string): string {
  const value = text(payload[field]);
  if (value === undefined) throw new MappingError(`the payload has no ${field}`);
  return value;
}

/**
 * The customer id of a guest checkout: `guest:` and the SHA-256 of the trimmed, lower-cased
 * address (as `erased_addresses` keeps an address), so a guest's later orders find them and
 * an erase leaves no address behind in the id.
 */
export function guestKey(email: string): string {
  return `guest:${createHash('sha256').update(email.trim().toLowerCase(), 'utf8').digest('hex')}`;
}
