/**
 * Discount code pools: what a pool's value is, which codes a file holds, which pool a step
 * offers, what an empty or low pool means, and the link that applies a code. Pure.
 *
 * A pool is a list of single-use codes the shop generated (Shopify's "Generate codes",
 * a WooCommerce coupon export) sharing one value: a percentage or an amount off. A step
 * that offers a pool claims one code per enrollment (src/store/discount-codes.ts), with
 * its message row, and every later step of that enrollment offering the same pool shows
 * the same code.
 */
import { z } from 'zod';
import { amountText } from './money.ts';
import { MONEY } from './records.ts';

/** What a code takes off: `percent` (value "10" is 10%) or `amount` (a decimal in the shop's currency). */
export interface DiscountValue {
  kind: 'percent' | 'amount';
  /** A decimal string: the percentage (0 < p ≤ 100) or the amount (> 0). */
  value: string;
}

/** How long a delayed step waits for codes before looking at its pool again (simulated time). */
export const EMPTY_POOL_RECHECK_MS = 3_600_000;

/** SHOP_DISCOUNT_URL when unset: Shopify's link that applies a code and goes on to the shop. */
export const DEFAULT_DISCOUNT_URL = '{shop}/discount/{code}';
/** CODE_POOL_LOW when unset: fewer codes left to issue than this is a warning. */
export const DEFAULT_CODE_POOL_LOW = 100;

/** A pool name: what `offer: { pool: NAME }` and `campaign codes import NAME` say. */
export const POOL_NAME = /^[a-z0-9][a-z0-9_-]{0,63}$/;
export const POOL_NAME_RULE = 'must be 1 to 64 lower-case letters, digits, "-" or "_", starting with a letter or digit';

/** The `offer` of a variant or a step in a sequence file. */
export const offerSchema = z
  .object({
    pool: z.string().regex(POOL_NAME, POOL_NAME_RULE),
    /** With no code left: `delay` the step until codes come (default) or `send_without_offer`. */
    on_empty: z.enum(['delay', 'send_without_offer']).default('delay'),
  })
  .strict();
export type Offer = z.output<typeof offerSchema>;

/**
 * A step's `offer`: a pool as a variant's, or `none` for a step that shows no code whatever
 * its variant offers (a last reminder after the codes expired, say).
 */
export const stepOfferSchema = z.union([z.literal('none'), offerSchema]);
export type StepOffer = z.output<typeof stepOfferSchema>;

/**
 * `10%`, `12.5%` → percent; `5`, `5.00` → amount. Undefined with the reason when it is
 * neither (or out of range): a percentage above 0 and at most 100 with up to 4 decimals, or
 * an amount above 0 as the importers accept money.
 */
export function parseDiscountValue(text: string): { value: DiscountValue } | { problem: string } {
  const t = text.trim();
  const percent = /^(\d{1,3}(\.\d{1,4})?)\s*%$/.exec(t);
  if (percent) {
    const p = Number(percent[1]);
    if (p <= 0 || p > 100) return { problem: `a percentage must be above 0% and at most 100% (got "${text}")` };
    return { value: { kind: 'percent', value: percent[1]! } };
  }
  if (MONEY.test(t)) {
    if (Number(t) <= 0) return { problem: `an amount must be above 0 (got "${text}")` };
    return { value: { kind: 'amount', value: t } };
  }
  return { problem: `must be a percentage such as 10% or an amount such as 5.00 (got "${text}")` };
}

/** Two values are the same offer (`10%` and `10.00%`, `5` and `5.0000`). */
export function sameValue(a: DiscountValue, b: DiscountValue): boolean {
  return a.kind === b.kind && Number(a.value) === Number(b.value);
}

/**
 * The value as the pool lists give it (JSON): a percentage without trailing zeros ("10",
 * "12.5"), an amount with at least two decimals ("5.00", "2.125"); the column stores four.
 */
export function plainValue(value: DiscountValue): string {
  if (value.kind === 'amount') return amountText(value.value);
  return value.value.includes('.') ? value.value.replace(/\.?0+$/, '') : value.value;
}

