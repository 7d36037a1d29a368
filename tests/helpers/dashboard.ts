/**
 * What the dashboard's browser tests share: the seeded sequence `exp` and its moments, the
 * server served to headless Chromium, pages that record their console errors, logging in,
 * and sending real emails into the captured inbox at the dashboard's moment.
 */
import { sql } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../../scripts/browser.ts';
import { fixedClock } from '../../src/core/clock.ts';
import { queryRows, type Db } from '../../src/db/client.ts';
import type { Inbox } from '../../src/demo/inbox.ts';
import { createEngine } from '../../src/engine/assemble.ts';
import type { Engine } from '../../src/engine/context.ts';
import { importRows } from '../../src/ingest/import.ts';
import { openRows } from '../../src/ingest/read.ts';
import { createTransport } from '../../src/mail/transport.ts';
import { buildStatistics } from '../../src/recs/build.ts';
import { prepareShop, SENDING } from './engine.ts';
import { FIXTURES } from './files.ts';
import type { TestQueues } from './redis.ts';

const DAY = 86_400_000;
/** When the seeded enrollments begin. */
export const T0 = Date.parse('2026-05-04T09:00:00Z');
/** The dashboard's moment, 40 days after T0. */
export const AS_OF = new Date(T0 + 40 * DAY);

/** The sequence `exp`, named `name`: arms a and b, a 20% holdout, two steps, a 10-day window. */
const expSequence = (name: string) => `
id: exp
name: ${JSON.stringify(name)}
trigger: { event: order_placed }
holdout: 20%
variants: [{ key: a, weight: 1 }, { key: b, weight: 1 }]
steps:
  - { delay: 1h, template: thank-you }
  - { delay: 2d, template: accessories }
measurement_window: 10d
`;

/** The test shop with `exp` (named `name`) applied, the fixture's orders imported and their recommendations built. */
export async function prepareExpShop(db: Db, name: string): Promise<void> {
  await prepareShop(db, expSequence(name));
  await importRows(db, 'orders', await openRows(`${FIXTURES}orders.csv`, 'csv'), { batchSize: 100 });
  await buildStatistics(db, { full: true, neighbours: 10 });
}

/** Serves `app` on a free local port and launches Chromium: the base URL and the browser. */
export async function serveToChromium(app: FastifyInstance): Promise<{ base: string; browser: Browser }> {
  const base = await app.listen({ host: '127.0.0.1', port: 0 });
  return { base, browser: await launchChromium() };
}

/** `page`, its console errors and uncaught exceptions pushed to `problems` as `${label}${url}: ${text}`. */
export function recordingErrors(page: Page, problems: string[], label = ''): Page {
  page.on('console', (message) => message.type() === 'error' && problems.push(`${label}${page.url()}: ${message.text()}`));
  page.on('pageerror', (error) => problems.push(`${label}${page.url()}: ${error.message}`));
  return page;
}

/** Goes to `url` (a stranger is sent to the login page), logs in with `secret` and `name` (for the audit log) if given. */
export async function logInAt(page: Page, url: string, secret: string, name?: string): Promise<Page> {
  await page.goto(url);
  await page.fill('input[name=secret]', secret);
  if (name !== undefined) await page.fill('input[name=name]', name);
  await Promise.all([page.waitForLoadState('load'), page.click('button[type=submit]')]);
  return page;
}

/** An engine on a clock fixed at AS_OF, sending for the test shop (signed with `secret`) into `inbox`. */
export function inboxEngine(db: Db, queues: TestQueues, inbox: Inbox, secret: string): Engine {
  return createEngine({
    db,
    queues: queues.queues,
    clock: fixedClock(AS_OF),
    settings: { ...SENDING, secretKey: secret },
    transport: createTransport(inbox.url),
  });
}

/** An active enrollment of `customer` in arm a of `exp`'s version `version`, after `order`, its first step due at AS_OF: its id. */
export async function dueEnrollment(db: Db, customer: number, version: number, order: number): Promise<number> {
  const [enrollment] = await queryRows<{ id: number }>(
    db,
    sql`insert into enrollments (customer_id, sequence_id, sequence_version_id, arm, is_holdout, trigger_order_id, state, next_step, next_due_at, enrolled_at)
        values (${customer}, 'exp', ${version}, 'a', false, ${order}, 'active', 0, ${AS_OF.toISOString()}, ${AS_OF.toISOString()}) returning id`,
  );
  return enrollment!.id;
}
