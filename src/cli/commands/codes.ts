/**
 * `campaign codes import POOL FILE --value 10% | --value 5.00 [--expires-at TIME | --valid-days N]`:
 * a file of single-use discount codes (a plain list, or a shop's bulk-code CSV export) into
 * a pool, all or nothing: every bad line is printed as `FILE:LINE: reason` and nothing is
 * stored. `campaign codes list`: each pool's size, issued, redeemed and left.
 */
import type { Command } from 'commander';
import { discountValueText, importExpiry, parseDiscountValue, POOL_NAME, POOL_NAME_RULE, type DiscountValue } from '../../core/discount.ts';
import { isoTime } from '../../core/records.ts';
import { readCodesFile } from '../../ingest/codes-file.ts';
import { configuredClock, withDatabase } from '../../runtime.ts';
import { importCodes, poolSummaries } from '../../store/discount-codes.ts';
import { positiveWholeNumber, type ConfigSource } from '../options.ts';
import { UserError } from '../../errors.ts';

interface ImportFlags {
  value?: string;
  expiresAt?: string;
  validDays?: number;
}

export function registerCodes(program: Command, config: ConfigSource): void {
  const codes = program.command('codes').description('discount code pools: import codes, list pools');

  codes
    .command('import')
    .description('import a file of discount codes into a pool, all or nothing (a plain list, or a Shopify/WooCommerce CSV export)')
    .argument('<pool>', 'the pool, as `offer: { pool: NAME }` names it in a sequence')
    .argument('<file>', 'one code a line, or a CSV whose header names the code column (Code, coupon_code, post_title, ...)')
    .option(
      '--value <value>',
      'what each code takes off: a percentage (10%) or an amount in the shop currency (5.00); required for a new pool',
    )
    .option('--expires-at <time>', 'when the codes stop working (ISO 8601 with a zone); expired codes are never issued')
    .option('--valid-days <days>', 'the codes stop working this many days from now', positiveWholeNumber('--valid-days'))
    .action(async (pool: string, file: string, flags: ImportFlags) => {
      if (!POOL_NAME.test(pool)) throw new UserError(`pool "${pool}": ${POOL_NAME_RULE}`);
      let value: DiscountValue | undefined;
      if (flags.value !== undefined) {
        const parsed = parseDiscountValue(flags.value);
        if ('problem' in parsed) throw new UserError(`--value: ${parsed.problem}`);
        value = parsed.value;
      }
      let expiresAt: Date | undefined;
      if (flags.expiresAt !== undefined) {
        const parsed = isoTime.safeParse(flags.expiresAt);
        if (!parsed.success) throw new UserError(`--expires-at: ${parsed.error.issues[0]!.message} (got "${flags.expiresAt}")`);
        expiresAt = new Date(parsed.data);
      }
      const settings = config();
      const expiry = importExpiry({ expiresAt, validDays: flags.validDays }, configuredClock(settings).now());
      if ('problem' in expiry) throw new UserError(expiry.problem);

      const read = await readCodesFile(file);
      const refuse = (problems: { line: number; message: string }[]) => {
        for (const p of problems) process.stderr.write(`${file}:${p.line}: ${p.message}\n`);
        throw new UserError(`${file}: ${problems.length} bad line${problems.length === 1 ? '' : 's'}; nothing was imported`);
      };
      if (read.problems.length) refuse(read.problems);
      await withDatabase(settings, async ({ db }) => {
        const result = await importCodes(db, { pool, value, expiresAt: expiry.expiresAt, codes: read.codes });
        if (!result.ok) {
          if (result.error !== undefined) throw new UserError(result.error);
          refuse(result.problems);
          return;
        }
        const what = discountValueText(result.pool.value, settings.shop.currency);
        const until = expiry.expiresAt ? `, expiring ${expiry.expiresAt.toISOString()}` : '';
        process.stdout.write(
          `${file}: ${result.inserted} codes imported into ${result.created ? 'new ' : ''}pool ${pool} (${what} off${until})` +
            (result.alreadyThere ? `; ${result.alreadyThere} were already in it` : '') +
            '\n',
        );
      });
    });

  codes
    .command('list')
    .description("each pool's value, codes, issued, redeemed, expired unissued and left to issue")
    .option('--json', 'print the pools as JSON')
    .action(async (flags: { json?: boolean }) => {
      const settings = config();
      await withDatabase(settings, async ({ db }) => {
        const pools = await poolSummaries(db, configuredClock(settings).now(), settings.codePoolLow);
        if (flags.json) {
          process.stdout.write(JSON.stringify(pools, null, 2) + '\n');
          return;
        }
        if (pools.length === 0) {
          process.stdout.write('no code pools yet: `campaign codes import POOL FILE --value 10%` makes one\n');
          return;
        }
        process.stdout.write(
          `${'pool'.padEnd(20)} ${'value'.padStart(9)} ${['size', 'issued', 'redeemed', 'expired', 'left'].map((h) => h.padStart(9)).join(' ')}\n`,
        );
        for (const p of pools) {
          const value = discountValueText({ kind: p.kind, value: p.value }, settings.shop.currency);
          const counts = [p.size, p.issued, p.redeemed, p.expired, p.left].map((n) => String(n).padStart(9)).join(' ');
          const low = p.low ? `  LOW (under ${settings.codePoolLow})` : '';
          process.stdout.write(`${p.pool.padEnd(20)} ${value.padStart(9)} ${counts}${low}\n`);
        }
      });
    });
}
