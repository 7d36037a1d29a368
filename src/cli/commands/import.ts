/**
 * `campaign import products|customers|orders FILE`: validates and upserts a CSV or JSONL
 * file. Each rejected row is printed as `FILE:LINE: reason` on stderr; a summary line ends
 * the run on stdout; the exit code is 1 when any row was rejected.
 */
import { basename } from 'node:path';
import { Argument, Option, type Command } from 'commander';
import { SingleBar, Presets } from 'cli-progress';
import type { RecordKind } from '../../core/records.ts';
import { importRows, type ImportSummary } from '../../ingest/import.ts';
import { formatOf, openRows } from '../../ingest/read.ts';
import { drainOutbox } from '../../outbox/relay.ts';
import { openConfiguredDatabase, openQueueConnection, UserError } from '../../runtime.ts';
import type { ConfigSource } from '../main.ts';

export function registerImport(program: Command, config: ConfigSource): void {
  program
    .command('import')
    .description('import products, customers or orders from a CSV (header row) or JSONL file')
    .addArgument(new Argument('<kind>', 'what the file holds').choices(['products', 'customers', 'orders']))
    .argument('<file>', 'path of a .csv or .jsonl file')
    .addOption(new Option('--format <format>', 'file format, when the name does not tell').choices(['csv', 'jsonl']))
    .option('--batch-size <rows>', 'rows per transaction', (v) => Number.parseInt(v, 10))
    .option('--no-publish', 'leave new orders in the outbox instead of publishing them to the queue now')
    .option('--no-progress', 'never draw a progress bar')
    .action(async (kind: RecordKind, file: string, options: { format?: string; batchSize?: number; publish: boolean; progress: boolean }) => {
      const settings = config();
      const source = await openRows(file, formatOf(file, options.format));
      const database = await openConfiguredDatabase(settings);
      const bar = options.progress && process.stderr.isTTY && !process.env.CI ? progressBar(file, source.progress().total) : undefined;
      let summary: ImportSummary;
      try {
        summary = await importRows(database.db, kind, source, {
          batchSize: options.batchSize ?? settings.importBatchSize,
          parallelBatches: database.kind === 'postgres' ? 2 : 1,
          onReject: ({ line, reason }) => {
            // Above a live bar, clear its line first; it redraws on its next update.
            process.stderr.write(`${bar ? '\r\x1b[K' : ''}${file}:${line}: ${reason}\n`);
          },
          onProgress: (s) => bar?.update(source.progress().read, { rows: s.rows }),
        });
        bar?.update(source.progress().total);
      } finally {
        bar?.stop();
      }
      if (summary.ignoredColumns.length) process.stderr.write(`${file}: ignored unknown columns: ${summary.ignoredColumns.join(', ')}\n`);
      try {
        if (summary.ordersPlaced > 0 && options.publish) await publishPending(settings);
      } finally {
        await database.close();
      }
      process.stdout.write(
        `${basename(file)}: ${summary.rows} rows: ${summary.inserted} imported, ${summary.updated} updated, ` +
          `${summary.unchanged} unchanged, ${summary.rejected} rejected\n`,
      );
      if (summary.rejected > 0) process.exitCode = 1;

      async function publishPending(s: ReturnType<ConfigSource>) {
        let connection;
        try {
          connection = await openQueueConnection(s);
        } catch (error) {
          if (!(error instanceof UserError)) throw error;
          process.stderr.write(
            `${summary.ordersPlaced} new orders wait in the outbox (${error.message}); ` +
              'they are published when `campaign serve` or the workers run\n',
          );
          return;
        }
        try {
          await drainOutbox(database.db, connection.queues);
        } finally {
          await connection.close();
        }
      }
    });
}

function progressBar(file: string, totalBytes: number): SingleBar {
  const bar = new SingleBar(
    { format: `${basename(file)} [{bar}] {percentage}% | {rows} rows | {eta_formatted} left`, hideCursor: true, stream: process.stderr },
    Presets.shades_classic,
  );
  bar.start(Math.max(1, totalBytes), 0, { rows: 0 });
  return bar;
}
