/**
 * GET /api/code-pools and POST /api/code-pools/:pool/codes on Postgres and PGlite: the list
 * is `campaign codes list --json`'s (one store function, src/store/discount-codes.ts
 * `poolSummaries`); an import is all or nothing, a bad, repeated or already-pooled code is a
 * 400 naming `codes[i]`; a sync that sends the list again is a no-op. Then hostile bodies from
 * a seeded PRNG (FUZZ_SEED, FUZZ_RUNS): never a 5xx, each broken field named, nothing stored.
 */
import { sql } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixedClock } from '../src/core/clock.ts';
import { prng } from '../src/core/random.ts';
import { queryRows } from '../src/db/client.ts';
import { buildServer } from '../src/http/app.ts';
import { poolSummaries } from '../src/store/discount-codes.ts';
import { DB_KINDS, freshDatabase, type DbKind, type TestDatabase } from './helpers/db.ts';

const TOKEN = 'pools-token-pools-token';
const NOW = new Date('2026-06-01T12:00:00Z');
const auth = { authorization: `Bearer ${TOKEN}` };
const SEED = Number(process.env.FUZZ_SEED ?? 20261206);
const RUNS: Record<DbKind, number> = { postgres: Number(process.env.FUZZ_RUNS ?? 300), pglite: Number(process.env.FUZZ_RUNS ?? 60) };

interface Issue {
  path: string;
  message: string;
}

