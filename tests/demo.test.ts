/**
 * The demo's Redis: a redis-server started from PATH when none answers, and one clear
 * message when none can be. The whole demo is run at its defaults by demo-default.test.ts.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ensureRedis, findOnPath } from '../src/demo/redis.ts';
import { redisAnswers } from '../src/queue/redis.ts';
import { campaign } from './helpers/cli.ts';

describe('the demo without Redis', () => {
  it('starts a redis-server from PATH when none answers at REDIS_URL, and stops it', async () => {
    const redis = await ensureRedis('redis://127.0.0.1:1');
    try {
      expect(redis.origin).toBe('started');
      expect(await redisAnswers(redis.url)).toBe(true);
    } finally {
      await redis.stop();
    }
    expect(await redisAnswers(redis.url, 300)).toBe(false);
  });

  it('ends in seconds with one clear message when no Redis answers and none can be started', async () => {
    // A PATH with nothing on it (the command itself runs by node's absolute path).
    const path = mkdtempSync(join(tmpdir(), 'campaign-path-'));
    expect(findOnPath('redis-server', path)).toBeUndefined();
    const started = Date.now();
    const run = await campaign(['demo'], {
      REDIS_URL: 'redis://127.0.0.1:1',
      PATH: path,
      DATA_DIR: mkdtempSync(join(tmpdir(), 'campaign-demo-')),
    });
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('no Redis answers at redis://127.0.0.1:1, and there is no redis-server on PATH');
    expect(run.stderr).toContain('set REDIS_URL');
    expect(run.stderr).not.toMatch(/\n\s+at /);
  });
});
