/**
 * The text format of Postgres `COPY ... FROM` (tab-separated columns, one row a line):
 * NULL is `\N`, and a backslash, tab, newline or carriage return inside a value is written
 * as its backslash escape, so any text (the literal `\N` included) reads back as it was.
 */

/** A value `copyText` writes: text and numbers as Postgres reads them, booleans as t/f, null and undefined as NULL. */
export type CopyValue = string | number | boolean | null | undefined;

const SPECIAL = /[\\\t\n\r]/;
const SPECIALS = /[\\\t\n\r]/g;
const ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };

/** One value as a COPY text field. */
export function copyField(value: CopyValue): string {
  if (value === null || value === undefined) return '\\N';
  if (typeof value === 'boolean') return value ? 't' : 'f';
  const text = String(value);
  return SPECIAL.test(text) ? text.replace(SPECIALS, (c) => ESCAPES[c]!) : text;
}

/** One row as a line of COPY text, ended by a newline. */
export function copyLine(row: readonly CopyValue[]): string {
  let line = '';
  for (let i = 0; i < row.length; i++) line += (i ? '\t' : '') + copyField(row[i]);
  return `${line}\n`;
}

/** Rows as COPY text, each line ended by a newline. */
export function copyText(rows: Iterable<readonly CopyValue[]>): string {
  let out = '';
  for (const row of rows) out += copyLine(row);
  return out;
}
