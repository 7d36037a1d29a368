/**
 * Refunds and cancellations in: their validation (src/core/records.ts), the file import
 * (`campaign import refunds|cancellations`) and the API (`POST /api/refunds`,
 * `POST /api/cancellations`), on Postgres and PGlite.
 */
import { sql } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cancellationRecord, describeIssues, refundRecord } from '../src/core/records.ts';
import { queryRows } from '../src/db/client.ts';
import { buildServer } from '../src/http/app.ts';
import { importRows, type Rejection } from '../src/ingest/import.ts';
import { formatOf, openRows } from '../src/ingest/read.ts';
import type { RecordKind } from '../src/core/records.ts';
import { campaignInProcess } from './helpers/cli.ts';
import { DB_KINDS, freshDatabase, type TestDatabase } from './helpers/db.ts';
import { FIXTURES, tempFile } from './helpers/files.ts';

const problems = (schema: typeof refundRecord | typeof cancellationRecord, input: Record<string, unknown>) => {
  const parsed = schema.safeParse(input);
  return parsed.success ? [] : describeIssues(parsed.error, input);
};

describe('refund and cancellation records', () => {
  const good = { refund_id: 'r-1', order_id: 'o-1', refunded_at: '2026-03-05T10:00:00+01:00', amount: '10.50' };

  it('accepts a refund, normalises its time, and reads an empty or "all" amount as the rest', () => {
    expect(refundRecord.parse(good)).toEqual({ ...good, refunded_at: '2026-03-05T09:00:00.000Z' });
    expect(refundRecord.parse({ ...good, amount: '' }).amount).toBe('all');
    expect(refundRecord.parse({ ...good, amount: undefined }).amount).toBe('all');
    expect(refundRecord.parse({ ...good, amount: ' ALL ' }).amount).toBe('all');
    expect(refundRecord.parse({ ...good, amount: 7 }).amount).toBe('7');
    expect(refundRecord.parse({ ...good, reason: 'damaged' }).reason).toBe('damaged');
    expect(refundRecord.parse({ ...good, reason: '' }).reason).toBeUndefined();
  });

  it('refuses a bad amount, time, id or reason, naming the field', () => {
    expect(problems(refundRecord, { ...good, amount: '0' })).toEqual([
      'amount: must be more than 0 (leave it empty, or write all, to refund the rest) (got "0")',
    ]);
    expect(problems(refundRecord, { ...good, amount: '-5' })[0]).toMatch(/^amount: must not be negative/);
    expect(problems(refundRecord, { ...good, amount: '1.23456' })[0]).toMatch(/^amount: .*at most 4 decimals, or all/);
    expect(problems(refundRecord, { ...good, amount: '1e3' })[0]).toMatch(/^amount: .*without an exponent/);
    expect(problems(refundRecord, { ...good, amount: 'some' })[0]).toMatch(/^amount: /);
    expect(problems(refundRecord, { ...good, refunded_at: '2026-03-05T10:00:00' })[0]).toMatch(
      /^refunded_at: must be an ISO 8601 time with a zone/,
    );
    expect(problems(refundRecord, { ...good, refund_id: 'r\u00001' })[0]).toMatch(/^refund_id: /);
    expect(problems(refundRecord, { ...good, reason: 'x\u0000y' })[0]).toMatch(/^reason: /);
    expect(problems(refundRecord, { ...good, reason: 'x'.repeat(501) })[0]).toMatch(/^reason: must be at most 500 characters/);
    expect(problems(refundRecord, { order_id: 'o-1' })).toEqual(['refund_id: is required', 'refunded_at: is required']);
  });

  it('accepts a cancellation and refuses one without a zone', () => {
    expect(cancellationRecord.parse({ order_id: 7, cancelled_at: '2026-03-05T10:00:00Z' })).toEqual({
      order_id: '7',
      cancelled_at: '2026-03-05T10:00:00.000Z',
    });
    expect(problems(cancellationRecord, { order_id: 'o-1', cancelled_at: 'yesterday' })[0]).toMatch(/^cancelled_at: must be an ISO 8601/);
  });
});

