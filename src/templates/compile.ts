/**
 * The compile pipeline, run once per template version:
 *   assemble (layout + partials) → MJML → HTML, Handlebars kept intact (loops included)
 *   → every link wrapped in {{#trackLink}}, an open pixel added
 *   → a plain-text twin made with html-to-text, Handlebars kept intact too
 *   → both checked to compile with the private Handlebars instance.
 * Sending then only runs the compiled Handlebars functions (see render.ts).
 */
import { createHash } from 'node:crypto';
import Handlebars from 'handlebars';
import { convert } from 'html-to-text';
import { createHandlebars, KNOWN_HELPERS } from './handlebars.ts';
import { assemble, originOf, type AssembledTemplate, type FrontMatter, type TemplateFiles } from './source.ts';
import { checkVariables } from './variables.ts';
import { TemplateError, type Diagnostic } from '../errors.ts';

/** Bumped when the pipeline changes what it produces, so content hashes change with it. */
export const COMPILER_VERSION = 1;

/** What a template version stores: enough to render without MJML or the source files. */
export interface CompiledTemplate {
  name: string;
  /** sha256 of the source files and the compiler version: the version's identity. */
  contentHash: string;
  frontMatter: FrontMatter;
  /** HTML with Handlebars expressions, links wrapped for tracking, the pixel in place. */
  html: string;
  /** The plain-text twin, Handlebars too. */
  text: string;
  /** Number of `<a href>` links in the HTML, for checks and reports. */
  linkCount: number;
}

export interface CompileResult {
  compiled?: CompiledTemplate;
  assembled?: AssembledTemplate;
  diagnostics: Diagnostic[];
}

