/**
 * `campaign codes import` and `campaign codes list` as a user runs them, on Postgres and on
 * PGlite: a plain list and a shop's CSV export go in; a file with a duplicate, a code of
 * another pool or a code that is not one word is refused naming each line, and nothing of it
 * is stored; a past expiry, a bad value and a value other than the pool's are refused; the
 * list counts size, issued, redeemed, expired and left. `sequences check` and `apply`
 * refuse an offer of a pool that does not exist, with file:line.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryRows } from '../src/db/client.ts';
import { campaign, campaignInProcess } from './helpers/cli.ts';
import { freshDatabase, type TestDatabase } from './helpers/db.ts';
import { tempFile } from './helpers/files.ts';

describe('campaign codes on Postgres', () => {
  let database: TestDatabase;
  let env: Record<string, string>;
  beforeAll(async () => {
    database = await freshDatabase('postgres');
    env = { DATABASE_URL: database.url!, LOG_LEVEL: 'silent' };
  });
  afterAll(() => database.drop());

  const stored = async () =>
    queryRows<{ pool: string; codes: number }>(
      database.db,
      sql`select p.name as pool, count(c.id)::int as codes from code_pools p left join discount_codes c on c.pool_id = p.id
          group by p.name order by p.name`,
    );

  it('imports a plain list and a Shopify-style CSV export; importing again adds nothing', async () => {
    const list = tempFile('welcome.txt', 'WELCOME-1\nWELCOME-2\n\nWELCOME-3\n');
    const first = await campaign(['codes', 'import', 'welcome', list, '--value', '10%', '--valid-days', '30'], env);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/3 codes imported into new pool welcome \(10% off, expiring 20\d\d-/);
    const again = await campaignInProcess(['codes', 'import', 'welcome', list], env);
    expect(again.stdout).toMatch(/0 codes imported into pool welcome .*; 3 were already in it/);

    const csv = tempFile('shopify.csv', '\uFEFFCode,Usage Count,Title\nFIVE-A,0,Five off\n"FIVE-B",0,Five off\n');
    const five = await campaignInProcess(
      ['codes', 'import', 'five-off', csv, '--value', '5.00', '--expires-at', '2099-01-01T00:00:00Z'],
      env,
    );
    expect(five.code).toBe(0);
    expect(five.stdout).toMatch(/2 codes imported into new pool five-off \(\$5\.00 off, expiring 2099-01-01T00:00:00\.000Z\)/);
    const woo = tempFile('woo.csv', 'post_title,discount_type,coupon_amount\nWOO-1,percent,10\n');
    expect((await campaignInProcess(['codes', 'import', 'welcome', woo, '--value', '10.00%'], env)).code).toBe(0);
    expect(await stored()).toEqual([
      { pool: 'five-off', codes: 2 },
      { pool: 'welcome', codes: 4 },
    ]);
  }, 120_000);

  it('refuses a bad file naming every line, and stores nothing of it (not even its new pool)', async () => {
    const bad = tempFile('bad.txt', 'NEW-1\nNEW-2\nnew-1\nWELCOME-2\nTWO WORDS\nNEW-3\n');
    const refused = await campaignInProcess(['codes', 'import', 'fresh', bad, '--value', '15%'], env);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(`${bad}:3: code "new-1" is already on line 1 of this file`);
    expect(refused.stderr).toContain(`${bad}:5: code "TWO WORDS" holds a space or a control character`);
    expect(refused.stderr).toMatch(/nothing was imported/);
    // The file's own problems go first; a code of another pool is found against the database.
    const other = tempFile('other.txt', 'NEW-1\nNEW-2\nwelcome-2\n');
    const elsewhere = await campaignInProcess(['codes', 'import', 'fresh', other, '--value', '15%'], env);
    expect(elsewhere.code).toBe(2);
    expect(elsewhere.stderr).toContain(`${other}:3: code "welcome-2" is already in pool "welcome"`);
    expect(elsewhere.stderr).toContain('1 bad line; nothing was imported');
    expect(await stored()).toEqual([
      { pool: 'five-off', codes: 2 },
      { pool: 'welcome', codes: 4 },
    ]);
  }, 120_000);

  it('refuses a past expiry, a bad value, a value other than the pool has and a file without a code column', async () => {
    const file = tempFile('ok.txt', 'OK-1\n');
    // Each refused before anything is stored, so they may run at once.
    const [past, zoneless, value, over, other, none, columns, name] = await Promise.all(
      [
        ['later', file, '--value', '10%', '--expires-at', '2020-01-01T00:00:00Z'],
        ['later', file, '--value', '10%', '--expires-at', '2099-01-01T00:00:00'],
        ['later', file, '--value', 'ten'],
        ['later', file, '--value', '120%'],
        ['welcome', file, '--value', '5.00'],
        ['newpool', file],
        ['later', tempFile('x.csv', 'Title,Value\nA,1\n'), '--value', '10%'],
        ['Bad Pool', file, '--value', '10%'],
      ].map((args) => campaignInProcess(['codes', 'import', ...args], env)),
    );
    expect(past!.stderr).toMatch(/--expires-at 2020-01-01T00:00:00\.000Z is in the past/);
    expect(zoneless!.stderr).toMatch(/--expires-at: .*zone/);
    expect(value!.stderr).toMatch(/--value: must be a percentage such as 10% or an amount such as 5\.00 \(got "ten"\)/);
    expect(over!.stderr).toMatch(/at most 100%/);
    expect(other!.stderr).toMatch(/pool "welcome" is 10%, not 5\.00 off/);
    expect(none!.stderr).toMatch(/pool "newpool" does not exist yet: give its value \(--value/);
    expect(columns!.stderr).toMatch(/x\.csv:1: no column of codes/);
    expect(name!.stderr).toMatch(/pool "Bad Pool": must be 1 to 64 lower-case letters/);
    for (const r of [past, zoneless, value, over, other, none, columns, name]) expect(r!.code).toBe(2);
    expect((await stored()).map((s) => s.pool)).toEqual(['five-off', 'welcome']);
  }, 120_000);

  it('lists each pool: size, issued, redeemed, expired and left', async () => {
    const listed = await campaignInProcess(['codes', 'list', '--json'], env);
    expect(JSON.parse(listed.stdout)).toEqual([
      expect.objectContaining({
        pool: 'five-off',
        kind: 'amount',
        value: '5.00',
        size: 2,
        issued: 0,
        redeemed: 0,
        expired: 0,
        left: 2,
        low: true,
      }),
      expect.objectContaining({ pool: 'welcome', kind: 'percent', value: '10', size: 4, issued: 0, redeemed: 0, left: 4 }),
    ]);
    const table = await campaignInProcess(['codes', 'list'], env);
    expect(table.stdout).toMatch(/welcome\s+10%\s+4\s+0\s+0\s+0\s+4\s+LOW \(under 100\)/);
  }, 120_000);

  it('sequences check and apply refuse an offer of a pool that does not exist, with file:line', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'offer-sequences-'));
    writeFileSync(
      join(dir, 'offers.yaml'),
      'id: offers\nname: Offers\ntrigger: { event: order_placed }\nvariants:\n  - key: a\n    weight: 1\n    offer: { pool: welcome }\n' +
        'steps:\n  - delay: 1h\n    template: thank-you\n    offer:\n      pool: spring\n',
    );
    const check = await campaignInProcess(['sequences', 'check', '--dir', dir], env);
    expect(check.code).toBe(1);
    expect(check.stderr).toMatch(/offers\.yaml:12: steps\.0\.offer\.pool: no code pool "spring" \(the pools are "five-off", "welcome"/);
    expect(check.stdout).toBe('1 sequence files checked: 1 errors\n');
    const apply = await campaignInProcess(['sequences', 'apply', '--dir', dir], env);
    expect(apply.code).toBe(2);
    expect(apply.stderr).toMatch(/offers\.yaml:12: steps\.0\.offer\.pool: no code pool "spring"/);
  }, 120_000);
});

describe('campaign codes on PGlite', () => {
  it('imports and lists under DATA_DIR', async () => {
    const env = { DATA_DIR: mkdtempSync(join(tmpdir(), 'codes-pglite-')), LOG_LEVEL: 'silent' };
    expect((await campaignInProcess(['db', 'migrate'], env)).code).toBe(0);
    const file = tempFile('p.txt', 'P-1\nP-2\n');
    const imported = await campaignInProcess(['codes', 'import', 'p', file, '--value', '7.50'], env);
    expect(imported.stdout).toMatch(/2 codes imported into new pool p \(\$7\.50 off\)/);
    expect(JSON.parse((await campaignInProcess(['codes', 'list', '--json'], env)).stdout)).toEqual([
      expect.objectContaining({ pool: 'p', size: 2, left: 2, nextExpiry: null }),
    ]);
  }, 60_000);
});
