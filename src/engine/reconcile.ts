/**
 * The reconciler: Postgres is the truth, Redis the schedule. It finds active enrollments
 * whose next step is due (or nearly) and makes sure a job exists for it under its
 * deterministic id, so a lost job, a Redis restart or a FLUSHALL loses nothing; a job
 * still delayed past its step's due time (a delay computed on a clock that has since sped
 * up, as the demo's paced clock does, or on a machine whose clock ran behind) is promoted,
 * so it runs now instead of late, in the same read of the job. It also re-runs the outbox,
 * so orders committed while Redis was away reach the enroll queue, writes the report's
 * rollup rows of the emails sent since its last pass, and analyzes the tables whose planner
 * statistics went stale.
 *
 * Why the engine analyzes: PGlite runs no autovacuum, and a server may run with it off.
 * Tables that grow from empty (enrollments, messages, events, the rollups) were then never
 * analyzed, and the planner, believing them a few rows, hash-joined whole tables where an
 * index lookup was meant: the demo's refresh of one customer's rollup rows took 100-240 ms
 * instead of a few. The rule is autovacuum's own (src/core/statistics.ts); where autovacuum
 * runs, the two share the work (an ANALYZE more or less is harmless: a sample read).
 */
import { drainOutbox, republishStale } from '../outbox/relay.ts';
import { dueEnrollments } from '../store/enrollments.ts';
import { settleSends } from '../store/outcomes.ts';
import { analyzeTables, tableChanges } from '../store/statistics.ts';
import { staleTables } from '../core/statistics.ts';
import { jobIds, promoteDelayed, reviveJob } from '../queue/queues.ts';
import { scheduleStep, type Engine } from './context.ts';

export interface ReconcileResult {
  checked: number;
  enqueued: number;
  /** Jobs that were still delayed though their step was due, and now run. */
  promoted: number;
  /** Tables whose planner statistics were refreshed (ANALYZE), as their changes went past autovacuum's rule. */
  analyzed: string[];
}

/**
 * One pass. `horizonMs` (simulated) also covers steps due soon; orders published more than
 * `staleSeconds` (real) ago and never enrolled are published again.
 */
export async function reconcile(engine: Engine, horizonMs = 3_600_000, staleSeconds = 60): Promise<ReconcileResult> {
  await drainOutbox(engine.db, engine.queues);
  await republishStale(engine.db, engine.queues, staleSeconds);
  // The report's rollup rows of the emails sent since the last pass, so a report finds little to settle.
  await settleSends(engine.db);
  const now = engine.clock.now().getTime();
  const due = await dueEnrollments(engine.db, new Date(now + horizonMs));
  let enqueued = 0;
  let promoted = 0;
  for (const e of due) {
    const jobId = jobIds.step(e.id, e.nextStep);
    const job = await reviveJob(engine.queues.steps, jobId, (data) => data?.enrollmentId === e.id, e.nextDueAt.getTime() <= now);
    if (job === 'promoted') promoted += 1;
    if (job !== 'free') continue;
    await scheduleStep(engine, e.id, e.nextStep, e.nextDueAt);
    enqueued += 1;
  }
  // Last, so the schedule's work is done whatever this costs or throws.
  const stale = staleTables(await tableChanges(engine.db));
  const analyzed = (await analyzeTables(engine.db, stale)) ? stale : [];
  return { checked: due.length, enqueued, promoted, analyzed };
}

/**
 * Promotes the jobs of the steps due by now (at most `limit`, the most overdue first) that
 * still wait out a delay, so they run now; returns how many. The demo calls it between
 * reconciler passes while its clock is behind.
 */
export async function promoteOverdue(engine: Engine, limit = 1_000): Promise<number> {
  let promoted = 0;
  for (const e of await dueEnrollments(engine.db, engine.clock.now(), limit)) {
    if (await promoteDelayed(engine.queues.steps, jobIds.step(e.id, e.nextStep))) promoted += 1;
  }
  return promoted;
}

/** Runs reconcile() now and every `intervalMs` (real), until stopped. */
export function startReconciler(engine: Engine, intervalMs: number, onError: (error: unknown) => void): { stop(): Promise<void> } {
  let running: Promise<unknown> = Promise.resolve();
  // An order not enrolled within three passes lost its job.
  const staleSeconds = Math.max(1, Math.ceil((3 * intervalMs) / 1000));
  const tick = () => {
    // Passes never overlap: a slow one makes the next wait.
    running = running.then(() => reconcile(engine, 3_600_000, staleSeconds)).catch(onError);
  };
  tick();
  const timer = setInterval(tick, intervalMs);
  timer.unref();
  return {
    stop: async () => {
      clearInterval(timer);
      await running;
    },
  };
}
