/**
 * `npm run screenshots`: renders every starter email with the sample context and saves a
 * screenshot of each at 600 px (desktop) and 375 px (mobile) into screenshots/emails/.
 * Images point at a placeholder host, so the page is shown with product images replaced by
 * grey boxes (no network is used).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { compileTemplate } from '../src/templates/compile.ts';
import { Renderer } from '../src/templates/render.ts';
import { sampleContext } from '../src/templates/sample-context.ts';
import { emailNames, loadTemplateFiles } from '../src/templates/source.ts';
import { launchChromium } from './browser.ts';
import { formatDiagnostic } from '../src/errors.ts';

const out = join(process.cwd(), 'screenshots', 'emails');
mkdirSync(out, { recursive: true });
const set = await loadTemplateFiles(join(process.cwd(), 'templates'));
const browser = await launchChromium();
try {
  for (const name of emailNames(set)) {
    const result = await compileTemplate(set, name);
    if (!result.compiled) throw new Error(result.diagnostics.map(formatDiagnostic).join('\n'));
    const html = new Renderer(result.compiled).render(sampleContext(), { mode: 'preview' }).html;
    for (const width of [600, 375]) {
      const page = await browser.newPage({ viewport: { width, height: 800 } });
      // Product images live on the shop's host; answer them with a neutral placeholder.
      await page.route('**/*', (route) =>
        route.request().url().startsWith('data:')
          ? route.continue()
          : route.fulfill({ contentType: 'image/svg+xml', body: placeholder(route.request().url()) }),
      );
      await page.setContent(html, { waitUntil: 'load' });
      const file = join(out, `${name}-${width}.png`);
      await page.screenshot({ path: file, fullPage: true });
      await page.close();
      process.stdout.write(`${file}\n`);
    }
  }
} finally {
  await browser.close();
}

function placeholder(url: string): string {
  const label = decodeURIComponent(url.split('/').pop() ?? '').replace(/\.jpg$/, '');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="400" height="300"><rect width="400" height="300" fill="#d9d3c7"/><text x="200" y="155" font-family="Helvetica" font-size="22" text-anchor="middle" fill="#6b6356">${label}</text></svg>`;
}
