/**
 * One process per embedded database: a second `campaign` command on a PGlite folder in use
 * is refused at once with the holder named (two writers used to lose committed rows
 * silently), and a lock left by a killed process is taken over.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../src/db/client.ts';
import { LOCK_FILE } from '../src/db/lock.ts';
import { migrate } from '../src/db/migrate.ts';
import { campaign, campaignInProcess } from './helpers/cli.ts';

const fresh = () => mkdtempSync(join(tmpdir(), 'campaign-lock-'));

/** A pid that surely runs no process: one that has just exited. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '0']);
  await new Promise((resolve) => child.on('exit', resolve));
  return child.pid!;
}

describe('the embedded database has one writer', () => {
  it('refuses a second process while one holds it, naming the holder, and lets it in after', async () => {
    const dataDir = fresh();
    const first = await openDatabase({ dataDir, holder: 'campaign serve' });
    await migrate(first);
    const second = await campaign(['db', 'migrate'], { DATA_DIR: dataDir });
    expect(second.code).toBe(2);
    expect(second.stderr).toContain('is in use by campaign serve');
    expect(second.stderr).toContain(`process ${process.pid}`);
    expect(second.stderr).not.toMatch(/\n\s+at /); // one clear line, no stack
    await first.close();
    expect(existsSync(join(dataDir, LOCK_FILE))).toBe(false);
    const after = await campaign(['db', 'migrate'], { DATA_DIR: dataDir });
    expect(after.code, after.stderr).toBe(0);
  });

  it('refuses a second open in the same process too (two PGlite instances on one folder)', async () => {
    const dataDir = fresh();
    const first = await openDatabase({ dataDir });
    await expect(openDatabase({ dataDir })).rejects.toThrow(/is in use by campaign/);
    await first.close();
  });

  it('takes over the lock of a process that is gone (killed, crashed)', async () => {
    const dataDir = fresh();
    const pid = await deadPid();
    writeFileSync(
      join(dataDir, LOCK_FILE),
      JSON.stringify({ pid, host: hostname(), holder: 'campaign work', since: '2026-01-01T00:00:00Z' }),
    );
    const database = await openDatabase({ dataDir });
    expect(JSON.parse(readFileSync(join(dataDir, LOCK_FILE), 'utf8'))).toMatchObject({ pid: process.pid });
    await database.close();
  });

  it('after a SIGKILL of the holder, the next command opens the database', async () => {
    const dataDir = fresh();
    const setup = await campaignInProcess(['db', 'migrate'], { DATA_DIR: dataDir });
    expect(setup.code, setup.stderr).toBe(0);
    // A server holding the database, killed without a chance to clean up.
    const server = spawn(process.execPath, [new URL('../bin/campaign.js', import.meta.url).pathname, 'serve'], {
      env: { PATH: process.env.PATH, HOME: process.env.HOME, CI: 'true', DATA_DIR: dataDir, PORT: '0' },
      stdio: 'ignore',
    });
    const lock = join(dataDir, LOCK_FILE);
    for (let i = 0; i < 200 && !existsSync(lock); i++) await new Promise((resolve) => setTimeout(resolve, 100));
    expect(existsSync(lock)).toBe(true);
    server.kill('SIGKILL');
    await new Promise((resolve) => server.on('exit', resolve));
    const after = await campaign(['sequences', 'list'], { DATA_DIR: dataDir });
    expect(after.code, after.stderr).toBe(0);
  });

  it('never takes over a lock held by another machine (a shared folder)', async () => {
    const dataDir = fresh();
    writeFileSync(
      join(dataDir, LOCK_FILE),
      JSON.stringify({ pid: 1, host: 'another-host', holder: 'campaign serve', since: '2026-01-01T00:00:00Z' }),
    );
    await expect(openDatabase({ dataDir })).rejects.toThrow(/in use by campaign serve \(process 1 on another-host/);
  });
});
