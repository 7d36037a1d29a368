/**
 * Sequence files and their versions in the database. `apply` stores an immutable version
 * (the YAML kept as written, the parsed definition, and the template versions its steps
 * will render, pinned now) and makes it live. An enrollment keeps the version it started
 * on, so editing a sequence never changes a running one.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { desc, eq, sql } from 'drizzle-orm';
import { sequenceSchema, type SequenceDefinition } from '../core/sequence.ts';
import { queryRows, type Db } from '../db/client.ts';
import { sequences, sequenceVersions } from '../db/schema.ts';
import { findTemplateVersion } from '../templates/store.ts';
import { parseYaml } from '../yaml-source.ts';
import { YamlSourceError } from '../errors.ts';

export interface SequenceFile {
  path: string;
  yaml: string;
  definition: SequenceDefinition;
}

/** What a stored version holds beyond the YAML: the definition and its pinned templates. */
export interface StoredDefinition extends SequenceDefinition {
  /** Template name → template_versions.id, resolved when the version was applied. */
  templateVersions: Record<string, number>;
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

/** Every template a sequence may render, variant swaps included. */
function templateNames(definition: SequenceDefinition): string[] {
  const names = new Set(definition.steps.map((s) => s.template));
  for (const v of definition.variants) for (const name of Object.values(v.templates)) names.add(name);
  return [...names];
}

export interface ApplyResult {
  id: string;
  version: number;
  created: boolean;
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
    throw new YamlSourceError([`${file.path}:1: templates ${missing.map((m) => `"${m}"`).join(', ')} are not published: run \`campaign templates publish\` first`]);
  const stored: StoredDefinition = { ...file.definition, templateVersions };
  const hash = createHash('sha256').update(file.yaml).update(JSON.stringify(templateVersions)).digest('hex');
  const { id, name } = file.definition;
  return db.transaction(async (tx) => {
    await tx.insert(sequences).values({ id, name }).onConflictDoUpdate({ target: sequences.id, set: { name, updatedAt: sql`now()` } });
    const [latest] = await tx
      .select({ id: sequenceVersions.id, version: sequenceVersions.version, hash: sequenceVersions.contentHash })
      .from(sequenceVersions)
      .where(eq(sequenceVersions.sequenceId, id))
      .orderBy(desc(sequenceVersions.version))
      .limit(1);
    if (latest?.hash === hash) {
      await tx.update(sequences).set({ liveVersionId: latest.id }).where(eq(sequences.id, id));
      return { id, version: latest.version, created: false };
    }
    const version = (latest?.version ?? 0) + 1;
    const [row] = await tx
      .insert(sequenceVersions)
      .values({ sequenceId: id, version, contentHash: hash, yaml: file.yaml, definition: stored as unknown as Record<string, unknown> })
      .returning({ id: sequenceVersions.id });
    await tx.update(sequences).set({ liveVersionId: row!.id, updatedAt: sql`now()` }).where(eq(sequences.id, id));
    return { id, version, created: true };
  });
}

export async function setSequenceStatus(db: Db, id: string, status: 'active' | 'paused'): Promise<boolean> {
  const rows = await db.update(sequences).set({ status, updatedAt: sql`now()` }).where(eq(sequences.id, id)).returning({ id: sequences.id });
  return rows.length > 0;
}

export interface SequenceSummary {
  id: string;
  name: string;
  status: 'active' | 'paused';
  version: number | null;
  enrolled: number;
  active: number;
}

export async function listSequences(db: Db): Promise<SequenceSummary[]> {
  return queryRows<SequenceSummary>(
    db,
    sql`select s.id, s.name, s.status, v.version, coalesce(n.enrolled, 0) as enrolled, coalesce(n.active, 0) as active
        from sequences s left join sequence_versions v on v.id = s.live_version_id
        left join lateral (
          select count(*)::int as enrolled, count(*) filter (where e.state = 'active')::int as active
          from enrollments e where e.sequence_id = s.id
        ) n on true
        order by s.id`,
  );
}

/** Live, active sequences with their current version, for the enrollment worker. */
export async function liveSequences(db: Db): Promise<{ id: string; versionId: number; definition: StoredDefinition }[]> {
  const rows = await queryRows<{ id: string; version_id: number; definition: StoredDefinition }>(
    db,
    sql`select s.id, v.id as version_id, v.definition from sequences s
        join sequence_versions v on v.id = s.live_version_id where s.status = 'active' order by s.id`,
  );
  return rows.map((r) => ({ id: r.id, versionId: r.version_id, definition: r.definition }));
}
