/**
 * Logs keep customers out: no tracking or unsubscribe token in a logged URL, no bound
 * parameter of a failed query (names, emails) in a logged error, through the real Fastify
 * request logging and pino.
 */
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { createLogger, redactUrl } from '../src/log.ts';

describe('the log', () => {
  it('drops the tokens of unsubscribe, pixel and click URLs, and keeps the rest', () => {
    expect(redactUrl('/u/eyJhbGciOi.abc?x=1')).toBe('/u/<token>?x=1');
    expect(redactUrl('/t/o/tok-123.gif')).toBe('/t/o/<token>');
    expect(redactUrl('/t/c/tok-123/4')).toBe('/t/c/<token>/4');
    expect(redactUrl('/api/orders?period=7d')).toBe('/api/orders?period=7d');
  });

  it('logs a failed request without the token in its URL or the parameters of its query', async () => {
    const lines: string[] = [];
    const log = createLogger('info', 'test', { write: (line: string) => lines.push(line) });
    const app = Fastify({ loggerInstance: log });
    app.get('/u/:token', async () => {
      const cause = Object.assign(new Error('duplicate key'), { params: ['ada@example.com'] });
      throw Object.assign(new Error('Failed query: insert into customers values ($1)\nparams: ada@example.com,Ada Lovelace'), {
        params: ['ada@example.com', 'Ada Lovelace'],
        cause,
      });
    });
    const response = await app.inject('/u/SECRET-UNSUBSCRIBE-TOKEN');
    expect(response.statusCode).toBe(500);
    const text = lines.join('');
    expect(text).toContain('/u/<token>');
    expect(text).toContain('Failed query: insert into customers values ($1)');
    expect(text).toContain('params: <redacted>');
    for (const leak of ['SECRET-UNSUBSCRIBE-TOKEN', 'ada@example.com', 'Ada Lovelace']) expect(text).not.toContain(leak);
    // The stack keeps its frames: the redaction cuts the parameters, not the debugging.
    const failed = lines.map((l) => JSON.parse(l) as { err?: { stack?: string } }).find((l) => l.err);
    expect(failed?.err?.stack).toMatch(/\n\s+at /);
    await app.close();
  });
});
