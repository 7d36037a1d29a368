/**
 * A file of discount codes, as `campaign codes import` takes it: a plain list (one code a
 * line), or the CSV a shop exports of its bulk codes, with a header row naming the code
 * column (`Code`, as Shopify's export; `coupon_code` or `post_title`, as WooCommerce export
 * plugins; see CODE_COLUMNS in src/core/discount.ts). Every code comes with its line, and
 * the checks of src/core/discount.ts (one word, not twice in the file) report by line.
 */
import { readFile, stat } from 'node:fs/promises';
import { checkCodes, codeColumn, CODE_COLUMNS, type CodeLine, type LineProblem } from '../core/discount.ts';
import { FileError } from '../errors.ts';
import { fileProblem, openRows } from './read.ts';

/** Far above any shop's code list (a million 20-character codes is 21 MB). */
const MAX_FILE_BYTES = 64 * 1024 * 1024;

export interface CodesFile {
  format: 'list' | 'csv';
  /** The distinct, valid codes, each at its line. */
  codes: CodeLine[];
  /** Every line that holds no usable code, or a code already on an earlier line. */
  problems: LineProblem[];
}

/** Reads and checks a codes file; an unreadable file or a CSV without a code column is a FileError. */
export async function readCodesFile(path: string): Promise<CodesFile> {
  const info = await stat(path).catch((error: unknown) => {
    throw fileProblem(path, error);
  });
  if (info.isDirectory()) throw new FileError(`${path}: is a directory, not a file`);
  if (info.size > MAX_FILE_BYTES) throw new FileError(`${path}: is ${info.size} bytes; a codes file may hold at most 64 MB`);
  const text = (
    await readFile(path, 'utf8').catch((error: unknown) => {
      throw fileProblem(path, error);
    })
  ).replace(/^\uFEFF/, '');
  const lines = text.split(/\r?\n/);
  const first = lines.find((l) => l.trim() !== '') ?? '';
  const isCsv = /[,;\t]/.test(first) || codeColumn([unquote(first)]) !== undefined;
  if (!isCsv) {
    const read: CodeLine[] = [];
    lines.forEach((line, index) => {
      if (line.trim() !== '') read.push({ line: index + 1, code: line.trim() });
    });
    if (read.length === 0) throw new FileError(`${path}: holds no codes`);
    return { format: 'list', ...checkCodes(read) };
  }

  const source = await openRows(path, 'csv');
  // The header is known once reading has begun.
  const rows = [];
  for await (const row of source.rows()) rows.push(row);
  const columns = source.columns().map((c) => c.replace(/^\uFEFF/, ''));
  const column = codeColumn(columns);
  if (column === undefined)
    throw new FileError(
      `${path}:1: no column of codes: the header must name one of ${CODE_COLUMNS.map((c) => `"${c}"`).join(', ')} (any case); got ${columns.map((c) => `"${c}"`).join(', ')}`,
    );
  const original = source.columns()[columns.indexOf(column)]!;
  const read: CodeLine[] = [];
  const problems: LineProblem[] = [];
  for (const row of rows) {
    if (row.error) problems.push({ line: row.line, message: row.error });
    else {
      const cell = row.values?.[original];
      read.push({ line: row.line, code: typeof cell === 'string' ? cell.trim() : '' });
    }
  }
  if (read.length === 0 && problems.length === 0) throw new FileError(`${path}: holds no codes`);
  const checked = checkCodes(read);
  return { format: 'csv', codes: checked.codes, problems: [...problems, ...checked.problems].sort((a, b) => a.line - b.line) };
}

function unquote(cell: string): string {
  const t = cell.trim();
  return t.startsWith('"') && t.endsWith('"') ? t.slice(1, -1) : t;
}
