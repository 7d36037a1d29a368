/**
 * Discount codes through the real engine (Postgres, BullMQ, an in-process SMTP server):
 * two engines with several step workers each drain one pool, every code issued at most once
 * and the same code in every step of an enrollment; an empty pool delays the step (and says
 * so in the log and on /metrics) or sends without the offer; a redemption is credited to the
 * email that issued the code even after a later click on another email, and the report counts
 * codes issued, redeemed and their cost per arm and step.
 */
import { Writable } from 'node:stream';
import { sql } from 'drizzle-orm';
import { Redis } from 'ioredis';
import { simpleParser } from 'mailparser';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reportCsv } from '../src/analytics/csv.ts';
import { formatReport, moneyFormat } from '../src/analytics/format.ts';
import { buildReport } from '../src/analytics/report.ts';
import { DEFAULT_ATTRIBUTION } from '../src/core/attribution.ts';
import { scaledClock } from '../src/core/clock.ts';
import { queryRows } from '../src/db/client.ts';
import { createEngine, startEngine, type RunningEngine } from '../src/engine/assemble.ts';
import { createWorkerMetrics, type WorkerMetrics } from '../src/engine/metrics.ts';
import { ingestCustomers, ingestOrders } from '../src/ingest/batch.ts';
import { createTransport } from '../src/mail/transport.ts';
import { DecisionCards } from '../src/dashboard/views/decision.tsx';
import { MessagePage } from '../src/dashboard/views/messages.tsx';
import { renderPage } from '../src/dashboard/views/layout.tsx';
import { codeSendTimes, importCodes } from '../src/store/discount-codes.ts';
import { messageDetail } from '../src/store/message-detail.ts';
import { insertEvents } from '../src/store/events.ts';
import { freshDatabase, type TestDatabase } from './helpers/db.ts';
import { csvRows } from './helpers/files.ts';
import { eventually, prepareShop, SENDING } from './helpers/engine.ts';
import { freshQueues, REDIS_URL, type TestQueues } from './helpers/redis.ts';
import { startSmtp, type TestSmtp } from './helpers/smtp.ts';

const CUSTOMERS = 60;
const SEQUENCE = `
id: offers
name: Offers
trigger: { event: order_placed }
variants:
  - key: welcome
    weight: 1
    offer: { pool: welcome }
  - key: late
    weight: 1
    offer: { pool: late, on_empty: send_without_offer }
steps:
  - { delay: 1h, template: thank-you }
  - { delay: 1d, template: accessories }
`;

interface Harness {
  database: TestDatabase;
  queues: TestQueues;
  smtp: TestSmtp;
  running: RunningEngine[];
  /** Each engine's metrics (each counts its own steps, as each process would). */
  metrics: WorkerMetrics[];
  logs: { msg: string; pool?: string; enrollment?: number }[];
  connections: Redis[];
  /** Every failed attempt of a job (id: error), to say why when a wait runs out. */
  failures: string[];
}

/** Two engines (two "processes" of step workers) on one database, queue and SMTP server, sharing one scaled clock. */
async function startHarness(): Promise<Harness> {
  const database = await freshDatabase('postgres', { poolSize: 24 });
  const queues = await freshQueues({ attempts: 12, backoff: { type: 'fixed', delay: 100 } });
  const smtp = await startSmtp();
  await prepareShop(database.db, SEQUENCE);
  await ingestCustomers(
    database.db,
    Array.from({ length: CUSTOMERS }, (_, i) => ({
      customer_id: `d-${i}`,
      email: `d${i}@example.com`,
      first_name: `D${i}`,
      accepts_marketing: 'yes' as const,
    })),
  );
  const logs: Harness['logs'] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) logs.push(JSON.parse(line) as Harness['logs'][number]);
      done();
    },
  });
  const log = pino({ level: 'warn' }, sink);
  // A simulated day per real second: the 1h step comes at once, the 1d step a second later.
  const clock = scaledClock(86_400);
  const running: RunningEngine[] = [];
  const connections: Redis[] = [];
  const metrics: WorkerMetrics[] = [];
  const failures: string[] = [];
  for (let i = 0; i < 2; i++) {
    const engine = createEngine({
      db: database.db,
      queues: queues.queues,
      clock,
      settings: { ...SENDING, secretKey: 'test-secret-test-secret-test-secret-0', claimSeconds: 1, codePoolLow: 10 },
      transport: createTransport(smtp.url, { maxConnections: 4 }),
      log,
    });
    const engineMetrics = createWorkerMetrics(engine);
    metrics.push(engineMetrics);
    const connection = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
    connections.push(connection);
    running.push(
      startEngine(engine, {
        connection,
        prefix: queues.prefix,
        concurrency: { enroll: 4, steps: 8 },
        relayIntervalMs: 100,
        // As in production: a step whose job was lost or failed for good is scheduled again.
        reconcileEveryMs: 2_000,
        onStepDone: (outcome) => engineMetrics.observe(outcome),
        onJobFailed: (jobId, error) => failures.push(`${jobId}: ${error.message}`),
      }),
    );
  }
  return { database, queues, smtp, running, metrics, logs, connections, failures };
}

