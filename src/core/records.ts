/**
 * The stable input formats (DESIGN.md, "Input formats") as zod schemas, shared by the file
 * import and the HTTP API so both accept and reject exactly the same things.
 *
 * Money stays a decimal string end to end; times must carry a zone. A field left empty in
 * a CSV is treated as absent.
 */
import { z } from 'zod';

/** A decimal amount as the formats write it: up to 12 digits, up to 4 decimals. */
export const MONEY = /^\d{1,12}(\.\d{1,4})?$/;
const ISO_TIME = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(:(\d{2})(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/i;

const absentIfEmpty = (value: unknown) =>
  value === '' || value === null || (typeof value === 'string' && value.trim() === '') ? undefined : value;

const text = (max: number) => z.string({ error: 'must be text' }).trim().min(1, 'must not be empty').max(max);

const id = z.preprocess(
  (value) => (typeof value === 'number' && Number.isInteger(value) ? String(value) : value),
  text(128).regex(/^[^\s]+$/, 'must not contain spaces'),
);

/** A non-negative decimal amount as a string, e.g. `19.99`. Numbers are accepted from JSON. */
export const money = z.preprocess(
  (value) => (typeof value === 'number' && Number.isFinite(value) ? String(value) : value),
  z
    .string({ error: 'must be a decimal amount such as 19.99' })
    .trim()
    .regex(MONEY, 'must be a decimal amount such as 19.99, with at most 4 decimals'),
);

/** An ISO 8601 date-time with a zone (`Z` or an offset), normalised to UTC ISO form. */
export const isoTime = z
  .string({ error: 'must be an ISO 8601 time such as 2026-03-01T14:30:00Z' })
  .trim()
  .transform((value, ctx) => {
    const parsed = parseIsoTime(value);
    if (!parsed) {
      ctx.addIssue({
        code: 'custom',
        message: 'must be an ISO 8601 time with a zone, such as 2026-03-01T14:30:00Z',
      });
      return z.NEVER;
    }
    return parsed;
  });

// Consecutive lines of one order repeat its time: remember the last answer.
let lastTime: { input: string; output: string | undefined } = { input: '', output: undefined };

function parseIsoTime(value: string): string | undefined {
  if (value === lastTime.input) return lastTime.output;
  const output = parseIsoTimeUncached(value);
  lastTime = { input: value, output };
  return output;
}

function parseIsoTimeUncached(value: string): string | undefined {
  const match = ISO_TIME.exec(value);
  if (!match) return undefined;
  const [, year, month, day, hour, minute, , second] = match;
  const date = new Date(value.replace(' ', 'T'));
  if (Number.isNaN(date.getTime())) return undefined;
  // Reject dates JavaScript silently rolls over (2026-02-30) by checking the fields exist.
  const probe = new Date(Date.UTC(Number(year), Number(month) - 1, Number(day)));
  if (probe.getUTCMonth() !== Number(month) - 1 || probe.getUTCDate() !== Number(day)) return undefined;
  if (Number(hour) > 23 || Number(minute) > 59 || Number(second ?? 0) > 59) return undefined;
  return date.toISOString();
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
  z.boolean({ error: 'must be true or false' }),
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
    z.number({ error: 'must be a whole number' }).int('must be a whole number').min(min).max(max),
  );

export const productRecord = z.object({
  sku: id,
  name: text(500),
  category: text(200),
  price: money,
  url: optional(httpUrl),
  image_url: optional(httpUrl),
  in_stock: optional(flag),
  tier: optional(wholeNumber(0, 100)),
});
export type ProductRecord = z.output<typeof productRecord>;

export const customerRecord = z.object({
  customer_id: id,
  email: z.preprocess(
    (value) => (typeof value === 'string' ? value.trim() : value),
    z.email({ error: 'must be an email address' }).max(320),
  ),
  first_name: optional(text(200)),
  last_name: optional(text(200)),
  timezone: optional(timezone),
});
export type CustomerRecord = z.output<typeof customerRecord>;

/** One line item of an order, as it appears in an orders file. */
export const orderLineRecord = z.object({
  order_id: id,
  customer_id: id,
  ordered_at: isoTime,
  sku: id,
  quantity: wholeNumber(1, 1_000_000),
  unit_price: money,
});
export type OrderLineRecord = z.output<typeof orderLineRecord>;

/** An order as the HTTP API takes it: the order once, its items nested. */
export const orderRecord = z.object({
  order_id: id,
  customer_id: id,
  ordered_at: isoTime,
  items: z
    .array(
      z.object({
        sku: id,
        quantity: wholeNumber(1, 1_000_000),
        unit_price: money,
      }),
    )
    .min(1, 'an order needs at least one item')
    .max(1_000),
});
export type OrderRecord = z.output<typeof orderRecord>;

export const recordSchemas = {
  products: productRecord,
  customers: customerRecord,
  orders: orderLineRecord,
} as const;
export type RecordKind = keyof typeof recordSchemas;

/** Columns each file kind must have in its header. */
export const requiredColumns: Record<RecordKind, string[]> = {
  products: ['sku', 'name', 'category', 'price'],
  customers: ['customer_id', 'email'],
  orders: ['order_id', 'customer_id', 'ordered_at', 'sku', 'quantity', 'unit_price'],
};

/** Every column each file kind understands; others are reported once and ignored. */
export const knownColumns: Record<RecordKind, string[]> = {
  products: Object.keys(productRecord.shape),
  customers: Object.keys(customerRecord.shape),
  orders: Object.keys(orderLineRecord.shape),
};

/** One failing field: where (`[2].items[0].unit_price`) and why, with the value it got. */
export function describeIssue(issue: z.core.$ZodIssue, input: unknown): { path: string; message: string } {
  const got = valueAt(input, issue.path);
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

function preview(value: unknown): string {
  const json = JSON.stringify(value) ?? String(value);
  return json.length > 60 ? `${json.slice(0, 57)}...` : json;
}
