/**
 * Sequences and their immutable versions. A version holds the YAML as written, the parsed
 * definition and the template versions it pins; `live_version_id` says which version new
 * orders enroll in. An enrollment keeps the version it started on.
 */
import { desc, eq, sql } from 'drizzle-orm';
import { z } from 'zod';
import type { StoredDefinition } from '../core/sequence.ts';
import type { Db } from '../db/client.ts';
import { sequences, sequenceVersions } from '../db/schema.ts';
import { parsedRows } from './rows.ts';

export interface ApplyResult {
  id: string;
  version: number;
  created: boolean;
}

/**
 * Makes `hash`'s version of the sequence live, storing it as the next version number when
 * the newest stored version has another hash (the same YAML and pinned templates store
 * nothing new). In one transaction, so a version is never live half-written.
 */
export async function saveSequenceVersion(
  db: Db,
  v: { id: string; name: string; hash: string; yaml: string; definition: StoredDefinition },
): Promise<ApplyResult> {
  const { id, name } = v;
  return db.transaction(async (tx) => {
    await tx
      .insert(sequences)
      .values({ id, name })
      .onConflictDoUpdate({ target: sequences.id, set: { name, updatedAt: sql`now()` } });
    const [latest] = await tx
      .select({ id: sequenceVersions.id, version: sequenceVersions.version, hash: sequenceVersions.contentHash })
      .from(sequenceVersions)
      .where(eq(sequenceVersions.sequenceId, id))
      .orderBy(desc(sequenceVersions.version))
      .limit(1);
    if (latest?.hash === v.hash) {
      await tx.update(sequences).set({ liveVersionId: latest.id }).where(eq(sequences.id, id));
      return { id, version: latest.version, created: false };
    }
    const version = (latest?.version ?? 0) + 1;
    const [row] = await tx
      .insert(sequenceVersions)
      .values({ sequenceId: id, version, contentHash: v.hash, yaml: v.yaml, definition: v.definition })
      .returning({ id: sequenceVersions.id });
    await tx
      .update(sequences)
      .set({ liveVersionId: row!.id, updatedAt: sql`now()` })
      .where(eq(sequences.id, id));
    return { id, version, created: true };
  });
}

/** Pauses or resumes a sequence; false when there is no such sequence. */
export async function setSequenceStatus(db: Db, id: string, status: 'active' | 'paused'): Promise<boolean> {
  const rows = await db
    .update(sequences)
    .set({ status, updatedAt: sql`now()` })
    .where(eq(sequences.id, id))
    .returning({ id: sequences.id });
  return rows.length > 0;
}

const summaryRow = z.object({
  id: z.string(),
  name: z.string(),
  status: z.enum(['active', 'paused']),
  version: z.number().int().nullable(),
  enrolled: z.number().int(),
  active: z.number().int(),
});
export type SequenceSummary = z.output<typeof summaryRow>;

/** Every sequence with its live version and how many enrollments it has (all, and still active). */
export async function listSequences(db: Db): Promise<SequenceSummary[]> {
  return parsedRows(
    db,
    sql`select s.id, s.name, s.status, v.version, coalesce(n.enrolled, 0) as enrolled, coalesce(n.active, 0) as active
        from sequences s left join sequence_versions v on v.id = s.live_version_id
        left join lateral (
          select count(*)::int as enrolled, count(*) filter (where e.state = 'active')::int as active
          from enrollments e where e.sequence_id = s.id
        ) n on true
        order by s.id`,
    summaryRow,
  );
}

/** Every sequence's status and live version (null before its first), by id: what the dashboard reads live beside its snapshots. */
export async function sequenceStates(db: Db): Promise<{ id: string; status: string; liveVersionId: number | null }[]> {
  return db
    .select({ id: sequences.id, status: sequences.status, liveVersionId: sequences.liveVersionId })
    .from(sequences)
    .orderBy(sequences.id);
}

/** Live, active sequences with their current version, for the enrollment worker. */
export async function liveSequences(db: Db): Promise<{ id: string; versionId: number; definition: StoredDefinition }[]> {
  const rows = await db
    .select({ id: sequences.id, versionId: sequenceVersions.id, definition: sequenceVersions.definition })
    .from(sequences)
    .innerJoin(sequenceVersions, eq(sequenceVersions.id, sequences.liveVersionId))
    .where(eq(sequences.status, 'active'))
    .orderBy(sequences.id);
  return rows;
}
