/**
 * The stable input formats (DESIGN.md, "Input formats") as zod schemas, shared by the file
 * import and the HTTP API so both accept and reject exactly the same things.
 *
 * Money stays a decimal string end to end; times must carry a zone. A field left empty in
 * a CSV is treated as absent.
 */
import { z } from 'zod';
import { parseConsent } from './consent.ts';
import { lineTotal, toUnits } from './money.ts';
import { emailProblem, preview, textProblem } from './text.ts';

/** A decimal amount as the formats write it: up to 12 digits, up to 4 decimals. */
export const MONEY = /^\d{1,12}(\.\d{1,4})?$/;
/** The largest amount stored (`numeric(16,4)`: 12 digits before the point, 4 after). */
export const MAX_AMOUNT = '999999999999.9999';
const MAX_UNITS = toUnits(MAX_AMOUNT);
/** The first and last years a time may fall in, in UTC (what Postgres and ISO 8601 agree on). */
export const MIN_YEAR = 1;
export const MAX_YEAR = 9999;
const ISO_TIME = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(:(\d{2})(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/i;
const CONSENT_TYPE = 'must be yes, no or unknown (true, false, subscribed, not_subscribed and unsubscribed are read too)';
const TIME_EXAMPLE = 'must be an ISO 8601 time with a zone, such as 2026-03-01T14:30:00Z';

/** Marks an issue whose message already shows the values at fault: no `(got …)` is added. */
const OMIT_VALUE = { omitValue: true } as const;

/** A cell that says nothing (empty, blank, null) as absent. */
export const absentIfEmpty = (value: unknown) =>
  value === '' || value === null || (typeof value === 'string' && value.trim() === '') ? undefined : value;

/** Refuses a string Postgres cannot store (a NUL, a lone surrogate); see `textProblem`. */
function storable(value: string, ctx: z.RefinementCtx): void {
  const problem = textProblem(value);
  if (problem) ctx.addIssue({ code: 'custom', message: problem, continue: false });
}

/** Any string the database can store, at most `max` characters; not trimmed, may be empty. */
export const storableText = (max: number, typeError = 'must be text') =>
  z.string({ error: typeError }).superRefine(storable).max(max, `must be at most ${max} characters`);

const text = (max: number) =>
  z
    .string({ error: 'must be text' })
    .superRefine(storable)
    .trim()
    .min(1, 'must not be empty')
    .max(max, `must be at most ${max} characters`);

const ID_TYPE = `must be text, or a whole number of at most ${Number.MAX_SAFE_INTEGER} (send larger or non-integer ids as strings, e.g. "12345678901234567890")`;

/**
 * An id (order, customer, sku): text of up to 128 characters without spaces. From JSON, a
 * number is taken only when it is a safe integer: above 2^53 a JSON number has already
 * been rounded (two ids would become one), and `1e308` or `1.5` are no ids.
 */
const id = z.preprocess(
  (value) => (typeof value === 'number' && Number.isSafeInteger(value) ? String(value) : value),
  z
    .string({ error: (issue) => (typeof issue.input === 'number' ? ID_TYPE : 'must be text') })
    .superRefine(storable)
    .trim()
    .min(1, 'must not be empty')
    .max(128, 'must be at most 128 characters')
    .regex(/^[^\s]+$/, 'must not contain spaces'),
);

/** Why a string is not an amount `MONEY` accepts, in terms of the rule it breaks. */
function moneyProblem(value: string): string | undefined {
  if (MONEY.test(value)) return undefined;
  if (/^-\d+(\.\d+)?$/.test(value)) return 'must not be negative (a decimal amount such as 19.99)';
  const decimal = /^(\d+)(\.(\d+))?$/.exec(value);
  if (decimal && decimal[1]!.length > 12) return `must be at most ${MAX_AMOUNT} (12 digits before the point)`;
  if (/^\d+(\.\d+)?e[+-]?\d+$/i.test(value)) return 'must be a decimal amount such as 19.99, without an exponent (send money as a string)';
  return 'must be a decimal amount such as 19.99, with at most 4 decimals';
}

/** A non-negative decimal amount as a string, e.g. `19.99`. Numbers are accepted from JSON. */
export const money = z.preprocess(
  (value) => (typeof value === 'number' && Number.isFinite(value) ? String(value) : value),
  z
    .string({ error: 'must be a decimal amount such as 19.99' })
    .superRefine(storable)
    .trim()
    .superRefine((value, ctx) => {
      const problem = moneyProblem(value);
      if (problem) ctx.addIssue({ code: 'custom', message: problem, continue: false });
    }),
);

/** Why `quantity × unitPrice` cannot be stored as an amount, or undefined when it can. */
export function lineAmountProblem(quantity: number, unitPrice: string): string | undefined {
  if (!Number.isSafeInteger(quantity) || !MONEY.test(unitPrice)) return undefined; // refused by their own rules
  const amount = BigInt(quantity) * toUnits(unitPrice);
  if (amount <= MAX_UNITS) return undefined;
  return `quantity × unit_price must be at most ${MAX_AMOUNT} (got ${quantity} × ${unitPrice} = ${lineTotal([{ quantity, unitPrice }])})`;
}

/**
 * Why an order with these lines cannot be stored (its total, Σ quantity × unit_price,
 * exceeds the largest amount), or undefined when it can. The file import calls it for the
 * lines of one order; the API's `orderRecord` checks it itself.
 */
export function orderTotalProblem(lines: readonly { quantity: number; unit_price: string }[]): string | undefined {
  if (lines.some((line) => !Number.isSafeInteger(line.quantity) || !MONEY.test(line.unit_price))) return undefined;
  const total = lines.reduce((sum, line) => sum + BigInt(line.quantity) * toUnits(line.unit_price), 0n);
  if (total <= MAX_UNITS) return undefined;
  const exact = lineTotal(lines.map((line) => ({ quantity: line.quantity, unitPrice: line.unit_price })));
  return `the order's total (the sum of quantity × unit_price over its ${lines.length} lines) must be at most ${MAX_AMOUNT} (got ${exact})`;
}

/**
 * Why an order's `discount_total` cannot stand (it exceeds the order's total, Σ quantity ×
 * unit_price, which is before the discount), or undefined when it can or is absent.
 */
export function discountProblem(
  discountTotal: string | undefined,
  lines: readonly { quantity: number; unit_price: string }[],
): string | undefined {
  if (discountTotal === undefined || !MONEY.test(discountTotal)) return undefined;
  if (lines.some((line) => !Number.isSafeInteger(line.quantity) || !MONEY.test(line.unit_price))) return undefined;
  const total = lines.reduce((sum, line) => sum + BigInt(line.quantity) * toUnits(line.unit_price), 0n);
  if (toUnits(discountTotal) <= total) return undefined;
  const exact = lineTotal(lines.map((line) => ({ quantity: line.quantity, unitPrice: line.unit_price })));
  return `must be at most the order's total before the discount (Σ quantity × unit_price = ${exact})`;
}

/** An ISO 8601 date-time with a zone (`Z` or an offset), normalised to UTC ISO form. */
export const isoTime = z
  .string({ error: 'must be an ISO 8601 time such as 2026-03-01T14:30:00Z' })
  .superRefine(storable)
  .trim()
  .transform((value, ctx) => {
    const parsed = parseIsoTime(value);
    if (parsed.problem !== undefined) {
      ctx.addIssue({ code: 'custom', message: parsed.problem, continue: false });
      return z.NEVER;
    }
    return parsed.time;
  });

export type ParsedTime = { time: string; problem?: undefined } | { time?: undefined; problem: string };

// Consecutive lines of one order repeat its time: remember the last answer.
let lastTime: { input: string; output: ParsedTime } = { input: '', output: { problem: TIME_EXAMPLE } };

/** An ISO 8601 time with a zone as UTC ISO text, or what is wrong with it (`isoTime` without zod). */
export function parseIsoTime(value: string): ParsedTime {
  if (value === lastTime.input) return lastTime.output;
  const output = parseIsoTimeUncached(value);
  lastTime = { input: value, output };
  return output;
}

function parseIsoTimeUncached(value: string): ParsedTime {
  const match = ISO_TIME.exec(value);
  if (!match) return { problem: TIME_EXAMPLE };
  const [, year, month, day, hour, minute, , second] = match;
  const date = new Date(value.replace(' ', 'T'));
  if (Number.isNaN(date.getTime())) return { problem: TIME_EXAMPLE };
  // Reject dates JavaScript silently rolls over (2026-02-30) by checking the fields exist
  // (setUTCFullYear, because Date.UTC reads the years 0–99 as 1900–1999).
  const probe = new Date(0);
  probe.setUTCFullYear(Number(year), Number(month) - 1, Number(day));
  if (probe.getUTCMonth() !== Number(month) - 1 || probe.getUTCDate() !== Number(day)) return { problem: TIME_EXAMPLE };
  if (Number(hour) > 23 || Number(minute) > 59 || Number(second ?? 0) > 59) return { problem: TIME_EXAMPLE };
  // The year in UTC, after the zone: 0001-01-01T00:00:00+01:00 is in the year 0.
  const utcYear = date.getUTCFullYear();
  if (utcYear < MIN_YEAR || utcYear > MAX_YEAR)
    return { problem: `${TIME_EXAMPLE}, in the years 0001 to 9999 once converted to UTC (this one falls in the year ${utcYear})` };
  return { time: date.toISOString() };
}

const optional = <T extends z.ZodType>(schema: T) => z.preprocess(absentIfEmpty, schema.optional());

const httpUrl = text(2048).refine((value) => {
  try {
    return ['http:', 'https:'].includes(new URL(value).protocol);
  } catch {
    return false;
  }
}, 'must be an http(s) URL');

const flag = z.preprocess(
  (value) => {
    if (typeof value !== 'string') return value;
    const lowered = value.trim().toLowerCase();
    if (['true', '1', 'yes', 'y'].includes(lowered)) return true;
    if (['false', '0', 'no', 'n'].includes(lowered)) return false;
    return value;
  },
  z.boolean({ error: 'must be true or false (or yes/no, 1/0)' }),
);

const timezone = text(64).refine(isTimeZone, 'must be an IANA time zone such as Europe/Paris');

/** True for an IANA time zone name the runtime knows. */
export function isTimeZone(value: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: value });
    return true;
  } catch {
    return false;
  }
}

