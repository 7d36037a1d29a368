/**
 * `campaign serve`: the HTTP app (API, tracking, dashboard, health, OpenAPI) plus the
 * outbox relay that publishes new orders to the queue. Stops cleanly on SIGTERM/SIGINT.
 */
import type { Command } from 'commander';
import type { Config } from '../../config.ts';
import { dashboardSettings } from '../../dashboard/index.ts';
import { buildServer } from '../../http/app.ts';
import { storefrontSettings } from '../../http/routes/storefront.ts';
import { loadRules } from '../../recs/rules.ts';
import { createEventSink } from '../../tracking/events.ts';
import { createLogger } from '../../log.ts';
import { startRelay } from '../../outbox/relay.ts';
import { configuredClock, openConfiguredDatabase, openQueueConnection } from '../../runtime.ts';
import type { ConfigSource } from '../options.ts';

export function registerServe(program: Command, config: ConfigSource): void {
  program
    .command('serve')
    .description('run the HTTP API and the outbox relay')
    .option('--migrate', 'apply pending migrations first')
    .action((options: { migrate?: boolean }) => serve(config(), { migrate: options.migrate ?? false }));
}

/** Runs until SIGTERM or SIGINT, then closes the server, relay and connections in order. */
export async function serve(settings: Config, options: { migrate: boolean }): Promise<void> {
  const logger = createLogger(settings.logLevel, 'serve');
  const database = await openConfiguredDatabase(settings, { migrate: options.migrate });
  const connection = await openQueueConnection(settings);
  const relay = startRelay(database.db, connection.queues, {
    onError: (error) => logger.warn({ err: error }, 'outbox relay failed; retrying on the next tick'),
  });
  const events = createEventSink(database.db);
  const rules = await loadRules(settings.recsRulesFile);
  const app = await buildServer({
    db: database.db,
    apiToken: settings.apiToken,
    bodyLimitBytes: settings.apiBodyLimitBytes,
    trustProxy: settings.trustProxy,
    relay,
    redis: connection.redis,
    logger,
    codePoolLow: settings.codePoolLow,
    tracking: {
      secret: settings.secretKey,
      clock: configuredClock(settings),
      events,
      linkLifetimeDays: settings.trackingLinkDays,
      expiredLinkUrl: settings.shop.url,
    },
    reports: {
      attribution: settings.attribution,
      minSample: settings.reportMinSample,
      defaultMarginPercent: settings.defaultMarginPercent,
    },
    dashboard: dashboardSettings(settings, { queues: connection.queues, rules }),
    storefront: storefrontSettings(settings, rules),
    webhooks: {
      shopifySecret: settings.shopifyWebhookSecret,
      wooCommerceSecret: settings.wooCommerceWebhookSecret,
      shopCurrency: settings.shop.currency,
      shopUrl: settings.shop.url,
    },
  });
  await app.listen({ host: settings.host, port: settings.port });
  process.stdout.write(`Dashboard and API on ${settings.publicUrl} (OpenAPI at ${settings.publicUrl}/openapi.json); Ctrl-C stops it\n`);
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  await app.close();
  await events.close();
  await relay.stop();
  await connection.close();
  await database.close();
}
