/**
 * One process per embedded database. PGlite is Postgres in this process's memory, written
 * back to its folder: two processes on one folder each believe they own it, and the rows
 * one commits are lost when the other writes its pages back (both report success). So a
 * process that opens a PGlite folder holds a lock file beside it, and a second one is refused
 * at once with a message naming the holder.
 *
 * The lock is a file created with O_EXCL (`wx`): only one process can create it. It holds
 * the owner's pid, host, command and start time. A lock whose process is gone (killed
 * with SIGKILL, the machine restarted) is stale: the next process takes it over. A lock of
 * another host (a folder shared over a network) is never taken over.
 */
import { closeSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { UserError } from '../errors.ts';

/** Beside PGlite's own folder (`DATA_DIR/pglite`), never inside it: that folder is Postgres's. */
export const LOCK_FILE = 'pglite.lock';

interface LockInfo {
  pid: number;
  host: string;
  holder: string;
  since: string;
}

export interface DataDirLock {
  /** Removes the lock file if it is still this process's. Idempotent. */
  release(): void;
}

/** True when a process with this pid runs on this machine (signal 0 tests without sending). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to another user; it is alive all the same.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readLock(path: string): LockInfo | undefined {
  try {
    const info = JSON.parse(readFileSync(path, 'utf8')) as Partial<LockInfo>;
    return typeof info.pid === 'number' && typeof info.host === 'string' ? (info as LockInfo) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Takes the lock of the PGlite database under `dir` (the `DATA_DIR`) for this process, or throws a UserError naming
 * the process that holds it and what to do instead. `holder` says what this process is.
 */
export function lockDataDir(dir: string, holder: string): DataDirLock {
  const path = join(dir, LOCK_FILE);
  const mine: LockInfo = { pid: process.pid, host: hostname(), holder, since: new Date().toISOString() };
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = openSync(path, 'wx', 0o644);
      writeSync(fd, JSON.stringify(mine));
      closeSync(fd);
      let released = false;
      const release = () => {
        if (released) return;
        released = true;
        process.off('exit', release);
        if (readLock(path)?.pid === process.pid) rmSync(path, { force: true });
      };
      // A process that exits without closing (process.exit, an uncaught error) leaves no lock behind.
      process.on('exit', release);
      return { release };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const held = readLock(path);
    const stale = held === undefined || (held.host === mine.host && held.pid !== process.pid && !alive(held.pid));
    if (!stale)
      throw new UserError(
        `the embedded database in ${dir} (DATA_DIR) is in use by ${held.holder} (process ${held.pid} on ${held.host}, since ${held.since}). ` +
          'One process at a time may open it: stop that process first, or send this through its HTTP API, ' +
          'or use a real Postgres (DATABASE_URL) for several processes.',
      );
    // The holder is gone: the lock is stale. Remove it and try again (another process may win the race).
    rmSync(path, { force: true });
  }
  throw new UserError(`could not take the lock of the embedded database in ${dir}: another process keeps taking it`);
}
