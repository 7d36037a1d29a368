/**
 * What a tracked link means: where a click goes (the stored destination, tagged with UTM
 * parameters) and how long open and click links count. Pure functions of the message and
 * the time, so the endpoints and their tests agree by construction.
 */
import type { TrackedMessage } from '../store/tracking.ts';

/**
 * The destination with the UTM parameters of its message added: source, medium, the
 * sequence as the campaign and `<arm>-step<n>` (1-based) as the content. Parameters the
 * shop already set on the destination are kept, never overwritten.
 */
export function withUtm(destination: string, message: Pick<TrackedMessage, 'sequenceId' | 'arm' | 'step'>): string {
  const url = new URL(destination);
  const set = (key: string, value: string) => url.searchParams.has(key) || url.searchParams.set(key, value);
  set('utm_source', 'post-purchase');
  set('utm_medium', 'email');
  set('utm_campaign', message.sequenceId);
  set('utm_content', `${message.arm}-step${message.step + 1}`);
  return url.toString();
}

/**
 * True when `at` is more than `lifetimeMs` after the message was sent: its open and click
 * links no longer count. A message not sent yet has nothing to expire.
 */
export function linkExpired(message: Pick<TrackedMessage, 'sentAt'>, at: Date, lifetimeMs: number): boolean {
  return message.sentAt !== null && at.getTime() - message.sentAt.getTime() > lifetimeMs;
}

/** Where a storefront recommendation link was shown; `storefront` is the recommendations API's. */
export const STOREFRONT_PLACEMENTS = ['storefront'] as const;
export type StorefrontPlacement = (typeof STOREFRONT_PLACEMENTS)[number];

/** The placement a storefront link names, `storefront` for anything unknown (a link always works). */
export function placementOf(value: unknown): StorefrontPlacement {
  return STOREFRONT_PLACEMENTS.find((p) => p === value) ?? 'storefront';
}

/**
 * A product page with the UTM parameters of a storefront recommendation: source
 * `recommendations`, the placement as the medium, `storefront-recommendations` as the
 * campaign; parameters the shop already set are kept.
 */
export function withStorefrontUtm(destination: string, placement: StorefrontPlacement): string {
  const url = new URL(destination);
  const set = (key: string, value: string) => url.searchParams.has(key) || url.searchParams.set(key, value);
  set('utm_source', 'recommendations');
  set('utm_medium', placement);
  set('utm_campaign', 'storefront-recommendations');
  return url.toString();
}
