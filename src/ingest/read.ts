/**
 * Streams the rows of a CSV or TSV (header row) or JSONL file, each with its line number, in
 * bounded memory. A row that cannot be read becomes a row with an `error`, reported once,
 * and reading goes on at the next line; only an unusable file or header stops the import.
 *
 * Both formats are first cut into physical lines by one bounded reader: a line longer than
 * `maxLineBytes` is skipped as it streams by (never held in memory) and reported as one bad
 * row. Lines end in LF or CRLF; a file whose first line break is a lone CR uses CR.
 *
 * CSV is read by a small RFC 4180 scanner over those lines rather than by a streaming
 * parser, so that a bad quote can be contained: a quoted field may span lines, but when
 * such a record fails (a quote never closed, a closing quote followed by text, the wrong
 * number of fields, or more than `maxLineBytes` in all) only its first line is reported and
 * reading starts again at the line after it. A quote inside an unquoted field (`12" pan`)
 * is kept as text.
 *
 * TSV (a Merchant Center feed's tab-separated form) is the same scanner with a tab for the
 * comma. XML is no row format of its own: only a product feed is read from XML
 * (./catalog.ts).
 *
 * Longer than most files on purpose: the line reader, the CSV scanner and the JSONL reader
 * share the bounded-line contract and one error model (a bad row reported once, reading on).
 */
import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { isUtf8 } from 'node:buffer';
import { FileError } from '../errors.ts';

export type FileFormat = 'csv' | 'tsv' | 'jsonl' | 'xml';

export const FILE_FORMATS: readonly FileFormat[] = ['csv', 'tsv', 'jsonl', 'xml'];

export interface RawRow {
  /** 1-based line of the file where the row ends (where a bad row starts). */
  line: number;
  /**
   * The row's fields. With an `error`, only the fields that could be read reliably (for a
   * line cut short by a bad quote, those before it), so that an order line that cannot be
   * read still names its order when it can; absent when none can be trusted.
   */
  values?: Record<string, unknown>;
  error?: string;
  /**
   * What the file calls each field, when it is not our name (a Shopify export's
   * `Variant Price` for `price`), so that a rejection names the column the shop knows.
   */
  labels?: Record<string, string>;
}

export interface RowSource {
  format: FileFormat;
  /** Columns named in the header (CSV, TSV) or by the first object (JSONL). */
  columns(): string[];
  /** Bytes read so far and in all, for a progress bar. */
  progress(): { read: number; total: number };
  /** The rows from the start of the file; may be called again to read the file again. */
  rows(): AsyncGenerator<RawRow>;
}

export interface ReadOptions {
  /** Longest line (and longest CSV record) read, in bytes; longer ones are reported and skipped. */
  maxLineBytes?: number;
}

/** 1 MiB: far above any real row (a product with a long description), far below a runaway one. */
export const MAX_LINE_BYTES = 1 << 20;

const REPLACEMENT = '\uFFFD';
const ENCODING_ERROR = 'is not valid UTF-8 text (save the file as UTF-8)';

export function formatOf(path: string, explicit?: string): FileFormat {
  if ((FILE_FORMATS as readonly string[]).includes(explicit ?? '')) return explicit as FileFormat;
  if (explicit) throw new FileError(`unknown format "${explicit}": use csv, tsv, jsonl or xml`);
  if (/\.csv$/i.test(path)) return 'csv';
  if (/\.tsv$/i.test(path)) return 'tsv';
  if (/\.(jsonl|ndjson)$/i.test(path)) return 'jsonl';
  if (/\.xml$/i.test(path)) return 'xml';
  throw new FileError(`${path}: cannot tell the format from the name; end it in .csv, .tsv, .jsonl or .xml, or pass --format`);
}

/**
 * The format of `path`: `explicit`, else its name (`formatOf`), else its first bytes, for a
 * feed saved as `.txt` or without an extension: `<` starts XML, `{` JSONL, and a first
 * line with a tab and no comma TSV, with a comma CSV. When neither tells, `formatOf`'s error.
 */
export async function detectFormat(path: string, explicit?: string): Promise<FileFormat> {
  try {
    return formatOf(path, explicit);
  } catch (error) {
    if (explicit) throw error;
    const head = await readHead(path, 64 * 1024);
    const sniffed = head === undefined ? undefined : sniffFormat(head);
    if (sniffed) return sniffed;
    throw error;
  }
}

/** The format the start of a file shows, or undefined (see `detectFormat`). */
export function sniffFormat(head: string): FileFormat | undefined {
  const text = head.replace(/^\uFEFF/, '').trimStart();
  if (text.startsWith('<')) return 'xml';
  if (text.startsWith('{')) return 'jsonl';
  const firstLine = text.split(/\r\n|\n|\r/, 1)[0] ?? '';
  if (firstLine.includes('\t') && !firstLine.includes(',')) return 'tsv';
  if (firstLine.includes(',')) return 'csv';
  return undefined;
}

