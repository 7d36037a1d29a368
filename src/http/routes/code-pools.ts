/**
 * Discount code pools over the API, the same as `campaign codes list --json` and
 * `campaign codes import`: GET /api/code-pools lists each pool's counts, and
 * POST /api/code-pools/:pool/codes adds codes to a pool (creating it with `value`), all or
 * nothing: a bad, repeated or already-pooled code is a 400 naming `codes[i]`, and nothing
 * is stored. Codes already in the pool are left as they are, so a nightly sync that sends
 * the whole list again is harmless.
 */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { checkCodes, importExpiry, parseDiscountValue, POOL_NAME, POOL_NAME_RULE, type DiscountValue } from '../../core/discount.ts';
import { isoTime, storableText } from '../../core/records.ts';
import type { Db } from '../../db/client.ts';
import { RequestValidationError } from '../../errors.ts';
import { importCodes, poolSummaries } from '../../store/discount-codes.ts';

/** Codes one request may carry; a larger list goes in several requests (a pool's codes already in it are skipped). */
export const MAX_CODES_PER_REQUEST = 10_000;

const poolSummary = z.object({
  pool: z.string(),
  kind: z.enum(['percent', 'amount']),
  value: z.string(),
  size: z.number().int(),
  issued: z.number().int(),
  redeemed: z.number().int(),
  expired: z.number().int(),
  left: z.number().int(),
  low: z.boolean(),
  nextExpiry: z.string().nullable(),
});

const params = z.object({ pool: z.string().regex(POOL_NAME, POOL_NAME_RULE) });

const body = z
  .object({
    /** What each code takes off: "10%" or "5.00" (the shop's currency). Required for a new pool. */
    value: storableText(32).optional(),
    expiresAt: isoTime.optional(),
    validDays: z.number().int().min(1).max(3_650).optional(),
    codes: z
      .array(storableText(1_000, 'must be a code (text)'))
      .min(1, 'must hold at least one code')
      .max(MAX_CODES_PER_REQUEST, `must hold at most ${MAX_CODES_PER_REQUEST} codes`),
  })
  .strict();

const imported = z.object({
  pool: z.string(),
  created: z.boolean(),
  inserted: z.number().int(),
  alreadyThere: z.number().int(),
  expiresAt: z.string().nullable(),
  summary: poolSummary,
});

/** Behind the API token (the caller's scope adds it). */
export async function codePoolRoutes(app: FastifyInstance, deps: { db: Db; now: () => Date; codePoolLow: number }): Promise<void> {
  const api = app.withTypeProvider<ZodTypeProvider>();

  api.get(
    '/api/code-pools',
    {
      schema: {
        summary:
          'Each discount code pool: its value, codes, issued, redeemed, expired unissued, left to issue, whether it is low (under CODE_POOL_LOW) and the soonest expiry of the codes left',
        tags: ['codes'],
        response: { 200: z.array(poolSummary) },
      },
    },
    async () => poolSummaries(deps.db, deps.now(), deps.codePoolLow),
  );

  api.post(
    '/api/code-pools/:pool/codes',
    {
      schema: {
        summary:
          'Add single-use codes to a pool, all or nothing (created with `value` when new). A code that is malformed, repeated in the ' +
          'request or held by another pool is a 400 naming codes[i]; codes already in this pool are skipped',
        tags: ['codes'],
        params,
        body,
        response: { 200: imported },
      },
    },
    async (request) => {
      const { pool } = request.params;
      const input = request.body;
      let value: DiscountValue | undefined;
      if (input.value !== undefined) {
        const parsed = parseDiscountValue(input.value);
        if ('problem' in parsed) throw new RequestValidationError([{ path: 'value', message: parsed.problem }]);
        value = parsed.value;
      }
      const expiry = importExpiry(
        { expiresAt: input.expiresAt === undefined ? undefined : new Date(input.expiresAt), validDays: input.validDays },
        deps.now(),
        { expiresAt: 'expiresAt', validDays: 'validDays' },
      );
      if ('problem' in expiry)
        throw new RequestValidationError([{ path: input.validDays === undefined ? 'expiresAt' : 'validDays', message: expiry.problem }]);

      // Each code at its index: the problems name codes[i], as the CLI names FILE:LINE.
      const at = (line: number) => `codes[${line}]`;
      const checked = checkCodes(
        input.codes.map((code, i) => ({ line: i, code })),
        at,
      );
      const refuse = (problems: { line: number; message: string }[]) =>
        new RequestValidationError(problems.map((p) => ({ path: at(p.line), message: p.message })));
      if (checked.problems.length) throw refuse(checked.problems);

      const result = await importCodes(deps.db, { pool, value, expiresAt: expiry.expiresAt, codes: checked.codes });
      if (!result.ok) {
        if (result.error !== undefined) throw new RequestValidationError([{ path: 'value', message: result.error }]);
        throw refuse(result.problems);
      }
      const summary = (await poolSummaries(deps.db, deps.now(), deps.codePoolLow)).find((p) => p.pool === pool)!;
      return {
        pool,
        created: result.created,
        inserted: result.inserted,
        alreadyThere: result.alreadyThere,
        expiresAt: expiry.expiresAt?.toISOString() ?? null,
        summary,
      };
    },
  );
}
