/**
 * What the dashboard's routes accept, as zod schemas: query strings, path parameters and
 * form bodies. The server's validator compiler runs them before a handler does, so a
 * handler only ever sees well-formed values, and a malformed one is a 400 that names the
 * field and says what it must be.
 */
import { z } from 'zod';

/** The periods a page can be looked at over: customers enrolled in the last N days, or ever. */
export const PERIODS = {
  '7d': { label: 'last 7 days', days: 7 },
  '30d': { label: 'last 30 days', days: 30 },
  '90d': { label: 'last 90 days', days: 90 },
  all: { label: 'all time', days: null },
} as const satisfies Record<string, { label: string; days: number | null }>;

export type Period = keyof typeof PERIODS;

const PERIOD_KEYS = Object.keys(PERIODS) as [Period, ...Period[]];

/**
 * One field of a query string or form. A repeated field (`?q=a&q=b`) counts by its first
 * value and an empty one (a form's blank input) as absent, as the pages always read them.
 */
function single<T extends z.ZodType>(schema: T) {
  return z.preprocess((value) => (Array.isArray(value) ? (value as unknown[])[0] : value === '' ? undefined : value), schema);
}

/**
 * Text as the database can take it: Postgres text cannot hold a NUL character, and a query
 * carrying one would fail as a 500. A NUL in any field is the client's mistake, a 400.
 */
const str = (params?: Parameters<typeof z.string>[0]) =>
  z.string(params).refine((value) => !value.includes('\0'), 'must not contain a NUL character (%00)');

const period = single(z.enum(PERIOD_KEYS, { error: `must be one of ${PERIOD_KEYS.join(', ')}` }).default('all'));
const text = single(str().optional());

/** The login form; no body at all is a failed login too, not a malformed request. */
export const loginBody = z.object({ secret: text }).optional();

export const periodQuery = z.object({ period });

export const reportExportQuery = z.object({
  period,
  table: single(z.enum(['arms', 'comparisons'], { error: 'must be arms or comparisons' }).default('arms')),
});

export const sequenceExportQuery = z.object({
  period,
  table: single(z.enum(['arms', 'comparisons', 'slots'], { error: 'must be arms, comparisons or slots' }).default('arms')),
});

export const sequenceParams = z.object({ id: str().min(1) });

/** Any action is accepted here: one that is neither pause nor resume is a 404, as an unknown page. */
export const sequenceActionParams = z.object({ id: str().min(1), action: str() });

const versionId = z
  .string()
  .regex(/^[1-9]\d{0,8}$/, 'must be the id of a template version (a whole number)')
  .transform(Number);

export const previewQuery = z.object({
  version: single(versionId.optional()),
  customer: text,
  q: text,
  /** Where the last test went, to say so on the page. */
  sent: text,
});

export const previewSendBody = z.object({
  version: single(versionId),
  customer: single(str({ error: 'a customer (email or id) is needed' })),
  to: single(z.string().regex(/^[^@\s]+@[^@\s]+$/, 'must be an email address')),
});

export const messagesQuery = z.object({ q: text, customer: text });

export const inboxParams = z.object({
  index: z
    .string()
    .regex(/^\d{1,6}$/, 'must be the number of an email in the inbox')
    .transform(Number),
});
