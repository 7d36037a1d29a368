/**
 * A Redis for the demo: the one at REDIS_URL when it answers, else a `redis-server` from
 * PATH started for the run (in memory, on a free local port, stopped afterwards), else a
 * clear message saying what to install or set.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { createServer } from 'node:net';
import { delimiter, join } from 'node:path';
import { redisAnswers } from '../queue/redis.ts';
import { UserError } from '../errors.ts';

export interface DemoRedis {
  url: string;
  /** Where it came from, for the log line. */
  origin: 'configured' | 'started';
  stop(): Promise<void>;
}

export function findOnPath(
  command: string,
  // The operating system's command search path, not a setting of the engine.
  // eslint-disable-next-line no-restricted-properties
  path = process.env.PATH ?? '',
): string | undefined {
  for (const dir of path.split(delimiter).filter(Boolean)) {
    const candidate = join(dir, command);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

export async function ensureRedis(configuredUrl: string): Promise<DemoRedis> {
  if (await redisAnswers(configuredUrl)) return { url: configuredUrl, origin: 'configured', stop: async () => {} };
  const binary = findOnPath('redis-server');
  if (!binary)
    throw new UserError(
      `no Redis answers at ${configuredUrl}, and there is no redis-server on PATH to start one.\n` +
        `Install Redis (Debian/Ubuntu: apt-get install redis-server; macOS: brew install redis), or set REDIS_URL to a Redis that is running.`,
    );
  const port = await freePort();
  const child: ChildProcess = spawn(binary, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
    stdio: 'ignore',
  });
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.once('error', () => resolve());
  });
  let gone = false;
  void exited.then(() => (gone = true));
  // However this process ends, the server started for it ends too.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const url = `redis://127.0.0.1:${port}`;
  const stop = async () => {
    process.off('exit', killOnExit);
    if (gone) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 3_000);
    await exited;
    clearTimeout(timer);
  };
  for (let waited = 0; waited < 5_000; waited += 100) {
    if (gone) break;
    if (await redisAnswers(url, 200)) return { url, origin: 'started', stop };
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await stop();
  throw new UserError(`started ${binary} on port ${port}, but it did not answer within 5 s; set REDIS_URL to a Redis that is running`);
}
