import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { assignArm, HOLDOUT } from '../src/core/assignment.ts';
import { pacedClock, phasedClock, scaledClock } from '../src/core/clock.ts';
import { CAUGHT_UP_HOURS, nextPace, SLOW_AFTER_HOURS, SLOWEST_PACE, UNAVOIDABLE_SECONDS } from '../src/demo/pace.ts';
import { parseDuration } from '../src/core/duration.ts';
import { afterFrequencyCap, afterQuietHours, allowedSendTime } from '../src/core/schedule.ts';
import { sequenceJsonSchema } from '../src/core/sequence.ts';
import { triggerMatches } from '../src/core/trigger.ts';
import { loadSequenceFiles } from '../src/sequences/files.ts';

const SEQUENCES = new URL('../templates/sequences/', import.meta.url).pathname;

describe('variant assignment', () => {
  const variants = [
    { key: 'a', weight: 50 },
    { key: 'b', weight: 30 },
    { key: 'c', weight: 20 },
  ];
  it('splits 10,000 customers within 2% of the weights, holdout included', () => {
    const counts: Record<string, number> = {};
    for (let i = 0; i < 10_000; i++) {
      const arm = assignArm('post-purchase', `cust-${i}`, variants, 0.1);
      counts[arm] = (counts[arm] ?? 0) + 1;
    }
    const share = (k: string) => (counts[k] ?? 0) / 10_000;
    expect(Math.abs(share(HOLDOUT) - 0.1)).toBeLessThan(0.02);
    expect(Math.abs(share('a') - 0.45)).toBeLessThan(0.02);
    expect(Math.abs(share('b') - 0.27)).toBeLessThan(0.02);
    expect(Math.abs(share('c') - 0.18)).toBeLessThan(0.02);
  });

  it('never changes a customer’s arm, and differs between sequences', () => {
    for (let i = 0; i < 500; i++) expect(assignArm('s', `c${i}`, variants, 0.1)).toBe(assignArm('s', `c${i}`, variants, 0.1));
    const differ = Array.from({ length: 500 }, (_, i) => assignArm('s1', `c${i}`, variants, 0) !== assignArm('s2', `c${i}`, variants, 0));
    expect(differ.filter(Boolean).length).toBeGreaterThan(150);
  });
});

describe('step timing', () => {
  it('parses durations', () => {
    expect(parseDuration('2d')).toBe(172_800_000);
    expect(parseDuration('36h')).toBe(129_600_000);
    expect(parseDuration('1d12h')).toBe(129_600_000);
    expect(parseDuration('two days')).toBeUndefined();
  });

  it('delays out of quiet hours in the customer’s time zone, never drops', () => {
    const quiet = { start: '21:00', end: '08:00' };
    // 23:30 in Paris (UTC+1 in winter) → 08:00 Paris = 07:00 UTC next day.
    expect(afterQuietHours(new Date('2026-01-10T22:30:00Z'), quiet, 'Europe/Paris').toISOString()).toBe('2026-01-11T07:00:00.000Z');
    // 12:00 in Paris is fine.
    expect(afterQuietHours(new Date('2026-01-10T11:00:00Z'), quiet, 'Europe/Paris').toISOString()).toBe('2026-01-10T11:00:00.000Z');
    // 06:00 in Tokyo → 08:00 Tokyo.
    expect(afterQuietHours(new Date('2026-01-10T21:00:00Z'), quiet, 'Asia/Tokyo').toISOString()).toBe('2026-01-10T23:00:00.000Z');
  });

  it('delays past the frequency cap to the first allowed time', () => {
    const day = 86_400_000;
    const sent = [new Date('2026-01-01T10:00:00Z'), new Date('2026-01-03T10:00:00Z'), new Date('2026-01-05T10:00:00Z')];
    const cap = { max: 3, windowMs: 7 * day };
    const at = new Date('2026-01-06T10:00:00Z');
    expect(afterFrequencyCap(at, sent, cap).getTime()).toBe(sent[0]!.getTime() + 7 * day + 1);
    expect(afterFrequencyCap(at, sent.slice(1), cap).toISOString()).toBe(at.toISOString());
    // Both rules: the cap lifts on 2 January at 22:00 in Paris, inside quiet hours: next morning.
    const both = allowedSendTime(new Date('2026-01-01T21:30:00Z'), {
      quiet: { start: '21:00', end: '08:00' },
      timeZone: 'Europe/Paris',
      sent: [new Date('2025-12-26T21:00:00Z')],
      cap: { max: 1, windowMs: 7 * day },
    });
    expect(both.toISOString()).toBe('2026-01-03T07:00:00.000Z');
  });
});

