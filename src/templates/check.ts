/**
 * `campaign templates check`: compiles every email and reports, with file:line,
 *  - errors: MJML errors, Handlebars parse errors, variables not in the render context,
 *    unknown helpers, a missing unsubscribe link, front-matter problems;
 *  - warnings: rendered HTML over 102 KB (Gmail clips it there), images without alt text.
 */
import { compileTemplate, emailPath, type CompiledTemplate } from './compile.ts';
import { Renderer } from './render.ts';
import { sampleContext } from './sample-context.ts';
import { emailNames, originOf, type AssembledTemplate, type TemplateFiles } from './source.ts';
import { type Diagnostic } from '../errors.ts';

/** Gmail clips a message body over 102 KB and hides the rest behind a link. */
export const GMAIL_CLIP_BYTES = 102 * 1024;

export interface CheckReport {
  diagnostics: Diagnostic[];
  compiled: CompiledTemplate[];
  /** The assembled sources of each compiled email, by name: what publishing stores with it. */
  assembled: Map<string, AssembledTemplate>;
}

const UNSUBSCRIBE_LINK = /\{\{trackHref (@root\.)?links\.unsubscribe\}\}/;
const IMAGE_TAG = /<(mj-image|img)\b[^>]*>/gi;

export async function checkTemplates(set: TemplateFiles, names = emailNames(set)): Promise<CheckReport> {
  const diagnostics: Diagnostic[] = [];
  const compiled: CompiledTemplate[] = [];
  const sources = new Map<string, AssembledTemplate>();
  for (const name of names) {
    const result = await compileTemplate(set, name);
    diagnostics.push(...result.diagnostics);
    const { assembled } = result;
    if (!assembled) continue;
    const emailFile = emailPath(assembled);

    assembled.mjml.split('\n').forEach((line, index) => {
      for (const tag of line.match(IMAGE_TAG) ?? [])
        // Tags without src are attribute defaults (<mj-attributes>), not images.
        if (/\bsrc\s*=/i.test(tag) && !/\balt\s*=\s*("[^"]+"|'[^']+')/i.test(tag))
          diagnostics.push({
            ...originOf(assembled, index + 1),
            severity: 'warning',
            message: `image without alt text: ${tag.slice(0, 60)}`,
          });
    });

    if (!result.compiled) continue;
    if (!UNSUBSCRIBE_LINK.test(result.compiled.html))
      diagnostics.push({
        file: emailFile,
        line: 1,
        severity: 'error',
        message: 'no unsubscribe link: include the footer partial, or link to {{links.unsubscribe}} with <a href="{{links.unsubscribe}}">',
      });
    const html = new Renderer(result.compiled).render(sampleContext(), {
      mode: 'send',
      publicUrl: 'https://campaigns.example',
      secret: 'check-only-secret-check-only-secret',
      messageId: 1,
    }).html;
    const bytes = Buffer.byteLength(html);
    if (bytes > GMAIL_CLIP_BYTES)
      diagnostics.push({
        file: emailFile,
        line: 1,
        severity: 'warning',
        message: `rendered HTML is ${(bytes / 1024).toFixed(0)} KB for the sample context; Gmail clips messages over 102 KB`,
      });
    compiled.push(result.compiled);
    sources.set(name, assembled);
  }
  return { diagnostics: dedupe(diagnostics), compiled, assembled: sources };
}

/** A problem in a shared partial shows once, not once per email using it. */
function dedupe(diagnostics: Diagnostic[]): Diagnostic[] {
  const seen = new Set<string>();
  return diagnostics.filter((d) => {
    const key = `${d.file}:${d.line}:${d.severity}:${d.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
