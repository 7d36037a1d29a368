/**
 * The claim of a discount code with its message row (src/store/discount-codes.ts), on
 * Postgres and PGlite: claims made at once for many enrollments never share a code and
 * never take an expired one; an empty pool writes nothing (or, when allowed, the row without
 * a code); the same (enrollment, step) again, and a later step of the enrollment, get the
 * same code; an enrollment's code that has expired is not shown again.
 */
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryRows } from '../src/db/client.ts';
import { importCodes, openMessageWithCode, type OfferMessage } from '../src/store/discount-codes.ts';
import { DB_KINDS, freshDatabase, type TestDatabase } from './helpers/db.ts';
import { prepareShop } from './helpers/engine.ts';
import { Rows } from './helpers/rows.ts';

const SEQUENCE = `
id: claims
name: Claims
trigger: { event: order_placed }
variants: [{ key: only, weight: 1, offer: { pool: claims } }]
steps:
  - { delay: 1h, template: thank-you }
  - { delay: 1d, template: accessories }
  - { delay: 1d, template: upgrade }
`;

describe.each(DB_KINDS)('claiming codes on %s', (kind) => {
  let database: TestDatabase;
  let enrollments: number[];
  let customers: number[];
  let templateVersionId: number;
  const now = new Date('2026-12-06T12:00:00Z');

  beforeAll(async () => {
    database = await freshDatabase(kind, { poolSize: 12 });
    await prepareShop(database.db, SEQUENCE);
    const [version] = await queryRows<{ id: number; template: number }>(
      database.db,
      sql`select id, (definition->'templateVersions'->>'thank-you')::int as template from sequence_versions where sequence_id = 'claims'`,
    );
    templateVersionId = version!.template;
    ({ enrollments, customers } = await new Rows(database.db).enrolledArm({
      sequence: 'claims',
      version: version!.id,
      arm: 'only',
      count: 30,
      at: () => '2026-12-06T10:00:00Z',
      preSpend: () => 0,
    }));
    // One expired code first (the lowest id: the first a careless claim would take), then 20.
    const code = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => ({ line: i + 1, code: `${prefix}-${i}` }));
    const value = { kind: 'percent' as const, value: '10' };
    expect(
      await importCodes(database.db, { pool: 'claims', value, expiresAt: new Date('2026-12-01T00:00:00Z'), codes: code('OLD', 1) }),
    ).toMatchObject({ ok: true });
    expect(await importCodes(database.db, { pool: 'claims', value, expiresAt: null, codes: code('C', 20) })).toMatchObject({ ok: true });
  }, 120_000);
  afterAll(() => database.drop());

  const open = (i: number, step: number, withoutCode = false, at = now): Promise<OfferMessage> =>
    openMessageWithCode(
      database.db,
      {
        enrollmentId: enrollments[i]!,
        step,
        templateVersionId,
        customerId: customers[i]!,
        recipient: `x${i}@example.com`,
        rfcMessageId: `<e${enrollments[i]}.s${step}@test>`,
      },
      { pool: 'claims', now: at, withoutCode, countUpTo: 5 },
    );

  it('claims at once for 30 enrollments, in two bursts: 20 distinct codes, none expired, 10 empty with nothing written', async () => {
    // Two bursts: 16 claims at once on 20 codes, then the other 14 at once on the 4 left. In
    // the second, at most 4 claims hold a code at a time, so each sees at most 3 left: with
    // one burst of 30 on a pool of 12 connections, every claim could see 5 or more still free.
    const first = await Promise.all(enrollments.slice(0, 16).map((_, i) => open(i, 0)));
    const results = [...first, ...(await Promise.all(enrollments.slice(16).map((_, i) => open(16 + i, 0))))];
    const opened = results.flatMap((r) => (r.kind === 'opened' ? [r] : []));
    expect(opened).toHaveLength(20);
    expect(results.filter((r) => r.kind === 'empty')).toHaveLength(10);
    const codes = opened.map((r) => r.code!.code);
    expect(new Set(codes).size).toBe(20);
    expect(codes.every((c) => /^C-\d+$/.test(c))).toBe(true);
    expect(opened.every((r) => r.claimed && r.code!.value.kind === 'percent')).toBe(true);
    // What is left, as each claim saw it (counted up to 5): claims still in flight in other
    // transactions look free to it, so under concurrency it may say a little more than 0
    // (at most 3 in the second burst).
    expect(Math.min(...opened.map((r) => r.left!))).toBeLessThan(5);
    const [rows] = await queryRows<{ messages: number; issued: number; linked: number }>(
      database.db,
      sql`select (select count(*)::int from messages) as messages,
                 (select count(*)::int from discount_codes where enrollment_id is not null) as issued,
                 (select count(*)::int from discount_codes c join messages m on m.id = c.message_id and m.discount_code_id = c.id
                   and m.enrollment_id = c.enrollment_id) as linked`,
    );
    expect(rows).toEqual({ messages: 20, issued: 20, linked: 20 });
  });

  it('the same step again, and the later steps, show the enrollment’s code; an empty pool may write the row without one', async () => {
    const first = await queryRows<{ enrollment_id: number; code: string }>(
      database.db,
      sql`select enrollment_id, code from discount_codes where enrollment_id is not null`,
    );
    const codeOf = new Map(first.map((r) => [Number(r.enrollment_id), r.code]));
    const holder = enrollments.findIndex((id) => codeOf.has(id));
    const again = await open(holder, 0);
    const later = await open(holder, 1);
    expect(again).toMatchObject({ kind: 'opened', claimed: false, code: { code: codeOf.get(enrollments[holder]!) } });
    expect(later).toMatchObject({ kind: 'opened', claimed: false, expired: false, code: { code: codeOf.get(enrollments[holder]!) } });

    const without = enrollments.findIndex((id) => !codeOf.has(id));
    expect(await open(without, 0, true)).toMatchObject({ kind: 'opened', code: null, withheld: true });
    expect(await open(without, 0, true)).toMatchObject({ kind: 'opened', code: null, withheld: false });
    const [issued] = await queryRows<{ n: number }>(
      database.db,
      sql`select count(*)::int as n from discount_codes where enrollment_id is not null`,
    );
    expect(issued!.n).toBe(20);

    // The enrollment's code expires before its third step: that email shows none.
    await database.db.execute(
      sql`update discount_codes set expires_at = ${'2026-12-07T00:00:00Z'}::timestamptz where code = ${codeOf.get(enrollments[holder]!)!}`,
    );
    expect(await open(holder, 2, false, new Date('2026-12-08T00:00:00Z'))).toMatchObject({ kind: 'opened', code: null, expired: true });
  });
});
