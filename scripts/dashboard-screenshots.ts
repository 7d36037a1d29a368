/**
 * `npm run screenshots:dashboard`: serves the dashboard on the demo's database (after
 * `npm start`; or the configured DATABASE_URL / DATA_DIR), logs in with the API token and
 * saves a screenshot of each page at 375 and 1280 px into docs/images/ (the README shows
 * them), as of the last order (the demo's clock runs ahead of real time).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../src/config.ts';
import { fixedClock } from '../src/core/clock.ts';
import { dashboardSettings } from '../src/dashboard/index.ts';
import { buildServer } from '../src/http/app.ts';
import { loadRules } from '../src/recs/rules.ts';
import { listSequences } from '../src/store/sequences.ts';
import { firstEmailedCustomer } from '../src/store/customer-history.ts';
import { latestOrderTime } from '../src/store/orders.ts';
import { openConfiguredDatabase } from '../src/runtime.ts';
import { liveDefinition } from '../src/analytics/series.ts';
import { recipientsLink } from '../src/dashboard/views/links.ts';
import { launchChromium } from './browser.ts';

const settings = loadConfig({ DATA_DIR: process.env.DATABASE_URL ? undefined : join('.data', 'demo'), ...process.env });
const database = await openConfiguredDatabase(settings);
// The demo's clock runs weeks ahead of real time: show its data as of its last order.
const asOf = await latestOrderTime(database.db);
const app = await buildServer({
  db: database.db,
  clock: fixedClock(asOf),
  apiToken: settings.apiToken,
  bodyLimitBytes: settings.apiBodyLimitBytes,
  reports: { attribution: settings.attribution, minSample: settings.reportMinSample },
  dashboard: dashboardSettings(settings, { rules: await loadRules(settings.recsRulesFile) }),
});
const base = await app.listen({ host: '127.0.0.1', port: 0 });
const out = join(process.cwd(), 'docs', 'images');
mkdirSync(out, { recursive: true });
const sequences = await listSequences(database.db);
const browser = await launchChromium();
try {
  // A customer with emails, for the preview and messages pages; the first sequence's control, for a drill-down.
  const someone = encodeURIComponent((await firstEmailedCustomer(database.db)) ?? '');
  const first = sequences[0];
  // The first sequence's control, for the recipients behind one of its funnel cells.
  const control = first && (await liveDefinition(database.db, first.id))?.definition.variants[0]?.key;
  const pages: [string, string][] = [
    ['overview', '/'],
    ...sequences.map((s): [string, string] => [`sequence-${s.id}`, `/sequences/${s.id}`]),
    ...(first
      ? ([
          ['pause', `/sequences/${first.id}/pause`],
          ['end-test', `/sequences/${first.id}/end`],
          ['recipients', recipientsLink({ sequence: first.id, arm: control ?? '', stage: 'opened' })],
        ] as [string, string][])
      : []),
    ['preview', `/preview?customer=${someone}`],
    ['messages', `/messages?customer=${someone}`],
    ['queues', '/admin/queues'],
  ];
  for (const width of [1280, 375]) {
    const page = await browser.newPage({ viewport: { width, height: 900 } });
    await page.goto(`${base}/login`);
    await page.screenshot({ path: join(out, `dashboard-login-${width}.png`) });
    await page.fill('input[name=secret]', settings.apiToken);
    await Promise.all([page.waitForURL(`${base}/`), page.click('button[type=submit]')]);
    for (const [name, path] of pages) {
      await page.goto(`${base}${path}`, { waitUntil: 'networkidle' });
      const file = join(out, `dashboard-${name}-${width}.png`);
      await page.screenshot({ path: file, fullPage: true });
      process.stdout.write(`${file}\n`);
    }
    await page.close();
  }
} finally {
  await browser.close();
  await app.close();
  await database.close();
}
