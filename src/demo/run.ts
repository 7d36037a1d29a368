/**
 * The whole job on one machine (`npm start`): a generated shop with months of history,
 * recommendations built, the starter templates and sequences published, then weeks of new
 * orders replayed through the real HTTP API under a scaled clock while the real workers
 * enroll, render and send to an in-process SMTP inbox, and simulated recipients open, click
 * and buy through the real tracking links. At the end, the analytics report with the
 * planted truth beside its estimates.
 *
 * A little over 300 lines: one run owns every resource it starts (Redis, inbox, server,
 * workers) and its cleanups, and reads best as one story from start to report.
 */
import { loadSegmentSettings } from '../profiles/segments.ts';
import { consentReach, type ConsentReach } from '../store/consent.ts';
import { refillTruth, type RefillTruth } from './refill-truth.ts';
import { ShopifyFeed, storefrontLook, type StorefrontLook, type WebhookTally } from './platforms.ts';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Report } from '../analytics/report.ts';
import { lookAtRollups, type RollupLook } from './rollup-check.ts';
import { dashboardSettings } from '../dashboard/index.ts';
import { pacedClock, type PacedClock } from '../core/clock.ts';
import { CAUGHT_UP_HOURS, nextPace, type PaceSummary } from './pace.ts';
import { promoteOverdue } from '../engine/reconcile.ts';
import { earliestActiveDueAt } from '../store/enrollments.ts';
import { measurementWindowMs, type SequenceDefinition } from '../core/sequence.ts';
import type { Config } from '../config.ts';
import type { Database } from '../db/client.ts';
import { createEngine, startEngine } from '../engine/assemble.ts';
import { buildServer } from '../http/app.ts';
import { storefrontSettings } from '../http/routes/storefront.ts';
import { createTransport } from '../mail/transport.ts';
import { startRelay } from '../outbox/relay.ts';
import { longestWaitMs, type Queues } from '../queue/queues.ts';
import { connectRedis } from '../queue/redis.ts';
import { loadRules } from '../recs/rules.ts';
import { openConfiguredDatabase, openQueueConnection } from '../runtime.ts';
import { createEventSink } from '../tracking/events.ts';
import { startInbox, type Inbox } from './inbox.ts';
import { Recipients, type PlacedOrder, type SimOrder } from './recipients.ts';
import { ensureRedis } from './redis.ts';
import { applyStarters, seedShop } from './setup.ts';
import { creditLedger, truthChecks, type TruthCheck } from './truth.ts';
import { plantedFindings, type PlantedFinding } from './planted.ts';
import { prng } from '../core/random.ts';
import { basketMaker, customerPicker, demoCatalog, demoCustomers, plantedComplements, refills, type BasketLine } from './shop.ts';
import { UserError } from '../errors.ts';

const DAY = 86_400_000;
const HOUR = 3_600_000;

/**
 * The clock runs at `clockScale` while orders come in and for this many days after (the
 * busiest time: enrollments, thank-yous, accessories), then this many times faster while
 * the last steps go out and the measurement windows close.
 */
const BUSY_DAYS_AFTER_ORDERS = 4;
const TAIL_SPEEDUP = 5;

/** The demo's workers, in its one process. */
const CONCURRENCY = { enroll: 8, steps: 16 };

type App = Awaited<ReturnType<typeof buildServer>>;

export interface DemoOptions {
  customers: number;
  /** Days of order history before the replay (imported, sending nothing). */
  historyDays: number;
  /** Days of new orders replayed through the API. */
  days: number;
  /** New orders per replayed day. */
  ordersPerDay: number;
  /** Simulated seconds per real second while orders come in, and for a few days after. */
  clockScale: number;
  seed: number;
  /** Port of the HTTP server; 0 for any free one. */
  port: number;
  keepServing: boolean;
}

/**
 * `npm start`'s run: 25,000 customers, 120 orders a day from most of them (about two a
 * customer a year, as a real shop's) and about 50 more from the one customer in 25 who
 * refills a consumable every 10 to 25 days; two weeks of new orders under a clock of 8,000×
 * while they come in (40,000× after), about seven minutes in all on a 2-core machine
 * (PGlite; under five on Postgres). At this size the planted difference and discount are
 * found with high power (./planted.ts); `campaign sequences plan` says why smaller runs
 * cannot.
 */
