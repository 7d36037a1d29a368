/**
 * What the dashboard's routes accept, as zod schemas: query strings, path parameters and
 * form bodies. The server's validator compiler runs them before a handler does, so a
 * handler only ever sees well-formed values, and a malformed one is a 400 that names the
 * field and says what it must be.
 */
import { z } from 'zod';
import { textProblem } from '../core/text.ts';
import { FUNNEL_STAGES } from '../analytics/recipients.ts';

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

/**
 * Where to go after logging in: a path of this site, starting with one `/` (not `//` or
 * `/\\`, which browsers read as another host), printable ASCII only (browsers send paths
 * percent-encoded; a control character or a space is an attack or a mistake), at most 2,000
 * characters, and not the login or logout page itself. Anything else is no destination.
 */
export function localPath(value: string | undefined): string | undefined {
  if (value === undefined || value.length > 2000) return undefined;
  if (!/^\/(?![/\\])[!-~]*$/.test(value) || value.includes('\\')) return undefined;
  if (/^\/log(in|out)(?![^/?#])/.test(value)) return undefined;
  return value;
}

/** `next`: the page the login was asked from; anything but a local path counts as none (the overview). */
const nextPath = single(z.string().optional()).transform((value) => localPath(value));

/** The longest name the audit log takes. */
export const ACTOR_MAX = 80;
// Control characters (C0, DEL, C1), line and paragraph separators, and the bidirectional
// overrides and isolates, which would make an audit line read other than it is.
const CONTROL = /[\p{Cc}\u2028\u2029\u202a-\u202e\u2066-\u2069]/u;

/** "Your name (for the audit log)" at login: trimmed; empty is none (the default name). */
export const actorName = z
  .string()
  .trim()
  .max(ACTOR_MAX, `must be at most ${ACTOR_MAX} characters`)
  .refine((value) => !CONTROL.test(value), 'must not contain control characters')
  .refine((value) => textProblem(value) === undefined, 'must be valid Unicode text')
  .transform((value) => (value === '' ? undefined : value));

/**
 * The login form; no body at all is a failed login too, not a malformed request. The name is
 * checked by the login itself ({@link actorName}), which says what is wrong on the form.
 */
export const loginBody = z.object({ secret: text, name: single(z.string().optional()), next: nextPath }).optional();

/** The login page: where to go once logged in. */
export const loginQuery = z.object({ next: nextPath });

export const periodQuery = z.object({ period });

export const reportExportQuery = z.object({
  period,
  table: single(z.enum(['sequences', 'arms', 'comparisons'], { error: 'must be sequences, arms or comparisons' }).default('sequences')),
});

export const sequenceExportQuery = z.object({
  period,
  table: single(
    z
      .enum(['arms', 'comparisons', 'breakdown', 'slots', 'recs-strategy', 'recs-product'], {
        error: 'must be arms, comparisons, breakdown, slots, recs-strategy or recs-product',
      })
      .default('arms'),
  ),
});

export const sequenceParams = z.object({ id: str().min(1) });

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

const positive = (what: string, digits: number) =>
  z
    .string()
    .regex(new RegExp(`^[1-9]\\d{0,${digits - 1}}$`), `must be ${what} (a whole number from 1)`)
    .transform(Number);

/** A funnel cell's fields besides `sequence`, which each need it. */
const CELL_FIELDS = ['version', 'arm', 'step', 'stage'] as const;

/**
 * The messages page: a customer search, or the recipients behind one funnel cell of a
 * sequence (`sequence`, `arm` and `stage` together; `step` 1-based, absent for every step;
 * `version` a sequence_versions id, absent for the live one; `period` as the sequence page's).
 */
export const messagesQuery = z
  .object({
    q: text,
    customer: text,
    sequence: single(str().min(1).optional()),
    version: single(versionId.optional()),
    arm: single(str().min(1).optional()),
    step: single(positive('a step number', 4).optional()),
    stage: single(z.enum(FUNNEL_STAGES, { error: `must be one of ${FUNNEL_STAGES.join(', ')}` }).optional()),
    page: single(positive('a page number', 6).default(1)),
    period,
  })
  .superRefine((query, context) => {
    if (query.sequence === undefined) {
      for (const field of CELL_FIELDS)
        if (query[field] !== undefined) context.addIssue({ code: 'custom', path: ['sequence'], message: `is needed with ${field}` });
      return;
    }
    for (const field of ['arm', 'stage'] as const)
      if (query[field] === undefined) context.addIssue({ code: 'custom', path: [field], message: 'is needed with sequence' });
  });

export const messageParams = z.object({ id: positive('the id of a message', 15) });

/** A customer's external id in a page's path: what the importers took (up to 128 characters of storable text). */
export const customerParams = z.object({
  id: z
    .string()
    .min(1)
    .max(128)
    .refine((s) => !s.includes('\u0000'), 'must be text'),
});
/** The customers search: what to look for in ids and addresses. */
export const customerSearchQuery = z.object({ q: z.string().max(200).optional() }).strict();

export const inboxParams = z.object({
  index: z
    .string()
    .regex(/^\d{1,6}$/, 'must be the number of an email in the inbox')
    .transform(Number),
});

/** A note kept with a decision in the experiment log, as `--note`: trimmed, at most 2,000 characters. */
const note = single(
  str()
    .trim()
    .max(2000, 'must be at most 2000 characters')
    .refine((value) => textProblem(value) === undefined, 'must be valid Unicode text')
    .optional(),
).transform((value) => (value ? value : null));

/** A checkbox: ticked (`on`) or absent. */
const checkbox = single(z.literal('on', { error: 'must be on or absent' }).optional()).transform((value) => value === 'on');

const variant = single(str({ error: 'a variant key is needed' }).min(1, 'a variant key is needed').max(200));

/** The promote page: which variant to promote. */
export const promoteQuery = z.object({ variant });

/** Promoting: the variant, a note for the log, and "force, against the evidence". */
export const promoteBody = z.object({ variant, note, force: checkbox });

/** Ending a test (keeping the control): a note, and "force, against the evidence". */
export const endTestBody = z.object({ note, force: checkbox }).optional();

/** A decision's page: the sequence and the decision's id in the experiment log. */
export const decisionParams = z.object({
  id: str().min(1),
  decision: z
    .string()
    .regex(/^[1-9]\d{0,9}$/, 'must be the id of a decision (a whole number)')
    .transform(Number),
});

/**
 * A webhook delivery in a page's path: its platform and the delivery id the platform sent
 * (no control characters; at most 100 characters, the longest parameter the server's router
 * takes: a longer one is its 414). A path that is not one is answered as an unknown delivery
 * (404), never as a malformed request.
 */
export const webhookParams = z.object({
  platform: z.enum(['shopify', 'woocommerce']),
  deliveryId: z
    .string()
    .min(1)
    .max(100)
    .refine((value) => !CONTROL.test(value), 'must not contain control characters'),
});