describe('the phased clock', () => {
  const origin = 1_000_000;
  let real = origin;
  const H = 3_600_000;
  // 1,000× for the first 10 simulated hours, then 4,000×.
  const clock = phasedClock([{ scale: 1000, until: origin + 10 * H }, { scale: 4000 }], origin, () => real);

  it("runs at each stretch's scale, continuously across the change", () => {
    real = origin + 18_000; // 18 s real: 5 simulated hours
    expect(clock.now().getTime()).toBe(origin + 5 * H);
    real = origin + 36_000; // the change, at 10 h
    expect(clock.now().getTime()).toBe(origin + 10 * H);
    real = origin + 36_000 + 900; // then 900 ms real is one simulated hour
    expect(clock.now().getTime()).toBe(origin + 11 * H);
  });

  it('maps simulated moments and delays across the change the same way', () => {
    real = origin + 18_000; // at 5 h: 5 h more at 1,000× (18 s), 2 h at 4,000× (1.8 s)
    expect(clock.realDelay(7 * H)).toBe(19_800);
    expect(clock.realTimeOf(new Date(origin + 12 * H))).toBe(origin + 36_000 + 1_800);
    expect(clock.realTimeOf(clock.now())).toBe(real);
    expect(clock.realDelay(-H)).toBe(0);
  });

  it('is a scaled clock when there is one stretch, and refuses phases out of order', () => {
    real = origin + 5_000;
    const one = phasedClock([{ scale: 40_000 }], origin, () => real);
    const plain = scaledClock(40_000, origin, () => real);
    expect(one.now()).toEqual(plain.now());
    expect(one.realDelay(3 * H)).toBe(plain.realDelay(3 * H));
    expect(() => phasedClock([{ scale: 10, until: origin - 1 }, { scale: 20 }], origin)).toThrow(RangeError);
    expect(() => phasedClock([], origin)).toThrow(RangeError);
  });
});

describe('sequence files', () => {
  it('the shipped sequences check clean and the JSON Schema describes the format', async () => {
    const { files, problems } = await loadSequenceFiles(SEQUENCES);
    expect(problems).toEqual([]);
    expect(files.map((f) => f.definition.id).sort()).toEqual(['post-purchase', 'replenish']);
    const schema = sequenceJsonSchema() as { properties: Record<string, unknown>; required: string[] };
    expect(Object.keys(schema.properties)).toEqual(
      expect.arrayContaining(['id', 'trigger', 'variants', 'steps', 'holdout', 'quiet_hours']),
    );
    expect(schema.required).toEqual(expect.arrayContaining(['id', 'name', 'trigger', 'variants', 'steps']));
  });

  it('reports every error with file:line and what is expected', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'campaign-seq-'));
    writeFileSync(
      join(dir, 'bad.yaml'),
      [
        'id: Bad_ID', //                      1
        'name: Broken', //                    2
        'trigger:', //                        3
        '  event: order_shipped', //          4
        'holdout: 150%', //                   5
        'variants:', //                       6
        '  - key: a', //                      7
        '    weight: 1', //                   8
        'steps:', //                          9
        '  - delay: two days', //             10
        '    template: thank-you', //         11
        '    skip_if: { rain: true }', //     12
      ].join('\n'),
    );
    const { problems } = await loadSequenceFiles(dir);
    const at = (line: number, field: string) => problems.find((p) => p.includes(`bad.yaml:${line}: ${field}:`));
    expect(at(1, 'id')).toMatch(/lower-case letters/);
    expect(at(4, 'trigger.event')).toMatch(/order_placed/);
    expect(at(5, 'holdout')).toMatch(/less than 100%/);
    expect(at(10, 'steps.0.delay')).toMatch(/duration such as 2d/);
    expect(at(12, 'steps.0.skip_if')).toMatch(/rain/);
  });

  it('matches triggers on total, sku, category and first or repeat order', () => {
    const def = {
      trigger: { event: 'order_placed' as const, filters: { min_total: '50', categories: ['grinders'], customer: 'first_order' as const } },
    };
    const order = { total: '60.00', skus: ['G1'], categories: ['grinders'], earlierOrders: 0 };
    const m = (o: Partial<typeof order>) => triggerMatches(def, { ...order, ...o });
    expect(m({})).toBe(true);
    expect(m({ total: '49.99' })).toBe(false);
    expect(m({ categories: ['beans'] })).toBe(false);
    expect(m({ earlierOrders: 2 })).toBe(false);
  });
});