/** Up to `bytes` from the start of the file as text, or undefined when it cannot be read. */
async function readHead(path: string, bytes: number): Promise<string | undefined> {
  try {
    const handle = await open(path, 'r');
    try {
      const buffer = Buffer.alloc(bytes);
      const { bytesRead } = await handle.read(buffer, 0, bytes, 0);
      return buffer.subarray(0, bytesRead).toString('utf8');
    } finally {
      await handle.close();
    }
  } catch {
    return undefined;
  }
}

/** Checks that `path` is a file this process can read, and opens it as rows of `format`. */
export async function openRows(path: string, format: FileFormat, options: ReadOptions = {}): Promise<RowSource> {
  const info = await stat(path).catch((error: unknown) => {
    throw fileProblem(path, error);
  });
  if (info.isDirectory()) throw new FileError(`${path}: is a directory, not a file`);
  // Opening it now turns a permission problem into a clear error before anything is stored.
  await open(path, 'r').then(
    (handle) => handle.close(),
    (error: unknown) => {
      throw fileProblem(path, error);
    },
  );
  const maxLineBytes = options.maxLineBytes ?? MAX_LINE_BYTES;
  switch (format) {
    case 'csv':
      return csvSource(path, info.size, maxLineBytes, ',');
    case 'tsv':
      return csvSource(path, info.size, maxLineBytes, '\t');
    case 'jsonl':
      return jsonlSource(path, info.size, maxLineBytes);
    case 'xml':
      throw new FileError(`${path}: XML is read only as a product feed (campaign import products FILE)`);
  }
}

/** A file system error as one clear line (the code, never a stack). */
export function fileProblem(path: string, error: unknown): FileError {
  const code = (error as NodeJS.ErrnoException | undefined)?.code ?? 'unknown';
  switch (code) {
    case 'ENOENT':
      return new FileError(`${path}: no such file`);
    case 'ENOTDIR':
      return new FileError(`${path}: no such file (a part of the path is not a directory)`);
    case 'EACCES':
    case 'EPERM':
      return new FileError(`${path}: permission denied (this user cannot read the file)`);
    case 'EISDIR':
      return new FileError(`${path}: is a directory, not a file`);
    default:
      return new FileError(`${path}: cannot be read (${code})`);
  }
}

/** One line of the file as read: its text, or why it has none. */
interface PhysicalLine {
  number: number;
  /** The decoded text without its line break (lossy when `invalid`); absent when too long. */
  text?: string;
  invalid?: boolean;
  tooLong?: boolean;
  bytes: number;
  /** The line break that ended it ('' at the end of the file). */
  eol: string;
}

const LF = 10;
const CR = 13;

/**
 * Cuts the file into lines without ever holding more than `maxBytes` of one line: the bytes
 * of an over-long line are counted and dropped as they stream by.
 */
async function* physicalLines(path: string, maxBytes: number, onRead: (bytes: number) => void): AsyncGenerator<PhysicalLine> {
  let parts: Buffer[] = [];
  let size = 0;
  let overflow = false;
  let number = 0;
  /** The byte that ends a line, once the first line break has told (LF, with an optional CR before it, or CR). */
  let separator: number | undefined;
  let carry: Buffer | undefined;

  const append = (bytes: Buffer) => {
    if (bytes.length === 0) return;
    size += bytes.length;
    if (overflow) return;
    if (size > maxBytes) {
      overflow = true;
      parts = [];
    } else parts.push(bytes);
  };
  const take = (): PhysicalLine => {
    number += 1;
    const bytes = size;
    const tooLong = overflow;
    let buffer = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
    parts = [];
    size = 0;
    overflow = false;
    if (tooLong) return { number, tooLong, bytes, eol: '\n' };
    let eol = separator === CR ? '\r' : '\n';
    if (separator !== CR && buffer[buffer.length - 1] === CR) {
      buffer = buffer.subarray(0, buffer.length - 1);
      eol = '\r\n';
    }
    if (number === 1 && buffer[0] === 0xef && buffer[1] === 0xbb && buffer[2] === 0xbf) buffer = buffer.subarray(3);
    const invalid = !isUtf8(buffer);
    return { number, text: buffer.toString('utf8'), bytes, eol, ...(invalid ? { invalid } : {}) };
  };

  const stream = createReadStream(path);
  try {
    for await (const read of stream as AsyncIterable<Buffer>) {
      onRead(read.length);
      const chunk = carry ? Buffer.concat([carry, read]) : read;
      carry = undefined;
      if (separator === undefined) {
        const lf = chunk.indexOf(LF);
        const cr = chunk.indexOf(CR);
        if (cr >= 0 && (lf < 0 || cr < lf)) {
          // A CR at the very end of what was read cannot tell yet whether an LF follows.
          if (cr === chunk.length - 1) {
            carry = chunk;
            continue;
          }
          separator = chunk[cr + 1] === LF ? LF : CR;
        } else if (lf >= 0) separator = LF;
      }
      if (separator === undefined) {
        append(chunk);
        continue;
      }
      let position = 0;
      for (;;) {
        const end = chunk.indexOf(separator, position);
        if (end < 0) break;
        append(chunk.subarray(position, end));
        position = end + 1;
        yield take();
      }
      append(chunk.subarray(position));
    }
  } catch (error) {
    throw fileProblem(path, error);
  } finally {
    stream.destroy();
  }
  if (carry) {
    separator = CR;
    append(carry.subarray(0, carry.length - 1));
    yield take();
  } else if (size > 0 || overflow) {
    const last = take();
    yield { ...last, eol: '' };
  }
}

