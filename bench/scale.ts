/**
 * Scale-out: the end-to-end run of ./e2e.ts (orders ingested → enrolled → rendered → sent)
 * with one, two and four `campaign work` processes against the same database and Redis,
 * each a process of its own as in production, the SMTP server in this process. Each row's
 * baseline is the one-process figure of the same run, so the ratio is the speed-up.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { freshDatabase } from '../tests/helpers/db.ts';
import { eventually, prepareShop } from '../tests/helpers/engine.ts';
import { freshQueues, REDIS_URL } from '../tests/helpers/redis.ts';
import { startSmtp } from '../tests/helpers/smtp.ts';
import { ONE_EMAIL_SEQUENCE, ingestBenchCustomers, ingestBenchOrders } from './e2e.ts';
import { timed, type Benchmark, type BenchResult } from './harness.ts';

const BIN = fileURLToPath(new URL('../bin/campaign.js', import.meta.url));
const PROCESSES = [1, 2, 4];

/** Emails per second with `processes` worker processes: fresh database, prefix and server each time. */
async function throughput(processes: number, n: number): Promise<number> {
  const database = await freshDatabase('postgres');
  const queues = await freshQueues();
  const smtp = await startSmtp();
  const workers: ChildProcess[] = [];
  try {
    await prepareShop(database.db, ONE_EMAIL_SEQUENCE);
    await ingestBenchCustomers(database.db, n, 's');
    const env = {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      DATABASE_URL: database.url!,
      REDIS_URL,
      QUEUE_PREFIX: queues.prefix,
      SMTP_URL: smtp.url,
      PUBLIC_URL: 'https://track.shop.example',
      FREQUENCY_CAP: 'off',
      METRICS_PORT: '0',
      LOG_LEVEL: 'info',
    };
    await Promise.all(Array.from({ length: processes }, () => startWorker(env, workers)));
    const run = await timed(async () => {
      const now = new Date().toISOString();
      for (let start = 0; start < n; start += 1_000) await ingestBenchOrders(database.db, { n, start, prefix: 's', orderedAt: now });
      await eventually(async () => smtp.received.length >= n && true, 300_000, 'every email');
    });
    if (smtp.received.length !== n) throw new Error(`${smtp.received.length} emails arrived, expected ${n}`);
    return n / run.seconds;
  } finally {
    await Promise.all(workers.map((w) => stopWorker(w)));
    await smtp.close();
    await queues.cleanup();
    await database.drop();
  }
}

/** Starts `campaign work` and resolves when it logs that its workers run. */
function startWorker(env: Record<string, string>, workers: ChildProcess[]): Promise<void> {
  const child = spawn(process.execPath, [BIN, 'work'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  workers.push(child);
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`a worker exited with ${code} before it ran`)));
    // The log goes to stderr (stdout is for a command's output).
    for (const stream of [child.stdout, child.stderr])
      createInterface({ input: stream }).on('line', (line) => {
        if (line.includes('workers running')) resolve();
      });
  });
}

function stopWorker(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

export const scaleBenchmark: Benchmark = {
  name: 'scale',
  async run({ quick }) {
    const n = quick ? 300 : 2_000;
    const figures = new Map<number, number>();
    for (const processes of PROCESSES) figures.set(processes, await throughput(processes, n));
    const one = figures.get(1)!;
    return PROCESSES.map((processes): BenchResult => ({
      name: `end to end with ${processes} worker process${processes > 1 ? 'es' : ''} (${n} emails, postgres)`,
      unit: 'emails/s',
      value: figures.get(processes)!,
      baselineName: 'one worker process, same run',
      baseline: one,
      ratio: figures.get(processes)! / one,
      target: 'reported',
      met: true,
    }));
  },
};
