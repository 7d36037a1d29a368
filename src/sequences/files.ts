/**
 * Sequence files and their versions in the database. `apply` stores an immutable version
 * (the YAML kept as written, the parsed definition, and the template versions its steps
 * will render, pinned now) and makes it live. An enrollment keeps the version it started
 * on, so editing a sequence never changes a running one.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { sequenceSchema, type SequenceDefinition, type StoredDefinition } from '../core/sequence.ts';
import type { Db } from '../db/client.ts';
import { saveSequenceVersion, type ApplyResult } from '../store/sequences.ts';
import { findTemplateVersion } from '../store/templates.ts';
import { offerPools } from '../core/discount.ts';
import { parseYaml, yamlLine } from '../yaml-source.ts';
import { YamlSourceError } from '../errors.ts';

export interface SequenceFile {
  path: string;
  yaml: string;
  definition: SequenceDefinition;
}

/** Reads and checks every `*.yaml` under `dir`; problems are `file:line: field: message`. */
export async function loadSequenceFiles(dir: string): Promise<{ files: SequenceFile[]; problems: string[] }> {
  const entries = (await readdir(dir).catch(() => [] as string[])).filter((f) => /\.ya?ml$/.test(f)).sort();
  const files: SequenceFile[] = [];
  const problems: string[] = [];
  const ids = new Map<string, string>();
  for (const entry of entries) {
    const path = join(dir, entry);
    const shown = relative(process.cwd(), path) || path;
    const yaml = await readFile(path, 'utf8');
    try {
      const definition = parseYaml(yaml, shown, sequenceSchema);
      const other = ids.get(definition.id);
      if (other) problems.push(`${shown}:1: id: "${definition.id}" is already the id of ${other}`);
      ids.set(definition.id, shown);
      files.push({ path: shown, yaml, definition });
    } catch (error) {
      if (error instanceof YamlSourceError) problems.push(...error.problems);
      else throw error;
    }
  }
  return { files, problems };
}

/** Whether any of the files offers a discount code pool (then checking them needs the database's pools). */
export function offersCodes(files: readonly SequenceFile[]): boolean {
  return files.some((f) => offerPools(f.definition).length > 0);
}

/**
 * Every `offer: { pool }` naming a pool that does not exist (`known`: the pools in the
 * database), as `file:line: field: message`.
 */
export function unknownPoolProblems(files: readonly SequenceFile[], known: readonly string[]): string[] {
  const pools = new Set(known);
  const problems: string[] = [];
  for (const file of files)
    for (const { pool, path } of offerPools(file.definition))
      if (!pools.has(pool))
        problems.push(
          `${file.path}:${yamlLine(file.yaml, path)}: ${path.join('.')}: no code pool "${pool}" ` +
            `(${known.length ? `the pools are ${known.map((k) => `"${k}"`).join(', ')}` : 'there are no pools yet'}; ` +
            `\`campaign codes import ${pool} FILE --value 10%\` makes it)`,
        );
  return problems;
}

/**
 * A warning, as `file:line: consent: …`, for each sequence that does not require marketing
 * consent: every step of a sequence recommends products (a cross-sell is marketing), so
 * `consent: not_required` is for strictly transactional mail only, and `check` says so.
 */
export function consentWarnings(files: readonly SequenceFile[]): string[] {
  return files
    .filter((f) => f.definition.consent === 'not_required')
    .map(
      (f) =>
        `${f.path}:${yamlLine(f.yaml, ['consent'])}: consent: "${f.definition.id}" recommends products to customers who never ` +
        'accepted marketing; keep `not_required` for strictly transactional mail, or leave it out (required)',
    );
}

/** Every template a sequence may render, variant swaps included. */
function templateNames(definition: SequenceDefinition): string[] {
  const names = new Set(definition.steps.map((s) => s.template));
  for (const v of definition.variants) for (const name of Object.values(v.templates)) names.add(name);
  return [...names];
}

/**
 * Stores a new version when the file changed (same YAML and templates: nothing new) and
 * makes it live. Throws with the missing template when one is not published yet.
 */
export async function applySequence(db: Db, file: SequenceFile): Promise<ApplyResult> {
  const templateVersions: Record<string, number> = {};
  const missing: string[] = [];
  for (const name of templateNames(file.definition)) {
    const version = await findTemplateVersion(db, { name });
    if (version) templateVersions[name] = version.id;
    else missing.push(name);
  }
  if (missing.length)
    throw new YamlSourceError([
      `${file.path}:1: templates ${missing.map((m) => `"${m}"`).join(', ')} are not published: run \`campaign templates publish\` first`,
    ]);
  const stored: StoredDefinition = { ...file.definition, templateVersions };
  const hash = createHash('sha256').update(file.yaml).update(JSON.stringify(templateVersions)).digest('hex');
  return saveSequenceVersion(db, { id: file.definition.id, name: file.definition.name, hash, yaml: file.yaml, definition: stored });
}
