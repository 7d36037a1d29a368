/**
 * Streams the rows of a CSV (header row) or JSONL file, each with its line number, in
 * bounded memory. A row the parser cannot read becomes a row with an `error`, so one bad
 * line never stops the file; only an unusable header does.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { parse } from 'csv-parse';
import { FileError } from '../errors.ts';

export type FileFormat = 'csv' | 'jsonl';

export interface RawRow {
  /** 1-based line of the file where the row ends. */
  line: number;
  values?: Record<string, unknown>;
  error?: string;
}

export interface RowSource {
  format: FileFormat;
  /** Columns named in the header (CSV) or by the first object (JSONL). */
  columns(): string[];
  /** Bytes read so far and in all, for a progress bar. */
  progress(): { read: number; total: number };
  rows(): AsyncGenerator<RawRow>;
}

const REPLACEMENT = '\uFFFD';
const ENCODING_ERROR = 'is not valid UTF-8 text (save the file as UTF-8)';

export function formatOf(path: string, explicit?: string): FileFormat {
  if (explicit === 'csv' || explicit === 'jsonl') return explicit;
  if (explicit) throw new FileError(`unknown format "${explicit}": use csv or jsonl`);
  if (/\.csv$/i.test(path)) return 'csv';
  if (/\.(jsonl|ndjson)$/i.test(path)) return 'jsonl';
  throw new FileError(`${path}: cannot tell the format from the name; end it in .csv or .jsonl, or pass --format`);
}

export async function openRows(path: string, format: FileFormat): Promise<RowSource> {
  const size = await stat(path).then(
    (s) => s.size,
    () => {
      throw new FileError(`${path}: no such file`);
    },
  );
  return format === 'csv' ? csvSource(path, size) : jsonlSource(path, size);
}

function csvSource(path: string, total: number): RowSource {
  let header: string[] = [];
  let read = 0;
  return {
    format: 'csv',
    columns: () => header,
    progress: () => ({ read, total }),
    async *rows() {
      const skipped: RawRow[] = [];
      const parser = createReadStream(path).pipe(
        parse({
          bom: true,
          info: true,
          relax_column_count: true,
          skip_empty_lines: true,
          skip_records_with_error: true,
          on_skip: (error) => {
            if (error) skipped.push({ line: Number(error['lines'] ?? 0), error: `cannot be parsed as CSV: ${error.message}` });
            return undefined;
          },
        }),
      );
      for await (const { record, info } of parser as AsyncIterable<{ record: string[]; info: { lines: number; bytes: number } }>) {
        read = info.bytes;
        while (skipped.length) yield skipped.shift()!;
        if (header.length === 0) {
          header = record.map((name) => name.trim().toLowerCase());
          if (header.some((name) => name.includes(REPLACEMENT))) throw new FileError(`${path}:${info.lines}: the header ${ENCODING_ERROR}`);
          continue;
        }
        if (record.length !== header.length) {
          yield { line: info.lines, error: `has ${record.length} fields but the header has ${header.length}` };
          continue;
        }
        if (record.some((field) => field.includes(REPLACEMENT))) {
          yield { line: info.lines, error: ENCODING_ERROR };
          continue;
        }
        const values: Record<string, unknown> = {};
        header.forEach((name, index) => (values[name] = record[index]));
        yield { line: info.lines, values };
      }
      while (skipped.length) yield skipped.shift()!;
      if (header.length === 0) throw new FileError(`${path}: the file is empty; a header row is required`);
      read = total;
    },
  };
}

function jsonlSource(path: string, total: number): RowSource {
  const seen = new Set<string>();
  let read = 0;
  return {
    format: 'jsonl',
    columns: () => [...seen],
    progress: () => ({ read, total }),
    async *rows() {
      const lines = createInterface({ input: createReadStream(path, 'utf8'), crlfDelay: Infinity });
      let line = 0;
      for await (const text of lines) {
        line += 1;
        read += Buffer.byteLength(text) + 1;
        const trimmed = line === 1 ? text.replace(/^\uFEFF/, '').trim() : text.trim();
        if (!trimmed) continue;
        if (trimmed.includes(REPLACEMENT)) {
          yield { line, error: ENCODING_ERROR };
          continue;
        }
        let value: unknown;
        try {
          value = JSON.parse(trimmed);
        } catch (error) {
          yield { line, error: `is not valid JSON: ${(error as Error).message}` };
          continue;
        }
        if (value === null || typeof value !== 'object' || Array.isArray(value)) {
          yield { line, error: 'must be a JSON object, one per line' };
          continue;
        }
        if (seen.size === 0) for (const key of Object.keys(value)) seen.add(key);
        yield { line, values: value as Record<string, unknown> };
      }
      read = total;
    },
  };
}
