/**
 * Data-subject requests (issue 17, item 5): a customer's export holds their orders, emails
 * and events; after an erase the report is exactly what it was, a dump of the database no
 * longer holds the address, the names or the events' IP and user agent, and the address,
 * imported again under any id and in any case, is never mailed. The command line and the API
 * answer as the store does.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildReport } from '../src/analytics/report.ts';
import { DEFAULT_ATTRIBUTION } from '../src/core/attribution.ts';
import { decideStep } from '../src/core/step-policy.ts';
import { queryRows, type Db } from '../src/db/client.ts';
import { buildServer } from '../src/http/app.ts';
import { ingestCustomers, ingestOrders } from '../src/ingest/batch.ts';
import { customerExport, eraseCustomer } from '../src/store/customer-data.ts';
import { findStepFacts } from '../src/store/enrollments.ts';
import { suppress } from '../src/store/suppressions.ts';
import { campaign, campaignInProcess } from './helpers/cli.ts';
import { DB_KINDS, freshDatabase, type TestDatabase } from './helpers/db.ts';
import { eventually, prepareShop, startTestEngine, type TestEngine } from './helpers/engine.ts';
import { Rows } from './helpers/rows.ts';

const DAY = 86_400_000;
const T0 = Date.parse('2026-03-02T10:00:00Z');
const at = (ms: number) => new Date(T0 + ms).toISOString();

const SEQUENCE = `
id: dsr
name: Data-subject requests
trigger: { event: order_placed }
variants: [{ key: a, weight: 1 }]
measurement_window: 10d
steps:
  - { delay: 1h, template: thank-you }
`;

// c-1 in the fixture customers: ada@example.com, Ada Lovelace, Europe/London.
const ADDRESS = 'ada@example.com';
const PERSONAL = [ADDRESS, 'Lovelace', 'Europe/London', '198.51.100.23', 'AdaPhone'];

/** Every row of every table of the database, as text: what a dump of its data would show. */
async function everyRow(db: Db): Promise<string> {
  const tables = await queryRows<{ schema: string; name: string }>(
    db,
    sql`select table_schema as schema, table_name as name from information_schema.tables
        where table_type = 'BASE TABLE' and table_schema not in ('pg_catalog', 'information_schema')`,
  );
  let text = '';
  for (const t of tables) {
    const [row] = await queryRows<{ all: string | null }>(
      db,
      sql`select string_agg(t::text, E'\n') as all from ${sql.identifier(t.schema)}.${sql.identifier(t.name)} t`,
    );
    text += `${t.schema}.${t.name}\n${row?.all ?? ''}\n`;
  }
  return text;
}

/** `pg_dump` of a Postgres test database, the whole of it (schema and data). */
async function pgDump(url: string): Promise<string> {
  const { stdout } = await promisify(execFile)('pg_dump', ['--dbname', url], { maxBuffer: 64 * 1024 * 1024 });
  return stdout;
}

const missing = (text: string) => PERSONAL.filter((p) => !text.toLowerCase().includes(p.toLowerCase()));

