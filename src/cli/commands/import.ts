/**
 * `campaign import products|customers|orders|refunds|cancellations FILE`: validates and upserts a CSV, TSV or JSONL
 * file (products also a Shopify export or a Merchant Center feed, src/ingest/catalog.ts). Each rejected row is printed as `FILE:LINE: reason` on stderr; a summary line ends
 * the run on stdout; the exit code is 1 when any row was rejected. Every pending outbox
 * fact is then published to the enrollment queue, this run's new orders and any an earlier
 * run left behind (one killed before it published), or left there when Redis is not there.
 */
import { Argument, Option, type Command } from 'commander';
import type { Config } from '../../config.ts';
import type { RecordKind } from '../../core/records.ts';
import type { Database } from '../../db/client.ts';
import { drainOutbox } from '../../outbox/relay.ts';
import { openConfiguredDatabase, openQueueConnection } from '../../runtime.ts';
import { importFile, summaryLine } from '../../ingest/import-file.ts';
import { FILE_FORMATS } from '../../ingest/read.ts';
import { pendingOutboxFacts } from '../../store/outbox.ts';
import type { ConfigSource } from '../options.ts';
import { UserError } from '../../errors.ts';

interface ImportOptions {
  history?: boolean;
  format?: string;
  batchSize?: number;
  publish: boolean;
  progress: boolean;
}

export function registerImport(program: Command, config: ConfigSource): void {
  program
    .command('import')
    .description(
      'import products, customers, orders, refunds or cancellations from a CSV or TSV (header row) or JSONL file; ' +
        'products also from a Shopify products export or a Google Merchant Center feed (XML or TSV)',
    )
    .addArgument(new Argument('<kind>', 'what the file holds').choices(['products', 'customers', 'orders', 'refunds', 'cancellations']))
    .argument('<file>', 'path of a .csv, .tsv, .jsonl or (products) .xml file')
    .addOption(new Option('--format <format>', 'file format, when neither the name nor the content tells').choices([...FILE_FORMATS]))
    .option('--batch-size <rows>', 'rows per transaction', (v) => Number.parseInt(v, 10))
    .option('--no-publish', 'leave new orders (and any pending before) in the outbox instead of publishing them to the queue now')
    .option('--history', 'past orders (a backfill): store them, but start no sequences')
    .option('--no-progress', 'never draw a progress bar')
    .action(async (kind: RecordKind, file: string, options: ImportOptions) => {
      const settings = config();
      const database = await openConfiguredDatabase(settings);
      try {
        const summary = await importFile(database, kind, file, {
          format: options.format,
          batchSize: options.batchSize ?? settings.importBatchSize,
          progress: options.progress,
          history: options.history ?? false,
          shop: { currency: settings.shop.currency, url: settings.shop.url },
        });
        if (options.publish) await publishPending(settings, database);
        process.stdout.write(summaryLine(file, summary) + '\n');
        if (summary.rejected > 0) process.exitCode = 1;
      } finally {
        await database.close();
      }
    });
}

/**
 * Publishes every pending outbox fact now, not only this run's: the facts of a run killed
 * after it committed would otherwise wait for a relay. Without Redis they wait for one.
 */
async function publishPending(settings: Config, database: Database): Promise<number> {
  const pending = await pendingOutboxFacts(database.db);
  if (pending === 0) return 0;
  let connection;
  try {
    connection = await openQueueConnection(settings);
  } catch (error) {
    if (!(error instanceof UserError)) throw error;
    process.stderr.write(
      `${pending} new orders wait in the outbox (${error.message}); \`campaign serve\` or the next import publishes them once Redis is there\n`,
    );
    return 0;
  }
  try {
    return await drainOutbox(database.db, connection.queues);
  } finally {
    await connection.close();
  }
}