const wholeNumber = (min: number, max: number) =>
  z.preprocess(
    (value) => (typeof value === 'string' && /^\s*-?\d+\s*$/.test(value) ? Number(value) : value),
    z.number({ error: `must be a whole number from ${min} to ${max}` }).superRefine((n, ctx) => {
      // One message, the rule the value breaks: a huge number is "at most", not also "whole".
      const message = !Number.isInteger(n)
        ? `must be a whole number from ${min} to ${max}`
        : n < min
          ? `must be at least ${min}`
          : n > max
            ? `must be at most ${max}`
            : undefined;
      if (message) ctx.addIssue({ code: 'custom', message });
    }),
  );

/**
 * An email address (trimmed): RFC 5321 lengths (64 octets before the @, 254 in all), an
 * ASCII dot-atom before the @, and a domain that may be internationalised (see `emailProblem`).
 */
export const emailAddress = z
  .string({ error: 'must be an email address' })
  .superRefine(storable)
  .trim()
  .superRefine((value, ctx) => {
    const problem = emailProblem(value);
    if (problem) ctx.addIssue({ code: 'custom', message: problem, continue: false });
  });

/**
 * A variant id as a shop platform gives it (Shopify's `40123456789012`): an id that a cart
 * link can list. A comma or a colon would be read as the link's separators
 * (`VARIANT:QTY,VARIANT:QTY`), so neither is taken.
 */
