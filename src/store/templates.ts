/**
 * Published template versions in the database. A version is identified by the content
 * hash of its sources and never changes (a trigger refuses updates and deletes); publishing
 * the same sources again returns the existing version.
 */
import { and, desc, eq, sql } from 'drizzle-orm';
import { z } from 'zod';
import type { Db } from '../db/client.ts';
import { templates, templateVersions } from '../db/schema.ts';
import type { CompiledTemplate } from '../templates/compile.ts';
import type { AssembledTemplate } from '../templates/source.ts';
import { parsedRows } from './rows.ts';

export interface PublishedVersion {
  id: number;
  name: string;
  contentHash: string;
  publishedAt: Date;
  /** False when these exact sources were already published. */
  created: boolean;
}

export async function publishTemplate(db: Db, compiled: CompiledTemplate, assembled: AssembledTemplate): Promise<PublishedVersion> {
  return db.transaction(async (tx) => {
    await tx.insert(templates).values({ name: compiled.name }).onConflictDoNothing();
    const [template] = await tx.select({ id: templates.id }).from(templates).where(eq(templates.name, compiled.name));
    const inserted = await tx
      .insert(templateVersions)
      .values({
        templateId: template!.id,
        contentHash: compiled.contentHash,
        source: assembled.used,
        compiled,
      })
      .onConflictDoNothing()
      .returning({ id: templateVersions.id, publishedAt: templateVersions.publishedAt });
    if (inserted[0]) return { ...inserted[0], name: compiled.name, contentHash: compiled.contentHash, created: true };
    const [existing] = await tx
      .select({ id: templateVersions.id, publishedAt: templateVersions.publishedAt })
      .from(templateVersions)
      .where(and(eq(templateVersions.templateId, template!.id), eq(templateVersions.contentHash, compiled.contentHash)));
    return { ...existing!, name: compiled.name, contentHash: compiled.contentHash, created: false };
  });
}

export interface StoredVersion {
  id: number;
  name: string;
  contentHash: string;
  publishedAt: Date;
  compiled: CompiledTemplate;
}

/** A version by id, or the newest published version of a template by name. */
export async function findTemplateVersion(db: Db, ref: { id: number } | { name: string }): Promise<StoredVersion | undefined> {
  const rows = await db
    .select({
      id: templateVersions.id,
      name: templates.name,
      contentHash: templateVersions.contentHash,
      publishedAt: templateVersions.publishedAt,
      compiled: templateVersions.compiled,
    })
    .from(templateVersions)
    .innerJoin(templates, eq(templates.id, templateVersions.templateId))
    .where('id' in ref ? eq(templateVersions.id, ref.id) : eq(templates.name, ref.name))
    .orderBy(desc(templateVersions.id))
    .limit(1);
  const row = rows[0];
  return row;
}

/** Every template with its newest version, for `campaign templates list`. */
export async function listTemplates(
  db: Db,
): Promise<{ name: string; versions: number; latestId: number; contentHash: string; publishedAt: Date }[]> {
  return parsedRows(
    db,
    sql`select t.name, count(v.id)::int as versions, max(v.id) as "latestId",
               (array_agg(v.content_hash order by v.id desc))[1] as "contentHash",
               max(v.published_at) as "publishedAt"
        from templates t join template_versions v on v.template_id = t.id
        group by t.name order by t.name`,
    z.object({
      name: z.string(),
      versions: z.number().int(),
      latestId: z.coerce.number().int(),
      contentHash: z.string(),
      publishedAt: z.coerce.date(),
    }),
  );
}

const templateVersionRow = z.object({ id: z.coerce.number().int(), name: z.string(), published_at: z.coerce.date() });
export type TemplateVersionChoice = z.output<typeof templateVersionRow>;

/**
 * Every published template version, by template name and then newest first, for the
 * preview's picker: the first row is the newest version of the first template, which the
 * preview shows when none is asked for.
 */
export async function templateVersionChoices(db: Db): Promise<TemplateVersionChoice[]> {
  return parsedRows(
    db,
    sql`select v.id, t.name, v.published_at from template_versions v join templates t on t.id = v.template_id
        order by t.name, v.id desc`,
    templateVersionRow,
  );
}