/** A shop of two enrolled customers, each emailed once, Ada with a click, a later order, a suppression and two outbox facts quoting her. */
async function buildShop(db: Db): Promise<void> {
  await prepareShop(db, SEQUENCE);
  const [version] = await queryRows<{ id: number }>(db, sql`select id from sequence_versions where sequence_id = 'dsr'`);
  const line = (sku: string, quantity: number, unit_price: string) => ({ sku, quantity, unit_price });
  expect(
    await ingestOrders(db, [
      { order_id: 'o-1', customer_id: 'c-1', ordered_at: at(0), items: [line('ESP-100', 1, '249.00')] },
      { order_id: 'o-2', customer_id: 'c-2', ordered_at: at(0), items: [line('GRN-10', 1, '129.50')] },
      { order_id: 'o-3', customer_id: 'c-1', ordered_at: at(2 * DAY), items: [line('BEAN-1', 2, '24.90')] },
    ]),
  ).toMatchObject({ ok: true });
  const ids = await queryRows<{ customer: number; external: string; trigger: number }>(
    db,
    sql`select c.id as customer, c.external_id as external, o.id as trigger from customers c join orders o on o.customer_id = c.id
        where o.external_id in ('o-1', 'o-2') order by c.external_id`,
  );
  const enrollments = await new Rows(db).enrollments(
    ids.map((c) => ({ customer: c.customer, sequence: 'dsr', version: version!.id, arm: 'a', trigger: c.trigger, at: at(0), preSpend: 0 })),
  );
  for (const [i, c] of ids.entries()) {
    const recipient = c.external === 'c-1' ? ADDRESS : 'grace@example.com';
    const [message] = await queryRows<{ id: number }>(
      db,
      sql`insert into messages (enrollment_id, step, customer_id, recipient, subject, state, message_id, smtp_response, sent_at, links)
          values (${enrollments[i]}, 0, ${c.customer}, ${recipient}, 'Thank you', 'sent', ${`<dsr-${i}@test>`},
                  ${`250 2.1.5 <${recipient.toUpperCase()}> accepted`}, ${at(3_600_000)}::timestamptz, '["https://shop.example/"]')
          returning id`,
    );
    if (c.external !== 'c-1') continue;
    for (const [type, when] of [
      ['open', DAY / 2],
      ['click', DAY],
    ] as const)
      await db.execute(
        sql`insert into events (message_id, customer_id, type, is_human, link_index, ip, user_agent, occurred_at)
            values (${message!.id}, ${c.customer}, ${type}, true, ${type === 'click' ? 0 : null}, '198.51.100.23',
                    'Mozilla/5.0 (AdaPhone)', ${at(when)}::timestamptz)`,
      );
  }
  await suppress(db, 'Ada@Example.com', 'manual', 'support ticket');
  await db.execute(sql`insert into outbox (topic, payload, published_at, consumed_at)
                       values ('test.fact', ${JSON.stringify({ email: ADDRESS })}::jsonb, now(), now()),
                              ('test.fact', ${JSON.stringify({ to: 'ADA@example.com', orderId: 1 })}::jsonb, null, null)`);
}