const hb = createHandlebars();
const TRACKED_HREF = /(<a\b[^>]*?\bhref\s*=\s*)("([^"]*)"|'([^']*)')/gi;
const UNTRACKED = /^(mailto:|tel:|#|\{\{#trackLink\}\}|\{\{trackHref )/i;
const ONE_VALUE = /^\{\{\s*(@?[\w./]+)\s*\}\}$/;

/** Compiles one email. Errors are returned as diagnostics, never thrown. */
export async function compileTemplate(set: TemplateFiles, name: string): Promise<CompileResult> {
  let assembled: AssembledTemplate;
  try {
    assembled = assemble(set, name);
  } catch (error) {
    if (error instanceof TemplateError) return { diagnostics: error.diagnostics };
    throw error;
  }
  const at = (line: number) => originOf(assembled, line);
  const diagnostics: Diagnostic[] = [];

  // Handlebars first: a parse error would otherwise surface as nonsense from MJML.
  const { subject, preheader, from_name: fromName = '' } = assembled.frontMatter;
  for (const [field, text] of [
    ['subject', subject],
    ['preheader', preheader],
    ['from_name', fromName],
  ] as const) {
    const problem = handlebarsProblem(text);
    if (problem) diagnostics.push({ file: emailPath(assembled), line: 2, severity: 'error', message: `${field}: ${problem.message}` });
    else
      for (const p of checkVariables(text))
        diagnostics.push({ file: emailPath(assembled), line: 2, severity: 'error', message: `${field}: ${p.message}` });
  }
  const parseProblem = handlebarsProblem(assembled.mjml);
  if (parseProblem) {
    // "if doesn't match each - 30:16" locates the opening tag; find the closing one too.
    const mismatch = /^(\S+) doesn't match (\S+) - \d+:\d+$/.exec(parseProblem.message);
    let message = parseProblem.message;
    if (mismatch) {
      const lines = assembled.mjml.split('\n');
      const closeAt = lines.findIndex((l, i) => i >= parseProblem.line - 1 && l.includes(`{{/${mismatch[2]}`));
      const closing = closeAt >= 0 ? at(closeAt + 1) : undefined;
      message = `{{#${mismatch[1]}}} opened here is closed by {{/${mismatch[2]}}}${closing ? ` at ${closing.file}:${closing.line}` : ''}`;
    }
    diagnostics.push({ ...at(parseProblem.line), severity: 'error', message: `Handlebars: ${message}` });
    return { assembled, diagnostics };
  }
  for (const p of checkVariables(assembled.mjml)) diagnostics.push({ ...at(p.line), severity: 'error', message: p.message });

  // Loaded on first use: mjml takes a large share of a command's start-up, and most commands never compile.
  const { default: mjml2html } = await import('mjml');
  const result = (await mjml2html(assembled.mjml, { validationLevel: 'soft', keepComments: false })) as unknown as {
    html: string;
    errors: { line: number; message: string }[];
  };
  for (const error of result.errors) diagnostics.push({ ...at(error.line), severity: 'error', message: `MJML: ${error.message}` });

  const { html, linkCount } = trackLinks(result.html);
  const text = toText(html);
  for (const [part, source] of [
    ['html', html],
    ['text', text],
  ] as const) {
    try {
      hb.precompile(source, { knownHelpers: KNOWN_HELPERS, knownHelpersOnly: true });
    } catch (error) {
      diagnostics.push({
        file: emailPath(assembled),
        line: 1,
        severity: 'error',
        message: `the compiled ${part} part does not compile: ${(error as Error).message}`,
      });
    }
  }
  if (diagnostics.some((d) => d.severity === 'error')) return { assembled, diagnostics };
  return {
    assembled,
    diagnostics,
    compiled: { name, contentHash: contentHash(assembled), frontMatter: assembled.frontMatter, html, text, linkCount },
  };
}

/** The file of the email itself among those assembled. */
export function emailPath(assembled: AssembledTemplate): string {
  const origin = assembled.origins.find((o) => o.file.endsWith(`emails/${assembled.name}.mjml`));
  return origin?.file ?? `templates/emails/${assembled.name}.mjml`;
}

function handlebarsProblem(source: string): { line: number; message: string } | undefined {
  try {
    Handlebars.parse(source);
    return undefined;
  } catch (error) {
    const message = (error as Error).message;
    const located = (error as { lineNumber?: number }).lineNumber;
    const line = located ?? Number(/line (\d+)/i.exec(message)?.[1] ?? / - (\d+):\d+$/.exec(message)?.[1] ?? 1);
    return { line, message: message.split('\n').filter((l) => l.trim() && !/^-*\^$/.test(l.trim()))[0] ?? message };
  }
}

/**
 * Turns every `<a href>` into a tracked one: `{{trackHref x}}` when the href is one value
 * or a literal, `{{#trackLink}}…{{/trackLink}}` when it is composed (`{{url}}#reviews`).
 * At render time the helper records the destination and returns the tracking URL. Then the
 * open pixel is added.
 */
function trackLinks(html: string): { html: string; linkCount: number } {
  let linkCount = 0;
  const tracked = html.replace(TRACKED_HREF, (whole, prefix: string, _quoted, double?: string, single?: string) => {
    const href = (double ?? single ?? '').trim();
    if (!href || UNTRACKED.test(href)) return whole;
    linkCount += 1;
    const value = ONE_VALUE.exec(href);
    if (value) return `${prefix}"{{trackHref ${value[1]}}}"`;
    if (!href.includes('{{')) return `${prefix}"{{trackHref ${JSON.stringify(decodeEntities(href))}}}"`;
    return `${prefix}"{{#trackLink}}${href.replace(/"/g, '&quot;')}{{/trackLink}}"`;
  });
  const pixel = '<img src="{{trackOpen}}" width="1" height="1" alt="" style="display:block;width:1px;height:1px;border:0;" />';
  const withPixel = /<\/body>/i.test(tracked) ? tracked.replace(/<\/body>/i, `${pixel}</body>`) : tracked + pixel;
  return { html: withPixel, linkCount };
}

function decodeEntities(href: string): string {
  return href.replace(/&amp;/g, '&').replace(/&quot;/g, '"');
}

/** The plain-text twin: html-to-text, configured not to touch Handlebars expressions. */
function toText(html: string): string {
  // A linked image has no words: in text it would be a bare URL line, so drop it.
  const withoutImageLinks = html.replace(/<a\b[^>]*>\s*<img\b[^>]*>\s*<\/a>/gi, '');
  return (
    convert(withoutImageLinks, {
      wordwrap: false,
      selectors: [
        { selector: 'img', format: 'skip' },
        { selector: 'head', format: 'skip' },
        { selector: 'a', options: { hideLinkHrefIfSameAsText: true, linkBrackets: ['(', ')'] } },
        ...['h1', 'h2', 'h3', 'h4', 'h5', 'h6'].map((selector) => ({ selector, options: { uppercase: false } })),
        { selector: 'table', format: 'block' },
        { selector: 'tr', format: 'block' },
        { selector: 'td', format: 'block' },
      ],
    })
      .replace(/\n{3,}/g, '\n\n')
      // A block tag alone on its line vanishes when rendered, with its line; drop the blank
      // line after it too, so loops do not leave runs of empty lines in the text part.
      .replace(/(\{\{[#/^][^}]*\}\}|\{\{else\}\})(?=\{\{[#/^]|\{\{else\}\})/g, '$1\n')
      .replace(/^(\{\{[#/^][^}]*\}\}|\{\{else\}\})\n\n/gm, '$1\n')
      .trim()
  );
}

function contentHash(assembled: AssembledTemplate): string {
  const hash = createHash('sha256').update(`compiler:${COMPILER_VERSION}\n`);
  for (const file of Object.keys(assembled.used).sort()) hash.update(`${file}\n${assembled.used[file]}\n`);
  return hash.digest('hex');
}
