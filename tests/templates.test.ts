import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { verifyToken } from '../src/core/tokens.ts';
import { checkTemplates } from '../src/templates/check.ts';
import { compileTemplate, type CompiledTemplate } from '../src/templates/compile.ts';
import { Renderer, unsubscribeUrl } from '../src/templates/render.ts';
import { sampleContext } from '../src/templates/sample-context.ts';
import { emailNames, loadTemplateFiles } from '../src/templates/source.ts';
import { formatDiagnostic } from '../src/errors.ts';

const TEMPLATES = new URL('../templates/', import.meta.url).pathname;
const PUBLIC_URL = 'https://track.example';
const SECRET = 'a-test-secret-that-is-long-enough-1234';
const STARTERS = ['accessories', 'replenish-review', 'replenish-short', 'thank-you', 'upgrade'];

const sendContext = (messageId: number) => {
  const context = sampleContext();
  context.links.unsubscribe = unsubscribeUrl(PUBLIC_URL, SECRET, messageId, 42);
  return context;
};
const send = (messageId: number) => ({ mode: 'send' as const, publicUrl: PUBLIC_URL, secret: SECRET, messageId });

describe('starter templates', () => {
  const compiled = new Map<string, CompiledTemplate>();
  beforeAll(async () => {
    const set = await loadTemplateFiles(TEMPLATES);
    expect(emailNames(set).sort()).toEqual(STARTERS);
    for (const name of STARTERS) {
      const result = await compileTemplate(set, name);
      expect(result.diagnostics.map(formatDiagnostic)).toEqual([]);
      compiled.set(name, result.compiled!);
    }
  });

  it.each(STARTERS)('%s renders for a sample context, with subject, HTML and text', (name) => {
    const email = new Renderer(compiled.get(name)!).render(sendContext(9), send(9));
    expect(email.subject).not.toMatch(/\{\{|undefined/);
    expect(email.subject.length).toBeGreaterThan(10);
    expect(email.fromName).toBe('Demo Coffee');
    expect(email.html).toMatch(/^<!doctype html>/i);
    expect(email.html).not.toMatch(/\{\{|\}\}/);
    expect(email.html).toContain('1 Roastery Lane');
    expect(email.text.length).toBeGreaterThan(200);
    expect(email.text).not.toMatch(/<[a-z][^>]*>/i);
    expect(email.text).toContain('Unsubscribe');
    const shown = [...sampleContext().recommendations, ...sampleContext().upsells].filter((p) => email.html.includes(p.name));
    expect(shown.length).toBeGreaterThan(0);
    for (const product of shown) expect(email.text).toContain(product.name);
  });

  it.each(STARTERS)('%s: every link is a tracking link, and the open pixel is there', (name) => {
    const email = new Renderer(compiled.get(name)!).render(sendContext(77), send(77));
    const hrefs = [...email.html.matchAll(/<a\b[^>]*?\bhref="([^"]*)"/gi)].map((m) => m[1]!);
    expect(hrefs.length).toBeGreaterThan(3);
    for (const href of hrefs) {
      if (href.startsWith('mailto:')) continue;
      if (href.startsWith(`${PUBLIC_URL}/u/`)) {
        expect(verifyToken(href.slice(`${PUBLIC_URL}/u/`.length), SECRET)).toEqual({ kind: 'unsubscribe', message: 77, customer: 42 });
        continue;
      }
      const [, token, index] = /^https:\/\/track\.example\/t\/c\/([^/]+)\/(\d+)$/.exec(href) ?? [];
      expect(token, href).toBeDefined();
      expect(verifyToken(token!, SECRET)).toEqual({ kind: 'message', message: 77 });
      expect(email.links[Number(index)]).toMatch(/^https:\/\/shop\.example\//);
    }
    expect(hrefs.some((h) => h.startsWith(`${PUBLIC_URL}/u/`))).toBe(true);
    const pixel = [...email.html.matchAll(/<img\b[^>]*src="([^"]*\/t\/o\/[^"]*)"/g)].map((m) => m[1]!);
    expect(pixel).toHaveLength(1);
    expect(verifyToken(pixel[0]!.replace(`${PUBLIC_URL}/t/o/`, '').replace(/\.gif$/, ''), SECRET)).toEqual({
      kind: 'message',
      message: 77,
    });
    // The text part carries the same tracking links, never a bare destination.
    for (const url of email.text.match(/https?:\/\/\S+/g) ?? []) expect(url.startsWith(PUBLIC_URL)).toBe(true);
  });

  it('escapes hostile product and customer data', () => {
    const context = sendContext(5);
    context.recommendations[0]!.name = '<script>alert("x")</script><img src=x onerror=alert(1)>';
    context.recommendations[0]!.url = 'https://shop.example/p/x" onmouseover="alert(1)';
    context.customer.greetingName = '<b>Mallory</b>';
    const email = new Renderer(compiled.get('thank-you')!).render(context, send(5));
    expect(email.html).not.toContain('<script>alert');
    expect(email.html).not.toContain('<img src=x');
    expect(email.html).not.toContain('<b>Mallory</b>');
    expect(email.html).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;');
    expect(email.html).toContain('&lt;b&gt;Mallory&lt;/b&gt;');
    expect(email.html).not.toMatch(/" onmouseover="/);
    // The stored destination is the real URL, so the redirect goes where the shop said.
    expect(email.links).toContain('https://shop.example/p/x" onmouseover="alert(1)');
  });

  it('renders by calling the compiled functions only (no MJML at send time)', () => {
    const renderer = new Renderer(compiled.get('upgrade')!);
    const first = renderer.render(sendContext(1), send(1));
    const second = renderer.render(sendContext(2), send(2));
    expect(first.html).not.toBe(second.html);
    expect(first.links).toEqual(second.links);
    expect(compiled.get('upgrade')!.html).toContain('{{trackHref url}}');
    expect(compiled.get('upgrade')!.html).not.toContain('<mj-');
  });
});

describe('templates check', () => {
  let dir: string;
  const write = (file: string, content: string) => writeFileSync(join(dir, file), content);
  const lineOf = (file: string, needle: string) =>
    readFileSync(join(dir, file), 'utf8')
      .split('\n')
      .findIndex((l) => l.includes(needle)) + 1;
  const check = async (name: string) => (await checkTemplates(await loadTemplateFiles(dir), [name])).diagnostics.map(formatDiagnostic);

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'campaign-templates-'));
    cpSync(TEMPLATES, dir, { recursive: true });
  });
  const email = (body: string, front = 'subject: "Hello {{customer.greetingName}}"') =>
    `---\n${front}\n---\n<mj-section>\n  <mj-column>\n${body}\n  </mj-column>\n</mj-section>\n`;

  it('passes the starter templates', async () => {
    const report = await checkTemplates(await loadTemplateFiles(TEMPLATES));
    expect(report.diagnostics).toEqual([]);
    expect(report.compiled).toHaveLength(STARTERS.length);
  });

  it('reports an MJML error at its file:line', async () => {
    write('emails/bad-mjml.mjml', email('    <mj-text>fine</mj-text>\n    <mj-bogus>oops</mj-bogus>'));
    const line = lineOf('emails/bad-mjml.mjml', 'mj-bogus');
    expect(await check('bad-mjml')).toContainEqual(
      expect.stringMatching(new RegExp(`emails/bad-mjml\\.mjml:${line}: error: MJML: .*mj-bogus`)),
    );
  });

  it('reports a Handlebars parse error at its file:line', async () => {
    write(
      'emails/bad-hbs.mjml',
      email('    <mj-text>one</mj-text>\n    <mj-text>{{#if customer.firstName}}Hi</mj-text>\n    <mj-text>three {{/each}}</mj-text>'),
    );
    const diagnostics = await check('bad-hbs');
    expect(diagnostics).toHaveLength(1);
    const open = lineOf('emails/bad-hbs.mjml', '{{#if');
    const close = lineOf('emails/bad-hbs.mjml', '{{/each}}');
    expect(diagnostics[0]).toMatch(
      new RegExp(
        `emails/bad-hbs\\.mjml:${open}: error: Handlebars: \\{\\{#if\\}\\} opened here is closed by \\{\\{/each\\}\\} at .*emails/bad-hbs\\.mjml:${close}$`,
      ),
    );
  });

  it('reports a variable that is not in the render context, and an unknown helper', async () => {
    write(
      'emails/bad-var.mjml',
      email(
        '    <mj-text>{{customer.favouriteColour}}</mj-text>\n    <mj-raw>{{#each upsells}}</mj-raw><mj-text>{{nmae}} {{shout name}}</mj-text><mj-raw>{{/each}}</mj-raw>',
      ),
    );
    const diagnostics = await check('bad-var');
    expect(diagnostics).toContainEqual(
      expect.stringMatching(
        new RegExp(
          `emails/bad-var\\.mjml:${lineOf('emails/bad-var.mjml', 'favouriteColour')}: error: "customer.favouriteColour" is not in the render context`,
        ),
      ),
    );
    expect(diagnostics).toContainEqual(
      expect.stringMatching(
        new RegExp(`emails/bad-var\\.mjml:${lineOf('emails/bad-var.mjml', 'nmae')}: error: "nmae" is not in the render context`),
      ),
    );
    expect(diagnostics).toContainEqual(expect.stringMatching(/error: unknown helper "shout"/));
  });

  it('reports an error inside a partial at the partial file:line', async () => {
    write('partials/broken-card.mjml', '<mj-text>\n  {{money priceee}}\n</mj-text>\n');
    write('emails/uses-broken.mjml', email('{{> broken-card}}'));
    expect(await check('uses-broken')).toContainEqual(
      expect.stringMatching(/partials\/broken-card\.mjml:2: error: "priceee" is not in the render context/),
    );
  });

  it('reports a missing unsubscribe link', async () => {
    write('layouts/bare.mjml', '<mjml>\n  <mj-body>\n    {{> content}}\n  </mj-body>\n</mjml>\n');
    write('emails/no-unsub.mjml', email('    <mj-text>Hi</mj-text>', 'subject: "Hi"\nlayout: bare'));
    expect(await check('no-unsub')).toContainEqual(expect.stringMatching(/emails\/no-unsub\.mjml:1: error: no unsubscribe link/));
  });

  it('warns about HTML over 102 KB and images without alt text', async () => {
    write(
      'emails/huge.mjml',
      email(
        `    <mj-text>${'Lorem ipsum dolor sit amet. '.repeat(4_000)}</mj-text>\n    <mj-image src="https://shop.example/banner.jpg" />`,
      ),
    );
    const diagnostics = await check('huge');
    expect(diagnostics).toContainEqual(expect.stringMatching(/emails\/huge\.mjml:1: warning: rendered HTML is \d+ KB .*102 KB/));
    expect(diagnostics).toContainEqual(
      expect.stringMatching(new RegExp(`emails/huge\\.mjml:${lineOf('emails/huge.mjml', 'banner.jpg')}: warning: image without alt text`)),
    );
    expect(diagnostics.filter((d) => d.includes(': error: '))).toEqual([]);
  });

  it('reports bad front matter', async () => {
    write('emails/no-subject.mjml', email('    <mj-text>Hi</mj-text>', 'preheader: "x"'));
    expect(await check('no-subject')).toContainEqual(expect.stringMatching(/emails\/no-subject\.mjml:2: error: front matter: subject/));
  });
});
