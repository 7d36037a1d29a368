/**
 * The sequence format marketers write (templates/sequences/*.yaml), as one zod schema: the
 * contract between marketers and the engine. A JSON Schema for editors is generated from
 * it (`campaign sequences schema`).
 */
import { z } from 'zod';
import { consentRuleSchema, type ConsentRule } from './consent.ts';
import { bundleSchema } from './bundle.ts';
import { offerSchema, stepOfferSchema } from './discount.ts';
import { parseDuration } from './duration.ts';
import { latestStepOffsetsMs, parseStepDelay } from './step-delay.ts';
import { SEGMENTS } from './profile.ts';
import { STRATEGIES } from './recommend.ts';
import { MONEY } from './records.ts';

const duration = z
  .preprocess((value) => (value === 0 ? '0' : value), z.string({ error: 'must be a duration such as 2d, 36h or 90m' }))
  .refine((text) => parseDuration(text) !== undefined, 'must be a duration such as 2d, 36h or 90m');
/** A step's delay: a duration, or `replenish` with an optional lead (src/core/step-delay.ts). */
const stepDelay = z
  .preprocess(
    (value) => (value === 0 ? '0' : value),
    z.string({ error: 'must be a duration such as 2d, or replenish (optionally replenish - 3d)' }),
  )
  .refine(
    (text) => parseStepDelay(text) !== undefined,
    'must be a duration such as 2d, 36h or 90m, or replenish (optionally with a lead: replenish - 3d)',
  );
const money = z.union([z.string().regex(MONEY), z.number().nonnegative()]).transform(String);
const clockTime = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'must be a time of day such as 21:00');
const share = z
  .union([z.number(), z.string().regex(/^\d+(\.\d+)?%$/, 'must be a share such as 10% or 0.1')])
  .transform((value) => (typeof value === 'string' ? Number(value.slice(0, -1)) / 100 : value))
  .refine((value) => value >= 0 && value < 1, 'must be at least 0 and less than 100%');
/** A value an attribute filter compares with: text, a number or true/false. */
const attributeValue = z.union([z.string(), z.number(), z.boolean()]);
const key = z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'must be lower-case letters, digits and "-"');

export const skipConditionSchema = z
  .object({
    no_recommendations: z.literal(true).optional(),
    no_upsells: z.literal(true).optional(),
    order_total_below: money.optional(),
  })
  .strict()
  .refine((c) => Object.keys(c).length > 0, 'name at least one condition: no_recommendations, no_upsells or order_total_below');