/** Lines with a way to put some back, to read them again after a failed multi-line record. */
class LineReader {
  private readonly again: PhysicalLine[] = [];
  constructor(private readonly lines: AsyncGenerator<PhysicalLine>) {}

  async next(): Promise<PhysicalLine | undefined> {
    if (this.again.length) return this.again.shift();
    const result = await this.lines.next();
    return result.done ? undefined : result.value;
  }

  unread(lines: PhysicalLine[]): void {
    this.again.unshift(...lines);
  }
}

const QUOTE = 34;

/** The fields of one CSV record (or TSV: `delimiter` a tab), fed one physical line at a time. */
class FieldScanner {
  readonly fields: string[] = [];
  constructor(private readonly delimiter: string) {}
  /** The quoted field being read while its quote is open. */
  private quoted: string | undefined;
  /** 1-based field whose quote is open. */
  openField = 0;
  error: string | undefined;

  /** Reads one line; `joint` is the line break between it and the previous line of the record. */
  feed(text: string, joint: string): 'done' | 'open' | 'error' {
    const n = text.length;
    let i = 0;
    if (this.quoted !== undefined) this.quoted += joint;
    for (;;) {
      if (this.quoted !== undefined) {
        const quote = text.indexOf('"', i);
        if (quote < 0) {
          this.quoted += text.slice(i);
          return 'open';
        }
        this.quoted += text.slice(i, quote);
        if (text.charCodeAt(quote + 1) === QUOTE) {
          this.quoted += '"';
          i = quote + 2;
          continue;
        }
        // The closing quote: blanks may follow it, then a comma or the end of the line.
        i = quote + 1;
        while (i < n && (text[i] === ' ' || text[i] === '\t') && text[i] !== this.delimiter) i += 1;
        const field = this.quoted;
        this.quoted = undefined;
        if (i === n) {
          this.fields.push(field);
          return 'done';
        }
        if (text[i] !== this.delimiter) {
          this.error =
            `the closing quote of field ${this.fields.length + 1} is followed by ${JSON.stringify(text[i])}; ` +
            `a quote inside a quoted field is written twice ("")`;
          return 'error';
        }
        this.fields.push(field);
        i += 1;
        if (i === n) {
          this.fields.push('');
          return 'done';
        }
        continue;
      }
      if (text.charCodeAt(i) === QUOTE) {
        this.quoted = '';
        this.openField = this.fields.length + 1;
        i += 1;
        continue;
      }
      const comma = text.indexOf(this.delimiter, i);
      if (comma < 0) {
        this.fields.push(text.slice(i));
        return 'done';
      }
      this.fields.push(text.slice(i, comma));
      i = comma + 1;
      if (i === n) {
        this.fields.push('');
        return 'done';
      }
    }
  }
}

/** A CSV record: its fields, or why it cannot be read (and the fields before the problem). */
interface CsvRecord {
  line: number;
  fields: string[];
  error?: string;
  /** The record is not valid UTF-8 (its fields are decoded with replacement characters). */
  invalid?: boolean;
}

/**
 * The records of a CSV file. `width` is the header's number of fields once known: a record
 * that spans lines and has another number of fields is taken for a quote left open.
 */