/** The value for people and emails: `10%`, `12.5%`, `$5.00` (in the shop's currency). */
export function discountValueText(value: DiscountValue, currency: string): string {
  if (value.kind === 'percent') return `${String(Number(value.value))}%`;
  return new Intl.NumberFormat('en', { style: 'currency', currency }).format(Number(value.value));
}

/** The longest code kept; every shop's codes are far shorter. */
const MAX_CODE_LENGTH = 255;

/** Why a code as read from a file cannot be a code, or undefined. */
export function codeProblem(code: string): string | undefined {
  if (code === '') return 'is empty';
  if (code.length > MAX_CODE_LENGTH) return `is longer than ${MAX_CODE_LENGTH} characters`;
  // eslint-disable-next-line no-control-regex
  if (/[\s\u0000-\u001f\u007f]/.test(code)) return `"${code}" holds a space or a control character: a code is one word`;
  return undefined;
}

/** The column a CSV export names its codes by, in order of preference (compared without case). */
export const CODE_COLUMNS = ['code', 'discount code', 'discount_code', 'coupon code', 'coupon_code', 'post_title', 'name'] as const;

/** The column of `columns` holding the codes, or undefined. */
export function codeColumn(columns: readonly string[]): string | undefined {
  const normal = (c: string) => c.trim().toLowerCase();
  for (const wanted of CODE_COLUMNS) {
    const found = columns.find((c) => normal(c) === wanted);
    if (found !== undefined) return found;
  }
  return undefined;
}

/** One code of a file, at its line. */
export interface CodeLine {
  line: number;
  code: string;
}

/** A problem of one line of a codes file. */
export interface LineProblem {
  line: number;
  message: string;
}

/**
 * Checks the codes read from one file: each a valid code, none twice (codes are compared
 * without case, as shops treat them: `SAVE10` and `save10` are one code). Returns the
 * distinct codes and every problem, each at its line.
 */
export function checkCodes(
  lines: readonly CodeLine[],
  placeOf: (line: number) => string = (line) => `line ${line} of this file`,
): { codes: CodeLine[]; problems: LineProblem[] } {
  const problems: LineProblem[] = [];
  const first = new Map<string, number>();
  const codes: CodeLine[] = [];
  for (const { line, code } of lines) {
    const problem = codeProblem(code);
    if (problem) {
      problems.push({ line, message: `code ${problem}` });
      continue;
    }
    const key = code.toUpperCase();
    const earlier = first.get(key);
    if (earlier !== undefined) {
      problems.push({ line, message: `code "${code}" is already on ${placeOf(earlier)}` });
      continue;
    }
    first.set(key, line);
    codes.push({ line, code });
  }
  return { codes, problems };
}

/**
 * When the imported codes expire: `--expires-at` as given, `--valid-days N` from now, or
 * never. A time in the past (or now) is refused: such codes could never be issued. `names`
 * are the two options as the caller's user knows them (the CLI's flags by default; the
 * API's fields).
 */
export function importExpiry(
  options: { expiresAt?: Date | undefined; validDays?: number | undefined },
  now: Date,
  names: { expiresAt: string; validDays: string } = { expiresAt: '--expires-at', validDays: '--valid-days' },
): { expiresAt: Date | null } | { problem: string } {
  if (options.expiresAt && options.validDays !== undefined) return { problem: `give ${names.expiresAt} or ${names.validDays}, not both` };
  if (options.validDays !== undefined) {
    if (!Number.isInteger(options.validDays) || options.validDays < 1)
      return { problem: `${names.validDays}: expected a positive whole number of days (got ${options.validDays})` };
    return { expiresAt: new Date(now.getTime() + options.validDays * 86_400_000) };
  }
  if (options.expiresAt) {
    if (options.expiresAt.getTime() <= now.getTime())
      return { problem: `${names.expiresAt} ${options.expiresAt.toISOString()} is in the past (now is ${now.toISOString()})` };
    return { expiresAt: options.expiresAt };
  }
  return { expiresAt: null };
}

/** The parts of a sequence definition that say what it offers (kept structural: sequence.ts imports this file). */
export interface OffersOf {
  variants: readonly { key: string; offer?: Offer | undefined }[];
  steps: readonly { offer?: StepOffer | undefined }[];
}

