/**
 * The audit log: who paused, resumed, promoted or ended the test of a sequence, and when,
 * from the dashboard or the command line. Rows are only ever added; a sequence's log reads
 * newest first. A pause or resume changes the status and adds its row in one transaction.
 */
import { desc, eq, sql } from 'drizzle-orm';
import type { Db } from '../db/client.ts';
import { auditLog, sequences } from '../db/schema.ts';

export type AuditAction = 'pause' | 'resume' | 'promote' | 'end';

export interface NewAuditEntry {
  at: Date;
  actor: string;
  action: AuditAction;
  sequenceId: string;
  detail?: Record<string, unknown>;
}

export interface AuditEntry extends Required<NewAuditEntry> {
  id: number;
}

/** Adds one line to the audit log; returns its id. */
export async function recordAudit(db: Db, entry: NewAuditEntry): Promise<number> {
  const [row] = await db
    .insert(auditLog)
    .values({ ...entry, detail: entry.detail ?? {} })
    .returning({ id: auditLog.id });
  return row!.id;
}

export type StatusChange =
  /** No sequence with that id. */
  | { found: false }
  /** The sequence already had that status: nothing changed and nothing was logged. */
  | { found: true; changed: false; status: 'active' | 'paused' }
  | { found: true; changed: true; status: 'active' | 'paused'; auditId: number };

/**
 * Pauses or resumes a sequence and logs who did it, in one transaction: the row is locked
 * while its status is read, so two people pausing at once log one pause, not two.
 */
export async function changeSequenceStatus(
  db: Db,
  change: { sequenceId: string; status: 'active' | 'paused'; actor: string; at: Date },
): Promise<StatusChange> {
  return db.transaction(async (tx) => {
    const [current] = await tx
      .select({ status: sequences.status })
      .from(sequences)
      .where(eq(sequences.id, change.sequenceId))
      .for('update');
    if (!current) return { found: false };
    if (current.status === change.status) return { found: true, changed: false, status: current.status };
    await tx
      .update(sequences)
      .set({ status: change.status, updatedAt: sql`now()` })
      .where(eq(sequences.id, change.sequenceId));
    const [row] = await tx
      .insert(auditLog)
      .values({
        at: change.at,
        actor: change.actor,
        action: change.status === 'paused' ? 'pause' : 'resume',
        sequenceId: change.sequenceId,
        detail: { from: current.status, to: change.status },
      })
      .returning({ id: auditLog.id });
    return { found: true, changed: true, status: change.status, auditId: row!.id };
  });
}

/** A sequence's audit lines, newest first (ties by id), at most `limit` of them. */
export async function listAudit(db: Db, sequenceId: string, limit = 20): Promise<AuditEntry[]> {
  return db
    .select({
      id: auditLog.id,
      at: auditLog.at,
      actor: auditLog.actor,
      action: auditLog.action,
      sequenceId: auditLog.sequenceId,
      detail: auditLog.detail,
    })
    .from(auditLog)
    .where(eq(auditLog.sequenceId, sequenceId))
    .orderBy(desc(auditLog.at), desc(auditLog.id))
    .limit(limit);
}
