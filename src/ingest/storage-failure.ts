/**
 * When the database refuses a batch of the import: the batch is written again item by item
 * so one bad row costs only itself, and each refused one is reported with a reason that
 * names the problem (from its SQLSTATE) but never the driver's message, which quotes the
 * statement and its parameters: customer data. A failure that is not about the data (the
 * connection is gone) stops the import with one such line.
 */
import { UserError } from '../errors.ts';

/**
 * Runs `step` on all `items` at once (one round trip, one transaction); when the database
 * refuses, on each item alone, so that one bad item costs only itself. Returns each item
 * that went through with its result; `refused` hears of the others with a safe reason.
 * A failure that is not about the data stops the import (see {@link storageFailure}).
 */
export async function eachOrAlone<T, R>(
  items: T[],
  step: (items: T[]) => Promise<R[]>,
  refused: (item: T, reason: string) => void,
): Promise<[T, R][]> {
  if (items.length === 0) return [];
  try {
    const results = await step(items);
    return items.map((item, index) => [item, results[index]!]);
  } catch (error) {
    const reason = storageFailure(error);
    if (items.length === 1) {
      refused(items[0]!, reason);
      return [];
    }
    const done: [T, R][] = [];
    for (const item of items) done.push(...(await eachOrAlone([item], step, refused)));
    return done;
  }
}

/** What a refused value is, by SQLSTATE: the reason printed instead of the driver's message. */
const SAFE_REASONS: Record<string, string> = {
  '22001': 'a text is longer than the database stores',
  '22003': 'a number is out of the range the database stores',
  '22007': 'a time has a form the database does not accept',
  '22008': 'a time is out of the range the database stores',
  '22021': 'a text holds bytes that are not valid text for the database',
  '22P02': 'a value has a form the database does not accept',
  '22P05': 'a text holds a character the database cannot store (such as a NUL byte)',
  '23502': 'a required value is missing',
  '23503': 'it refers to a row that does not exist',
  '23505': 'it repeats a key that is already stored',
  '23514': 'a value breaks a rule of the database',
  '54000': 'a value is larger than the database allows',
};

/** SQLSTATE classes that say the database itself failed, not this data: the import stops. */
const FATAL_CLASSES = new Set(['08', '53', '57', '58', 'XX']);

/**
 * The safe reason a batch was refused, from the error's SQLSTATE alone; throws a UserError
 * (printed as one line) when the failure is not about the data. Never uses the error's
 * message: drizzle's quotes the whole statement and its parameters.
 */
export function storageFailure(error: unknown): string {
  const code = sqlState(error);
  if (code === undefined || FATAL_CLASSES.has(code.slice(0, 2))) {
    const what = code ? `SQLSTATE ${code}` : errorCode(error);
    throw new UserError(
      `the database failed while storing rows (${what}); the rows committed before stay stored, and importing the file again completes it`,
    );
  }
  const reason = SAFE_REASONS[code] ?? (code.startsWith('22') ? 'the database refused a value' : 'the database refused it');
  return `${reason} (SQLSTATE ${code})`;
}

/** The five-character SQLSTATE of a driver error, looking through the wrapping errors' causes. */
function sqlState(error: unknown): string | undefined {
  for (let e: unknown = error, depth = 0; e && typeof e === 'object' && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return code;
  }
  return undefined;
}

/** A node error code (ECONNRESET) or the error's class name: safe to print, unlike its message. */
function errorCode(error: unknown): string {
  for (let e: unknown = error, depth = 0; e && typeof e === 'object' && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) return code;
  }
  return error instanceof Error ? error.name : 'unknown error';
}
