/**
 * Per-recipient rendering: the compiled path (precompiled Handlebars for HTML, text and
 * subject) beside the naive path (Handlebars on the MJML source, then mjml2html and
 * html-to-text, for every recipient), on the starter templates, in one run. Both paths
 * produce the same sendable parts: subject, HTML and plain text.
 */
import { join } from 'node:path';
import { convert } from 'html-to-text';
import mjml2html from 'mjml';
import { signToken } from '../src/core/tokens.ts';
import { compileTemplate } from '../src/templates/compile.ts';
import { createHandlebars, KNOWN_HELPERS } from '../src/templates/handlebars.ts';
import { Renderer } from '../src/templates/render.ts';
import { sampleContext } from '../src/templates/sample-context.ts';
import { emailNames, loadTemplateFiles } from '../src/templates/source.ts';
import { timed, type Benchmark } from './harness.ts';

const TARGET = 200;
const ROUNDS = 5;

/** What a naive engine does to rendered HTML for tracking: rewrite hrefs, add a pixel. */
function naiveTracking(html: string, messageId: number): string {
  const token = signToken({ kind: 'message', message: messageId }, 'bench-secret-bench-secret-bench-secret');
  const links: string[] = [];
  return html
    .replace(/(<a\b[^>]*?\bhref=")([^"]*)"/gi, (_whole, prefix: string, href: string) => {
      if (href.startsWith('mailto:')) return `${prefix}${href}"`;
      let index = links.indexOf(href);
      if (index < 0) index = links.push(href) - 1;
      return `${prefix}https://t.example/t/c/${token}/${index}"`;
    })
    .replace('</body>', `<img src="https://t.example/t/o/${token}.gif" width="1" height="1" alt="" /></body>`);
}

export const renderBenchmark: Benchmark = {
  name: 'render',
  async run({ quick }) {
    const set = await loadTemplateFiles(join(process.cwd(), 'templates'));
    const hb = createHandlebars();
    const fast = quick ? 500 : 3_000;
    const slow = quick ? 10 : 50;
    let compiledSeconds = 0;
    let naiveSeconds = 0;
    let compiledCount = 0;
    let naiveCount = 0;
    for (const name of emailNames(set)) {
      const result = await compileTemplate(set, name);
      const renderer = new Renderer(result.compiled!);
      const mjmlTemplate = hb.compile(result.assembled!.mjml, { knownHelpers: KNOWN_HELPERS, knownHelpersOnly: true });
      const subject = hb.compile(result.compiled!.frontMatter.subject, { noEscape: true });
      const contexts = Array.from({ length: fast }, (_, i) => ({
        ...sampleContext(),
        customer: { ...sampleContext().customer, greetingName: `Customer ${i}` },
      }));
      let messageId = 0;
      const compiledRound = (list: typeof contexts) =>
        timed(async () => {
          for (const context of list)
            renderer.render(context, {
              mode: 'send',
              publicUrl: 'https://t.example',
              secret: 'bench-secret-bench-secret-bench-secret',
              messageId: ++messageId,
            });
        });
      // The naive engine makes the same email per recipient: subject; HTML from MJML (with
      // its default options) with every link made a signed tracking link and the open pixel
      // added; and the plain-text part.
      const naiveRound = (list: typeof contexts) =>
        timed(async () => {
          for (const context of list) {
            subject({ ...context, preheader: '' });
            const { html } = await mjml2html(mjmlTemplate({ ...context, preheader: '' }));
            const tracked = naiveTracking(html, ++messageId);
            convert(tracked, { wordwrap: false });
          }
        });
      // Warm both paths up, then alternate rounds so machine noise falls on both alike.
      await compiledRound(contexts.slice(0, 300));
      await naiveRound(contexts.slice(0, 3));
      for (let round = 0; round < ROUNDS; round++) {
        const compiled = await compiledRound(contexts.slice(0, fast / ROUNDS));
        const naive = await naiveRound(contexts.slice(0, slow / ROUNDS));
        compiledSeconds += compiled.seconds;
        compiledCount += fast / ROUNDS;
        naiveSeconds += naive.seconds;
        naiveCount += slow / ROUNDS;
      }
    }
    const value = compiledCount / compiledSeconds;
    const baseline = naiveCount / naiveSeconds;
    return [
      {
        name: 'render per recipient (4 starter emails)',
        unit: 'emails/s',
        value,
        baselineName: 'per recipient: Handlebars, mjml2html, link tracking, html-to-text',
        baseline,
        ratio: value / baseline,
        target: `>= ${TARGET}`,
        met: value / baseline >= TARGET,
      },
    ];
  },
};
