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