describe.each(DB_KINDS)('refunds and cancellations on %s', (kind) => {
  let database: TestDatabase;
  let app: FastifyInstance;
  const TOKEN = 'test-token-123';
  const auth = { authorization: `Bearer ${TOKEN}` };

  const run = async (what: RecordKind, content: string, name = 'in.csv') => {
    const path = tempFile(name, content);
    const rejections: Rejection[] = [];
    const summary = await importRows(database.db, what, await openRows(path, formatOf(path)), {
      batchSize: 2,
      onReject: (r) => rejections.push(r),
    });
    // Rows refused by validation are reported as read, those refused against the database at their batch's write.
    rejections.sort((a, b) => a.line - b.line);
    return { counts: [summary.inserted, summary.updated, summary.unchanged, summary.rejected], rejections, summary };
  };
  const refundsOf = (order: string) =>
    queryRows<{ external_id: string; amount: string; reason: string | null }>(
      database.db,
      sql`select r.external_id, r.amount::text as amount, r.reason from refunds r join orders o on o.id = r.order_id
          where o.external_id = ${order} order by r.external_id`,
    );

  beforeAll(async () => {
    database = await freshDatabase(kind);
    for (const what of ['products', 'customers', 'orders'] as const)
      await importRows(database.db, what, await openRows(`${FIXTURES}${what}.csv`, 'csv'), { batchSize: 100 });
    app = await buildServer({ db: database.db, apiToken: TOKEN, bodyLimitBytes: 64 * 1024 });
  });
  afterAll(async () => {
    await app.close();
    await database.drop();
  });

  it('imports refunds, reports bad rows with their line, refuses an over-refund, and upserts by refund_id', async () => {
    // o-1 totals 298.80, o-2 129.50.
    const file = [
      'refund_id,order_id,refunded_at,amount,reason',
      'r-1,o-1,2026-03-04T10:00:00Z,24.90,broken mug',
      'r-2,o-1,2026-03-05T10:00:00Z,300,',
      'r-3,o-404,2026-03-05T10:00:00Z,1,',
      'r-4,o-1,2026-03-05T10:00:00,1,',
      'r-5,o-2,2026-03-06T10:00:00Z,all,',
      'r-6,o-2,2026-03-07T10:00:00Z,,',
      'r-7,o-1,2026-02-01T10:00:00Z,1,',
    ].join('\n');
    const first = await run('refunds', file);
    expect(first.rejections).toEqual([
      { line: 3, reason: 'amount: must be at most 273.9, what order o-1 has left to refund (its total 298.8, refunded 24.9; got 300)' },
      { line: 4, reason: 'order_id: no order "o-404" (import orders first)' },
      { line: 5, reason: expect.stringMatching(/^refunded_at: must be an ISO 8601 time with a zone/) },
      { line: 7, reason: 'amount: nothing is left to refund: order o-2 is refunded in full' },
      { line: 8, reason: 'refunded_at: must not be before the order was placed (2026-03-01T10:00:00.000Z, order o-1)' },
    ]);
    expect(first.counts).toEqual([2, 0, 0, 5]);
    expect(await refundsOf('o-1')).toEqual([{ external_id: 'r-1', amount: '24.9000', reason: 'broken mug' }]);
    expect(await refundsOf('o-2')).toEqual([{ external_id: 'r-5', amount: '129.5000', reason: null }]);

    // The same file again changes nothing; a refund sent again with another amount replaces it
    // (its old amount no longer counts against the order), and an empty reason keeps the stored one.
    expect((await run('refunds', file)).counts).toEqual([0, 0, 2, 5]);
    const again = await run('refunds', 'refund_id,order_id,refunded_at,amount\nr-1,o-1,2026-03-04T10:00:00Z,298.80\n');
    expect(again.counts).toEqual([0, 1, 0, 0]);
    expect(await refundsOf('o-1')).toEqual([{ external_id: 'r-1', amount: '298.8000', reason: 'broken mug' }]);
    const back = await run('refunds', 'refund_id,order_id,refunded_at,amount\nr-1,o-1,2026-03-04T10:00:00Z,24.90\n');
    expect(back.counts).toEqual([0, 1, 0, 0]);

    // JSONL, with two refunds of one order in one batch: the second sees the first.
    const jsonl = await run(
      'refunds',
      [
        '{"refund_id":"r-8","order_id":"o-3","refunded_at":"2026-03-04T10:00:00Z","amount":"500"}',
        '{"refund_id":"r-9","order_id":"o-3","refunded_at":"2026-03-04T11:00:00Z","amount":"100"}',
        '{"refund_id":"r-10","order_id":"o-3","refunded_at":"2026-03-04T12:00:00Z"}',
      ].join('\n'),
      'in.jsonl',
    );
    expect(jsonl.rejections).toEqual([
      { line: 2, reason: 'amount: must be at most 92.9, what order o-3 has left to refund (its total 592.9, refunded 500; got 100)' },
    ]);
    expect((await refundsOf('o-3')).map((r) => [r.external_id, r.amount])).toEqual([
      ['r-10', '92.9000'],
      ['r-8', '500.0000'],
    ]);
  });

  it('refuses a refunds file without its required columns', async () => {
    await expect(run('refunds', 'refund_id,order_id,amount\nr-1,o-1,1\n')).rejects.toThrow(
      /the header lacks "refunded_at"; refunds files need refund_id,order_id,refunded_at and may have amount,reason/,
    );
  });

  it('imports cancellations: unknown orders rejected with their line, the same again unchanged', async () => {
    const file = 'order_id,cancelled_at\no-2,2026-03-03T10:00:00Z\no-404,2026-03-03T10:00:00Z\n';
    const first = await run('cancellations', file);
    expect(first.rejections).toEqual([{ line: 3, reason: 'order_id: no order "o-404" (import orders first)' }]);
    expect(first.counts).toEqual([1, 0, 0, 1]);
    expect((await run('cancellations', file)).counts).toEqual([0, 0, 1, 1]);
    expect((await run('cancellations', 'order_id,cancelled_at\no-2,2026-03-04T10:00:00Z\n')).counts).toEqual([1 - 1, 1, 0, 0]);
    const [row] = await queryRows<{ cancelled_at: Date }>(database.db, sql`select cancelled_at from orders where external_id = 'o-2'`);
    expect(new Date(row!.cancelled_at).toISOString()).toBe('2026-03-04T10:00:00.000Z');
    // Re-sending the order keeps it cancelled.
    await importRows(database.db, 'orders', await openRows(`${FIXTURES}orders.csv`, 'csv'), { batchSize: 100 });
    const [kept] = await queryRows<{ n: number }>(database.db, sql`select count(*)::int as n from orders where cancelled_at is not null`);
    expect(kept!.n).toBe(1);
  });

  it('POST /api/refunds stores one or an array all or nothing, and names the failing field', async () => {
    const refund = (id: string, amount?: string | number) => ({
      refund_id: id,
      order_id: 'o-3',
      refunded_at: '2026-03-10T10:00:00Z',
      amount,
    });
    // o-3 is refunded in full by the file test; give it room by shrinking r-8.
    const room = await app.inject({
      method: 'POST',
      url: '/api/refunds',
      headers: auth,
      payload: { refund_id: 'r-8', order_id: 'o-3', refunded_at: '2026-03-04T10:00:00Z', amount: '400' },
    });
    expect(room.statusCode).toBe(200);
    expect(room.json()).toEqual({ inserted: 0, updated: 1, unchanged: 0, results: [{ key: 'r-8', outcome: 'updated' }] });

    const tooMuch = await app.inject({
      method: 'POST',
      url: '/api/refunds',
      headers: auth,
      payload: [refund('a-1', '60'), refund('a-2', '60')],
    });
    expect(tooMuch.statusCode).toBe(400);
    expect(tooMuch.json().issues).toEqual([
      { path: '[1].amount', message: 'must be at most 40, what order o-3 has left to refund (its total 592.9, refunded 552.9; got 60)' },
    ]);
    const unknown = await app.inject({
      method: 'POST',
      url: '/api/refunds',
      headers: auth,
      payload: { ...refund('a-3', 1), order_id: 'nope' },
    });
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json().issues).toEqual([{ path: 'order_id', message: 'no order "nope" (import orders first)' }]);
    const invalid = await app.inject({
      method: 'POST',
      url: '/api/refunds',
      headers: auth,
      payload: [refund('a-4', '0'), refund('a-4', 1)],
    });
    expect(invalid.statusCode).toBe(400);
    expect(invalid.json().issues[0].path).toBe('[0].amount');
    const dup = await app.inject({ method: 'POST', url: '/api/refunds', headers: auth, payload: [refund('a-4', 1), refund('a-4', 1)] });
    expect(dup.statusCode).toBe(400);
    expect(dup.json().issues[0].path).toBe('[1].refund_id');
    const [none] = await queryRows<{ n: number }>(database.db, sql`select count(*)::int as n from refunds where external_id like 'a-%'`);
    expect(none!.n).toBe(0);

    const ok = await app.inject({ method: 'POST', url: '/api/refunds', headers: auth, payload: [refund('a-5', 15), refund('a-6')] });
    expect(ok.statusCode).toBe(200);
    expect(ok.json().inserted).toBe(2);
    expect((await refundsOf('o-3')).map((r) => [r.external_id, r.amount])).toEqual([
      ['a-5', '15.0000'],
      ['a-6', '85.0000'],
      ['r-10', '92.9000'],
      ['r-8', '400.0000'],
    ]);
  });

  it('answers hostile refund and cancellation bodies with 400, never a 5xx, and stores nothing', async () => {
    const before = await queryRows<{ n: number }>(database.db, sql`select count(*)::int as n from refunds`);
    const base = { refund_id: 'h-1', order_id: 'o-3', refunded_at: '2026-03-10T10:00:00Z' };
    const bodies: unknown[] = [
      '{"refund_id":"h-1","order_id":"o-3","refunded_at":"2026-03-10T10:00:00Z","amount":1e400}',
      '{"refund_id":"h-1","order_id":"o-3","refunded_at":"2026-03-10T10:00:00Z","amount":-0.5}',
      { ...base, amount: 'NaN' },
      { ...base, amount: '999999999999999.99' },
      { ...base, amount: { value: 1 } },
      { ...base, amount: [1] },
      { ...base, amount: true },
      { ...base, order_id: 2 ** 60 },
      { ...base, order_id: 'o-3\u0000' },
      { ...base, refund_id: '\ud800' },
      { ...base, refunded_at: '10000-01-01T00:00:00Z' },
      { ...base, refunded_at: 1_700_000_000 },
      { ...base, reason: { nested: true } },
      [null],
      [base, 'x'],
      JSON.stringify('refund'),
      '42',
    ];
    for (const payload of bodies) {
      const response = await app.inject({
        method: 'POST',
        url: '/api/refunds',
        payload: typeof payload === 'string' ? payload : JSON.stringify(payload),
        headers: { ...auth, 'content-type': 'application/json' },
      });
      expect(response.statusCode, JSON.stringify(payload)).toBe(400);
    }
    for (const payload of [{ order_id: 'o-3', cancelled_at: '' }, { order_id: null, cancelled_at: '2026-03-10T10:00:00Z' }, [{}]]) {
      const response = await app.inject({
        method: 'POST',
        url: '/api/cancellations',
        payload: JSON.stringify(payload),
        headers: { ...auth, 'content-type': 'application/json' },
      });
      expect(response.statusCode, JSON.stringify(payload)).toBe(400);
    }
    expect(await queryRows<{ n: number }>(database.db, sql`select count(*)::int as n from refunds`)).toEqual(before);
  });

  it('POST /api/cancellations marks orders cancelled, all or nothing', async () => {
    const bad = await app.inject({
      method: 'POST',
      url: '/api/cancellations',
      headers: auth,
      payload: [
        { order_id: 'o-1', cancelled_at: '2026-03-02T10:00:00Z' },
        { order_id: 'ghost', cancelled_at: '2026-03-02T10:00:00Z' },
      ],
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().issues).toEqual([{ path: '[1].order_id', message: 'no order "ghost" (import orders first)' }]);
    const [still] = await queryRows<{ n: number }>(
      database.db,
      sql`select count(*)::int as n from orders where external_id = 'o-1' and cancelled_at is not null`,
    );
    expect(still!.n).toBe(0);
    const ok = await app.inject({
      method: 'POST',
      url: '/api/cancellations',
      headers: auth,
      payload: { order_id: 'o-1', cancelled_at: '2026-03-02T10:00:00Z' },
    });
    expect(ok.json()).toEqual({ inserted: 1, updated: 0, unchanged: 0, results: [{ key: 'o-1', outcome: 'inserted' }] });
  });
});

