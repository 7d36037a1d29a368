/**
 * `campaign sequences plan ID [--mde 5%] [--days 90]`: before launch, from the shop's own
 * history, how long the experiment must run to detect an effect on revenue per customer,
 * and what the sequence would have sent (src/core/plan.ts does the planning).
 */
import type { Command } from 'commander';
import { ordersInPeriod } from '../../analytics/history.ts';
import { moneyFormat } from '../../analytics/format.ts';
import { planExperiment, type Effect, type Plan } from '../../core/plan.ts';
import { needsProfile, needsSegment } from '../../core/trigger.ts';
import { effectText } from '../../core/records.ts';
import { UserError } from '../../errors.ts';
import { configuredClock, withDatabase } from '../../runtime.ts';
import type { SequenceFile } from '../../sequences/files.ts';
import { positiveWholeNumber, type ConfigSource } from '../options.ts';

/** `5%` → a share of the mean revenue per customer; `2.50` → an amount of money. */
export function parseEffect(text: string, flag = '--mde'): Effect {
  const parsed = effectText.safeParse(text);
  if (!parsed.success) throw new UserError(`${flag}: ${parsed.error.issues[0]!.message}`);
  return parsed.data;
}

export function registerPlan(
  sequences: Command,
  config: ConfigSource,
  load: (dir: string | undefined) => Promise<{ files: SequenceFile[]; problems: string[] }>,
): void {
  sequences
    .command('plan')
    .description('before launch: how long until the experiment can detect an effect, and what it would send, from past orders')
    .argument('<id>', 'the sequence (its file, applied or not)')
    .option('--mde <effect>', 'the smallest effect worth finding: a share of revenue per customer (5%) or an amount (2.50)', '5%')
    .option('--days <n>', 'days of order history to replay', positiveWholeNumber('--days'), 90)
    .option('--dir <path>', 'sequences folder (default: SEQUENCES_DIR or ./templates/sequences)')
    .option('--json', 'print the plan as JSON')
    .action(async (id: string, options: { mde: string; days: number; dir?: string; json?: boolean }) => {
      const effect = parseEffect(options.mde);
      const settings = config();
      const { files, problems } = await load(options.dir);
      const file = files.find((f) => f.definition.id === id);
      if (!file) throw new UserError(problems.length ? `no valid sequence file with id "${id}"` : `no sequence file with id "${id}"`);
      // The history's orders carry no segment or earlier profile: a plan would count no one such a filter takes.
      if (needsSegment(file.definition) || needsProfile(file.definition))
        throw new UserError(
          `"${id}" filters on segments or on the profile before the order (min_orders, min_spend, *_days_since_order), ` +
            'which the plan does not replay yet: plan a copy without those filters for the upper bound',
        );
      const to = configuredClock(settings).now();
      const from = new Date(to.getTime() - options.days * 86_400_000);
      const plan = await withDatabase(settings, async ({ db }) =>
        planExperiment({
          definition: file.definition,
          orders: await ordersInPeriod(db, from, to),
          from,
          to,
          effect,
          frequencyCap: settings.frequencyCap,
          shopTimeZone: settings.shop.timezone,
        }),
      );
      process.stdout.write(options.json ? `${JSON.stringify(plan, null, 2)}\n` : formatPlan(id, plan, settings.shop.currency));
    });
}

function formatPlan(id: string, plan: Plan, currency: string): string {
  const m = moneyFormat(currency);
  const lines = [
    `${id}, replayed over the last ${Math.round(plan.days)} days of orders:`,
    `  would have enrolled ${plan.enrollments} customers (${plan.enrollmentsPerDay.toFixed(1)} a day)`,
    `  revenue per customer in the ${plan.windowDays.toFixed(0)}-day window: mean ${m(plan.revenue.mean)}, sd ${m(plan.revenue.sd)} (${plan.revenue.measured} customers whose window closed)`,
    `  emails: ${plan.emails.total} (${plan.emails.perDay.toFixed(1)} a day); ${plan.emails.heldByCap} moved later by the frequency cap, ${plan.emails.heldByQuietHours} by quiet hours`,
    `to detect ${m(plan.effect)} per customer (80% power, 5% two-sided):`,
  ];
  if (!plan.comparisons.length) lines.push('  nothing to compare: the sequence has one variant and no holdout');
  for (const c of plan.comparisons)
    lines.push(
      `  ${c.arm} vs ${c.against === 'holdout' ? 'the holdout' : `control (${c.baseline})`}: ${Number.isFinite(c.customersPerArm) ? `${c.customersPerArm} customers per arm, about ${Number.isFinite(c.days) ? `${c.days} days` : 'never at this rate'}` : 'not measurable (no revenue variation in the history)'}`,
    );
  return lines.join('\n') + '\n';
}