describe.each(DB_KINDS)('the code pools API on %s', (kind) => {
  let database: TestDatabase;
  let app: FastifyInstance;
  const post = (pool: string, payload: unknown) =>
    app.inject({ method: 'POST', url: `/api/code-pools/${encodeURIComponent(pool)}/codes`, headers: auth, payload: payload as object });
  const stored = async () =>
    (
      await queryRows<{ pools: number; codes: number; last: string | null }>(
        database.db,
        sql`select (select count(*)::int from code_pools) as pools, (select count(*)::int from discount_codes) as codes,
                   (select string_agg(code, ',' order by code) from discount_codes) as last`,
      )
    )[0]!;

  beforeAll(async () => {
    database = await freshDatabase(kind);
    app = await buildServer({ db: database.db, apiToken: TOKEN, bodyLimitBytes: 1024 * 1024, clock: fixedClock(NOW), codePoolLow: 5 });
  });
  afterAll(async () => {
    await app.close();
    await database.drop();
  });

  it('lists nothing, creates a pool with its value and expiry, and skips what a sync sends again', async () => {
    const empty = await app.inject({ method: 'GET', url: '/api/code-pools', headers: auth });
    expect([empty.statusCode, empty.json()]).toEqual([200, []]);

    const created = await post('spring', { value: '10%', validDays: 30, codes: ['SPRING-A', 'SPRING-B', 'SPRING-C'] });
    expect(created.statusCode).toBe(200);
    const expiresAt = new Date(NOW.getTime() + 30 * 86_400_000).toISOString();
    expect(created.json()).toEqual({
      pool: 'spring',
      created: true,
      inserted: 3,
      alreadyThere: 0,
      expiresAt,
      summary: {
        pool: 'spring',
        kind: 'percent',
        value: '10',
        size: 3,
        issued: 0,
        redeemed: 0,
        expired: 0,
        left: 3,
        low: true,
        nextExpiry: expiresAt,
      },
    });

    // The nightly sync sends its whole list again with one new code: only that one is added.
    const again = await post('spring', { codes: ['SPRING-A', 'spring-b', 'SPRING-D'] });
    expect(again.statusCode).toBe(200);
    expect(again.json()).toMatchObject({ created: false, inserted: 1, alreadyThere: 2, summary: { size: 4, left: 4 } });

    // An amount pool; the list is the CLI's (the same store call), pools by name.
    expect((await post('five-off', { value: '5.00', codes: ['FIVE-1'] })).statusCode).toBe(200);
    const listed = await app.inject({ method: 'GET', url: '/api/code-pools', headers: auth });
    expect(listed.statusCode).toBe(200);
    expect(listed.json()).toEqual(await poolSummaries(database.db, NOW, 5));
    expect(listed.json<{ pool: string; kind: string; value: string; nextExpiry: string | null }[]>()).toMatchObject([
      { pool: 'five-off', kind: 'amount', value: '5.00', nextExpiry: null },
      { pool: 'spring', kind: 'percent', size: 4 },
    ]);
  });

  it('refuses a bad import whole, naming codes[i] or the field, and stores nothing', async () => {
    const before = await stored();
    const cases: [string, unknown, Issue[]][] = [
      [
        'spring',
        { codes: ['NEW-1', 'two words', 'new-1', ''] },
        [
          { path: 'codes[1]', message: 'code "two words" holds a space or a control character: a code is one word' },
          { path: 'codes[2]', message: 'code "new-1" is already on codes[0]' },
          { path: 'codes[3]', message: 'code is empty' },
        ],
      ],
      // A code another pool holds; the pool this request would create is not created either.
      [
        'other',
        { value: '15%', codes: ['OTHER-1', 'spring-a'] },
        [{ path: 'codes[1]', message: 'code "spring-a" is already in pool "spring"' }],
      ],
      [
        'newpool',
        { codes: ['N-1'] },
        [{ path: 'value', message: 'pool "newpool" does not exist yet: give its value (--value; "value" in the API), e.g. 10% or 5.00' }],
      ],
      [
        'spring',
        { value: '20%', codes: ['N-2'] },
        [{ path: 'value', message: 'pool "spring" is 10%, not 20%: import into a new pool for another value' }],
      ],
      ['spring', { value: 'ten', codes: ['N-3'] }, [{ path: 'value', message: expect.stringContaining('"ten"') }]],
      [
        'spring',
        { expiresAt: '2026-05-01T00:00:00Z', codes: ['N-4'] },
        [{ path: 'expiresAt', message: 'expiresAt 2026-05-01T00:00:00.000Z is in the past (now is 2026-06-01T12:00:00.000Z)' }],
      ],
      [
        'spring',
        { expiresAt: '2026-07-01T00:00:00Z', validDays: 3, codes: ['N-5'] },
        [{ path: 'validDays', message: 'give expiresAt or validDays, not both' }],
      ],
      ['spring', { codes: [] }, [{ path: 'codes', message: 'must hold at least one code (got [])' }]],
      ['spring', { codes: ['N-6', 7] }, [{ path: 'codes[1]', message: expect.stringContaining('must be a code') }]],
      ['spring', { codes: ['N-7'], colour: 'red' }, [{ path: '', message: expect.stringContaining('colour') }]],
      ['Spring!', { codes: ['N-8'] }, [{ path: 'pool', message: expect.stringContaining('lower-case letters') }]],
    ];
    for (const [pool, payload, issues] of cases) {
      const response = await post(pool, payload);
      expect(response.statusCode, JSON.stringify(payload)).toBe(400);
      expect(response.json<{ issues: Issue[] }>().issues, JSON.stringify(payload)).toEqual(issues);
    }
    expect(await stored()).toEqual(before);

    const anonymous = await app.inject({ method: 'GET', url: '/api/code-pools' });
    expect(anonymous.statusCode).toBe(401);
    const openapi = (await app.inject({ method: 'GET', url: '/openapi.json' })).json<{ paths: Record<string, unknown> }>();
    expect(Object.keys(openapi.paths)).toEqual(expect.arrayContaining(['/api/code-pools', '/api/code-pools/{pool}/codes']));
  });

  it(`answers ${RUNS[kind]} generated bodies: never a 5xx, the broken field named, nothing of a refusal stored`, async () => {
    const rand = prng(SEED);
    const pick = <T>(list: readonly T[]): T => list[Math.floor(rand() * list.length)]!;
    const brokenCodes: unknown[] = [
      '',
      'a b',
      'tab\there',
      'nul\u0000',
      'lone\ud800',
      'x'.repeat(1_001),
      12,
      null,
      {},
      ['A'],
      true,
      'new\nline',
    ];
    let serial = 0;
    for (let run = 0; run < RUNS[kind]; run++) {
      const codes: unknown[] = Array.from({ length: 1 + Math.floor(rand() * 6) }, () => `FZ-${SEED}-${run}-${serial++}`);
      const payload: Record<string, unknown> = { codes };
      const pool = pick(['spring', 'five-off', `fz-${run}`]);
      if (pool.startsWith('fz-')) payload.value = pick(['10%', '2.50', '100%']);
      let broken: string | undefined;
      switch (Math.floor(rand() * 8)) {
        case 0: {
          const at = Math.floor(rand() * codes.length);
          codes[at] = pick(brokenCodes);
          broken = `codes[${at}]`;
          break;
        }
        case 1:
          if (codes.length > 1) {
            codes[codes.length - 1] = String(codes[0]).toLowerCase();
            broken = `codes[${codes.length - 1}]`;
          }
          break;
        case 2:
          payload.value = pick(['0%', '101%', 'ten', '-5', '5,00', '', '%', 5, null, 'nul\u0000']);
          broken = 'value';
          break;
        case 3:
          payload.validDays = pick([0, -1, 1.5, '3', 1e9, null]);
          broken = 'validDays';
          break;
        case 4:
          payload.expiresAt = pick(['yesterday', '2026-05-31T00:00:00Z', '2026-13-01T00:00:00Z', 0, '']);
          broken = 'expiresAt';
          break;
        case 5:
          payload.codes = pick([[], 'A', null, {}, undefined]);
          broken = 'codes';
          break;
        default:
          break;
      }
      const before = await stored();
      const response = await post(pool, payload);
      const where = `run ${run}: ${JSON.stringify(payload).slice(0, 200)}`;
      expect(response.statusCode, where).toBeLessThan(500);
      if (broken === undefined) {
        expect(response.statusCode, `${where} ${response.body}`).toBe(200);
        continue;
      }
      expect(response.statusCode, where).toBe(400);
      const paths = response.json<{ issues: Issue[] }>().issues.map((i) => i.path);
      expect(paths, where).toContain(broken);
      expect(await stored(), where).toEqual(before);
    }
  });
});
