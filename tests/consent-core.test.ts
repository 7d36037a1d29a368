/** Marketing consent without IO: what a rule allows, how shops' words read, how an update merges (src/core/consent.ts). */
import { describe, expect, it } from 'vitest';
import { consentAllows, mergeConsent, parseConsent, UNSUBSCRIBE_SOURCE } from '../src/core/consent.ts';
import { customerRecord } from '../src/core/records.ts';
import { consentRule, sequenceSchema } from '../src/core/sequence.ts';

const NOW = new Date('2026-06-01T12:00:00Z');
const at = (iso: string) => new Date(iso);

describe('consent', () => {
  it('lets a required rule through only for yes, a transactional one for everyone', () => {
    expect(consentAllows('required', 'yes')).toBe(true);
    expect(consentAllows('required', 'no')).toBe(false);
    expect(consentAllows('required', 'unknown')).toBe(false);
    for (const state of ['yes', 'no', 'unknown'] as const) expect(consentAllows('not_required', state)).toBe(true);
  });

  it('defaults a sequence to required, and reads a stored version without the rule as required', () => {
    const base = {
      id: 's',
      name: 'S',
      trigger: { event: 'order_placed' },
      variants: [{ key: 'a', weight: 1 }],
      steps: [{ delay: '1h', template: 't' }],
    };
    expect(sequenceSchema.parse(base).consent).toBe('required');
    expect(sequenceSchema.parse({ ...base, consent: 'not_required' }).consent).toBe('not_required');
    expect(sequenceSchema.safeParse({ ...base, consent: 'maybe' }).success).toBe(false);
    expect(consentRule({})).toBe('required');
  });

  it("reads shops' words in any case, and refuses others with what it takes", () => {
    const cases: [string | boolean, string | undefined][] = [
      ['yes', 'yes'],
      ['YES', 'yes'],
      [true, 'yes'],
      ['true', 'yes'],
      ['subscribed', 'yes'],
      ['no', 'no'],
      [false, 'no'],
      ['False', 'no'],
      ['not_subscribed', 'no'],
      ['unsubscribed', 'no'],
      ['unknown', 'unknown'],
      ['maybe', undefined],
      ['1', undefined],
    ];
    for (const [value, state] of cases) expect(parseConsent(value), String(value)).toBe(state);
    const record = (accepts_marketing: unknown) =>
      customerRecord.safeParse({ customer_id: 'c', email: 'c@example.com', accepts_marketing });
    expect(record('Yes')).toMatchObject({ success: true, data: { accepts_marketing: 'yes' } });
    // Empty in a CSV: not said, so the stored consent stays.
    expect(record('')).toMatchObject({ success: true, data: { accepts_marketing: undefined } });
    const bad = record('maybe');
    expect(bad.success).toBe(false);
    expect(bad.error!.issues[0]).toMatchObject({
      path: ['accepts_marketing'],
      message: expect.stringContaining('must be yes, no or unknown'),
    });
    expect(record(3).success).toBe(false);
  });

  it('merges an update: the newer word wins, the same word changes nothing, an undated export never undoes an unsubscribe', () => {
    const unknown = { state: 'unknown' as const, at: null, source: null };
    // A first consent, undated: now, from the import.
    expect(mergeConsent(unknown, { state: 'yes' }, NOW)).toEqual({ state: 'yes', at: NOW, source: 'import', changed: true });
    // Dated, with its source.
    const given = mergeConsent(unknown, { state: 'yes', at: at('2026-05-01T00:00:00Z'), source: 'checkout' }, NOW);
    expect(given).toEqual({ state: 'yes', at: at('2026-05-01T00:00:00Z'), source: 'checkout', changed: true });
    const stored = { state: given.state, at: given.at, source: given.source };
    // Not said, or said again: nothing changes, not even the time.
    expect(mergeConsent(stored, {}, NOW)).toEqual({ ...stored, changed: false });
    expect(mergeConsent(stored, { state: 'yes', at: at('2026-05-20T00:00:00Z') }, NOW)).toEqual({ ...stored, changed: false });
    // An older word loses; a newer one wins.
    expect(mergeConsent(stored, { state: 'no', at: at('2026-04-01T00:00:00Z') }, NOW).changed).toBe(false);
    expect(mergeConsent(stored, { state: 'no', at: at('2026-05-02T00:00:00Z') }, NOW)).toMatchObject({ state: 'no', changed: true });
    // The engine's withdrawal: an undated yes (last night's export) keeps it; a dated later one is a new consent.
    const unsubscribed = { state: 'no' as const, at: at('2026-05-10T00:00:00Z'), source: UNSUBSCRIBE_SOURCE };
    expect(mergeConsent(unsubscribed, { state: 'yes' }, NOW).changed).toBe(false);
    expect(mergeConsent(unsubscribed, { state: 'yes', at: at('2026-05-09T00:00:00Z') }, NOW).changed).toBe(false);
    expect(mergeConsent(unsubscribed, { state: 'yes', at: at('2026-05-11T00:00:00Z'), source: 'newsletter' }, NOW)).toEqual({
      state: 'yes',
      at: at('2026-05-11T00:00:00Z'),
      source: 'newsletter',
      changed: true,
    });
  });
});
