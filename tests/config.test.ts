import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.ts';
import { ConfigError } from '../src/errors.ts';

describe('config', () => {
  it('has working defaults for a fresh machine: PGlite under ./.data, local Redis', () => {
    const config = loadConfig({});
    expect(config.databaseUrl).toBeUndefined();
    expect(config.dataDir).toMatch(/\/\.data$/);
    expect(config.redisUrl).toBe('redis://127.0.0.1:6379');
    expect(config.clockScale).toBe(1);
  });

  it('names every bad variable and what it got', () => {
    const attempt = () => loadConfig({ CLOCK_SCALE: '-3', DATABASE_URL: 'mysql://x', PUBLIC_URL: 'nope' });
    expect(attempt).toThrow(ConfigError);
    expect(attempt).toThrow(/CLOCK_SCALE: must be a positive number.*\(got "-3"\)/);
    expect(attempt).toThrow(/DATABASE_URL: must be a URL starting with postgres:\/\/ or postgresql:\/\//);
    expect(attempt).toThrow(/PUBLIC_URL: must be a URL/);
  });

  it('demands a real secret and token in production', () => {
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(/SECRET_KEY: must be set in production[\s\S]*API_TOKEN/);
    const config = loadConfig({ NODE_ENV: 'production', SECRET_KEY: 'k'.repeat(40), API_TOKEN: 'a-long-token', CLOCK_SCALE: '3600' });
    expect(config.clockScale).toBe(3600);
  });

  it('TRUST_PROXY: off by default; true, a hop count, or proxy addresses and CIDRs', () => {
    expect(loadConfig({}).trustProxy).toBe(false);
    expect(loadConfig({ TRUST_PROXY: 'false' }).trustProxy).toBe(false);
    expect(loadConfig({ TRUST_PROXY: 'true' }).trustProxy).toBe(true);
    expect(loadConfig({ TRUST_PROXY: '2' }).trustProxy).toBe(2);
    expect(loadConfig({ TRUST_PROXY: '10.0.0.0/8, 127.0.0.1,::1,loopback' }).trustProxy).toEqual([
      '10.0.0.0/8',
      '127.0.0.1',
      '::1',
      'loopback',
    ]);
    expect(() => loadConfig({ TRUST_PROXY: '10.0.0.1,proxy.internal' })).toThrow(/TRUST_PROXY: must be true, false, a hop count/);
  });
});