async function* csvRecords(
  lines: LineReader,
  maxBytes: number,
  width: () => number | undefined,
  delimiter: string,
): AsyncGenerator<CsvRecord> {
  for (;;) {
    const first = await lines.next();
    if (!first) return;
    if (first.tooLong) {
      yield { line: first.number, fields: [], error: `line longer than ${maxBytes} bytes` };
      continue;
    }
    if (first.text === '') continue;
    const scanner = new FieldScanner(delimiter);
    let state = scanner.feed(first.text!, '');
    if (state === 'error') {
      yield { line: first.number, fields: [...scanner.fields], error: `cannot be parsed as CSV: ${scanner.error!}` };
      continue;
    }
    if (state === 'done') {
      yield { line: first.number, fields: scanner.fields, ...(first.invalid ? { invalid: true } : {}) };
      continue;
    }
    // A quote is open at the end of the line: the record goes on, up to maxBytes in all.
    const readable = scanner.fields.slice();
    const openField = scanner.openField;
    const taken: PhysicalLine[] = [first];
    let bytes = first.bytes;
    let failed = false;
    while (state === 'open') {
      const more = await lines.next();
      if (!more || more.tooLong || bytes + more.bytes > maxBytes) {
        if (more) taken.push(more);
        failed = true;
        break;
      }
      state = scanner.feed(more.text!, taken[taken.length - 1]!.eol);
      taken.push(more);
      bytes += more.bytes;
      if (state === 'error') failed = true;
    }
    if (!failed && state === 'done' && (width() === undefined || scanner.fields.length === width())) {
      yield { line: taken[taken.length - 1]!.number, fields: scanner.fields, invalid: taken.some((l) => l.invalid) };
      continue;
    }
    // Most likely a quote left open by mistake: report the line that opened it and read on
    // from the next one, which the open quote had swallowed.
    lines.unread(taken.slice(1));
    yield {
      line: first.number,
      fields: readable,
      error: `cannot be parsed as CSV: field ${openField} opens a quote that is not closed on this line`,
    };
  }
}

function csvSource(path: string, total: number, maxBytes: number, delimiter: ',' | '\t'): RowSource {
  let header: string[] = [];
  let read = 0;
  return {
    format: delimiter === ',' ? 'csv' : 'tsv',
    columns: () => header,
    progress: () => ({ read, total }),
    async *rows() {
      read = 0;
      header = [];
      const lines = new LineReader(physicalLines(path, maxBytes, (n) => (read += n)));
      const records = csvRecords(lines, maxBytes, () => (header.length ? header.length : undefined), delimiter);
      const first = await records.next();
      if (first.done) throw new FileError(`${path}: the file is empty; a header row is required`);
      header = readHeader(path, first.value);
      for await (const record of records) {
        // A record whose quote spanned lines is checked as one; its own field count decides.
        if (!record.error && record.fields.length !== header.length) {
          yield { line: record.line, error: `has ${record.fields.length} fields but the header has ${header.length}` };
          continue;
        }
        const values: Record<string, unknown> = {};
        record.fields.forEach((field, index) => {
          if (index < header.length && !(record.invalid && field.includes(REPLACEMENT))) values[header[index]!] = field;
        });
        if (record.error) yield { line: record.line, values, error: record.error };
        else if (record.invalid) yield { line: record.line, values, error: ENCODING_ERROR };
        else yield { line: record.line, values };
      }
      read = total;
    },
  };
}

/** The header's column names (trimmed, lower case); a header that cannot be used is a FileError. */
function readHeader(path: string, record: CsvRecord): string[] {
  const at = `${path}:${record.line}`;
  if (record.error) throw new FileError(`${at}: the header ${record.error.replace(/^line/, 'is a line')}`);
  if (record.invalid) throw new FileError(`${at}: the header ${ENCODING_ERROR}`);
  const names = record.fields.map((name) => name.trim().toLowerCase());
  const firstAt = new Map<string, number>();
  names.forEach((name, index) => {
    if (!name) return;
    const earlier = firstAt.get(name);
    if (earlier !== undefined)
      throw new FileError(`${at}: the header names the column "${name}" twice (columns ${earlier + 1} and ${index + 1})`);
    firstAt.set(name, index);
  });
  return names;
}

function jsonlSource(path: string, total: number, maxBytes: number): RowSource {
  const seen = new Set<string>();
  let read = 0;
  return {
    format: 'jsonl',
    columns: () => [...seen],
    progress: () => ({ read, total }),
    async *rows() {
      read = 0;
      for await (const line of physicalLines(path, maxBytes, (n) => (read += n))) {
        if (line.tooLong) {
          yield { line: line.number, error: `line longer than ${maxBytes} bytes` };
          continue;
        }
        const trimmed = line.text!.trim();
        if (!trimmed) continue;
        if (line.invalid) {
          yield { line: line.number, error: ENCODING_ERROR };
          continue;
        }
        let value: unknown;
        try {
          value = JSON.parse(trimmed);
        } catch (error) {
          yield { line: line.number, error: `is not valid JSON: ${(error as Error).message}` };
          continue;
        }
        if (value === null || typeof value !== 'object' || Array.isArray(value)) {
          yield { line: line.number, error: 'must be a JSON object, one per line' };
          continue;
        }
        if (seen.size === 0) for (const key of Object.keys(value)) seen.add(key);
        yield { line: line.number, values: value as Record<string, unknown> };
      }
      read = total;
    },
  };
}