describe.each(DB_KINDS)('data-subject requests on %s', (kind) => {
  let database: TestDatabase;
  const db = () => database.db;
  const report = () => buildReport(db(), { asOf: new Date(at(20 * DAY)), attribution: DEFAULT_ATTRIBUTION, minSample: 1 });

  beforeAll(async () => {
    database = await freshDatabase(kind);
    await buildShop(db());
  });
  afterAll(() => database?.drop());

  it("exports the customer's orders with their lines, emails, events, suppression and codes as plain JSON", async () => {
    const data = (await customerExport(db(), 'c-1'))!;
    expect(JSON.parse(JSON.stringify(data))).toEqual(data);
    expect(data.customer).toMatchObject({ externalId: 'c-1', email: ADDRESS, firstName: 'Ada', lastName: 'Lovelace', erased: false });
    // Consent, with when and where it was given (tests/fixtures/customers.csv).
    expect(data.customer).toMatchObject({ acceptsMarketing: 'yes', consentAt: '2026-01-10T09:00:00.000Z', consentSource: 'checkout' });
    expect(data.orders.map((o) => [o.externalId, o.total, o.lines.map((l) => l.sku)])).toEqual([
      ['o-1', expect.stringMatching(/^249\.0*$/), ['ESP-100']],
      ['o-3', expect.stringMatching(/^49\.80*$/), ['BEAN-1']],
    ]);
    expect(data.orders[0]!.orderedAt).toBe(at(0));
    expect(data.enrollments).toMatchObject([{ sequenceId: 'dsr', arm: 'a', triggerOrder: 'o-1' }]);
    expect(data.messages).toMatchObject([{ recipient: ADDRESS, subject: 'Thank you', state: 'sent', sentAt: at(3_600_000) }]);
    expect(data.events).toMatchObject([
      { type: 'open', ip: '198.51.100.23', userAgent: 'Mozilla/5.0 (AdaPhone)', occurredAt: at(DAY / 2) },
      { type: 'click', ip: '198.51.100.23' },
    ]);
    expect(data.suppressions).toMatchObject([{ email: ADDRESS, reason: 'manual' }]);
    expect(data.discountCodes).toEqual([]);
    expect(await customerExport(db(), 'nobody')).toBeUndefined();
  });

  it('erases the address, names and IPs from every table while the report stays exactly as it was', async () => {
    const before = await report();
    expect(before.sequences[0]!.versions[0]!.arms[0]!.measured.revenue).toBeGreaterThan(0);
    expect(missing(await everyRow(db()))).toEqual([]);
    if (database.url) expect(missing(await pgDump(database.url))).toEqual([]);

    const result = await eraseCustomer(db(), 'c-1', new Date(at(30 * DAY)));
    expect(result).toMatchObject({ status: 'erased', messages: 1, events: 2, suppressions: 1, outboxFacts: 2 });

    expect(await report()).toEqual(before);
    // Nothing personal is left anywhere, in the tables or in a dump of the database.
    expect(missing(await everyRow(db()))).toEqual(PERSONAL);
    if (database.url) expect(missing(await pgDump(database.url))).toEqual(PERSONAL);
    // Grace, who was not erased, is all there.
    expect((await customerExport(db(), 'c-2'))!.messages[0]!.smtpResponse).toContain('GRACE@EXAMPLE.COM');

    const after = (await customerExport(db(), 'c-1'))!;
    expect(after.customer).toMatchObject({ email: `erased-${after.customer.id}@erased.invalid`, firstName: null, erased: true });
    expect(after.customer.erasedAt).toBe(at(30 * DAY));
    expect(after.orders.map((o) => o.externalId)).toEqual(['o-1', 'o-3']);
    expect(after.events.map((e) => [e.type, e.ip, e.userAgent])).toEqual([
      ['open', null, null],
      ['click', null, null],
    ]);
    expect(await eraseCustomer(db(), 'c-1', new Date())).toEqual({
      status: 'already-erased',
      customerId: after.customer.id,
      erasedAt: new Date(at(30 * DAY)),
    });
    expect(await eraseCustomer(db(), 'nobody', new Date())).toEqual({ status: 'not-found' });
  });

  it('never mails the address again: not the erased customer, nor anyone imported with it later, in any case', async () => {
    // The same shop export sent again does not bring the address back.
    expect(await ingestCustomers(db(), [{ customer_id: 'c-1', email: ADDRESS, first_name: 'Ada', last_name: 'Lovelace' }])).toMatchObject({
      ok: true,
      outcomes: [{ key: 'c-1', outcome: 'unchanged' }],
    });
    expect((await customerExport(db(), 'c-1'))!.customer.firstName).toBeNull();

    expect(await ingestCustomers(db(), [{ customer_id: 'c-new', email: 'ADA@Example.COM' }])).toMatchObject({ ok: true });
    expect(
      await ingestOrders(db(), [
        { order_id: 'o-9', customer_id: 'c-new', ordered_at: at(40 * DAY), items: [{ sku: 'BEAN-1', quantity: 1, unit_price: '24.90' }] },
      ]),
    ).toMatchObject({ ok: true });
    const [again] = await queryRows<{ customer: number; trigger: number; version: number }>(
      db(),
      sql`select o.customer_id as customer, o.id as trigger, (select id from sequence_versions where sequence_id = 'dsr') as version
          from orders o where o.external_id = 'o-9'`,
    );
    const [fresh] = await new Rows(db()).enrollments([{ ...again!, sequence: 'dsr', arm: 'a', at: at(40 * DAY), preSpend: 0 }]);
    await db().execute(sql`update enrollments set state = 'active', next_step = 0 where id = ${fresh}`);
    const [erased] = await queryRows<{ id: number }>(
      db(),
      sql`select e.id from enrollments e join customers c on c.id = e.customer_id where c.external_id = 'c-1'`,
    );
    await db().execute(sql`update enrollments set state = 'active', next_step = 0 where id = ${erased!.id}`);

    for (const id of [fresh!, erased!.id]) {
      const row = (await findStepFacts(db(), [id])).get(id)!;
      expect(row.suppression).toBe('erased');
      const decision = decideStep({
        step: 0,
        enrollment: { state: row.state, nextStep: row.next_step, arm: row.arm },
        definition: row.definition,
        sequencePaused: false,
        customer: { unsubscribed: false, acceptsMarketing: row.accepts_marketing, suppression: row.suppression, timeZone: null },
        orderedAgain: false,
        now: new Date(at(41 * DAY)),
        shopTimeZone: 'UTC',
        frequencyCap: undefined,
        recentSends: [],
      });
      expect(decision).toEqual({ kind: 'exit', reason: 'suppressed' });
    }
    // A late bounce for the erased address is suppressed already, and does not store the address again.
    expect(await suppress(db(), 'ADA@example.com', 'hard-bounce', 'webhook')).toBe(false);
    expect(await queryRows(db(), sql`select * from suppressions where email = ${ADDRESS}`)).toEqual([]);
    // Grace's address was never erased.
    const [grace] = await queryRows<{ id: number }>(
      db(),
      sql`select e.id from enrollments e join customers c on c.id = e.customer_id where c.external_id = 'c-2'`,
    );
    expect((await findStepFacts(db(), [grace!.id])).get(grace!.id)!.suppression).toBeNull();
  });

  it('answers the API: export 200, erase 200 then already erased, unknown 404, a bad id 400, no token 401', async () => {
    const token = 'test-token-test-token';
    const app = await buildServer({ db: db(), apiToken: token, bodyLimitBytes: 64 * 1024 });
    try {
      const auth = { authorization: `Bearer ${token}` };
      const exported = await app.inject({ method: 'GET', url: '/api/customers/c-2/export', headers: auth });
      expect(exported.statusCode).toBe(200);
      expect(exported.json()).toMatchObject({ customer: { email: 'grace@example.com' }, orders: [{ externalId: 'o-2' }] });

      const erase = () => app.inject({ method: 'POST', url: '/api/customers/c-2/erase', headers: auth });
      const first = await erase();
      expect(first.statusCode).toBe(200);
      expect(first.json()).toMatchObject({
        customer: 'c-2',
        status: 'erased',
        messages: 1,
        placeholder: expect.stringMatching(/@erased\.invalid$/),
      });
      const second = await erase();
      expect(second.statusCode).toBe(200);
      expect(second.json()).toEqual({ customer: 'c-2', status: 'already-erased', erasedAt: first.json<{ erasedAt: string }>().erasedAt });
      expect((await everyRow(db())).toLowerCase()).not.toContain('grace@example.com');

      for (const [method, url] of [
        ['GET', '/api/customers/nobody/export'],
        ['POST', '/api/customers/nobody/erase'],
      ] as const) {
        const response = await app.inject({ method, url, headers: auth });
        expect(response.statusCode).toBe(404);
        expect(response.json()).toMatchObject({ message: 'no customer "nobody"' });
      }
      // Blank, or a byte no text column stores: 400 naming the id.
      const blank = await app.inject({ method: 'GET', url: '/api/customers/%20%20/export', headers: auth });
      expect([blank.statusCode, blank.body]).toEqual([400, expect.stringContaining('must not be empty')]);
      expect((await app.inject({ method: 'POST', url: '/api/customers/%00/erase', headers: auth })).statusCode).toBe(400);
      expect((await app.inject({ method: 'GET', url: '/api/customers/c-1/export' })).statusCode).toBe(401);
      const openapi = (await app.inject({ method: 'GET', url: '/openapi.json' })).json<{ paths: Record<string, unknown> }>();
      expect(Object.keys(openapi.paths)).toEqual(expect.arrayContaining(['/api/customers/{id}/export', '/api/customers/{id}/erase']));
    } finally {
      await app.close();
    }
  });
});