const variantId = id.refine((value) => !/[,:]/.test(value), 'must not contain a comma or a colon (a cart link lists VARIANT:QTY,…)');

export const productRecord = z.object({
  sku: id,
  name: text(500),
  category: text(200),
  price: money,
  url: optional(httpUrl),
  image_url: optional(httpUrl),
  in_stock: optional(flag),
  tier: optional(wholeNumber(0, 100)),
  /** What one unit costs the shop, for margin; absent keeps what is stored (see `SHOP_DEFAULT_MARGIN`). */
  cost: optional(money),
  /**
   * When the shop first listed the product, for the new-arrivals strategy; absent: a new
   * product is first seen when imported, a stored one keeps its time. An import never moves
   * it later, only earlier.
   */
  first_seen_at: optional(isoTime),
  /** Shopify's name for the same (a products export's `published_at`), read when `first_seen_at` is absent. */
  published_at: optional(isoTime),
  /** The shop platform's variant id (Shopify's `variant_id`), what a bundle's cart link names; absent keeps what is stored. */
  variant_id: optional(variantId),
});
export type ProductRecord = z.output<typeof productRecord>;

/** Marketing consent as shops write it: yes/no/unknown, true/false, subscribed/not_subscribed/unsubscribed (src/core/consent.ts). */
const consent = z
  .union([z.string({ error: CONSENT_TYPE }).superRefine(storable), z.boolean({ error: CONSENT_TYPE })], { error: CONSENT_TYPE })
  .transform((value, ctx) => {
    const state = parseConsent(value);
    if (state === undefined) {
      ctx.addIssue({ code: 'custom', message: CONSENT_TYPE });
      return z.NEVER;
    }
    return state;
  });