/** The code an email shows (the offer block's button), or undefined; and its Message-ID. */
async function offerOf(raw: string): Promise<{ code: string | undefined; messageId: string; to: string }> {
  const mail = await simpleParser(raw);
  const code = /Use code ([A-Z0-9-]+)/.exec(mail.text ?? '')?.[1];
  return { code, messageId: mail.messageId ?? '', to: mail.to && !Array.isArray(mail.to) ? mail.to.text : '' };
}

describe('discount codes through the engine', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  }, 60_000);
  afterAll(async () => {
    for (const r of h.running) await r.stop();
    for (const r of h.running) r.engine.transport.close();
    for (const c of h.connections) c.disconnect();
    await h.smtp.close();
    await h.queues.cleanup();
    await h.database.drop();
  });

  const db = () => h.database.db;
  const now = () => h.running[0]!.engine.clock.now();
  /** campaign_code_pool_empty_total for a pool and outcome, summed over the engines. */
  const counted = async (pool: string, then: string) => {
    let total = 0;
    for (const m of h.metrics) {
      const found = new RegExp(`campaign_code_pool_empty_total\\{pool="${pool}",then="${then}"\\} (\\d+)`).exec(await m.registry.metrics());
      total += Number(found?.[1] ?? 0);
    }
    return total;
  };
  const codes = (prefix: string, n: number) =>
    Array.from({ length: n }, (_, i) => ({ line: i + 1, code: `${prefix}-${String(i).padStart(4, '0')}` }));

  it('two engines drain one pool in parallel: every code at most once, the same code in both steps of an enrollment; an empty pool delays or sends without the offer, and says so', async () => {
    // Enough codes for every "welcome" enrollment; one code for the "late" arm, whose other
    // customers get their emails without the offer.
    expect(
      await importCodes(db(), {
        pool: 'welcome',
        value: { kind: 'percent', value: '10' },
        expiresAt: null,
        codes: codes('WEL', CUSTOMERS),
      }),
    ).toMatchObject({ ok: true, inserted: CUSTOMERS });
    expect(
      await importCodes(db(), { pool: 'late', value: { kind: 'amount', value: '5.00' }, expiresAt: null, codes: codes('LATE', 1) }),
    ).toMatchObject({ ok: true, inserted: 1 });
    expect(
      (
        await ingestOrders(
          db(),
          Array.from({ length: CUSTOMERS }, (_, i) => ({
            order_id: `do-${i}`,
            customer_id: `d-${i}`,
            ordered_at: now().toISOString(),
            items: [{ sku: 'ESP-100', quantity: 1, unit_price: '249.00' }],
          })),
        )
      ).ok,
    ).toBe(true);
    for (const r of h.running) r.relay.kick();

    await eventually(
      async () => {
        const [row] = await queryRows<{ open: number }>(
          db(),
          sql`select count(*)::int as open from enrollments where state = 'active' or next_step < 2`,
        );
        const [{ n } = { n: 0 }] = await queryRows<{ n: number }>(db(), sql`select count(*)::int as n from enrollments`);
        return n === CUSTOMERS && row!.open === 0;
      },
      60_000,
      'every enrollment through both steps',
    );
    const arms = await queryRows<{ id: number; arm: string; email: string }>(
      db(),
      sql`select e.id, e.arm, c.email from enrollments e join customers c on c.id = e.customer_id`,
    );
    const welcome = arms.filter((a) => a.arm === 'welcome');
    const late = arms.filter((a) => a.arm === 'late');
    expect(welcome.length).toBeGreaterThan(10);
    expect(late.length).toBeGreaterThan(10);

    // What the customers received: one email per (enrollment, step), and the code in it.
    await eventually(async () => h.smtp.received.length >= 2 * CUSTOMERS && true, 20_000, 'every email');
    const mails = await Promise.all(h.smtp.received.map((m) => offerOf(m.raw)));
    expect(new Set(mails.map((m) => m.messageId)).size).toBe(2 * CUSTOMERS);
    const byAddress = new Map<string, (string | undefined)[]>();
    for (const m of mails) byAddress.set(m.to, [...(byAddress.get(m.to) ?? []), m.code]);

    const welcomeCodes = welcome.map((a) => byAddress.get(a.email)!);
    for (const pair of welcomeCodes) {
      expect(pair).toHaveLength(2);
      expect(pair[0]).toMatch(/^WEL-\d{4}$/);
      expect(pair[1]).toBe(pair[0]);
    }
    expect(new Set(welcomeCodes.map((p) => p[0])).size).toBe(welcome.length);
    // The late arm: the one code went to one customer (at the first step to ask for it, and
    // then in every later email of theirs), the others got none.
    const lateCodes = late.map((a) => byAddress.get(a.email)!);
    const holders = lateCodes.filter((p) => p.includes('LATE-0000'));
    expect(holders).toHaveLength(1);
    expect(holders[0]![1]).toBe('LATE-0000');
    expect(lateCodes.filter((p) => p.every((c) => c === undefined))).toHaveLength(late.length - 1);
    const emailsWithout = lateCodes.flat().filter((c) => c === undefined).length;

    // The database agrees: each issued code belongs to one enrollment and was issued by its step-1 email.
    const issued = await queryRows<{ code: string; enrollment_id: number; step: number; shows: number }>(
      db(),
      sql`select c.code, c.enrollment_id, m.step, (select count(*)::int from messages x where x.discount_code_id = c.id) as shows
          from discount_codes c join messages m on m.id = c.message_id where c.enrollment_id is not null`,
    );
    expect(issued).toHaveLength(welcome.length + 1);
    expect(issued.filter((r) => r.code.startsWith('WEL-')).every((r) => r.step === 0 && r.shows === 2)).toBe(true);

    // Told: a warning per email sent without the offer, a counter on /metrics; the pool "late" is low.
    const withheld = h.logs.filter((l) => l.pool === 'late' && /without the offer/.test(l.msg));
    expect(withheld).toHaveLength(emailsWithout);
    await eventually(async () => (await counted('late', 'sent_without_offer')) === emailsWithout, 10_000, 'the withheld offers counted');
    const text = await h.metrics[0]!.registry.metrics();
    expect(text).toMatch(/campaign_code_pool_low\{pool="late"\} 1/);
    expect(text).toContain(`campaign_code_pool_codes{pool="welcome",state="issued"} ${welcome.length}`);
  }, 120_000);

  it('an empty pool (its last codes expired) delays the step and says so; codes imported later go out', async () => {
    // Expired codes are never issued: expire every code still free in "welcome".
    await h.database.db.execute(
      sql`update discount_codes set expires_at = ${new Date(now().getTime() - 86_400_000).toISOString()}::timestamptz
          where enrollment_id is null and pool_id = (select id from code_pools where name = 'welcome')`,
    );
    await ingestCustomers(
      db(),
      Array.from({ length: 20 }, (_, i) => ({
        customer_id: `f-${i}`,
        email: `f${i}@example.com`,
        first_name: `F${i}`,
        accepts_marketing: 'yes' as const,
      })),
    );
    await ingestOrders(
      db(),
      Array.from({ length: 20 }, (_, i) => ({
        order_id: `fo-${i}`,
        customer_id: `f-${i}`,
        ordered_at: now().toISOString(),
        items: [{ sku: 'ESP-100', quantity: 1, unit_price: '249.00' }],
      })),
    );
    for (const r of h.running) r.relay.kick();
    const waiting = await eventually(
      async () => {
        const rows = await queryRows<{ id: number; next_due_at: Date; enrolled_at: Date; messages: number }>(
          db(),
          sql`select e.id, e.next_due_at, e.enrolled_at, (select count(*)::int from messages m where m.enrollment_id = e.id) as messages
              from enrollments e join customers c on c.id = e.customer_id where c.external_id like 'f-%' and e.arm = 'welcome'`,
        );
        const all = await queryRows<{ n: number }>(
          db(),
          sql`select count(*)::int as n from enrollments e join customers c on c.id = e.customer_id where c.external_id like 'f-%'`,
        );
        // Delayed for want of codes: the workers said so for the enrollment, and wrote no email.
        const told = new Set(h.logs.filter((l) => /the step waits/.test(l.msg)).map((l) => Number(l.enrollment)));
        const delayed = rows.filter((r) => r.messages === 0 && told.has(Number(r.id)));
        return all[0]!.n === 20 && rows.length > 0 && delayed.length === rows.length && rows;
      },
      30_000,
      'the welcome steps delayed for want of codes',
    );
    expect(h.logs.some((l) => l.pool === 'welcome' && /code pool is empty: the step waits/.test(l.msg))).toBe(true);
    // The counter is told when the worker puts the job back, just after the enrollment's row moved.
    await eventually(async () => (await counted('welcome', 'delayed')) >= waiting.length, 10_000, 'the delays counted');
    expect(await h.metrics[1]!.registry.metrics()).toMatch(/campaign_code_pool_codes\{pool="welcome",state="left"\} 0/);
    expect(h.logs.filter((l) => l.pool === 'welcome' && /the step waits/.test(l.msg)).length).toBeGreaterThanOrEqual(waiting.length);

    // Codes come: the waiting steps go out at their next look (an hour later, simulated), each with a new code.
    expect(await importCodes(db(), { pool: 'welcome', value: undefined, expiresAt: null, codes: codes('NEW', 40) })).toMatchObject({
      ok: true,
    });
    await eventually(
      async () => {
        const [row] = await queryRows<{ n: number }>(
          db(),
          sql`select count(*)::int as n from messages m join discount_codes c on c.id = m.discount_code_id
              where c.code like 'NEW-%' and m.state = 'sent' and m.step = 0`,
        );
        return row!.n === waiting.length;
      },
      // Long enough for a loaded CI machine, within the test's own 90 s.
      55_000,
      'the delayed steps sent with the new codes',
    ).catch(async (error: Error) => {
      // Say where the steps stood, so a run that ran out of time tells why.
      const steps = await queryRows(
        db(),
        sql`select e.id, e.state, e.next_step, e.next_due_at, (select string_agg(m.state, ',') from messages m where m.enrollment_id = e.id) as messages
            from enrollments e where e.id in (select (jsonb_array_elements_text(${JSON.stringify(waiting.map((w) => w.id))}::jsonb))::bigint)`,
      );
      throw new Error(
        `${error.message}; the steps: ${JSON.stringify(steps)}; failed attempts: ${JSON.stringify(h.failures.slice(-10))}; now ${now().toISOString()}`,
      );
    });
    const expiredIssued = await queryRows<{ n: number }>(
      db(),
      sql`select count(*)::int as n from discount_codes where enrollment_id is not null and expires_at is not null and expires_at < issued_at`,
    );
    expect(expiredIssued[0]!.n).toBe(0);
  }, 90_000);

  it('a redemption is credited to the email that issued the code even after a later click on another email; the report counts it', async () => {
    const [first, second] = await queryRows<{ customer: string; code: string; issuing: number; later: number; customer_id: number }>(
      db(),
      sql`select c.external_id as customer, dc.code, dc.message_id as issuing, m1.id as later, c.id as customer_id
          from discount_codes dc join enrollments e on e.id = dc.enrollment_id join customers c on c.id = e.customer_id
          join messages m1 on m1.enrollment_id = e.id and m1.step = 1 and m1.state = 'sent'
          where dc.code like 'WEL-%' order by dc.id limit 2`,
    );
    const at = now();
    const click = (messageId: number, customerId: number) => ({
      messageId,
      customerId,
      type: 'click' as const,
      isHuman: true,
      machineReason: null,
      linkIndex: 0,
      userAgent: 'test',
      ip: null,
      occurredAt: at,
    });
    // Both customers click their second email (which shows the code again); then the first
    // redeems the code (in other case), the second orders with a code nobody issued.
    await insertEvents(db(), [click(first!.later, first!.customer_id), click(second!.later, second!.customer_id)]);
    const later = new Date(at.getTime() + 60_000).toISOString();
    const redeemed = await ingestOrders(db(), [
      {
        order_id: 'redeem-1',
        customer_id: first!.customer,
        ordered_at: later,
        discount_code: first!.code.toLowerCase(),
        discount_total: '24.90',
        items: [{ sku: 'ESP-100', quantity: 1, unit_price: '249.00' }],
      },
      {
        order_id: 'redeem-2',
        customer_id: second!.customer,
        ordered_at: later,
        discount_code: 'NOBODY-ISSUED-THIS',
        discount_total: '10.00',
        items: [{ sku: 'ESP-100', quantity: 1, unit_price: '249.00' }],
      },
    ]);
    expect(redeemed.ok).toBe(true);
    // The issuing email's send time, by code in any case: what the demo's ledger compares an order with.
    const [{ sent_at: sentAt } = { sent_at: null }] = await queryRows<{ sent_at: Date }>(
      db(),
      sql`select sent_at from messages where id = ${first!.issuing}`,
    );
    const times = await codeSendTimes(db(), [first!.code.toLowerCase(), 'NOBODY-ISSUED-THIS']);
    expect([...times.entries()]).toEqual([[first!.code.toUpperCase(), new Date(sentAt!)]]);
    const report = await buildReport(db(), {
      asOf: new Date(at.getTime() + 3_600_000),
      attribution: DEFAULT_ATTRIBUTION,
      minSample: 100,
    });
    const credits = await queryRows<{ order: string; message_id: number; touch: string }>(
      db(),
      sql`select o.external_id as order, a.message_id, a.touch from attributions a join orders o on o.id = a.order_id
          where o.external_id like 'redeem-%' order by o.external_id`,
    );
    expect(credits).toEqual([
      { order: 'redeem-1', message_id: first!.issuing, touch: 'code' },
      { order: 'redeem-2', message_id: second!.later, touch: 'click' },
    ]);

    // The message page says which code each email offered and which order redeemed it.
    const issuing = (await messageDetail(db(), first!.issuing))!;
    expect(issuing.discount).toEqual({ code: first!.code, pool: 'welcome', redeemed_by: 'redeem-1' });
    expect((await messageDetail(db(), first!.later))!.discount).toEqual(issuing.discount);
    const page = renderPage(MessagePage({ m: issuing, timeZone: 'UTC' }));
    expect(page).toContain(`<code>${first!.code}</code> <span class="muted">from pool welcome</span> · redeemed by order redeem-1`);

    const version = report.sequences.find((s) => s.id === 'offers')!.versions[0]!;
    const welcome = version.arms.find((a) => a.arm === 'welcome')!;
    const [issued] = await queryRows<{ n: number }>(
      db(),
      sql`select count(*)::int as n from discount_codes c join messages m on m.id = c.message_id join enrollments e on e.id = c.enrollment_id
          where e.arm = 'welcome' and m.state = 'sent'`,
    );
    expect(welcome.steps[0]!.codes).toEqual({ issued: issued!.n, redeemed: 1, redemptionRate: 1 / issued!.n, discountCost: '24.9000' });
    // The second step shows the same codes again: it issues none of its own.
    expect(welcome.steps[1]!.codes).toEqual({ issued: 0, redeemed: 0, redemptionRate: null, discountCost: '0.0000' });
    expect(welcome.codes).toEqual(welcome.steps[0]!.codes);
    const late = version.arms.find((a) => a.arm === 'late')!;
    expect(late.codes).toMatchObject({ issued: 1, redeemed: 0, discountCost: '0.0000' });

    // The same figures in the terminal's table and the arms CSV, per arm and per step.
    const text = formatReport(report, { currency: 'USD' });
    const rate = `${((100 * 1) / issued!.n).toFixed(1)}%`;
    expect(text).toContain('Discount codes (issued by sent emails;');
    expect(text).toMatch(new RegExp(`\\nwelcome +${issued!.n} +1 +${rate.replace('.', '\\.')} +\\$24\\.90 +\\n`));
    expect(text).toMatch(/\nlate +1 +0 +0\.0% +\$0\.00 +\n/);
    const rows = csvRows(reportCsv(report, 'arms'));
    const row = (arm: string, step: string) => rows.find((r) => r.sequence === 'offers' && r.arm === arm && r.step === step)!;
    expect(row('welcome', 'all')).toMatchObject({ codes_issued: String(issued!.n), codes_redeemed: '1', discount_cost: '24.9000' });
    expect(Number(row('welcome', '1').redemption_rate)).toBeCloseTo(1 / issued!.n, 12);
    expect(row('welcome', '2')).toMatchObject({ codes_issued: '0', codes_redeemed: '0', redemption_rate: '', discount_cost: '0.0000' });
    // The arm's card on the sequence page says it too.
    const cards = renderPage(DecisionCards({ version, money: moneyFormat('USD'), minSample: 100 }));
    expect(cards).toMatch(
      new RegExp(
        `data-arm="welcome"[^]*?<dd data-field="codes">1 of ${issued!.n} \\(${rate.replace('.', '\\.')}\\) <span class="muted">\\$24\\.90 off</span>`,
      ),
    );
  }, 60_000);
});