describe('campaign customers', () => {
  let database: TestDatabase;
  let env: Record<string, string>;
  const emailOf = async (id: string) =>
    (await queryRows<{ email: string }>(database.db, sql`select email from customers where external_id = ${id}`))[0]?.email;

  beforeAll(async () => {
    database = await freshDatabase('postgres');
    await prepareShop(database.db, SEQUENCE);
    env = { DATABASE_URL: database.url! };
  });
  afterAll(() => database?.drop());

  it('exports as JSON, refuses to erase without --yes and a terminal, erases with --yes, and exits 1 for an unknown id', async () => {
    const exported = await campaignInProcess(['customers', 'export', 'c-1'], env);
    expect(exported.code).toBe(0);
    expect(JSON.parse(exported.stdout)).toMatchObject({ customer: { externalId: 'c-1', email: ADDRESS }, orders: [] });

    const refused = await campaign(['customers', 'erase', 'c-1'], env);
    expect(refused.code).toBe(2);
    expect(refused.stdout).toContain(`replace the address ${ADDRESS} and the name Ada Lovelace`);
    expect(refused.stderr).toContain('--yes');
    expect(await emailOf('c-1')).toBe(ADDRESS);

    const erased = await campaignInProcess(['customers', 'erase', 'c-1', '--yes'], env);
    expect(erased.code).toBe(0);
    expect(erased.stdout).toMatch(/^customer c-1 erased: address now erased-\d+@erased\.invalid/);
    expect(await emailOf('c-1')).toMatch(/^erased-\d+@erased\.invalid$/);
    const again = await campaignInProcess(['customers', 'erase', 'c-1', '--yes'], env);
    expect([again.code, again.stdout]).toEqual([0, expect.stringContaining('already erased')]);

    for (const command of ['export', 'erase']) {
      const unknown = await campaignInProcess(['customers', command, 'nobody', '--yes'].slice(0, command === 'export' ? 3 : 4), env);
      expect([unknown.code, unknown.stderr]).toEqual([1, 'campaign: no customer "nobody"\n']);
    }
  });
});

