/**
 * A running engine for tests: real Postgres, real Redis (fresh prefix), a real SMTP server
 * in-process, templates published and a sequence applied, workers started on a scaled clock.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Worker } from 'bullmq';
import { scaledClock } from '../../src/core/clock.ts';
import { DEFAULT_RULES } from '../../src/core/recommend.ts';
import type { DashboardDeps } from '../../src/dashboard/index.ts';
import type { Db } from '../../src/db/client.ts';
import type { Inbox } from '../../src/demo/inbox.ts';
import { createEngine, startEngine } from '../../src/engine/assemble.ts';
import type { Engine } from '../../src/engine/context.ts';
import { createTransport } from '../../src/mail/transport.ts';
import type { Relay } from '../../src/outbox/relay.ts';
import { applySequence, loadSequenceFiles } from '../../src/sequences/files.ts';
import { compileTemplate } from '../../src/templates/compile.ts';
import { emailNames, loadTemplateFiles } from '../../src/templates/source.ts';
import { publishTemplate } from '../../src/store/templates.ts';
import { connectRedis, type RedisTarget } from '../../src/queue/redis.ts';
import { freshDatabase, type TestDatabase } from './db.ts';
import { freshQueues, type TestQueues } from './redis.ts';
import { seedCatalog } from './seed.ts';
import { startSmtp, type SmtpFaults, type TestSmtp } from './smtp.ts';

const TEMPLATES = new URL('../../templates/', import.meta.url).pathname;

/** The shop the tests' emails and pages speak for. */
export const TEST_SHOP = {
  name: 'Demo Coffee',
  url: 'https://shop.example/',
  currency: 'USD',
  address: '1 Roastery Lane',
  supportEmail: 'help@shop.example',
  timezone: 'UTC',
};

/** How the test shop's emails go out: its tracking host, its sender, the shop and the recommendation rules. */
export const SENDING = { publicUrl: 'https://track.shop.example', mailFrom: 'orders@shop.example', shop: TEST_SHOP, rules: DEFAULT_RULES };

/** The dashboard's preview of the test shop's emails, signed with `secret`; test sends go to `inbox` when given. */
export function testPreview(secret: string, inbox?: Inbox): NonNullable<DashboardDeps['preview']> {
  const { shop, rules, publicUrl, mailFrom } = SENDING;
  return { shop, rules, publicUrl, secret, mailFrom, ...(inbox && { smtpUrl: inbox.url, inbox }) };
}

export interface TestEngine {
  engine: Engine;
  database: TestDatabase;
  queues: TestQueues;
  smtp: TestSmtp;
  relay: Relay;
  workers: Worker[];
  stop(): Promise<void>;
}

export async function startTestEngine(
  sequenceYaml: string,
  options: {
    clockScale: number;
    frequencyCap?: Engine['settings']['frequencyCap'];
    smtpFaults?: SmtpFaults;
    concurrency?: number;
    smtpConnections?: number;
    ratePerSecond?: number;
    /** Where the queues are (default: the tests' Redis, see ./redis.ts). */
    redis?: RedisTarget;
    /** Real milliseconds between reconciler passes; without it no reconciler runs. */
    reconcileEveryMs?: number;
    /** WORKER_LOCK_MS: how long a job taken but never finished stays locked (BullMQ's 30 s otherwise). */
    lockMs?: number;
    /** Told the size of each batch the workers run. */
    onBatch?: (queue: 'enroll' | 'steps', size: number) => void;
    /** How long stop() waits for jobs in flight and the reconciler (the engine's default otherwise), and what it is told when it gives up. */
    stopGraceMs?: number;
    onError?: (error: unknown, where: 'relay' | 'reconcile' | 'stop') => void;
  },
): Promise<TestEngine> {
  const database = await freshDatabase('postgres', { poolSize: Math.max(4, options.concurrency ?? 4) + 2 });
  // Retries back off in real milliseconds: short ones keep fault tests quick.
  const queues = await freshQueues({ attempts: 12, backoff: { type: 'fixed', delay: 100 } }, options.redis);
  const smtp = await startSmtp(options.smtpFaults);
  await prepareShop(database.db, sequenceYaml);

  const engine = createEngine({
    db: database.db,
    queues: queues.queues,
    clock: scaledClock(options.clockScale),
    settings: {
      ...SENDING,
      secretKey: 'test-secret-test-secret-test-secret-0',
      frequencyCap: options.frequencyCap,
      // A dropped connection mid-message keeps the claim this long before a retry.
      claimSeconds: 1,
    },
    transport: createTransport(smtp.url, { maxConnections: options.smtpConnections ?? 5 }),
  });
  const connection = connectRedis(queues.target, 'worker');
  const running = startEngine(engine, {
    connection,
    prefix: queues.prefix,
    concurrency: { enroll: options.concurrency ?? 4, steps: options.concurrency ?? 4 },
    ratePerSecond: options.ratePerSecond,
    relayIntervalMs: 200,
    reconcileEveryMs: options.reconcileEveryMs,
    lockMs: options.lockMs,
    onBatch: options.onBatch,
    stopGraceMs: options.stopGraceMs,
    onError: options.onError,
  });
  const { relay, workers } = running;
  return {
    engine,
    database,
    queues,
    smtp,
    relay,
    workers,
    stop: async () => {
      await running.stop();
      engine.transport.close();
      connection.disconnect();
      await smtp.close();
      await queues.cleanup();
      await database.drop();
    },
  };
}

/** Seeds the catalog, publishes the starter templates and applies one sequence. */
export async function prepareShop(db: Db, sequenceYaml: string): Promise<void> {
  await seedCatalog(db);
  const set = await loadTemplateFiles(TEMPLATES);
  for (const name of emailNames(set)) {
    const result = await compileTemplate(set, name);
    await publishTemplate(db, result.compiled!, result.assembled!);
  }
  const dir = mkdtempSync(join(tmpdir(), 'campaign-sequence-'));
  writeFileSync(join(dir, 'sequence.yaml'), sequenceYaml);
  const { files, problems } = await loadSequenceFiles(dir);
  if (problems.length) throw new Error(problems.join('\n'));
  for (const file of files) await applySequence(db, file);
}

/** Polls `check` until it returns a value, or fails after `timeoutMs`. */
export async function eventually<T>(check: () => Promise<T | undefined | false>, timeoutMs = 20_000, what = 'condition'): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
