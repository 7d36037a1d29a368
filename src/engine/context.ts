/**
 * What the enrollment and step processors need. Built by `createEngine` (./assemble.ts),
 * the one assembly every entry point, the demo, the tests and the bench use; nothing here
 * opens a connection.
 */
import type { SegmentSettings } from '../core/profile.ts';
import type { Mailer } from '../mail/transport.ts';
import type { Logger } from 'pino';
import type { Config } from '../config.ts';
import type { Clock } from '../core/clock.ts';
import type { Rules } from '../core/recommend.ts';
import type { FrequencyCap } from '../core/schedule.ts';
import type { Db } from '../db/client.ts';
import type { Queues, StepJob } from '../queue/queues.ts';
import { jobIds, JOB_NAMES } from '../queue/queues.ts';
import { Renderer } from '../templates/render.ts';
import { findTemplateVersion } from '../store/templates.ts';

export interface EngineSettings {
  publicUrl: string;
  secretKey: string;
  mailFrom: string;
  shop: Config['shop'];
  frequencyCap?: FrequencyCap | undefined;
  rules: Rules;
  /** Real seconds a worker holds a message while handing it to SMTP (default 120). */
  claimSeconds?: number | undefined;
  /** SHOP_DISCOUNT_URL: the link that applies a code (default `{shop}/discount/{code}`). */
  discountUrl?: string | undefined;
  /** SHOP_CART_URL: the link that puts a bundle in the cart (default `{shop}/cart/{items}`). */
  cartUrl?: string | undefined;
  /** CODE_POOL_LOW: fewer codes left than this is a warning (default 100). */
  codePoolLow?: number | undefined;
  /** NEW_ARRIVALS_DAYS: how long a product is new to the new-arrivals strategy (default 30). */
  newArrivalsDays?: number | undefined;
  /** config/segments.yaml: the segment thresholds the shop sets; the rest come from its customers. */
  segments?: SegmentSettings | undefined;
}

export interface Engine {
  db: Db;
  queues: Queues;
  clock: Clock;
  settings: EngineSettings;
  /** The pooled SMTP transport every send goes through. */
  transport: Mailer;
  log?: Logger | undefined;
  /** Compiled renderers by template version id, built once per process. */
  renderers: Map<number, Renderer>;
}

export async function rendererFor(engine: Engine, templateVersionId: number): Promise<Renderer> {
  let renderer = engine.renderers.get(templateVersionId);
  if (!renderer) {
    const version = await findTemplateVersion(engine.db, { id: templateVersionId });
    if (!version) throw new Error(`template version ${templateVersionId} does not exist`);
    renderer = new Renderer(version.compiled);
    engine.renderers.set(templateVersionId, renderer);
  }
  return renderer;
}

/**
 * Puts step `step` of an enrollment on the queue to run at simulated time `dueAt`, under
 * its deterministic job id: scheduling the same step twice adds one job.
 */
export async function scheduleStep(engine: Engine, enrollmentId: number, step: number, dueAt: Date): Promise<void> {
  await scheduleSteps(engine, [{ enrollmentId, step, dueAt }]);
}

/** {@link scheduleStep} for many steps, in one round trip to Redis. */
export async function scheduleSteps(engine: Engine, steps: readonly (StepJob & { dueAt: Date })[]): Promise<void> {
  if (steps.length === 0) return;
  const now = engine.clock.now().getTime();
  await engine.queues.steps.addBulk(
    steps.map(({ enrollmentId, step, dueAt }) => ({
      name: JOB_NAMES.step,
      data: { enrollmentId, step },
      opts: { jobId: jobIds.step(enrollmentId, step), delay: engine.clock.realDelay(dueAt.getTime() - now) },
    })),
  );
}
