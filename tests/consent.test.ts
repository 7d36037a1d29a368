/**
 * Marketing consent through the real engine (Postgres, Redis, SMTP): a customer without
 * consent is never enrolled in a consent-required sequence, in no arm and not in the holdout,
 * so the comparison never sees them, and is never emailed; a transactional sequence
 * (`consent: not_required`) takes everyone; consent withdrawn between steps stops the next
 * one; an unsubscribe withdraws it, and an undated export does not give it back. Then the
 * consent fields on the file import and the API, on Postgres and PGlite.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildReport } from '../src/analytics/report.ts';
import { DEFAULT_ATTRIBUTION } from '../src/core/attribution.ts';
import { queryRows } from '../src/db/client.ts';
import { buildServer } from '../src/http/app.ts';
import { ingestCustomers, ingestOrders } from '../src/ingest/batch.ts';
import { importRows } from '../src/ingest/import.ts';
import { openRows } from '../src/ingest/read.ts';
import { applySequence, consentWarnings, loadSequenceFiles } from '../src/sequences/files.ts';
import { unsubscribeCustomer } from '../src/store/suppressions.ts';
import { DB_KINDS, freshDatabase, type TestDatabase } from './helpers/db.ts';
import { eventually, startTestEngine, type TestEngine } from './helpers/engine.ts';
import { tempFile } from './helpers/files.ts';

const MARKETING = `
id: cross-sell
name: Cross-sell
trigger: { event: order_placed }
holdout: 20%
variants: [{ key: a, weight: 1 }, { key: b, weight: 1 }]
steps:
  - { delay: 1h, template: thank-you }
  - { delay: 4d, template: accessories }
`;
const TRANSACTIONAL = `
id: receipt
name: Receipt
consent: not_required
trigger: { event: order_placed }
variants: [{ key: only, weight: 1 }]
steps:
  - { delay: 2h, template: thank-you }
`;

type Consent = { state: string; at: Date | null; source: string | null };

async function consentOf(db: TestDatabase['db'], customer: string): Promise<Consent> {
  const [row] = await queryRows<{ state: string; at: Date | null; source: string | null }>(
    db,
    sql`select accepts_marketing as state, consent_at as at, consent_source as source from customers where external_id = ${customer}`,
  );
  return { ...row!, at: row!.at === null ? null : new Date(row!.at) };
}

describe('consent through the engine', () => {
  let t: TestEngine;
  // 30 who said yes, 10 who said no, 10 never asked.
  const consent = (i: number): 'yes' | 'no' | 'unknown' => (i < 30 ? 'yes' : i < 40 ? 'no' : 'unknown');
  const ids = Array.from({ length: 50 }, (_, i) => `p-${i}`);

  beforeAll(async () => {
    t = await startTestEngine(MARKETING, { clockScale: 86_400 });
    const dir = mkdtempSync(join(tmpdir(), 'consent-sequences-'));
    writeFileSync(join(dir, 'receipt.yaml'), TRANSACTIONAL);
    const loaded = await loadSequenceFiles(dir);
    expect(loaded.problems).toEqual([]);
    expect(consentWarnings(loaded.files)).toEqual([expect.stringMatching(/receipt\.yaml:4: consent: "receipt" recommends products/)]);
    await applySequence(t.database.db, loaded.files[0]!);
    const records = ids.map((id, i) => {
      const state = consent(i);
      return { customer_id: id, email: `${id}@example.com`, ...(state === 'unknown' ? {} : { accepts_marketing: state }) };
    });
    expect((await ingestCustomers(t.database.db, records)).ok).toBe(true);
  });
  afterAll(() => t.stop());

  it('enrolls and emails only customers who consented, in every arm and the holdout; the transactional sequence takes all', async () => {
    const now = t.engine.clock.now().toISOString();
    const orders = ids.map((id, i) => ({
      order_id: `po-${i}`,
      customer_id: id,
      ordered_at: now,
      items: [{ sku: 'ESP-100', quantity: 1, unit_price: '249.00' }],
    }));
    expect((await ingestOrders(t.database.db, orders)).ok).toBe(true);
    t.relay.kick();

    // p-0 withdraws consent once their first email is out: the second step never goes.
    await eventually(async () => t.smtp.received.some((m) => m.to.includes('p-0@example.com')) && true, 20_000, "p-0's first email");
    const withdrawn = await ingestCustomers(t.database.db, [
      { customer_id: 'p-0', email: 'p-0@example.com', accepts_marketing: 'no', accepts_marketing_updated_at: new Date().toISOString() },
    ]);
    expect(withdrawn).toMatchObject({ ok: true, outcomes: [{ outcome: 'updated' }] });

    const enrollments = () =>
      queryRows<{ customer: string; sequence: string; arm: string; state: string; exit_reason: string | null }>(
        t.database.db,
        sql`select c.external_id as customer, e.sequence_id as sequence, e.arm, e.state, e.exit_reason
            from enrollments e join customers c on c.id = e.customer_id order by e.sequence_id, c.external_id`,
      );
    await eventually(
      async () => {
        const rows = await enrollments();
        return rows.length === 30 + 50 && rows.every((r) => r.state !== 'active') && true;
      },
      40_000,
      'every enrollment to end',
    );
    const rows = await enrollments();
    const crossSell = rows.filter((r) => r.sequence === 'cross-sell');
    // Only the 30 who consented, in the arms and the holdout alike.
    expect(crossSell.map((r) => r.customer).sort()).toEqual(ids.slice(0, 30).sort());
    expect(new Set(crossSell.map((r) => r.arm))).toEqual(new Set(['a', 'b', 'holdout']));
    expect(crossSell.find((r) => r.customer === 'p-0')).toMatchObject({ state: 'exited', exit_reason: 'no_consent' });
    expect(crossSell.filter((r) => r.customer !== 'p-0' && r.arm !== 'holdout').every((r) => r.state === 'completed')).toBe(true);
    // The receipt takes everyone, consent or not.
    expect(
      rows
        .filter((r) => r.sequence === 'receipt')
        .map((r) => r.customer)
        .sort(),
    ).toEqual([...ids].sort());

    // The emails: the receipt to everyone; the cross-sell's two steps only to those who consented (p-0 one).
    const bySubjectless = new Map<string, number>();
    for (const mail of t.smtp.received) for (const to of mail.to) bySubjectless.set(to, (bySubjectless.get(to) ?? 0) + 1);
    const treated = crossSell.filter((r) => r.arm !== 'holdout').map((r) => r.customer);
    for (const [i, id] of ids.entries()) {
      const expected = 1 + (treated.includes(id) ? (id === 'p-0' ? 1 : 2) : 0);
      expect(bySubjectless.get(`${id}@example.com`) ?? 0, `${id} (${consent(i)})`).toBe(expected);
    }

    // The comparison counts only the consenting population: the enrolled of every arm.
    const report = await buildReport(t.database.db, {
      asOf: new Date(t.engine.clock.now().getTime() + 30 * 86_400_000),
      attribution: DEFAULT_ATTRIBUTION,
      minSample: 1,
      sequenceId: 'cross-sell',
    });
    const arms = report.sequences[0]!.versions[0]!.arms;
    expect(arms.reduce((n, a) => n + a.enrolled, 0)).toBe(30);
  });

  it('an unsubscribe withdraws consent, and an undated export does not give it back; a later dated consent does', async () => {
    const [p1] = await queryRows<{ id: number; email: string }>(
      t.database.db,
      sql`select id, email from customers where external_id = 'p-1'`,
    );
    await t.database.db.transaction((tx) => unsubscribeCustomer(tx, p1!));
    const after = await consentOf(t.database.db, 'p-1');
    expect(after).toMatchObject({ state: 'no', source: 'unsubscribe' });
    // Last night's export still says yes, undated: nothing changes.
    expect(
      await ingestCustomers(t.database.db, [{ customer_id: 'p-1', email: 'p-1@example.com', accepts_marketing: 'yes' }]),
    ).toMatchObject({
      outcomes: [{ outcome: 'unchanged' }],
    });
    expect(await consentOf(t.database.db, 'p-1')).toEqual(after);
    // The customer subscribes again in the shop, after the unsubscribe: consent is back.
    const later = new Date(after.at!.getTime() + 60_000).toISOString();
    await ingestCustomers(t.database.db, [
      {
        customer_id: 'p-1',
        email: 'p-1@example.com',
        accepts_marketing: 'yes',
        accepts_marketing_updated_at: later,
        consent_source: 'newsletter',
      },
    ]);
    expect(await consentOf(t.database.db, 'p-1')).toEqual({ state: 'yes', at: new Date(later), source: 'newsletter' });
  });
});

describe.each(DB_KINDS)('consent fields on the import and the API, on %s', (kind) => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await freshDatabase(kind);
  });
  afterAll(() => database.drop());

  it('imports the columns, keeps a consent a later file leaves out, and refuses a bad value with its line', async () => {
    const file = tempFile(
      'customers.csv',
      'customer_id,email,accepts_marketing,accepts_marketing_updated_at,consent_source\n' +
        'k-1,k1@example.com,yes,2026-03-01T10:00:00Z,checkout\n' +
        'k-2,k2@example.com,No,,\n' +
        'k-3,k3@example.com,,,\n' +
        'k-4,k4@example.com,maybe,,\n',
    );
    const rejections: { line: number; reason: string }[] = [];
    const summary = await importRows(database.db, 'customers', await openRows(file, 'csv'), {
      batchSize: 100,
      onReject: (r) => rejections.push(r),
    });
    expect(summary).toMatchObject({ inserted: 3, rejected: 1 });
    expect(rejections).toEqual([{ line: 5, reason: expect.stringContaining('accepts_marketing: must be yes, no or unknown') }]);
    expect(await consentOf(database.db, 'k-1')).toEqual({ state: 'yes', at: new Date('2026-03-01T10:00:00Z'), source: 'checkout' });
    expect(await consentOf(database.db, 'k-2')).toMatchObject({ state: 'no', source: 'import' });
    expect(await consentOf(database.db, 'k-3')).toEqual({ state: 'unknown', at: null, source: null });

    // A file without the columns changes no consent.
    const plain = tempFile('customers.csv', 'customer_id,email,first_name\nk-1,k1@example.com,Kay\n');
    await importRows(database.db, 'customers', await openRows(plain, 'csv'), { batchSize: 100 });
    expect(await consentOf(database.db, 'k-1')).toEqual({ state: 'yes', at: new Date('2026-03-01T10:00:00Z'), source: 'checkout' });
  });

  it('takes the fields on POST /api/customers and names a bad one', async () => {
    const app = await buildServer({ db: database.db, apiToken: 'consent-token', bodyLimitBytes: 64 * 1024 });
    try {
      const post = (payload: object) =>
        app.inject({ method: 'POST', url: '/api/customers', headers: { authorization: 'Bearer consent-token' }, payload });
      const ok = await post({ customer_id: 'k-9', email: 'k9@example.com', accepts_marketing: true, consent_source: 'api' });
      expect(ok.statusCode).toBe(200);
      expect(await consentOf(database.db, 'k-9')).toMatchObject({ state: 'yes', source: 'api' });
      const bad = await post([{ customer_id: 'k-10', email: 'k10@example.com', accepts_marketing: 'perhaps' }]);
      expect(bad.statusCode).toBe(400);
      expect(bad.json<{ issues: { path: string }[] }>().issues.map((i) => i.path)).toEqual(['[0].accepts_marketing']);
      const badTime = await post({
        customer_id: 'k-11',
        email: 'k11@example.com',
        accepts_marketing: 'no',
        accepts_marketing_updated_at: 'yesterday',
      });
      expect(badTime.statusCode).toBe(400);
      expect(await queryRows(database.db, sql`select 1 from customers where external_id in ('k-10', 'k-11')`)).toEqual([]);
    } finally {
      await app.close();
    }
  });
});
