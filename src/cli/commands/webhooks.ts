/**
 * The shop platforms' webhook deliveries, for operators without the dashboard (its
 * `/webhooks` page shows the same rows). `campaign webhooks list [--outcome OUTCOME]
 * [--limit N] [--json]`: the latest deliveries of one outcome (dead letters by default),
 * newest first. `campaign webhooks show PLATFORM DELIVERY_ID [--json]`: one delivery with its
 * reason and kept payload (64-bit ids exact). An unknown delivery exits 1.
 */
import type { Command } from 'commander';
import { parse, stringify } from 'lossless-json';
import { UserError } from '../../errors.ts';
import { withDatabase } from '../../runtime.ts';
import { findDelivery, recentDeliveries, type DeliveryOutcome, type DeliveryRow, type Platform } from '../../store/webhooks.ts';
import { positiveWholeNumber, type ConfigSource } from '../options.ts';

const OUTCOMES: readonly DeliveryOutcome[] = ['dead_letter', 'privacy', 'ignored', 'stored'];
const PLATFORMS: readonly Platform[] = ['shopify', 'woocommerce'];

/** A delivery as `list --json` prints it (and `show --json`, with `payload`). */
function shown(row: DeliveryRow) {
  return {
    platform: row.platform,
    deliveryId: row.delivery_id,
    topic: row.topic,
    outcome: row.outcome,
    reason: row.reason,
    receivedAt: row.received_at.toISOString(),
    payloadKept: row.payload_kept,
  };
}

export function registerWebhooks(program: Command, config: ConfigSource): void {
  const webhooks = program
    .command('webhooks')
    .description("the shop platforms' webhook deliveries: dead letters, privacy requests, ignored topics");

  webhooks
    .command('list')
    .description('the latest deliveries of one outcome, newest first (dead letters by default)')
    .option('--outcome <outcome>', `${OUTCOMES.join(', ')}`, 'dead_letter')
    .option('--limit <n>', 'at most this many (default 100)', positiveWholeNumber('--limit'), 100)
    .option('--json', 'print them as JSON')
    .action(async (flags: { outcome: string; limit: number; json?: boolean }) => {
      const outcome = OUTCOMES.find((o) => o === flags.outcome);
      if (!outcome) throw new UserError(`--outcome: expected one of ${OUTCOMES.join(', ')}, got "${flags.outcome}"`);
      await withDatabase(config(), async ({ db }) => {
        const rows = await recentDeliveries(db, { outcome, limit: flags.limit });
        if (flags.json) {
          process.stdout.write(JSON.stringify(rows.map(shown), null, 2) + '\n');
          return;
        }
        if (rows.length === 0) {
          process.stdout.write(`no ${outcome.replace('_', ' ')} deliveries\n`);
          return;
        }
        process.stdout.write(
          `${'received'.padEnd(24)} ${'platform'.padEnd(11)} ${'topic'.padEnd(28)} ${'delivery id'.padEnd(38)} reason\n`,
        );
        for (const r of rows)
          process.stdout.write(
            `${r.received_at.toISOString().padEnd(24)} ${r.platform.padEnd(11)} ${r.topic.padEnd(28)} ${r.delivery_id.padEnd(38)} ` +
              `${r.reason ?? ''}\n`,
          );
      });
    });

  webhooks
    .command('show')
    .description('one delivery: its outcome, reason and kept payload (a dead letter, a data request export)')
    .argument('<platform>', PLATFORMS.join(' or '))
    .argument('<delivery-id>', 'the delivery id the platform sent (X-Shopify-Webhook-Id)')
    .option('--json', 'print it as JSON')
    .action(async (platformArg: string, deliveryId: string, flags: { json?: boolean }) => {
      const platform = PLATFORMS.find((p) => p === platformArg);
      if (!platform) throw new UserError(`platform: expected ${PLATFORMS.join(' or ')}, got "${platformArg}"`);
      await withDatabase(config(), async ({ db }) => {
        const delivery = await findDelivery(db, platform, deliveryId);
        if (!delivery) {
          process.stderr.write(`campaign: no ${platform} delivery "${deliveryId}"\n`);
          process.exitCode = 1;
          return;
        }
        if (flags.json) {
          // Through lossless-json: the payload's numbers stay as stored (no rounding, `54.30` not `54.3`).
          const payload = delivery.payload_json === null ? null : parse(delivery.payload_json);
          process.stdout.write(stringify({ ...shown(delivery), payload }, undefined, 2) + '\n');
          return;
        }
        const lines = [
          `platform     ${delivery.platform}`,
          `delivery id  ${delivery.delivery_id}`,
          `topic        ${delivery.topic}`,
          `outcome      ${delivery.outcome}`,
          `received     ${delivery.received_at.toISOString()}`,
          `reason       ${delivery.reason ?? '-'}`,
          '',
          delivery.payload_json === null ? 'no payload kept' : `payload:\n${delivery.payload_json}`,
        ];
        process.stdout.write(lines.join('\n') + '\n');
      });
    });
}
