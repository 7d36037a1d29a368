/**
 * The one assembly of the engine, used by `campaign work`, workers/*, the demo, the tests
 * and the bench: `createEngine` puts the processors' dependencies together, `startEngine`
 * runs the workers, the outbox relay and the reconciler around it and stops them in order.
 * Callers open the connections (src/runtime.ts) and own them; nothing here reads the
 * environment.
 */
import type { ConnectionOptions, Worker } from 'bullmq';
import { startRelay, type Relay } from '../outbox/relay.ts';
import type { Engine } from './context.ts';
import { startReconciler } from './reconcile.ts';
import type { StepOutcome } from './step.ts';
import { startEnrollWorker, startStepWorker } from './workers.ts';

/** What an entry point opens and passes in: everything of the engine but its per-process caches. */
export type EngineParts = Omit<Engine, 'renderers'>;

/** The engine the processors run on; renderers are compiled once per process and kept. */
export function createEngine(parts: EngineParts): Engine {
  return { ...parts, renderers: new Map() };
}

export interface StartOptions {
  /** The workers' own Redis connection (blocking commands must not share the producer's). */
  connection: ConnectionOptions;
  prefix: string;
  /** Which workers this process runs (default both): scale each out on its own. */
  run?: { enroll?: boolean; steps?: boolean } | undefined;
  concurrency?: { enroll?: number | undefined; steps?: number | undefined } | undefined;
  /** Emails per second for the whole step queue, across every process. */
  ratePerSecond?: number | undefined;
  lockMs?: number | undefined;
  /** A relay the caller already runs (the demo's server kicks it); otherwise one is started here. */
  relay?: Relay | undefined;
  relayIntervalMs?: number | undefined;
  /** Real milliseconds between reconciler passes; without it no reconciler runs. */
  reconcileEveryMs?: number | undefined;
  /** A relay, reconciler or worker error that the engine recovers from on its own, or a stop() that gave up waiting. */
  onError?: ((error: unknown, where: 'relay' | 'reconcile' | 'stop') => void) | undefined;
  /** How long stop() waits for the jobs in flight, then for the reconciler's pass (default 20 s each). */
  stopGraceMs?: number | undefined;
  /** Each step's outcome: when its job completes, and when it is delayed (quiet hours, the cap, a pause, an empty code pool). */
  onStepDone?: ((outcome: StepOutcome) => void) | undefined;
  onJobFailed?: ((jobId: string | undefined, error: Error) => void) | undefined;
  /** The size of each batch a worker runs, by queue. */
  onBatch?: ((queue: 'enroll' | 'steps', size: number) => void) | undefined;
}

export interface RunningEngine {
  engine: Engine;
  workers: Worker[];
  relay: Relay;
  /**
   * Lets in-flight jobs finish, then stops the workers, the reconciler and the relay, waiting
   * for each at most the grace period (`stopGraceMs`). Idempotent.
   */
  stop(): Promise<void>;
}

export function startEngine(engine: Engine, options: StartOptions): RunningEngine {
  const onError =
    options.onError ??
    ((error, where) =>
      engine.log?.warn({ err: error }, where === 'stop' ? 'stop() stopped waiting' : `${where} failed; retried on the next pass`));
  const relay =
    options.relay ?? startRelay(engine.db, engine.queues, { intervalMs: options.relayIntervalMs, onError: (e) => onError(e, 'relay') });
  const reconciler = options.reconcileEveryMs
    ? startReconciler(engine, options.reconcileEveryMs, (e) => onError(e, 'reconcile'))
    : undefined;
  const run = { enroll: options.run?.enroll ?? true, steps: options.run?.steps ?? true };
  const workers: Worker[] = [];
  if (run.enroll)
    workers.push(
      startEnrollWorker(engine, options.connection, options.prefix, {
        concurrency: options.concurrency?.enroll,
        lockMs: options.lockMs,
        onBatch: options.onBatch && ((size) => options.onBatch?.('enroll', size)),
      }),
    );
  if (run.steps) {
    const steps = startStepWorker(engine, options.connection, options.prefix, {
      concurrency: options.concurrency?.steps,
      lockMs: options.lockMs,
      ratePerSecond: options.ratePerSecond,
      onDelayed: options.onStepDone,
      onBatch: options.onBatch && ((size) => options.onBatch?.('steps', size)),
    });
    if (options.onStepDone) steps.on('completed', (_job, outcome) => options.onStepDone?.(outcome as StepOutcome));
    workers.push(steps);
  }
  if (options.onJobFailed) for (const worker of workers) worker.on('failed', (job, error) => options.onJobFailed?.(job?.id, error));
  let stopping: Promise<void> | undefined;
  const grace = options.stopGraceMs ?? STOP_GRACE_MS;
  return {
    engine,
    workers,
    relay,
    stop: () =>
      (stopping ??= (async () => {
        await within(grace, Promise.all(workers.map((w) => w.close())), () =>
          onError(new Error(`the workers' jobs in flight did not finish within ${grace} ms of stop(); stopped without them`), 'stop'),
        );
        await within(grace, reconciler?.stop(), () =>
          onError(new Error(`the reconciler's pass did not finish within ${grace} ms of stop(); stopped without it`), 'stop'),
        );
        await relay.stop();
      })()),
  };
}

/**
 * How long stop() waits for the jobs in flight and for the reconciler's pass. Seen in the
 * cluster failover test under load: after a master was killed and its replica took over,
 * stop() waited past two minutes on one of them, a Redis call that never came back. A
 * job left unfinished is safe to abandon: its lock lapses and it runs again, and the message
 * row's claim keeps it from being sent twice; the reconciler's pass is idempotent.
 */
const STOP_GRACE_MS = 20_000;

/** Waits for `work` at most `ms`; past that, says so through `late` and returns (the work goes on unawaited). */
async function within(ms: number, work: Promise<unknown> | undefined, late: () => void): Promise<void> {
  if (!work) return;
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), ms)));
  const done = work.then(() => 'done' as const);
  // A failure after the deadline has no one left to hear it: swallowed here, not an unhandled rejection.
  done.catch(() => {});
  try {
    if ((await Promise.race([done, timedOut])) === 'late') late();
  } finally {
    clearTimeout(timer);
  }
}
