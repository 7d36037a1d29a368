/**
 * Imports one file for a command (a products file may be a Shopify export or a Merchant
 * Center feed, ./catalog.ts): rejected rows printed as `FILE:LINE: reason`, a progress
 * bar on a terminal, and the summary line. Shared by `campaign import` and `campaign demo`.
 */
import { basename } from 'node:path';
import { Presets, SingleBar } from 'cli-progress';
import type { RecordKind } from '../core/records.ts';
import type { Database } from '../db/client.ts';
import { importRows, type ImportSummary } from './import.ts';
import { openImport, type ShopSettings } from './catalog.ts';
import { detectFormat } from './read.ts';

export interface ImportFileOptions {
  format?: string | undefined;
  batchSize: number;
  /** Draw a progress bar when stderr is a terminal (never under CI). */
  progress: boolean;
  /** Orders are past history: store them without starting sequences. */
  history?: boolean;
  /** The shop's currency and address, for a Merchant Center feed's prices and a Shopify export's urls. */
  shop: ShopSettings;
}

export async function importFile(database: Database, kind: RecordKind, file: string, options: ImportFileOptions): Promise<ImportSummary> {
  const source = await openImport(file, await detectFormat(file, options.format), kind, options.shop);
  const bar = options.progress && process.stderr.isTTY ? progressBar(file, source.progress().total) : undefined;
  try {
    const summary = await importRows(database.db, kind, source, {
      batchSize: options.batchSize,
      parallelBatches: database.kind === 'postgres' ? 2 : 1,
      history: options.history ?? false,
      // Above a live bar, clear its line first; it redraws on its next update.
      onReject: ({ line, reason }) => process.stderr.write(`${bar ? '\r\x1b[K' : ''}${file}:${line}: ${reason}\n`),
      onProgress: (s) => bar?.update(source.progress().read, { rows: s.rows }),
    });
    bar?.update(source.progress().total);
    if (summary.ignoredColumns.length) process.stderr.write(`${file}: ignored unknown columns: ${summary.ignoredColumns.join(', ')}\n`);
    return summary;
  } finally {
    bar?.stop();
  }
}

export function summaryLine(file: string, summary: ImportSummary): string {
  return (
    `${basename(file)}: ${summary.rows} rows: ${summary.inserted} imported, ${summary.updated} updated, ` +
    `${summary.unchanged} unchanged, ${summary.rejected} rejected`
  );
}

function progressBar(file: string, totalBytes: number): SingleBar {
  const bar = new SingleBar(
    { format: `${basename(file)} [{bar}] {percentage}% | {rows} rows | {eta_formatted} left`, hideCursor: true, stream: process.stderr },
    Presets.shades_classic,
  );
  bar.start(Math.max(1, totalBytes), 0, { rows: 0 });
  return bar;
}
