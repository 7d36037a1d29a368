/**
 * Variant assignment: a stable hash of (sequence, customer) into weighted buckets, the
 * holdout included, so a customer lands in the same arm every time they are assigned for
 * that sequence, and arm shares follow the weights.
 */
import { createHash } from 'node:crypto';

export const HOLDOUT = 'holdout';

/** A number in [0, 1) determined by the sequence and customer alone. */
function stableUnit(sequenceId: string, customerKey: string): number {
  const digest = createHash('sha256').update(`${sequenceId}\u0000${customerKey}`).digest();
  // 52 bits: exactly representable, uniform enough for any shop.
  return (digest.readUInt32BE(0) * 2 ** 20 + (digest.readUInt32BE(4) >>> 12)) / 2 ** 52;
}

/**
 * The arm of a customer: the holdout takes the first `holdout` share of the unit
 * interval, and the variants split the rest in proportion to their weights.
 */
export function assignArm(sequenceId: string, customerKey: string, variants: { key: string; weight: number }[], holdout: number): string {
  const u = stableUnit(sequenceId, customerKey);
  if (u < holdout) return HOLDOUT;
  const total = variants.reduce((sum, v) => sum + v.weight, 0);
  let point = ((u - holdout) / (1 - holdout)) * total;
  for (const v of variants) {
    if (point < v.weight) return v.key;
    point -= v.weight;
  }
  return variants[variants.length - 1]!.key;
}
