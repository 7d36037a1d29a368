/**
 * Page figures kept as snapshots, so a page answers from one stored row instead of building
 * the report. At the bench's size (a million emails) the report takes seconds; an analyst
 * looking at the overview, then a sequence, then back, should not wait each time, and the
 * figures of a running experiment move slowly. GrowthBook's result snapshots, refreshed on
 * a schedule and shown with their time, are the precedent.
 *
 * A page names its figures by a key (page, sequence and version, period) and says how to
 * build them. They are served from the stored snapshot while it is younger than
 * `maxAgeMs` (DASHBOARD_SNAPSHOT_SECONDS); past half that age the page is still served
 * from it and a newer one is built behind the reader; older, or missing, they are built
 * before answering (src/core/snapshot.ts decides). A timer rebuilds, before they age, the
 * snapshots looked at in the last hour (a rebuild is not a look), so a page that is looked
 * at never waits, and one nobody looks at costs nothing after that hour. Each page
 * says what its figures are as of. A `maxAgeMs` of 0 builds every page's figures live and
 * stores nothing.
 *
 * Builds of one key never overlap within a process (callers share the one in flight);
 * across processes the build that finishes last is kept (src/store/report-snapshots.ts).
 */
import { snapshotAction } from '../core/snapshot.ts';
import type { Db } from '../db/client.ts';
import { readSnapshot, saveSnapshot, viewedSnapshots } from '../store/report-snapshots.ts';

/** A page's figures and the moment (the engine's clock) they are as of. */
export interface Figures<T> {
  asOf: Date;
  body: T;
}

/** The figures as the page gets them, and whether they came from a stored snapshot. */
export interface Served<T> extends Figures<T> {
  fromSnapshot: boolean;
}

export interface PageSnapshots {
  /** The figures under `key`: stored, or built by `build` (reading the engine's clock itself) and stored. */
  figures<T>(key: string, build: () => Promise<Figures<T>>): Promise<Served<T>>;
  /** Stops the refresher and waits for the builds in flight. */
  stop(): Promise<void>;
}

/** Snapshots looked at within this long are kept fresh by the refresher. */
const KEEP_FRESH_MS = 3_600_000;

export function pageSnapshots(options: {
  db: Db;
  maxAgeMs: number;
  onError: (error: unknown, key: string) => void;
  /** Real time (tests may move it); default the machine's. */
  realNow?: () => Date;
}): PageSnapshots {
  const { db, maxAgeMs, onError } = options;
  const realNow = options.realNow ?? (() => new Date());
  const inFlight = new Map<string, Promise<Served<unknown>>>();
  // The last way each key was asked for here (and when, real time), so the refresher can build it again.
  const builders = new Map<string, { fn: () => Promise<Figures<unknown>>; askedAt: number }>();

  const build = <T>(key: string, fn: () => Promise<Figures<T>>): Promise<Served<T>> => {
    const running = inFlight.get(key);
    if (running) return running as Promise<Served<T>>;
    const started = realNow().getTime();
    const promise = (async () => {
      const { asOf, body } = await fn();
      const builtAt = realNow();
      await saveSnapshot(db, { key, asOf, builtAt, buildMs: builtAt.getTime() - started, body });
      return { asOf, body, fromSnapshot: false };
    })().finally(() => inFlight.delete(key));
    inFlight.set(key, promise);
    return promise;
  };
  const behind = (key: string, fn: () => Promise<Figures<unknown>>) => void build(key, fn).catch((error: unknown) => onError(error, key));

  let timer: NodeJS.Timeout | undefined;
  let refreshing: Promise<void> | undefined;
  let stopped = false;
  /** One pass: rebuild what is looked at and half aged; forget the builders of keys nobody looked at lately. */
  const refresh = async () => {
    const now = realNow().getTime();
    try {
      const viewed = await viewedSnapshots(db, new Date(now - KEEP_FRESH_MS));
      const keep = new Set(viewed.map((v) => v.key));
      // Forgotten once neither looked at nor asked for within the hour (a key being built for the first time is not stored yet).
      for (const [key, { askedAt }] of builders) if (!keep.has(key) && askedAt < now - KEEP_FRESH_MS) builders.delete(key);
      for (const { key, builtAt } of viewed) {
        const fn = builders.get(key)?.fn;
        if (stopped) return;
        if (fn && now - builtAt.getTime() > maxAgeMs / 2) await build(key, fn).catch((error: unknown) => onError(error, key));
      }
    } catch (error) {
      onError(error, '(refresher)');
    }
  };
  if (maxAgeMs > 0) {
    timer = setInterval(() => {
      // A pass still running (builds take seconds at size) makes this tick a no-op: passes never pile up.
      if (refreshing || stopped) return;
      refreshing = refresh().finally(() => (refreshing = undefined));
    }, maxAgeMs / 4);
    timer.unref();
  }

  return {
    async figures<T>(key: string, fn: () => Promise<Figures<T>>): Promise<Served<T>> {
      if (maxAgeMs <= 0) return { ...(await fn()), fromSnapshot: false };
      builders.set(key, { fn, askedAt: realNow().getTime() });
      const stored = await readSnapshot(db, key, realNow());
      const action = snapshotAction(stored?.builtAt, realNow(), maxAgeMs);
      if (!stored || action === 'build') return build(key, fn);
      if (action === 'serve-then-refresh') behind(key, fn);
      return { asOf: stored.asOf, body: stored.body as T, fromSnapshot: true };
    },
    async stop() {
      stopped = true;
      clearInterval(timer);
      await refreshing;
      await Promise.allSettled([...inFlight.values()]);
    },
  };
}