describe('campaign import refunds and cancellations', () => {
  let database: TestDatabase;
  let env: Record<string, string>;
  beforeAll(async () => {
    database = await freshDatabase('postgres');
    env = { DATABASE_URL: database.url!, REDIS_URL: 'redis://127.0.0.1:1' };
    for (const what of ['products', 'customers', 'orders'])
      expect((await campaignInProcess(['import', what, `${FIXTURES}${what}.csv`, '--no-publish'], env)).code).toBe(0);
  });
  afterAll(() => database.drop());

  it('prints FILE:LINE: reason and the summary, and exits 1 when a row was rejected, 0 when none', async () => {
    const refunds = tempFile(
      'refunds.csv',
      'refund_id,order_id,refunded_at,amount\nr-1,o-1,2026-03-04T10:00:00Z,10\nr-2,o-9,2026-03-04T10:00:00Z,\n',
    );
    const first = await campaignInProcess(['import', 'refunds', refunds, '--no-publish'], env);
    expect(first.code).toBe(1);
    expect(first.stderr).toBe(`${refunds}:3: order_id: no order "o-9" (import orders first)\n`);
    expect(first.stdout).toMatch(/refunds\.csv: 2 rows: 1 imported, 0 updated, 0 unchanged, 1 rejected\n$/);

    const cancellations = tempFile('cancellations.csv', 'order_id,cancelled_at\no-2,2026-03-03T10:00:00Z\n');
    const second = await campaignInProcess(['import', 'cancellations', cancellations, '--no-publish'], env);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toMatch(/cancellations\.csv: 1 rows: 1 imported, 0 updated, 0 unchanged, 0 rejected\n$/);
  });
});