describe('the paced clock', () => {
  const origin = 1_000_000;
  let real = origin;
  const H = 3_600_000;
  // 1,000× throughout: 3.6 s real per simulated hour.
  const clock = pacedClock([{ scale: 1000 }], origin, () => real);

  it('runs as planned, then at half speed from the moment it is slowed, continuously', () => {
    real = origin + 3_600;
    expect(clock.now().getTime()).toBe(origin + H);
    clock.setPace(0.5);
    expect(clock.now().getTime()).toBe(origin + H);
    real += 3_600; // half an hour at half speed
    expect(clock.now().getTime()).toBe(origin + 1.5 * H);
    // Delays and moments assume the pace holds: an hour now takes 7.2 s.
    expect(clock.realDelay(H)).toBe(7_200);
    expect(clock.realTimeOf(new Date(origin + 2 * H))).toBe(real + 3_600);
    expect(clock.realTimeOf(clock.now())).toBe(real);
  });

  it('speeds back up to the plan, and refuses a pace outside (0, 1]', () => {
    clock.setPace(1);
    const at = clock.now().getTime();
    real += 3_600;
    expect(clock.now().getTime()).toBe(at + H);
    expect(() => clock.setPace(0)).toThrow(RangeError);
    expect(() => clock.setPace(1.5)).toThrow(RangeError);
  });
});

describe("the demo clock's pace", () => {
  // At 8,000× a real second is 2.2 simulated hours: the hour thresholds hold.
  const busy = 8_000 / 3_600;
  it('halves while the engine is more than three simulated hours late, down to a floor, and recovers by quarters within one', () => {
    expect(nextPace(1, 3.5, busy)).toBe(0.5);
    expect(nextPace(0.5, 10, busy)).toBe(0.25);
    expect(nextPace(0.25, 10, busy)).toBe(SLOWEST_PACE);
    expect(nextPace(SLOWEST_PACE, 1_000, busy)).toBe(SLOWEST_PACE);
    // In between, the pace holds: the workers are clearing a burst.
    expect(nextPace(0.5, 2, busy)).toBe(0.5);
    expect(nextPace(1, SLOW_AFTER_HOURS, busy)).toBe(1);
    expect(nextPace(0.5, CAUGHT_UP_HOURS, busy)).toBe(0.625);
    expect(nextPace(0.9, 0, busy)).toBe(1);
  });

  it('never slows for lateness within a real second, what the workers cannot avoid at a fast clock', () => {
    // At 40,000× a real second is 11.1 simulated hours.
    const tail = 40_000 / 3_600;
    expect(UNAVOIDABLE_SECONDS * tail).toBeCloseTo(11.11, 2);
    expect(nextPace(1, 8, tail)).toBe(1);
    expect(nextPace(1, 12, tail)).toBe(0.5);
    // Catching up: within a third of that second, 3.7 hours.
    expect(nextPace(0.5, 3.5, tail)).toBe(0.625);
    expect(nextPace(0.5, 5, tail)).toBe(0.5);
  });
});
