/**
 * Data-subject requests. `campaign customers export ID`: everything stored about a customer,
 * as JSON. `campaign customers erase ID [--yes]`: their personal data erased, their orders
 * and every figure kept (src/store/customer-data.ts). An erase asks first on a terminal; with
 * no terminal (a script, CI) it refuses without `--yes`, after saying what it would erase.
 * An unknown id exits 1.
 */
import { createInterface } from 'node:readline/promises';
import type { Command } from 'commander';
import { configuredClock, withDatabase } from '../../runtime.ts';
import { customerExport, eraseCustomer, type CustomerExport } from '../../store/customer-data.ts';
import { UserError } from '../../errors.ts';
import type { ConfigSource } from '../options.ts';

export function registerCustomers(program: Command, config: ConfigSource): void {
  const customers = program.command('customers').description("data-subject requests: export a customer's data, erase it");

  customers
    .command('export')
    .description('print everything stored about a customer as JSON (orders, emails, events, codes, suppression)')
    .argument('<id>', "the customer's external id, as imported")
    .action(async (id: string) => {
      await withDatabase(config(), async ({ db }) => {
        const data = await customerExport(db, id);
        if (!data) return notFound(id);
        process.stdout.write(JSON.stringify(data, null, 2) + '\n');
      });
    });

  customers
    .command('erase')
    .description(
      "erase a customer's personal data (address, names, time zone, the IP and user agent of their events); " +
        'orders and every report figure stay, and the address, kept only as a hash, is never mailed again',
    )
    .argument('<id>', "the customer's external id, as imported")
    .option('--yes', 'erase without asking (required when there is no terminal to ask on)')
    .action(async (id: string, flags: { yes?: boolean }) => {
      const settings = config();
      await withDatabase(settings, async ({ db }) => {
        const data = await customerExport(db, id);
        if (!data) return notFound(id);
        if (data.customer.erased) {
          process.stdout.write(`customer ${id} was already erased at ${data.customer.erasedAt}: nothing to do\n`);
          return;
        }
        if (!flags.yes) {
          process.stdout.write(preview(id, data));
          if (!process.stdin.isTTY) throw new UserError('refused: no terminal to confirm on; run again with --yes to erase');
          if (!(await confirm(`erase customer ${id}? [y/N] `))) {
            process.stdout.write('nothing was erased\n');
            return;
          }
        }
        const result = await eraseCustomer(db, id, configuredClock(settings).now());
        if (result.status === 'not-found') return notFound(id);
        if (result.status === 'already-erased') {
          process.stdout.write(`customer ${id} was already erased at ${result.erasedAt.toISOString()}: nothing to do\n`);
          return;
        }
        process.stdout.write(
          `customer ${id} erased: address now ${result.placeholder} (kept only as a hash, never mailed again), names and time zone cleared; ` +
            `${result.messages} emails readdressed, IP and user agent cleared on ${result.events} events, ` +
            `${result.suppressions} suppression rows folded into the hash, ${result.outboxFacts} outbox facts scrubbed; orders and reports unchanged\n`,
        );
      });
    });
}

function notFound(id: string): void {
  process.stderr.write(`campaign: no customer "${id}"\n`);
  process.exitCode = 1;
}

/** What an erase would change and what it keeps, before asking. */
function preview(id: string, data: CustomerExport): string {
  const c = data.customer;
  const name = [c.firstName, c.lastName].filter(Boolean).join(' ');
  const withIp = data.events.filter((e) => e.ip !== null || e.userAgent !== null).length;
  return (
    `erasing customer ${id} would:\n` +
    `  - replace the address ${c.email}${name ? ` and the name ${name}` : ''} (and the time zone) on the customer and on ${data.messages.length} emails\n` +
    `  - clear the IP and user agent of ${withIp} events\n` +
    `  - keep the address only as a hash, so it is never mailed again` +
    (data.suppressions.length ? ` (replacing its ${data.suppressions.length} suppression row)` : '') +
    '\n' +
    `  - keep ${data.orders.length} orders, ${data.enrollments.length} enrollments and every report figure\n`
  );
}

async function confirm(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  try {
    return /^y(es)?$/i.test((await rl.question(question)).trim());
  } finally {
    rl.close();
  }
}