/** A country as ISO 3166-1 alpha-2 (`FR`, `us`), kept upper case. */
const country = z
  .string({ error: 'must be a two-letter country code (ISO 3166-1), such as FR' })
  .trim()
  .regex(/^[A-Za-z]{2}$/, 'must be a two-letter country code (ISO 3166-1), such as FR')
  .transform((c) => c.toUpperCase());

export const MAX_TAGS = 50;
/** Tags: an array of text, or one text of comma-separated tags (Shopify's export writes `vip, wholesale`); blanks dropped, each trimmed. */
const tags = z
  .union([z.array(storableText(100, 'must be text')), storableText(5_000).transform((t) => t.split(','))], {
    error: 'must be a list of tags, or text with tags separated by commas',
  })
  .transform((list) => [...new Set(list.map((t) => t.trim()).filter((t) => t.length > 0))])
  .refine((list) => list.length <= MAX_TAGS, `must hold at most ${MAX_TAGS} tags`)
  .refine((list) => list.every((t) => t.length <= 100), 'each tag must be at most 100 characters');

/** How deep objects and arrays may nest in a customer's attributes (the attributes object itself is level 1). */
export const MAX_ATTRIBUTES_DEPTH = 64;

/**
 * The first problem (`textProblem`) of any key or text value inside a JSON value, or nesting
 * deeper than `MAX_ATTRIBUTES_DEPTH`, or undefined. The depth is checked before going further
 * down: an object nested some thousands deep fits in the 8 KB and, walked without a bound, ran
 * this recursion out of stack (a RangeError, answered 500; found by tests/fuzz-api.test.ts).
 */
function jsonTextProblem(value: unknown, depth = 1): string | undefined {
  if (typeof value === 'string') return textProblem(value);
  if (value === null || typeof value !== 'object') return undefined;
  if (depth > MAX_ATTRIBUTES_DEPTH) return `must nest objects and arrays at most ${MAX_ATTRIBUTES_DEPTH} levels deep`;
  if (Array.isArray(value)) {
    for (const item of value) {
      const problem = jsonTextProblem(item, depth + 1);
      if (problem) return problem;
    }
    return undefined;
  }
  for (const [key, item] of Object.entries(value)) {
    const problem = textProblem(key) ?? jsonTextProblem(item, depth + 1);
    if (problem) return problem;
  }
  return undefined;
}

export const MAX_ATTRIBUTES_BYTES = 8_192;
/** Any JSON object (in a CSV, its JSON text), at most 8 KB once written, nested at most `MAX_ATTRIBUTES_DEPTH` deep. */
const attributes = z
  .union([z.record(z.string(), z.unknown()), storableText(MAX_ATTRIBUTES_BYTES * 2)], { error: 'must be a JSON object' })
  .transform((value, ctx) => {
    let parsed: unknown = value;
    if (typeof value === 'string') {
      try {
        parsed = JSON.parse(value);
      } catch {
        ctx.addIssue({ code: 'custom', message: 'must be a JSON object, such as {"plan":"gold"}' });
        return z.NEVER;
      }
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
      ctx.addIssue({ code: 'custom', message: 'must be a JSON object, such as {"plan":"gold"}' });
      return z.NEVER;
    }
    // Keys and text values are checked one by one: written as JSON, a NUL or a lone
    // surrogate becomes an escape that Postgres's jsonb refuses. The nesting is bounded too.
    const problem = jsonTextProblem(parsed);
    if (problem) {
      ctx.addIssue({ code: 'custom', message: problem });
      return z.NEVER;
    }
    const text = JSON.stringify(parsed);
    if (new TextEncoder().encode(text).length > MAX_ATTRIBUTES_BYTES) {
      ctx.addIssue({ code: 'custom', message: `must be at most ${MAX_ATTRIBUTES_BYTES} bytes as JSON` });
      return z.NEVER;
    }
    return parsed as Record<string, unknown>;
  });