export const DEMO_DEFAULTS = {
  customers: 25_000,
  historyDays: 90,
  days: 14,
  ordersPerDay: 120,
  clockScale: 8_000,
  // A seed whose customers' own orders (what no email changes) fall evenly between the
  // arms, so `npm start` shows a typical run; across seeds each interval holds the truth
  // about 95% of the time (docs/ARCHITECTURE.md, "The demo").
  seed: 15,
} as const;

export interface DemoResult {
  report: Report;
  checks: TruthCheck[];
  /** The planted difference, discount and null beside what the report says of them. */
  planted: PlantedFinding[];
  attributed: { engine: number; ledger: number };
  counts: { orders: number; emails: number; opens: number; clicks: number; purchases: number };
  /** The run's customers without marketing consent, their orders, and their enrollments in consent-required sequences (always 0). */
  consent: ConsentReach;
  /** The regulars' planted refill cycles beside their learned rhythm, and refill timing backtested on the replay. */
  replenish: RefillTruth;
  /** The orders that came as signed Shopify webhooks, each delivered twice. */
  webhooks: WebhookTally;
  /** A product page's recommendations from the storefront API, beside the planted truth. */
  storefront: StorefrontLook;
  /** How much the clock slowed to let the workers keep up (./pace.ts); 1 and 0 on a machine that kept up. */
  pace: PaceSummary;
  /** The report built from the rollups beside the same report from the raw rows: times, and whether they agree. */
  rollup: RollupLook;
  realSeconds: number;
}

export interface DemoOutput {
  line(text: string): void;
  /** Called with the result as soon as it is known (before --keep-serving waits). */
  finished?(result: DemoResult): void;
  /** Called about twice a second while the clock runs. */
  progress?(state: { day: number; days: number; orders: number; ordersPlanned: number; emails: number; events: number }): void;
}

export async function runDemo(settings: Config, options: DemoOptions, output: DemoOutput): Promise<DemoResult> {
  const started = Date.now();
  const cleanups: (() => Promise<void>)[] = [];
  const cleanup = async () => {
    for (const fn of cleanups.reverse()) await fn().catch(() => {});
  };
  try {
    const redis = await ensureRedis(settings.redisUrl);
    cleanups.push(() => redis.stop());
    output.line(redis.origin === 'started' ? `redis: started redis-server for this run at ${redis.url}` : `redis: ${redis.url}`);

    // The embedded database of a demo starts empty on every run, so the books start at zero.
    const demoDir = join(settings.dataDir, 'demo');
    if (!settings.databaseUrl) rmSync(demoDir, { recursive: true, force: true });
    const config: Config = {
      ...settings,
      dataDir: settings.databaseUrl ? settings.dataDir : demoDir,
      redisUrl: redis.url,
      // The demo runs on one Redis (its own, or REDIS_URL's), even where workers use a cluster.
      redisClusterNodes: undefined,
      queuePrefix: `demo-${randomBytes(3).toString('hex')}`,
      // Workers, the HTTP server and the recipients share this process's pool: a job that waits
      // for a connection holds the scaled clock's emails back by simulated hours.
      databasePoolSize: Math.max(settings.databasePoolSize, CONCURRENCY.enroll + CONCURRENCY.steps + 16),
      // The dashboard's figures at most 10 real seconds old: hours of the demo's clock, not weeks.
      dashboardSnapshotSeconds: Math.min(settings.dashboardSnapshotSeconds, 10),
    };
    const database = await openConfiguredDatabase(config, { migrate: true });
    cleanups.push(() => database.close());
    output.line(`database: ${database.location}`);

    await seedShop(database, config, options, output);
    const live = await applyStarters(database, config, output);

    return await replay(database, config, options, live, output, cleanups, started);
  } finally {
    await cleanup();
  }
}

/**
 * How many simulated hours the engine is behind: the most overdue step (the schedule-lag
 * gauge's reading) or the order that has waited longest to be enrolled, whichever is later.
 */
