/**
 * The chaos tests' machinery: `campaign work` processes on a scaled clock against a test
 * database, Redis prefix and SMTP server, started and killed at will, and the check that
 * every enrollment finished with both of its emails sent.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { sql } from 'drizzle-orm';
import { queryRows, type Db } from '../../src/db/client.ts';
import { REDIS_URL } from './redis.ts';

const BIN = fileURLToPath(new URL('../../bin/campaign.js', import.meta.url));

/** The environment of a worker process: a simulated day a real second, short claims and locks, no metrics port, silent. */
export function chaosEnv(to: { databaseUrl: string; prefix: string; smtpUrl: string }): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '',
    DATABASE_URL: to.databaseUrl,
    REDIS_URL,
    QUEUE_PREFIX: to.prefix,
    SMTP_URL: to.smtpUrl,
    PUBLIC_URL: 'https://track.shop.example',
    CLOCK_SCALE: '86400',
    CLOCK_ORIGIN: String(Date.now()),
    FREQUENCY_CAP: 'off',
    SEND_CLAIM_SECONDS: '2',
    WORKER_LOCK_MS: '1000',
    WORKER_CONCURRENCY: '16',
    METRICS_PORT: '0',
    LOG_LEVEL: 'silent',
  };
}

/** "Now" on the workers' scaled clock, where orders must be placed to enroll. */
export function scaledNow(env: Record<string, string>): string {
  const origin = Number(env.CLOCK_ORIGIN);
  return new Date(origin + (Date.now() - origin) * Number(env.CLOCK_SCALE)).toISOString();
}

/** Worker processes of `env`: `start` one (stderr shown with CHAOS_DEBUG), `killAll` at the end. */
export function workerProcesses(env: Record<string, string>) {
  const workers = new Set<ChildProcess>();
  const start = () => {
    const child = spawn(process.execPath, [BIN, 'work', '--reconcile-every', '1'], {
      env,
      stdio: ['ignore', 'ignore', process.env.CHAOS_DEBUG ? 'inherit' : 'ignore'],
    });
    workers.add(child);
    child.on('exit', () => workers.delete(child));
    return child;
  };
  const killAll = () => {
    for (const worker of workers) worker.kill('SIGKILL');
  };
  return { workers, start, killAll };
}

/** True when all `enrollments` exist, every one completed, with both of its emails sent. */
export async function allSent(db: Db, enrollments: number): Promise<boolean> {
  const [row] = await queryRows<{ open: number; sent: number }>(
    db,
    sql`select (select count(*)::int from enrollments where state <> 'completed') + (select ${enrollments} - count(*)::int from enrollments) as open,
               (select count(*)::int from messages where state = 'sent') as sent`,
  );
  return row!.open === 0 && row!.sent === 2 * enrollments;
}