export const customerRecord = z.object({
  customer_id: id,
  email: emailAddress,
  first_name: optional(text(200)),
  last_name: optional(text(200)),
  timezone: optional(timezone),
  /** Left out (or empty in a CSV): the stored consent stays as it is. */
  accepts_marketing: optional(consent),
  /** When the customer gave or withdrew it; an update dated before the stored one is ignored. */
  accepts_marketing_updated_at: optional(isoTime),
  /** Where it was given (`checkout`, `newsletter`, `shopify`…); `import` when left out. */
  consent_source: optional(text(100)),
  /** Left out, each of these keeps what is stored; given, it replaces it. */
  country: optional(country),
  tags: optional(tags),
  attributes: optional(attributes),
});
export type CustomerRecord = z.output<typeof customerRecord>;

/** One line item of an order, as it appears in an orders file. */
export const orderLineRecord = z
  .object({
    order_id: id,
    customer_id: id,
    ordered_at: isoTime,
    sku: id,
    quantity: wholeNumber(1, 1_000_000),
    unit_price: money,
    /** The order's discount code and what it took off; repeated on its lines, or given on one of them. */
    discount_code: optional(text(200)),
    discount_total: optional(money),
  })
  .superRefine((line, ctx) => {
    // Each field may be fine and their product still too large to store.
    const problem = lineAmountProblem(line.quantity, line.unit_price);
    if (problem) ctx.addIssue({ code: 'custom', message: problem, params: OMIT_VALUE });
  });
export type OrderLineRecord = z.output<typeof orderLineRecord>;

/** An order as the HTTP API takes it: the order once, its items nested. */
export const orderRecord = z
  .object({
    order_id: id,
    customer_id: id,
    ordered_at: isoTime,
    /** The discount code the customer redeemed, if any. */
    discount_code: optional(text(200)),
    /** What the discount took off the order (at most its total); absent keeps what is stored, 0 for a new order. */
    discount_total: optional(money),
    items: z
      .array(
        z.object({
          sku: id,
          quantity: wholeNumber(1, 1_000_000),
          unit_price: money,
        }),
      )
      .min(1, 'an order needs at least one item')
      .max(1_000, 'an order may have at most 1000 items')
      .superRefine((items, ctx) => {
        let lineTooLarge = false;
        items.forEach((item, index) => {
          const problem = lineAmountProblem(item.quantity, item.unit_price);
          if (problem) ctx.addIssue({ code: 'custom', path: [index], message: problem, params: OMIT_VALUE });
          lineTooLarge ||= problem !== undefined;
        });
        const total = lineTooLarge ? undefined : orderTotalProblem(items);
        if (total) ctx.addIssue({ code: 'custom', message: total, params: OMIT_VALUE });
      }),
  })
  .superRefine((order, ctx) => {
    const problem = discountProblem(order.discount_total, order.items);
    if (problem) ctx.addIssue({ code: 'custom', path: ['discount_total'], message: problem });
  });
export type OrderRecord = z.output<typeof orderRecord>;

/** What a refund's `amount` says when it refunds whatever the order has left (also when it is left out). */
export const REFUND_ALL = 'all';

/**
 * A refund's amount: a decimal amount above 0, or `all` (any case), or nothing (also `all`):
 * the rest of the order, whatever earlier refunds left. Numbers are accepted from JSON.
 */
const refundAmount = z.preprocess(
  (value) => {
    const present = absentIfEmpty(value);
    if (present === undefined) return REFUND_ALL;
    return typeof present === 'number' && Number.isFinite(present) ? String(present) : present;
  },
  z
    .string({ error: 'must be a decimal amount such as 19.99, or all' })
    .superRefine(storable)
    .trim()
    .transform((value) => (value.toLowerCase() === REFUND_ALL ? REFUND_ALL : value))
    .superRefine((value, ctx) => {
      if (value === REFUND_ALL) return;
      const problem = moneyProblem(value);
      if (problem) ctx.addIssue({ code: 'custom', message: `${problem}, or all`, continue: false });
      else if (toUnits(value) === 0n)
        ctx.addIssue({ code: 'custom', message: 'must be more than 0 (leave it empty, or write all, to refund the rest)' });
    }),
);

/**
 * A refund of an order, in part (`amount`) or of all that is left (`amount` empty or `all`),
 * keyed by the shop's `refund_id`: sent again, it replaces what was stored. That the order
 * exists and that its refunds stay within its total is checked against the database.
 */
