/**
 * Replacing a sequence file with its next version together with a record of why (the
 * experiment log), so that neither happens without the other: see {@link replaceFile}.
 */
import { randomUUID } from 'node:crypto';
import { readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { UserError } from '../errors.ts';

/**
 * What failed, by its code alone (never a message, which may carry data): a file system code
 * (ENOSPC, EACCES) or the database's SQLSTATE, looking through the errors that wrap it.
 */
function failureCode(error: unknown): string | undefined {
  for (let e: unknown = error, depth = 0; e && typeof e === 'object' && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const { code, syscall } = e as { code?: unknown; syscall?: unknown };
    if (typeof code !== 'string') continue;
    if (typeof syscall === 'string' && /^E[A-Z]+$/.test(code)) return code;
    if (/^[0-9A-Z]{5}$/.test(code)) return `SQLSTATE ${code}`;
  }
  return undefined;
}

/**
 * Replaces the file at `path`, read as `old`, with `yaml`, inside `record`: `record` calls
 * `carryOut` where the file is to change (inside its transaction, before it commits) and
 * returns what it recorded. `yaml` is written beside the file under a temporary name first;
 * `carryOut` renames it over the file, unless the file is no longer `old` (someone edited it
 * meanwhile). `record` failing before `carryOut` leaves the old file and no temporary one;
 * failing after it (a commit that did not happen) puts the old file back. A failure of the
 * file system or the database is a UserError naming its code, and saying what was left.
 */
export async function replaceFile<T>(
  path: string,
  old: string,
  yaml: string,
  record: (carryOut: () => Promise<void>) => Promise<T>,
): Promise<T> {
  const temporary = join(dirname(path), `.${basename(path)}.${randomUUID()}.tmp`);
  let renamed = false;
  let mode = 0o644;
  try {
    mode = (await stat(path)).mode & 0o777;
    await writeFile(temporary, yaml, { mode, flag: 'wx' });
    return await record(async () => {
      if ((await readFile(path, 'utf8')) !== old)
        throw new UserError(`${path} changed while promoting (someone else edited it): nothing was written or logged; run promote again`);
      await rename(temporary, path);
      renamed = true;
    });
  } catch (error) {
    const code = failureCode(error);
    if (!renamed) await unlink(temporary).catch(() => {});
    else if (!(await restore(path, old, mode)))
      throw new UserError(
        `the decision was not logged (${code ?? 'unexpected error'}) and ${path}, which now holds the next version, could not be put back: restore it by hand from the live version (its YAML is in the dashboard's version history)`,
      );
    if (error instanceof UserError || code === undefined) throw error;
    throw new UserError(`could not write ${path} and log the decision (${code}): nothing was written or logged`);
  }
}

/** Puts the old text back after a failed commit, atomically too; false when that fails as well. */
async function restore(path: string, yaml: string, mode: number): Promise<boolean> {
  const temporary = join(dirname(path), `.${basename(path)}.${randomUUID()}.tmp`);
  try {
    await writeFile(temporary, yaml, { mode, flag: 'wx' });
    await rename(temporary, path);
    return true;
  } catch {
    await unlink(temporary).catch(() => {});
    return false;
  }
}
