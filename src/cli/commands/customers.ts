/**
 * Customers as people. `campaign customers segments`: the shop's segment thresholds and
 * sizes; `campaign customers profile ID`: one customer's profile, segment and consent
 * (src/profiles/segments.ts). Data-subject requests: `campaign customers export ID`: everything stored about a customer,
 * as JSON. `campaign customers erase ID [--yes]`: their personal data erased, their orders
 * and every figure kept (src/store/customer-data.ts). An erase asks first on a terminal; with
 * no terminal (a script, CI) it refuses without `--yes`, after saying what it would erase.
 * An unknown id exits 1.
 */
import { createInterface } from 'node:readline/promises';
import type { Command } from 'commander';
import { configuredClock, withDatabase } from '../../runtime.ts';
import { customerExport, eraseCustomer, type CustomerExport } from '../../store/customer-data.ts';
import type { StoredProfile } from '../../store/profiles.ts';
import { customerSegmentView, loadSegmentSettings, shopSegments } from '../../profiles/segments.ts';
import { SEGMENTS, type CustomerSegment, type Segment, type Thresholds } from '../../core/profile.ts';
import { moneyFormat } from '../../analytics/format.ts';
import { amountText, averageAmount } from '../../core/money.ts';
import { UserError } from '../../errors.ts';
import type { ConfigSource } from '../options.ts';

export function registerCustomers(program: Command, config: ConfigSource): void {
  const customers = program
    .command('customers')
    .description("customers as people: segments, a customer's profile, data-subject requests (export, erase)");

  customers
    .command('segments')
    .description("the shop's segment thresholds (config/segments.yaml, else its own quantiles) and the customers in each segment")
    .option('--json', 'print them as JSON')
    .action(async (flags: { json?: boolean }) => {
      const settings = config();
      const segmentSettings = await loadSegmentSettings(settings.segmentsFile);
      await withDatabase(settings, async ({ db }) => {
        const now = configuredClock(settings).now();
        const { thresholds, counts } = await shopSegments(db, now, segmentSettings);
        if (flags.json) {
          process.stdout.write(JSON.stringify({ asOf: now.toISOString(), thresholds, counts }, null, 2) + '\n');
          return;
        }
        process.stdout.write(formatSegments(thresholds, counts));
      });
    });

  customers
    .command('profile')
    .description("a customer's profile (orders, spend, days between orders), segment, RFM scores and marketing consent")
    .argument('<id>', "the customer's external id, as imported")
    .option('--json', 'print it as JSON')
    .action(async (id: string, flags: { json?: boolean }) => {
      const settings = config();
      const segmentSettings = await loadSegmentSettings(settings.segmentsFile);
      await withDatabase(settings, async ({ db }) => {
        const now = configuredClock(settings).now();
        const data = await customerExport(db, id);
        if (!data) return notFound(id);
        const { profile, segment } = await customerSegmentView(db, id, now, segmentSettings);
        const consent = {
          acceptsMarketing: data.customer.acceptsMarketing,
          at: data.customer.consentAt,
          source: data.customer.consentSource,
        };
        if (flags.json) {
          const shown = {
            orders: profile!.orders,
            spend: amountText(profile!.spend),
            averageOrderValue: profile!.orders ? averageAmount(profile!.spend, profile!.orders) : null,
            firstOrderAt: profile!.first_order_at?.toISOString() ?? null,
            lastOrderAt: profile!.last_order_at?.toISOString() ?? null,
            typicalGapDays: profile!.typical_gap_days,
          };
          const body = { customer: id, asOf: now.toISOString(), profile: shown, segment: segment ?? null, consent };
          process.stdout.write(JSON.stringify(body, null, 2) + '\n');
          return;
        }
        process.stdout.write(formatProfile(id, profile!, segment, consent, settings.shop.currency));
      });
    });

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

const round = (n: number, digits = 1) => Number(n.toFixed(digits));
const FROM_WORDS = {
  config: 'config/segments.yaml',
  shop: "the shop's customers",
  fallback: 'too few repeat customers: the default',
} as const;

function formatSegments(t: Thresholds, counts: Record<Segment, number>): string {
  const total = SEGMENTS.reduce((n, s) => n + counts[s], 0);
  const lines = [
    `at risk after ${round(t.atRiskDays)} days without an order (${FROM_WORDS[t.from.atRiskDays]})`,
    `lapsed after ${round(t.lapsedDays)} days (${FROM_WORDS[t.from.lapsedDays]})`,
    `loyal from ${t.loyalOrders} orders (${FROM_WORDS[t.from.loyalOrders]})`,
    '',
    `${'segment'.padEnd(10)} ${'customers'.padStart(10)} ${'share'.padStart(7)}`,
    ...SEGMENTS.map(
      (s) =>
        `${s.padEnd(10)} ${String(counts[s]).padStart(10)} ${(total ? `${((100 * counts[s]) / total).toFixed(1)}%` : '—').padStart(7)}`,
    ),
    `${'all'.padEnd(10)} ${String(total).padStart(10)}`,
  ];
  return lines.join('\n') + '\n';
}

function formatProfile(
  id: string,
  p: StoredProfile,
  segment: CustomerSegment | undefined,
  consent: { acceptsMarketing: string; at: string | null; source: string | null },
  currency: string,
): string {
  const money = moneyFormat(currency);
  const lines = [`customer ${id}`];
  if (p.orders === 0) lines.push('  no orders (not cancelled) yet: no segment');
  else {
    const spend = Number(p.spend);
    lines.push(
      `  ${p.orders} order${p.orders === 1 ? '' : 's'}, ${money(spend)} spent net of refunds, ${money(spend / p.orders)} an order`,
      `  first ${p.first_order_at!.toISOString()}, last ${p.last_order_at!.toISOString()}` +
        (p.typical_gap_days === null ? '' : `, typically ${round(p.typical_gap_days)} days between orders`),
      `  segment ${segment!.segment}, RFM ${segment!.rfm.r}${segment!.rfm.f}${segment!.rfm.m} (recency, frequency, money; 5 is the best fifth), ${round(segment!.recencyDays)} days since the last order`,
    );
  }
  lines.push(
    `  marketing consent: ${consent.acceptsMarketing}${consent.at ? ` since ${consent.at}` : ''}${consent.source ? ` (${consent.source})` : ''}`,
  );
  return lines.join('\n') + '\n';
}
