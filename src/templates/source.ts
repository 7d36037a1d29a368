/**
 * Template sources as marketers write them: `templates/emails/NAME.mjml` (front matter,
 * then MJML + Handlebars), `templates/layouts/*.mjml` (with `{{> content}}` where the email
 * goes) and `templates/partials/*.mjml` (included with `{{> name}}`). Assembly inlines the
 * layout and partials into one MJML document and keeps, for every line of it, the file and
 * line it came from, so every later error can point at what the author wrote.
 */
import { readdir, readFile } from 'node:fs/promises';
import { basename, join, relative } from 'node:path';
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { TemplateError, type Diagnostic, type Origin } from '../errors.ts';

export interface TemplateFiles {
  root: string;
  /** Relative path → content, for every file under layouts/, partials/ and emails/. */
  files: Map<string, string>;
}

export const frontMatterSchema = z.object({
  subject: z.string({ error: 'subject is required (a Handlebars line of text)' }).min(1),
  preheader: z.string().default(''),
  from_name: z.string().optional(),
  layout: z.string().default('base'),
});
export type FrontMatter = z.infer<typeof frontMatterSchema>;

export interface AssembledTemplate {
  name: string;
  frontMatter: FrontMatter;
  mjml: string;
  /** origins[i] is where line i + 1 of `mjml` came from. */
  origins: Origin[];
  /** The files this email is made of (for the content hash), relative path → content. */
  used: Record<string, string>;
}

export async function loadTemplateFiles(root: string): Promise<TemplateFiles> {
  const files = new Map<string, string>();
  for (const folder of ['layouts', 'partials', 'emails']) {
    const entries = await readdir(join(root, folder)).catch(() => [] as string[]);
    for (const entry of entries.filter((e) => e.endsWith('.mjml')).sort())
      files.set(`${folder}/${entry}`, await readFile(join(root, folder, entry), 'utf8'));
  }
  return { root, files };
}

export function emailNames(set: TemplateFiles): string[] {
  return [...set.files.keys()].filter((f) => f.startsWith('emails/')).map((f) => basename(f, '.mjml'));
}

/** The path to show in messages: relative to the working directory, like a compiler's. */
function displayPath(set: TemplateFiles, file: string): string {
  return relative(process.cwd(), join(set.root, file)) || file;
}

const PARTIAL = /\{\{>\s*([^}]*?)\s*\}\}/g;

export function assemble(set: TemplateFiles, name: string): AssembledTemplate {
  const emailFile = `emails/${name}.mjml`;
  const source = set.files.get(emailFile);
  const show = (file: string) => displayPath(set, file);
  if (source === undefined)
    throw new TemplateError([{ file: show(emailFile), line: 1, severity: 'error', message: `no template "${name}"` }]);
  const { frontMatter, bodyStart, body } = parseFrontMatter(source, show(emailFile));

  const used: Record<string, string> = { [emailFile]: source };
  const errors: Diagnostic[] = [];
  const expand = (file: string, text: string, firstLine: number, stack: string[]): { lines: string[]; origins: Origin[] } => {
    const lines: string[] = [];
    const origins: Origin[] = [];
    text.split('\n').forEach((line, index) => {
      const origin = { file: show(file), line: firstLine + index };
      let rest = line;
      let match: RegExpExecArray | null;
      PARTIAL.lastIndex = 0;
      // Split the line at each partial tag and splice the partial's lines in its place.
      while ((match = PARTIAL.exec(rest))) {
        const before = rest.slice(0, match.index);
        const after = rest.slice(match.index + match[0].length);
        const ref = match[1]!;
        const target = ref === 'content' ? emailFile : `partials/${ref}.mjml`;
        const content = ref === 'content' ? body : set.files.get(target);
        if (!/^[\w-]+$/.test(ref)) {
          errors.push({
            ...origin,
            severity: 'error',
            message: `partials take no arguments: write {{> name}} (inside {{#with …}} or {{#each …}} to change what it sees), got {{> ${ref}}}`,
          });
        } else if (content === undefined) {
          errors.push({ ...origin, severity: 'error', message: `no partial "${ref}" (expected templates/${target})` });
        } else if (stack.includes(target)) {
          errors.push({ ...origin, severity: 'error', message: `partial "${ref}" includes itself (${[...stack, target].join(' → ')})` });
        } else {
          if (ref !== 'content') used[target] = content;
          const inner = expand(target, content, ref === 'content' ? bodyStart : 1, [...stack, target]);
          if (before.trim()) {
            lines.push(before);
            origins.push(origin);
          }
          lines.push(...inner.lines);
          origins.push(...inner.origins);
          rest = after;
          PARTIAL.lastIndex = 0;
          continue;
        }
        rest = before + after;
        PARTIAL.lastIndex = before.length;
      }
      if (rest.trim() || line.trim() === '') {
        lines.push(rest);
        origins.push(origin);
      }
    });
    return { lines, origins };
  };

  const layoutFile = `layouts/${frontMatter.layout}.mjml`;
  const layout = set.files.get(layoutFile);
  if (layout === undefined)
    throw new TemplateError([
      {
        file: show(emailFile),
        line: 1,
        severity: 'error',
        message: `no layout "${frontMatter.layout}" (expected templates/${layoutFile})`,
      },
    ]);
  used[layoutFile] = layout;
  if (!/\{\{>\s*content\s*\}\}/.test(layout))
    throw new TemplateError([
      { file: show(layoutFile), line: 1, severity: 'error', message: 'a layout must include {{> content}} where the email goes' },
    ]);
  const { lines, origins } = expand(layoutFile, layout, 1, [layoutFile]);
  if (errors.length) throw new TemplateError(errors);
  return { name, frontMatter, mjml: lines.join('\n'), origins, used };
}

function parseFrontMatter(source: string, file: string): { frontMatter: FrontMatter; bodyStart: number; body: string } {
  const lines = source.split('\n');
  if (lines[0]?.trim() !== '---')
    throw new TemplateError([
      { file, line: 1, severity: 'error', message: 'an email starts with front matter: a line "---", then subject: …, then "---"' },
    ]);
  const end = lines.findIndex((line, i) => i > 0 && line.trim() === '---');
  if (end < 0) throw new TemplateError([{ file, line: 1, severity: 'error', message: 'front matter is not closed by a line "---"' }]);
  const document = parseDocument(lines.slice(1, end).join('\n'));
  if (document.errors.length) {
    const error = document.errors[0]!;
    throw new TemplateError([
      { file, line: 1 + (error.linePos?.[0]?.line ?? 1), severity: 'error', message: `front matter: ${error.message.split('\n')[0]}` },
    ]);
  }
  const parsed = frontMatterSchema.safeParse(document.toJS() ?? {});
  if (!parsed.success)
    throw new TemplateError(
      parsed.error.issues.map((issue) => ({
        file,
        line: 2,
        severity: 'error' as const,
        message: `front matter: ${issue.path.join('.') || 'value'}: ${issue.message}`,
      })),
    );
  return { frontMatter: parsed.data, bodyStart: end + 2, body: lines.slice(end + 1).join('\n') };
}

/** Maps a 1-based line of the assembled MJML back to where it was written. */
export function originOf(assembled: AssembledTemplate, line: number): Origin {
  return assembled.origins[Math.min(Math.max(line, 1), assembled.origins.length) - 1] ?? { file: `emails/${assembled.name}.mjml`, line: 1 };
}