/**
 * The offer of one step for an arm: the step's own `offer` (none when it says `none`), else
 * the arm's variant's. The holdout is never emailed, so it has none.
 */
export function offerFor(definition: OffersOf, arm: string, step: number): Offer | undefined {
  const stepDef = definition.steps[step];
  if (!stepDef) return undefined;
  if (stepDef.offer === 'none') return undefined;
  if (stepDef.offer) return stepDef.offer;
  return definition.variants.find((v) => v.key === arm)?.offer;
}

/** Every pool a sequence offers, with the path of the field that names it (for file:line errors). */
export function offerPools(definition: OffersOf): { pool: string; path: (string | number)[] }[] {
  const found: { pool: string; path: (string | number)[] }[] = [];
  definition.variants.forEach((v, i) => {
    if (v.offer) found.push({ pool: v.offer.pool, path: ['variants', i, 'offer', 'pool'] });
  });
  definition.steps.forEach((s, i) => {
    if (s.offer && s.offer !== 'none') found.push({ pool: s.offer.pool, path: ['steps', i, 'offer', 'pool'] });
  });
  return found;
}

/** What the step does when its pool gave no code. */
export type EmptyPoolDecision = { kind: 'delay'; until: Date } | { kind: 'send_without_offer' };

export function onEmptyPool(offer: Offer, now: Date): EmptyPoolDecision {
  return offer.on_empty === 'send_without_offer'
    ? { kind: 'send_without_offer' }
    : { kind: 'delay', until: new Date(now.getTime() + EMPTY_POOL_RECHECK_MS) };
}

/**
 * The link that applies a code at the shop: the `SHOP_DISCOUNT_URL` pattern with `{shop}`
 * (the shop's URL without its trailing slash) and `{code}` (URL-encoded) filled in.
 */
export function discountUrl(pattern: string, shopUrl: string, code: string): string {
  return pattern.replaceAll('{shop}', shopUrl.replace(/\/+$/, '')).replaceAll('{code}', encodeURIComponent(code));
}

/** Why a `SHOP_DISCOUNT_URL` pattern is unusable, or undefined. */
export function discountUrlProblem(pattern: string): string | undefined {
  if (!pattern.includes('{code}')) return 'must contain {code}, e.g. {shop}/discount/{code}';
  try {
    const url = new URL(discountUrl(pattern, 'https://shop.example', 'CODE'));
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return 'must give an http(s) URL once {shop} and {code} are filled in';
  } catch {
    return 'must give a URL once {shop} and {code} are filled in, e.g. {shop}/discount/{code}';
  }
  return undefined;
}

/** A pool is low when fewer codes than `lowWater` are left to issue. */
export function poolIsLow(left: number, lowWater: number): boolean {
  return left < lowWater;
}

/** What an email says of its code's expiry: the deadline in the customer's words and the whole days left. */
export interface OfferDeadline {
  /** The expiry in the customer's zone, "Sunday 13 December, 23:59" (the year added when it is not the send's), or "". */
  expiresAtText: string;
  /** Whole days from the send to the expiry (0 on its last day), or undefined when the code never expires. */
  daysLeft: number | undefined;
}

/**
 * The deadline an email shows: the code's stored expiry (the truth the shop and the claim
 * enforce, never a made-up countdown) written in `timeZone`, and the whole days left at
 * `now`, the engine's clock at the send.
 */
export function offerDeadline(expiresAt: Date | null, now: Date, timeZone: string): OfferDeadline {
  if (!expiresAt) return { expiresAtText: '', daysLeft: undefined };
  const part = (at: Date, options: Intl.DateTimeFormatOptions) => new Intl.DateTimeFormat('en-GB', { ...options, timeZone }).format(at);
  const sameYear = part(expiresAt, { year: 'numeric' }) === part(now, { year: 'numeric' });
  const day = part(expiresAt, { weekday: 'long', day: 'numeric', month: 'long', ...(!sameYear && { year: 'numeric' }) });
  const time = part(expiresAt, { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
  return {
    expiresAtText: `${day.replace(',', '')}, ${time}`,
    daysLeft: Math.max(0, Math.floor((expiresAt.getTime() - now.getTime()) / 86_400_000)),
  };
}
