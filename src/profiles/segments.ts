/**
 * Segments at a moment: the shop's thresholds and quintiles from every profile
 * (src/core/profile.ts, with `config/segments.yaml` where it sets them), and each customer's
 * segment and RFM scores. What `campaign customers segments|profile` print.
 */
import { readFile } from 'node:fs/promises';
import {
  segmentOf,
  SEGMENTS,
  segmentSettingsSchema,
  shopThresholds,
  type CustomerSegment,
  type ProfileFacts,
  type Segment,
  type SegmentSettings,
  type Thresholds,
} from '../core/profile.ts';
import type { Db } from '../db/client.ts';
import { YamlSourceError, FileError } from '../errors.ts';
import { profilesBeforeOrders, profileRows, storedProfiles, type ProfileRow, type StoredProfile } from '../store/profiles.ts';
import { parseYaml } from '../yaml-source.ts';

/** `config/segments.yaml` (SEGMENTS_FILE); a missing file sets nothing. A mistake is a FileError naming file:line. */
export async function loadSegmentSettings(path: string): Promise<SegmentSettings> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return {};
  }
  try {
    // A file of comments only is a file that sets nothing.
    return parseYaml(text, path, segmentSettingsSchema.nullable()) ?? {};
  } catch (error) {
    if (error instanceof YamlSourceError) throw new FileError(error.message);
    throw error;
  }
}

const facts = (row: ProfileRow) => ({
  orders: row.orders,
  spend: row.spend,
  lastOrderAt: row.last_order_at,
  typicalGapDays: row.typical_gap_days,
});

export interface ShopSegments {
  thresholds: Thresholds;
  /** Customers who ordered, per segment (every segment named, 0 included). */
  counts: Record<Segment, number>;
}

/** The shop's thresholds at `now` and how many customers each segment holds. */
export async function shopSegments(db: Db, now: Date, settings: SegmentSettings): Promise<ShopSegments> {
  const rows = await profileRows(db);
  const thresholds = shopThresholds(rows.map(facts), now, settings);
  const counts = Object.fromEntries(SEGMENTS.map((s) => [s, 0])) as Record<Segment, number>;
  for (const row of rows) counts[segmentOf(facts(row), thresholds, now)!.segment] += 1;
  return { thresholds, counts };
}

/**
 * One customer at `now`: their stored profile (undefined for no such customer), their segment
 * and scores (undefined before a first order), and the shop's thresholds they were read
 * against. What `campaign customers profile` and the dashboard's customer page show.
 */
export async function customerSegmentView(
  db: Db,
  customer: string,
  now: Date,
  settings: SegmentSettings,
): Promise<{ profile: StoredProfile | undefined; segment: CustomerSegment | undefined; thresholds: Thresholds }> {
  const thresholds = shopThresholds((await profileRows(db)).map(facts), now, settings);
  const [profile] = await storedProfiles(db, customer);
  const segment =
    profile &&
    segmentOf(
      { orders: profile.orders, spend: profile.spend, lastOrderAt: profile.last_order_at, typicalGapDays: profile.typical_gap_days },
      thresholds,
      now,
    );
  return { profile, segment, thresholds };
}

/** How long the shop's thresholds serve the enrollment processor before they are computed again (real time). */
export const THRESHOLDS_TTL_MS = 10 * 60_000;

/**
 * The shop's thresholds for the enrollment processor: computed from every profile at most
 * once per `ttlMs` (they move slowly; a pass over every profile for each order would not).
 */
export function cachedThresholds(db: Db, settings: SegmentSettings, ttlMs = THRESHOLDS_TTL_MS): (now: Date) => Promise<Thresholds> {
  let cached: { at: number; thresholds: Promise<Thresholds> } | undefined;
  return (now) => {
    if (!cached || Date.now() - cached.at > ttlMs) {
      const thresholds = profileRows(db).then((rows) => shopThresholds(rows.map(facts), now, settings));
      cached = { at: Date.now(), thresholds };
      // A failed computation is not kept: the next order tries again.
      thresholds.catch(() => (cached = undefined));
    }
    return cached.thresholds;
  };
}

/**
 * The customer's segment from their profile just before an order placed at `orderedAt`,
 * against the shop's thresholds: `new` for a customer without an earlier order.
 */
export function segmentAtOrder(before: ProfileFacts, orderedAt: Date, thresholds: Thresholds): Segment {
  return segmentOf(before, thresholds, orderedAt)?.segment ?? 'new';
}

/** What a trigger filter reads of the customer's profile just before an order. */
export interface ProfileAtOrder {
  facts: ProfileFacts;
  trigger: { orders: number; spend: string; daysSinceLastOrder: number | null };
}

/**
 * The customer's profile just before each order (src/store/profiles.ts, one statement for
 * all), and the days since their last earlier order then; keyed by order id.
 */
export async function profilesAtOrders(db: Db, orders: readonly { id: number; orderedAt: Date }[]): Promise<Map<number, ProfileAtOrder>> {
  const before = await profilesBeforeOrders(
    db,
    orders.map((o) => o.id),
  );
  const profiles = new Map<number, ProfileAtOrder>();
  for (const { id, orderedAt } of orders) {
    const facts = before.get(id);
    if (!facts) continue;
    const daysSinceLastOrder = facts.lastOrderAt ? (orderedAt.getTime() - facts.lastOrderAt.getTime()) / 86_400_000 : null;
    profiles.set(id, { facts, trigger: { orders: facts.orders, spend: facts.spend, daysSinceLastOrder } });
  }
  return profiles;
}