export const refundRecord = z.object({
  refund_id: id,
  order_id: id,
  refunded_at: isoTime,
  amount: refundAmount,
  reason: optional(text(500)),
});
export type RefundRecord = z.output<typeof refundRecord>;

/**
 * An order the shop cancelled: it then counts 0 in every revenue figure and is credited to
 * no email. Keyed by `order_id`; sent again with another time, the time is updated.
 */
export const cancellationRecord = z.object({
  order_id: id,
  cancelled_at: isoTime,
});
export type CancellationRecord = z.output<typeof cancellationRecord>;

export const recordSchemas = {
  products: productRecord,
  customers: customerRecord,
  orders: orderLineRecord,
  refunds: refundRecord,
  cancellations: cancellationRecord,
} as const;
export type RecordKind = keyof typeof recordSchemas;

/** Columns each file kind must have in its header. */
export const requiredColumns: Record<RecordKind, string[]> = {
  products: ['sku', 'name', 'category', 'price'],
  customers: ['customer_id', 'email'],
  orders: ['order_id', 'customer_id', 'ordered_at', 'sku', 'quantity', 'unit_price'],
  refunds: ['refund_id', 'order_id', 'refunded_at'],
  cancellations: ['order_id', 'cancelled_at'],
};

/** Every column each file kind understands; others are reported once and ignored. */
export const knownColumns: Record<RecordKind, string[]> = {
  products: Object.keys(productRecord.shape),
  customers: Object.keys(customerRecord.shape),
  orders: Object.keys(orderLineRecord.shape),
  refunds: Object.keys(refundRecord.shape),
  cancellations: Object.keys(cancellationRecord.shape),
};

/**
 * One failing field: where (`[2].items[0].unit_price`) and why, with the value it got
 * (a bounded preview: a value nested thousands deep or megabytes long costs no more).
 */
export function describeIssue(issue: z.core.$ZodIssue, input: unknown): { path: string; message: string } {
  const omitValue = issue.code === 'custom' && issue.params?.omitValue === true;
  const got = omitValue ? undefined : valueAt(input, issue.path);
  const message =
    issue.code === 'invalid_type' && got === undefined
      ? 'is required'
      : `${issue.message}${got === undefined ? '' : ` (got ${preview(got)})`}`;
  return { path: formatPath(issue.path), message };
}

/** Formats zod issues as `field: reason (got "value")`, one string per issue. */
export function describeIssues(error: z.ZodError, input: unknown): string[] {
  return error.issues.map((issue) => {
    const { path, message } = describeIssue(issue, input);
    return path ? `${path}: ${message}` : message;
  });
}

/** `[2].items[0].unit_price` style path, as an API client would index its own payload. */
export function formatPath(path: readonly PropertyKey[]): string {
  return path.map((part, index) => (typeof part === 'number' ? `[${part}]` : `${index === 0 ? '' : '.'}${String(part)}`)).join('');
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let current: unknown = input;
  for (const part of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<PropertyKey, unknown>)[part];
  }
  return current;
}

/**
 * A report's chosen effect, as the CLI (`--mde`) and the API (`mde=`) write it: `5%` is a
 * share of the baseline's revenue per customer, `2.50` an amount of money.
 */
export const effectText = z.string().transform((text, ctx) => {
  const t = text.trim();
  const percent = /^(\d{1,3}(?:\.\d{1,6})?)%$/.exec(t);
  if (percent && Number(percent[1]) > 0) return { relative: Number(percent[1]) / 100 };
  if (MONEY.test(t) && Number(t) > 0) return { absolute: Number(t) };
  ctx.addIssue({ code: 'custom', message: `expected a share such as 5% or an amount such as 2.50, got ${preview(text)}` });
  return z.NEVER;
});

/**
 * The percentile revenue is capped at when winsorising: `99` or `99%` (the top 1% capped),
 * from 50 up to, not including, 100.
 */
export const percentileText = z.string().transform((text, ctx) => {
  const match = /^(\d{2}(?:\.\d{1,4})?)%?$/.exec(text.trim());
  const value = match ? Number(match[1]) : NaN;
  if (value >= 50 && value < 100) return value / 100;
  ctx.addIssue({ code: 'custom', message: `expected a percentile from 50 to 99.99 such as 99, got ${preview(text)}` });
  return z.NEVER;
});