export const sequenceSchema = z
  .object({
    id: key,
    name: z.string().min(1),
    trigger: z
      .object({
        event: z.literal('order_placed', { error: 'the only trigger is order_placed' }),
        filters: z
          .object({
            min_total: money.optional(),
            max_total: money.optional(),
            skus: z.array(z.string().min(1)).min(1).optional(),
            categories: z.array(z.string().min(1)).min(1).optional(),
            customer: z.enum(['any', 'first_order', 'repeat_order']).default('any'),
            /** The customer's profile just before the order: orders not cancelled, at least / at most. */
            min_orders: z.number().int().min(0).optional(),
            max_orders: z.number().int().min(0).optional(),
            /** Their spend before the order, net of refunds, at least this (a decimal amount). */
            min_spend: money.optional(),
            /** Days since their last earlier order, at least / at most (a customer with none passes neither). */
            min_days_since_order: z.number().min(0).optional(),
            max_days_since_order: z.number().min(0).optional(),
            /** The customer's segment just before the order (src/core/profile.ts): any of these. */
            segments: z.array(z.enum(SEGMENTS)).min(1).optional(),
            /** The customer's country (ISO 3166-1 alpha-2): any of these. */
            countries: z
              .array(
                z
                  .string()
                  .regex(/^[A-Za-z]{2}$/, 'must be a two-letter country code such as FR')
                  .transform((c) => c.toUpperCase()),
              )
              .min(1)
              .optional(),
            /** The customer has any of these tags. */
            tags: z.array(z.string().min(1)).min(1).optional(),
            /** Each named attribute of the customer equals the value given, or one of the values listed. */
            attributes: z
              .record(z.string().min(1), z.union([attributeValue, z.array(attributeValue).min(1)]))
              .refine((r) => Object.keys(r).length > 0, 'name at least one attribute')
              .optional(),
          })
          .strict()
          .default({ customer: 'any' }),
      })
      .strict(),
    holdout: share.default(0),
    variants: z
      .array(
        z
          .object({
            key,
            weight: z.number().positive(),
            recommendations: z.enum(STRATEGIES).default('co-purchase'),
            /** Template swaps for this variant: default template name → this variant's. */
            templates: z.record(z.string(), z.string()).default({}),
            /** A discount code from a pool in every step of this variant (a step's own `offer` wins). */
            offer: offerSchema.optional(),
            /** The ordered product with its best complements at a price, in every step of this variant (a step's own `bundle` wins). */
            bundle: bundleSchema.optional(),
          })
          .strict(),
      )
      .min(1, 'a sequence needs at least one variant'),
    steps: z
      .array(
        z
          .object({
            /** A duration after the step before, or `replenish [- lead]`: when the product is typically bought again, from the order. */
            delay: stepDelay,
            template: z.string().min(1),
            skip_if: skipConditionSchema.optional(),
            recommendations: z.enum(STRATEGIES).optional(),
            /** A discount code from a pool in this step's email whatever the variant, or `none`: no code in it. */
            offer: stepOfferSchema.optional(),
            /** A bundle of the ordered product and its best complements in this step's email, whatever the variant. */
            bundle: bundleSchema.optional(),
          })
          .strict(),
      )
      .min(1, 'a sequence needs at least one step'),
    exit: z
      .object({ on: z.array(z.enum(['ordered_again', 'unsubscribed', 'bounced'])).default(['ordered_again', 'unsubscribed', 'bounced']) })
      .strict()
      .default({ on: ['ordered_again', 'unsubscribed', 'bounced'] }),
    /**
     * How long after enrolling a customer's orders count in the variant comparison; default:
     * the time to the last step plus 7 days.
     */
    measurement_window: duration.optional(),
    reenroll_after_days: z.number().int().min(0).default(30),
    quiet_hours: z.object({ start: clockTime, end: clockTime }).strict().optional(),
    /**
     * `required` (the default): only customers who accept marketing are enrolled and emailed;
     * `not_required`: strictly transactional mail (src/core/consent.ts).
     */
    consent: consentRuleSchema.default('required'),
  })
  .strict()
  .superRefine((s, ctx) => {
    const keys = s.variants.map((v) => v.key);
    keys.forEach((k, i) => {
      if (keys.indexOf(k) !== i) ctx.addIssue({ code: 'custom', path: ['variants', i, 'key'], message: `variant "${k}" appears twice` });
      if (k === 'holdout') ctx.addIssue({ code: 'custom', path: ['variants', i, 'key'], message: '"holdout" is reserved for the holdout' });
    });
  });

export type SequenceDefinition = z.output<typeof sequenceSchema>;

/**
 * The measurement window in milliseconds: as written, or the latest the last step can go
 * plus 7 days (a refill step counts at its longest, `REPLENISH_MAX_DAYS` after the order).
 */
export function measurementWindowMs(definition: Pick<SequenceDefinition, 'steps' | 'measurement_window'>): number {
  if (definition.measurement_window) return parseDuration(definition.measurement_window)!;
  return latestStepOffsetsMs(definition.steps).at(-1)! + 7 * 86_400_000;
}
export type Variant = SequenceDefinition['variants'][number];

/** A definition's consent rule; versions stored before the rule existed have none and mean `required`. */
export function consentRule(definition: { consent?: ConsentRule | undefined }): ConsentRule {
  return definition.consent ?? 'required';
}

/** What a stored sequence version holds beyond the YAML: the definition and its pinned templates. */
export interface StoredDefinition extends SequenceDefinition {
  /** Template name → template_versions.id, resolved when the version was applied. */
  templateVersions: Record<string, number>;
}

/** The JSON Schema of the file format, for editors (yaml-language-server and others). */
export function sequenceJsonSchema(): Record<string, unknown> {
  return {
    title: 'Post-purchase email sequence',
    ...(z.toJSONSchema(sequenceSchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>),
  };
}
