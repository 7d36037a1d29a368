/**
 * YAML files that people write (sequences, recommendation rules), validated by a zod
 * schema, with every problem reported as `file:line: field: what is expected`.
 */
import { isMap, isSeq, LineCounter, parseDocument, type Node } from 'yaml';
import type { z } from 'zod';
import { YamlSourceError } from './errors.ts';

export function parseYaml<T extends z.ZodType>(text: string, path: string, schema: T): z.output<T> {
  const lines = new LineCounter();
  const document = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  if (document.errors.length)
    throw new YamlSourceError(document.errors.map((error) => `${path}:${error.linePos?.[0]?.line ?? 1}: ${error.message.split('\n')[0]}`));
  const parsed = schema.safeParse(document.toJS() ?? {});
  if (parsed.success) return parsed.data;
  throw new YamlSourceError(
    readableIssues(parsed.error.issues).map((issue) => {
      const node = nodeAt(document.contents, issue.path);
      const line = node?.range ? lines.linePos(node.range[0]).line : 1;
      const field = issue.path.join('.') || 'file';
      const message = issue.code === 'invalid_type' && /received undefined/.test(issue.message) ? 'is required' : issue.message;
      return `${path}:${line}: ${field}: ${message}`;
    }),
  );
}

/**
 * The issues as people need them: a value that may be one of several forms (`offer: none`
 * or `offer: { pool }`) that matches none is reported by the form that came closest, the one
 * whose problems lie deepest in the value, so `offer.pool` is named rather than "Invalid input".
 */
export function readableIssues(issues: readonly z.core.$ZodIssue[]): z.core.$ZodIssue[] {
  return issues.flatMap((issue) => {
    if (issue.code !== 'invalid_union' || issue.errors.length === 0) return [issue];
    const depth = (branch: readonly z.core.$ZodIssue[]) => Math.max(...branch.map((i) => i.path.length));
    const closest = issue.errors.reduce((best, branch) => (depth(branch) > depth(best) ? branch : best));
    if (depth(closest) === 0) return [issue];
    return readableIssues(closest).map((i) => ({ ...i, path: [...issue.path, ...i.path] }));
  });
}

/** The line of the YAML node at `path` in `text` (the deepest one found along it), for file:line errors. */
export function yamlLine(text: string, path: readonly PropertyKey[]): number {
  const lines = new LineCounter();
  const document = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  const node = nodeAt(document.contents, path);
  return node?.range ? lines.linePos(node.range[0]).line : 1;
}

/** The deepest YAML node along `path`, for a line number. */
function nodeAt(root: unknown, path: readonly PropertyKey[]): Node | undefined {
  let node = root as Node | undefined;
  for (const part of path) {
    let next: unknown;
    if (isMap(node)) next = node.get(String(part), true);
    else if (isSeq(node)) next = node.get(Number(part), true);
    if (!next || typeof next !== 'object') break;
    node = next as Node;
  }
  return node;
}
