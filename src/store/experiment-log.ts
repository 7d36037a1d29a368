/**
 * The experiment log: every decision taken on a sequence's experiment (`campaign sequences
 * promote`), with the evidence it was taken on, who took it and whether it went against the
 * evidence. Rows are only ever added; a sequence's log reads newest first.
 */
import { desc, eq } from 'drizzle-orm';
import type { Db } from '../db/client.ts';
import { experimentDecisions, sequenceVersions } from '../db/schema.ts';

export interface NewDecision {
  sequenceId: string;
  /** sequence_versions.id of the version whose report was the evidence. */
  versionId: number;
  variant: string;
  /** The variants tested, the control first. */
  tested: string[];
  evidence: Record<string, unknown>;
  forced: boolean;
  decidedBy: string;
  note: string | null;
  nextFile: string | null;
  decidedAt: Date;
}

/**
 * Inserts one decision, then runs `carryOut` in the same transaction before it commits: the
 * row exists only if `carryOut` succeeded (it writes the next version's file), and a
 * `carryOut` that throws leaves no row. Returns the row's id.
 */
export async function recordDecision(db: Db, decision: NewDecision, carryOut: () => Promise<void> = async () => {}): Promise<number> {
  return db.transaction(async (tx) => {
    const [row] = await tx
      .insert(experimentDecisions)
      .values({ ...decision, action: 'promote' })
      .returning({ id: experimentDecisions.id });
    await carryOut();
    return row!.id;
  });
}

export interface Decision extends Omit<NewDecision, 'versionId'> {
  id: number;
  action: 'promote';
  versionId: number;
  /** The version's number (1, 2, …), as people count them. */
  version: number;
}

/**
 * A sequence's decisions, newest first (ties by id, so two decisions of one second keep the
 * order they were taken in). Each carries the number of the version it was taken on; the
 * join cannot lose a row, as `version_id` references `sequence_versions`.
 */
export async function listDecisions(db: Db, sequenceId: string): Promise<Decision[]> {
  const rows = await db
    .select({
      id: experimentDecisions.id,
      sequenceId: experimentDecisions.sequenceId,
      versionId: experimentDecisions.versionId,
      version: sequenceVersions.version,
      action: experimentDecisions.action,
      variant: experimentDecisions.variant,
      tested: experimentDecisions.tested,
      evidence: experimentDecisions.evidence,
      forced: experimentDecisions.forced,
      decidedBy: experimentDecisions.decidedBy,
      note: experimentDecisions.note,
      nextFile: experimentDecisions.nextFile,
      decidedAt: experimentDecisions.decidedAt,
    })
    .from(experimentDecisions)
    .innerJoin(sequenceVersions, eq(sequenceVersions.id, experimentDecisions.versionId))
    .where(eq(experimentDecisions.sequenceId, sequenceId))
    .orderBy(desc(experimentDecisions.decidedAt), desc(experimentDecisions.id));
  return rows;
}