describe('the engine and an erased address', () => {
  let t: TestEngine;
  beforeAll(async () => {
    t = await startTestEngine(SEQUENCE, { clockScale: 86_400 });
  });
  afterAll(() => t?.stop());

  it('enrolls a customer imported later with the address, in another case, and exits them before any email', async () => {
    const db = t.engine.db;
    expect((await eraseCustomer(db, 'c-1', new Date())).status).toBe('erased');
    expect(
      await ingestCustomers(db, [
        { customer_id: 'again', email: 'Ada@EXAMPLE.com', accepts_marketing: 'yes' },
        { customer_id: 'other', email: 'other@example.com', accepts_marketing: 'yes' },
      ]),
    ).toMatchObject({ ok: true });
    const now = new Date().toISOString();
    expect(
      await ingestOrders(
        db,
        ['again', 'other', 'c-1'].map((customer) => ({
          order_id: `e-${customer}`,
          customer_id: customer,
          ordered_at: now,
          items: [{ sku: 'BEAN-1', quantity: 1, unit_price: '24.90' }],
        })),
      ),
    ).toMatchObject({ ok: true });
    t.relay.kick();
    const states = () =>
      queryRows<{ customer: string; state: string; exit_reason: string | null }>(
        db,
        sql`select c.external_id as customer, e.state, e.exit_reason from enrollments e join customers c on c.id = e.customer_id
            order by c.external_id`,
      );
    // One read: two could see no enrollment yet (every() of none is true), then all three.
    await eventually(
      async () => {
        const now = await states();
        return now.length === 3 && now.every((e) => e.state !== 'active');
      },
      20_000,
      'every enrollment ended',
    );
    expect(await states()).toEqual([
      { customer: 'again', state: 'exited', exit_reason: 'suppressed' },
      { customer: 'c-1', state: 'exited', exit_reason: 'suppressed' },
      { customer: 'other', state: 'completed', exit_reason: null },
    ]);
    expect(t.smtp.received.flatMap((m) => m.to)).toEqual(['other@example.com']);
  });
});