async function engineLateHours(db: Database['db'], enroll: Queues['enroll'], clock: PacedClock): Promise<number> {
  const [due, waited] = await Promise.all([earliestActiveDueAt(db), longestWaitMs(enroll)]);
  const stepLate = due ? (clock.now().getTime() - due.getTime()) / HOUR : 0;
  // A job's wait is in real time; the clock's current rate turns it into simulated time.
  return Math.max(0, stepLate, (waited / 1000) * hoursPerSecond(clock));
}

/** Simulated hours per real second at the clock's current pace. */
function hoursPerSecond(clock: PacedClock): number {
  return 1_000 / clock.realDelay(HOUR);
}

async function replay(
  database: Database,
  config: Config,
  options: DemoOptions,
  live: Map<string, SequenceDefinition>,
  output: DemoOutput,
  cleanups: (() => Promise<void>)[],
  realStart: number,
): Promise<DemoResult> {
  const db = database.db;
  const start = Date.now();
  const clock = pacedClock(
    [
      { scale: options.clockScale, until: start + (options.days + BUSY_DAYS_AFTER_ORDERS) * DAY },
      { scale: options.clockScale * TAIL_SPEEDUP },
    ],
    start,
  );
  const longestWindow = Math.max(...[...live.values()].map((d) => measurementWindowMs(d)));
  const end = start + options.days * DAY + longestWindow + DAY / 2;

  const catalog = demoCatalog();
  const random = prng(options.seed + 1);
  const ledger: SimOrder[] = [];
  const connection = await openQueueConnection(config);
  cleanups.push(async () => {
    const keys = await connection.redis.keys(`${config.queuePrefix}:*`);
    if (keys.length) await connection.redis.del(...keys);
    await connection.close();
  });

  // The inbox and the HTTP server first: tracking links in the emails must point at the
  // server, and the dashboard shows the inbox. Recipients start reading once both are up.
  let recipients: Recipients | undefined;
  const inbox: Inbox = await startInbox((email) => recipients?.receive(email));
  cleanups.push(() => inbox.close());
  const rules = await loadRules(config.recsRulesFile);
  const events = createEventSink(db);
  cleanups.push(() => events.close());
  const relay = startRelay(db, connection.queues, { intervalMs: 200 });
  // Every stop below may run twice (once before the report, again at cleanup): all are idempotent.
  cleanups.push(() => relay.stop());
  // The server's clock stops where the run ends, so a dashboard kept up shows the run's data.
  let frozenAt: Date | undefined;
  const serverClock = { ...clock, now: () => frozenAt ?? clock.now() };
  const shopifySecret = randomBytes(24).toString('hex');
  const storefrontKey = config.storefront.key ?? `demo-storefront-${randomBytes(12).toString('hex')}`;
  const app: App = await buildServer({
    db,
    apiToken: config.apiToken,
    bodyLimitBytes: config.apiBodyLimitBytes,
    relay,
    redis: connection.redis,
    codePoolLow: config.codePoolLow,
    tracking: {
      secret: config.secretKey,
      clock: serverClock,
      events,
      linkLifetimeDays: config.trackingLinkDays,
      expiredLinkUrl: config.shop.url,
    },
    reports: { attribution: config.attribution, minSample: config.reportMinSample },
    dashboard: dashboardSettings(config, { queues: connection.queues, rules, inbox, smtpUrl: inbox.url }),
    // The demo's shop is partly on Shopify, and has a storefront: both need a secret, made up for the run.
    storefront: storefrontSettings({ ...config, storefront: { ...config.storefront, key: storefrontKey } }, rules),
    webhooks: { shopifySecret, shopCurrency: config.shop.currency, shopUrl: config.shop.url },
  });
  cleanups.push(() => app.close());
  const baseUrl = await listen(app, config.host, options.port);
  output.line(
    `dashboard: ${baseUrl} (log in with the API token${config.apiToken === 'dev-token' ? ' "dev-token"' : ''}); API: ${baseUrl}/api`,
  );

  const shopify = new ShopifyFeed(baseUrl, shopifySecret, config.shop.currency);
  const placeOrder = async (order: PlacedOrder | PlacedOrder[]) => {
    const list = Array.isArray(order) ? order : [order];
    const viaApi = list.filter((o) => !ShopifyFeed.takes(o));
    if (viaApi.length) {
      const response = await fetch(`${baseUrl}/api/orders`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${config.apiToken}` },
        body: JSON.stringify(viaApi),
      });
      if (!response.ok) throw new Error(`POST /api/orders answered ${response.status}: ${await response.text()}`);
    }
    for (const o of list) if (ShopifyFeed.takes(o)) await shopify.deliver(o);
    for (const o of list)
      ledger.push({
        orderId: o.order_id,
        customer: o.customer_id,
        at: new Date(o.ordered_at),
        total: o.items.reduce((sum, i) => sum + i.quantity * Number(i.unit_price), 0),
        code: o.discount_code ?? null,
      });
  };
  let failure: unknown;
  const people = new Recipients({
    db,
    baseUrl,
    clock,
    catalog: new Map(catalog.map((p) => [p.sku, p])),
    complements: plantedComplements(),
    seed: options.seed,
    placeOrder,
    onError: (error) => (failure ??= error),
  });
  recipients = people;
  cleanups.push(() => people.stop());

  const transport = createTransport(inbox.url, { maxConnections: 4 });
  cleanups.push(async () => transport.close());
  const engine = createEngine({
    db,
    queues: connection.queues,
    clock,
    settings: {
      ...config,
      publicUrl: baseUrl,
      rules,
      segments: await loadSegmentSettings(config.segmentsFile),
      claimSeconds: config.claimSeconds,
    },
    transport,
  });
  const workerConnection = connectRedis(config, 'worker');
  workerConnection.on('error', () => {});
  cleanups.push(async () => workerConnection.disconnect());
  const running = startEngine(engine, {
    connection: workerConnection,
    prefix: config.queuePrefix,
    concurrency: CONCURRENCY,
    relay,
    reconcileEveryMs: 10_000,
    onError: () => {},
  });
  for (const worker of running.workers) worker.on('error', () => {});
  cleanups.push(() => running.stop());
  /** Everything that sends or acts; the server stays up for --keep-serving. */
  const stopEngine = async () => {
    await people.stop();
    await running.stop();
  };

  // Ctrl-C during the run stops it cleanly (servers closed, redis-server stopped).
  let interrupted = false;
  const interrupt = () => (interrupted = true);
  process.once('SIGINT', interrupt);
  process.once('SIGTERM', interrupt);
  cleanups.push(async () => {
    process.off('SIGINT', interrupt);
    process.off('SIGTERM', interrupt);
  });

  // New orders, spread over the replayed days, by the shop's existing customers.
  const basket = basketMaker(random, catalog);
  const customers = demoCustomers(options.customers, options.seed);
  const nextCustomer = customerPicker(random, customers);
  const planned: PlacedOrder[] = [];
  for (let day = 0; day < options.days; day++)
    for (let k = 0; k < options.ordersPerDay; k++) {
      const at = new Date(start + day * DAY + random() * DAY);
      const customer = nextCustomer();
      planned.push({
        order_id: `new-${day}-${k}`,
        customer_id: customer.id,
        ordered_at: at.toISOString(),
        items: orderItems(basket(customer)),
      });
    }
  // And the regulars' refills, on the cycles of their history, for as long as a measurement
  // window that opened during the replay can be open: a regular does not stop buying when
  // the replay's other orders do.
  refills(customers, catalog, start, start + (options.days * DAY + longestWindow), random).forEach((refill, n) =>
    planned.push({
      order_id: `new-r${n + 1}`,
      customer_id: refill.customer.id,
      ordered_at: new Date(refill.at).toISOString(),
      items: orderItems(refill.lines),
    }),
  );
  planned.sort((a, b) => a.ordered_at.localeCompare(b.ordered_at));

  let next = 0;
  let lastLine = Date.now();
  // The clock waits for the workers: twice a second, how late the engine is sets its pace.
  const pace: PaceSummary = { slowest: 1, slowedSeconds: 0, latestHours: 0 };
  let lastPaced = Date.now();
  while (clock.now().getTime() < end) {
    if (failure) throw asError(failure);
    if (interrupted) throw new UserError('interrupted: the demo stopped before its end, so there is no report');
    const now = clock.now().toISOString();
    const due: PlacedOrder[] = [];
    while (next < planned.length && planned[next]!.ordered_at <= now && due.length < 500) due.push(planned[next++]!);
    if (due.length) await placeOrder(due);
    if (Date.now() - lastPaced >= 500) {
      if (clock.pace() < 1) pace.slowedSeconds += (Date.now() - lastPaced) / 1000;
      lastPaced = Date.now();
      let late = await engineLateHours(db, connection.queues.enroll, clock);
      // A step job whose delay was computed at a slower pace fires late once the clock speeds
      // up again: run those now (as the reconciler would on its next pass), then measure again.
      if (late > CAUGHT_UP_HOURS && (await promoteOverdue(engine, 500)) > 0)
        late = await engineLateHours(db, connection.queues.enroll, clock);
      pace.latestHours = Math.max(pace.latestHours, late);
      clock.setPace(nextPace(clock.pace(), late, hoursPerSecond(clock)));
      pace.slowest = Math.min(pace.slowest, clock.pace());
    }
    const state = {
      day: Math.min((clock.now().getTime() - start) / DAY, (end - start) / DAY),
      days: (end - start) / DAY,
      orders: ledger.length,
      ordersPlanned: planned.length,
      emails: people.counts.emails,
      events: people.counts.opens + people.counts.clicks,
    };
    if (output.progress) output.progress(state);
    else if (Date.now() - lastLine > 15_000) {
      lastLine = Date.now();
      output.line(
        `day ${state.day.toFixed(1)} of ${state.days.toFixed(0)}: ${state.orders} orders, ${state.emails} emails, ${state.events} opens and clicks`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const asOf = new Date(end);
  await stopEngine();
  frozenAt = asOf;
  process.off('SIGINT', interrupt);
  process.off('SIGTERM', interrupt);
  if (failure) throw asError(failure);

  const { report, look: rollup } = await lookAtRollups(db, { asOf, attribution: config.attribution, minSample: config.reportMinSample });
  const checks = await truthChecks(database, report, people.expected, live, asOf);
  const attributed = {
    engine: round2(report.sequences.flatMap((s) => s.versions.flatMap((v) => v.arms)).reduce((sum, arm) => sum + arm.attributedRevenue, 0)),
    ledger: round2(await creditLedger(database, ledger, people.touches, config, asOf)),
  };

  const result = {
    report,
    checks,
    planted: plantedFindings(report, checks),
    attributed,
    counts: {
      orders: ledger.length,
      emails: people.counts.emails,
      opens: people.counts.opens,
      clicks: people.counts.clicks,
      purchases: people.counts.purchases,
    },
    consent: await consentReach(db, new Date(start)),
    replenish: await refillTruth(db, customers, catalog, new Date(start)),
    webhooks: shopify.tally,
    storefront: await storefrontLook(baseUrl, storefrontKey, catalog),
    pace,
    rollup,
    realSeconds: (Date.now() - realStart) / 1000,
  };
  output.finished?.(result);
  if (options.keepServing) {
    output.line(`\nstill serving the dashboard at ${baseUrl}; Ctrl-C stops it`);
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
  }
  return result;
}

async function listen(app: App, host: string, port: number): Promise<string> {
  try {
    await app.listen({ host, port });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
    await app.listen({ host, port: 0 });
  }
  const address = app.server.address();
  const actual = typeof address === 'object' && address ? address.port : port;
  return `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${actual}`;
}

/** A basket's lines as the API's order items. */
function orderItems(lines: readonly BasketLine[]): PlacedOrder['items'] {
  return lines.map((line) => ({ sku: line.product.sku, quantity: line.quantity, unit_price: line.product.price.toFixed(2) }));
}

function round2(value: number): number {
  return Math.round(value * 100) / 100;
}

function asError(value: unknown): Error {
  return value instanceof Error ? value : new Error(String(value));
}
