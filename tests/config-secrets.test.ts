/** A refused setting is named, but a credential in it is never printed back. */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.ts';
import { ConfigError } from '../src/errors.ts';

function errorOf(env: Record<string, string>): string {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('the config was accepted');
}

describe('config errors keep secrets out', () => {
  it('names a bad secret, key, token or password without showing it', () => {
    const message = errorOf({
      SECRET_KEY: 'short-secret-value',
      API_TOKEN: 'tok',
      DASHBOARD_PASSWORD: 'pw12',
      DKIM_DOMAIN: 'shop.example',
      DKIM_SELECTOR: 'sel',
      DKIM_PRIVATE_KEY: 'not-a-pem-private-key',
    });
    for (const name of ['SECRET_KEY', 'API_TOKEN', 'DASHBOARD_PASSWORD', 'DKIM_PRIVATE_KEY']) expect(message).toContain(`${name}:`);
    for (const value of ['short-secret-value', '"tok"', 'pw12', 'not-a-pem-private-key']) expect(message).not.toContain(value);
    expect(message).toContain('(got 18 characters, not shown)');
  });

  it('masks the user and password of a bad URL and still shows the rest', () => {
    const message = errorOf({ SMTP_URL: 'smtpx://mailer:hunter2-secret@smtp.example:587', DATABASE_URL: 'mysql://app:pa55word@db:3306/x' });
    expect(message).toContain('SMTP_URL:');
    expect(message).not.toContain('hunter2-secret');
    expect(message).not.toContain('pa55word');
    expect(message).toContain('"smtpx://***@smtp.example:587"');
    expect(message).toContain('"mysql://***@db:3306/x"');
    // A URL without the scheme's slashes is masked up to its last "@" all the same.
    expect(errorOf({ REDIS_URL: 'user:pw-9876@redis:6379' })).not.toContain('pw-9876');
    // A password holding "/" or "@" is masked whole.
    const odd = errorOf({ SMTP_URL: 'smtpz://u:pa/ss@w0rd@smtp.example' });
    expect(odd).not.toContain('pa/ss');
    expect(odd).toContain('"smtpz://***@smtp.example"');
  });

  it('still shows an ordinary bad value, so the fix is obvious', () => {
    expect(errorOf({ CLOCK_SCALE: 'fast' })).toContain('CLOCK_SCALE: must be a number (got "fast")');
  });
});
