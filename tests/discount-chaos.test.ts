/**
 * Discount codes under SIGKILL: 200 enrollments of a two-step sequence whose variant offers
 * a pool of exactly 200 codes run on `campaign work` processes killed at random (mid-step,
 * most likely) and restarted. A code lost by a killed worker, or issued twice, would leave
 * the pool short and an enrollment waiting for ever; instead every email arrives, each
 * enrollment's two emails carry the same code, no two enrollments share one, and the
 * database agrees with what the SMTP server received.
 */
import { sql } from 'drizzle-orm';
import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prng } from '../src/core/random.ts';
import { queryRows } from '../src/db/client.ts';
import { ingestCustomers, ingestOrders } from '../src/ingest/batch.ts';
import { importCodes } from '../src/store/discount-codes.ts';
import { freshDatabase, type TestDatabase } from './helpers/db.ts';
import { eventually, prepareShop } from './helpers/engine.ts';
import { allSent, chaosEnv, scaledNow, workerProcesses } from './helpers/chaos.ts';
import { freshQueues, type TestQueues } from './helpers/redis.ts';
import { startSmtp, type TestSmtp } from './helpers/smtp.ts';

const ENROLLMENTS = 200;
const SEQUENCE = `
id: chaos-codes
name: Two steps with a code, under chaos
trigger: { event: order_placed }
variants: [{ key: only, weight: 1, offer: { pool: chaos } }]
steps:
  - { delay: 1h, template: thank-you }
  - { delay: 1d, template: accessories }
`;

describe('discount codes under SIGKILL', () => {
  let database: TestDatabase;
  let queues: TestQueues;
  let smtp: TestSmtp;
  let pool: ReturnType<typeof workerProcesses>;
  let env: Record<string, string>;

  beforeAll(async () => {
    database = await freshDatabase('postgres');
    queues = await freshQueues();
    smtp = await startSmtp();
    await prepareShop(database.db, SEQUENCE);
    await ingestCustomers(
      database.db,
      Array.from({ length: ENROLLMENTS }, (_, i) => ({
        customer_id: `z-${i}`,
        email: `z${i}@example.com`,
        first_name: `Z${i}`,
        accepts_marketing: 'yes' as const,
      })),
    );
    const imported = await importCodes(database.db, {
      pool: 'chaos',
      value: { kind: 'percent', value: '15' },
      expiresAt: null,
      codes: Array.from({ length: ENROLLMENTS }, (_, i) => ({ line: i + 1, code: `CHAOS-${String(i).padStart(4, '0')}` })),
    });
    expect(imported.ok).toBe(true);
    env = chaosEnv({ databaseUrl: database.url!, prefix: queues.prefix, smtpUrl: smtp.url, redis: queues.target });
    pool = workerProcesses(env);
  }, 120_000);

  afterAll(async () => {
    pool?.killAll();
    await smtp.close();
    await queues.cleanup();
    await database.drop();
  });

  const startWorker = () => pool.start();

  it('loses no code and issues none twice through killed workers; the same code in both steps', async () => {
    startWorker();
    startWorker();
    const now = scaledNow(env);
    await ingestOrders(
      database.db,
      Array.from({ length: ENROLLMENTS }, (_, i) => ({
        order_id: `zo-${i}`,
        customer_id: `z-${i}`,
        ordered_at: now,
        items: [{ sku: 'ESP-100', quantity: 1, unit_price: '249.00' }],
      })),
    );
    const random = prng(16);
    let kills = 0;
    const done = () => allSent(database.db, ENROLLMENTS);
    const started = Date.now();
    while (!(await done())) {
      if (Date.now() - started > 240_000) {
        const states = await queryRows(database.db, sql`select state, next_step, count(*)::int from enrollments group by 1, 2`);
        const codes = await queryRows(database.db, sql`select count(*)::int as issued from discount_codes where enrollment_id is not null`);
        throw new Error(`the run did not finish in 240 s: ${JSON.stringify({ states, codes, received: smtp.received.length, kills })}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 300 + random() * 600));
      const victim = [...pool.workers][Math.floor(random() * pool.workers.size)];
      if (victim && Date.now() - started < 20_000) {
        victim.kill('SIGKILL');
        kills += 1;
      }
      while (pool.workers.size < 2) startWorker();
    }
    expect(kills).toBeGreaterThan(5);
    await eventually(async () => smtp.received.length >= 2 * ENROLLMENTS && true, 10_000, 'the last emails');

    // What arrived: per recipient, the codes of its emails (a resend from the crash window
    // carries the same Message-ID, and the same code, since the row pins it).
    const byRecipient = new Map<string, Map<string, string | undefined>>();
    for (const raw of smtp.received.map((m) => m.raw)) {
      const mail = await simpleParser(raw);
      const to = mail.to && !Array.isArray(mail.to) ? mail.to.text : '';
      const code = /Use code ([A-Z0-9-]+)/.exec(mail.text ?? '')?.[1];
      const messages = byRecipient.get(to) ?? new Map<string, string | undefined>();
      const earlier = messages.get(mail.messageId!);
      if (earlier !== undefined) expect(code).toBe(earlier);
      messages.set(mail.messageId!, code);
      byRecipient.set(to, messages);
    }
    expect(byRecipient.size).toBe(ENROLLMENTS);
    const codes: string[] = [];
    for (const messages of byRecipient.values()) {
      const shown = [...messages.values()];
      expect(shown).toHaveLength(2);
      expect(shown[0]).toMatch(/^CHAOS-\d{4}$/);
      expect(shown[1]).toBe(shown[0]);
      codes.push(shown[0]!);
    }
    expect(new Set(codes).size).toBe(ENROLLMENTS);

    // The database agrees: every code issued once, by a message that exists and shows it.
    const [db] = await queryRows<{ issued: number; orphans: number; without: number; mismatched: number }>(
      database.db,
      sql`select (select count(*)::int from discount_codes where enrollment_id is not null) as issued,
                 (select count(*)::int from discount_codes where enrollment_id is not null and message_id is null) as orphans,
                 (select count(*)::int from messages where discount_code_id is null) as without,
                 (select count(*)::int from messages m join discount_codes c on c.id = m.discount_code_id
                  where c.enrollment_id <> m.enrollment_id) as mismatched`,
    );
    expect(db).toEqual({ issued: ENROLLMENTS, orphans: 0, without: 0, mismatched: 0 });
  }, 300_000);
});
