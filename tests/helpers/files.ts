import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const dir = mkdtempSync(join(tmpdir(), 'campaign-test-'));

/** Writes `content` to a new file named `name` in a per-process temp folder. */
export function tempFile(name: string, content: string | Buffer): string {
  const path = join(dir, `${Math.random().toString(36).slice(2)}-${name}`);
  writeFileSync(path, content);
  return path;
}

export const FIXTURES = new URL('../fixtures/', import.meta.url).pathname;

/**
 * The rows of a report CSV by column name. Cells are split on commas, so only the columns
 * before any free text (a comparison's summary, a template name with a comma) are split right.
 */
export function csvRows(csv: string): Record<string, string>[] {
  const [head, ...lines] = csv.trim().split('\n');
  const names = head!.split(',');
  return lines.map((line) => Object.fromEntries(line.split(',').map((value, i) => [names[i], value])) as Record<string, string>);
}
