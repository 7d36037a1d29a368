/**
 * Discount code pools without IO: values, the checks of a codes file, expiry, which pool a
 * step offers, what an empty pool means, the discount link, the redemption rule of
 * attribution, the sequence format's `offer`, and `templates check` knowing `offer.*`.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { creditedTouch, DEFAULT_ATTRIBUTION, type Touch } from '../src/core/attribution.ts';
import {
  checkCodes,
  codeColumn,
  discountUrl,
  discountUrlProblem,
  discountValueText,
  EMPTY_POOL_RECHECK_MS,
  importExpiry,
  plainValue,
  offerFor,
  offerPools,
  onEmptyPool,
  parseDiscountValue,
  type DiscountValue,
} from '../src/core/discount.ts';
import { sumMoney } from '../src/core/money.ts';
import { sequenceSchema } from '../src/core/sequence.ts';
import { loadConfig } from '../src/config.ts';
import { readCodesFile } from '../src/ingest/codes-file.ts';
import { loadSequenceFiles, unknownPoolProblems } from '../src/sequences/files.ts';
import { checkVariables } from '../src/templates/variables.ts';
import { readableIssues } from '../src/yaml-source.ts';

describe('discount values', () => {
  it('reads a percentage or an amount, and refuses anything else naming what it takes', () => {
    expect(parseDiscountValue('10%')).toEqual({ value: { kind: 'percent', value: '10' } });
    expect(parseDiscountValue('12.5%')).toEqual({ value: { kind: 'percent', value: '12.5' } });
    expect(parseDiscountValue('5.00')).toEqual({ value: { kind: 'amount', value: '5.00' } });
    expect(parseDiscountValue('5')).toEqual({ value: { kind: 'amount', value: '5' } });
    for (const bad of ['ten', '-5', '5,00', '$5', '10 %%', '', '1.23456'])
      expect(parseDiscountValue(bad)).toEqual({ problem: expect.stringContaining('must be a percentage such as 10% or an amount') });
    expect(parseDiscountValue('0%')).toEqual({ problem: expect.stringContaining('above 0%') });
    expect(parseDiscountValue('150%')).toEqual({ problem: expect.stringContaining('at most 100%') });
    expect(parseDiscountValue('0.00')).toEqual({ problem: expect.stringContaining('above 0') });
  });

  it('shows a value as people read it, an amount in the shop currency', () => {
    expect(discountValueText({ kind: 'percent', value: '10.0000' }, 'USD')).toBe('10%');
    expect(discountValueText({ kind: 'percent', value: '12.5' }, 'USD')).toBe('12.5%');
    expect(discountValueText({ kind: 'amount', value: '5.0000' }, 'USD')).toBe('$5.00');
    expect(discountValueText({ kind: 'amount', value: '5' }, 'EUR')).toBe('€5.00');
  });

  it('sums money exactly', () => {
    expect(sumMoney(['0.1', '0.2', '10.0000'])).toBe('10.3000');
    expect(sumMoney([])).toBe('0.0000');
  });
});

describe('a codes file', () => {
  it('reports a code twice (without regard to case) and a code that is not one word, each at its line', () => {
    const { codes, problems } = checkCodes([
      { line: 1, code: 'SAVE-1' },
      { line: 2, code: 'SAVE-2' },
      { line: 3, code: 'save-1' },
      { line: 4, code: 'TWO WORDS' },
      { line: 5, code: '' },
    ]);
    expect(codes.map((c) => c.code)).toEqual(['SAVE-1', 'SAVE-2']);
    expect(problems).toEqual([
      { line: 3, message: 'code "save-1" is already on line 1 of this file' },
      { line: 4, message: expect.stringContaining('one word') },
      { line: 5, message: 'code is empty' },
    ]);
  });

  it('finds the code column of a Shopify or WooCommerce export, in any case', () => {
    expect(codeColumn(['Title', 'Code', 'Usage Count'])).toBe('Code');
    expect(codeColumn(['post_title', 'discount_type', 'coupon_amount'])).toBe('post_title');
    expect(codeColumn(['coupon_code', 'post_title'])).toBe('coupon_code');
    expect(codeColumn(['Title', 'Value'])).toBeUndefined();
  });

  it('reads a plain list, a CSV export and a BOM, with the lines of the file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'codes-'));
    const list = join(dir, 'codes.txt');
    writeFileSync(list, 'AAA-1\r\n\r\nAAA-2\r\nAAA-1\r\n');
    expect(await readCodesFile(list)).toEqual({
      format: 'list',
      codes: [
        { line: 1, code: 'AAA-1' },
        { line: 3, code: 'AAA-2' },
      ],
      problems: [{ line: 4, message: 'code "AAA-1" is already on line 1 of this file' }],
    });
    const csv = join(dir, 'shopify.csv');
    writeFileSync(csv, '\uFEFFCode,Usage Count\nBBB-1,0\n"BBB-2",0\n,0\n');
    expect(await readCodesFile(csv)).toEqual({
      format: 'csv',
      codes: [
        { line: 2, code: 'BBB-1' },
        { line: 3, code: 'BBB-2' },
      ],
      problems: [{ line: 4, message: 'code is empty' }],
    });
    const headerOnly = join(dir, 'one-column.csv');
    writeFileSync(headerOnly, 'coupon_code\nCCC-1\n');
    expect((await readCodesFile(headerOnly)).codes).toEqual([{ line: 2, code: 'CCC-1' }]);
    const noColumn = join(dir, 'other.csv');
    writeFileSync(noColumn, 'Title,Value\nx,1\n');
    await expect(readCodesFile(noColumn)).rejects.toThrow(/other\.csv:1: no column of codes/);
  });

  it('expires at the time given, or N days from now, never in the past', () => {
    const now = new Date('2026-12-06T12:00:00Z');
    expect(importExpiry({}, now)).toEqual({ expiresAt: null });
    expect(importExpiry({ validDays: 30 }, now)).toEqual({ expiresAt: new Date('2027-01-05T12:00:00Z') });
    expect(importExpiry({ expiresAt: new Date('2027-01-01T00:00:00Z') }, now)).toEqual({ expiresAt: new Date('2027-01-01T00:00:00Z') });
    expect(importExpiry({ expiresAt: new Date('2026-12-01T00:00:00Z') }, now)).toEqual({ problem: expect.stringContaining('in the past') });
    expect(importExpiry({ expiresAt: new Date('2027-01-01T00:00:00Z'), validDays: 3 }, now)).toEqual({
      problem: 'give --expires-at or --valid-days, not both',
    });
  });
});

const SEQUENCE = `id: offers
name: Offers
trigger: { event: order_placed }
variants:
  - key: plain
    weight: 1
  - key: discount
    weight: 1
    offer: { pool: welcome-10 }
steps:
  - { delay: 1h, template: thank-you }
  - delay: 3d
    template: accessories
    offer:
      pool: late-5
      on_empty: send_without_offer
`;

describe('offers in a sequence', () => {
  const definition = sequenceSchema.parse(
    // The YAML above, as parsed.
    {
      id: 'offers',
      name: 'Offers',
      trigger: { event: 'order_placed' },
      variants: [
        { key: 'plain', weight: 1 },
        { key: 'discount', weight: 1, offer: { pool: 'welcome-10' } },
      ],
      steps: [
        { delay: '1h', template: 'thank-you' },
        { delay: '3d', template: 'accessories', offer: { pool: 'late-5', on_empty: 'send_without_offer' } },
      ],
    },
  );

  it("takes the step's offer, else the variant's; the holdout has none", () => {
    expect(offerFor(definition, 'plain', 0)).toBeUndefined();
    expect(offerFor(definition, 'discount', 0)).toEqual({ pool: 'welcome-10', on_empty: 'delay' });
    expect(offerFor(definition, 'plain', 1)).toEqual({ pool: 'late-5', on_empty: 'send_without_offer' });
    expect(offerFor(definition, 'discount', 1)).toEqual({ pool: 'late-5', on_empty: 'send_without_offer' });
    expect(offerFor(definition, 'holdout', 0)).toBeUndefined();
  });

  it('a step that says `offer: none` shows no code, whatever its variant offers', () => {
    const none = sequenceSchema.parse({
      ...definition,
      steps: [definition.steps[0], { delay: '3d', template: 'accessories', offer: 'none' }],
    });
    expect(offerFor(none, 'discount', 0)).toEqual({ pool: 'welcome-10', on_empty: 'delay' });
    expect(offerFor(none, 'discount', 1)).toBeUndefined();
    expect(offerPools(none).map((p) => p.pool)).toEqual(['welcome-10']);
  });

  it('an empty pool delays the step an hour, or lets it go without the offer', () => {
    const now = new Date('2026-12-06T12:00:00Z');
    expect(onEmptyPool({ pool: 'p', on_empty: 'delay' }, now)).toEqual({
      kind: 'delay',
      until: new Date(now.getTime() + EMPTY_POOL_RECHECK_MS),
    });
    expect(onEmptyPool({ pool: 'p', on_empty: 'send_without_offer' }, now)).toEqual({ kind: 'send_without_offer' });
  });

  it('refuses a bad offer with its field, and an unknown pool with file:line', async () => {
    const bad = sequenceSchema.safeParse({ ...definition, steps: [{ delay: '1h', template: 't', offer: { pool: 'P Q', on_empty: 'x' } }] });
    expect(bad.success).toBe(false);
    // A step's offer is `none` or a pool: the form it came closest to names the field.
    expect(readableIssues(bad.error!.issues).map((i) => i.path.join('.'))).toEqual(['steps.0.offer.pool', 'steps.0.offer.on_empty']);
    const word = sequenceSchema.safeParse({ ...definition, steps: [{ delay: '1h', template: 't', offer: 'nothing' }] });
    expect(readableIssues(word.error!.issues).map((i) => `${i.path.join('.')}: ${i.message}`)).toEqual(['steps.0.offer: Invalid input']);

    const dir = mkdtempSync(join(tmpdir(), 'offers-'));
    writeFileSync(join(dir, 'offers.yaml'), SEQUENCE);
    const { files, problems } = await loadSequenceFiles(dir);
    expect(problems).toEqual([]);
    expect(offerPools(files[0]!.definition).map((p) => p.pool)).toEqual(['welcome-10', 'late-5']);
    const unknown = unknownPoolProblems(files, ['welcome-10']);
    expect(unknown).toHaveLength(1);
    expect(unknown[0]).toMatch(/offers\.yaml:15: steps\.1\.offer\.pool: no code pool "late-5" \(the pools are "welcome-10"/);
    expect(unknownPoolProblems(files, ['welcome-10', 'late-5'])).toEqual([]);
  });
});

describe('the discount link and the settings', () => {
  it('fills {shop} and {code}, the code URL-encoded', () => {
    expect(discountUrl('{shop}/discount/{code}', 'https://shop.example/', 'SAVE 10/%')).toBe(
      'https://shop.example/discount/SAVE%2010%2F%25',
    );
    expect(discountUrl('{shop}/?coupon_code={code}', 'https://shop.example', 'A1')).toBe('https://shop.example/?coupon_code=A1');
  });

  it('refuses a pattern without {code} or that makes no URL, naming the setting', () => {
    expect(discountUrlProblem('{shop}/discount/')).toMatch(/must contain \{code\}/);
    expect(discountUrlProblem('discount/{code}')).toMatch(/must give a URL/);
    expect(discountUrlProblem('ftp://x/{code}')).toMatch(/http\(s\)/);
    expect(() => loadConfig({ SHOP_DISCOUNT_URL: '{shop}/discount' })).toThrow(/SHOP_DISCOUNT_URL: must contain \{code\}/);
    expect(() => loadConfig({ CODE_POOL_LOW: 'few' })).toThrow(/CODE_POOL_LOW: must be a number/);
    const config = loadConfig({ SHOP_DISCOUNT_URL: '{shop}/apply/{code}', CODE_POOL_LOW: '25' });
    expect({ url: config.discountUrl, low: config.codePoolLow }).toEqual({ url: '{shop}/apply/{code}', low: 25 });
    expect(loadConfig({}).discountUrl).toBe('{shop}/discount/{code}');
  });
});

describe('redemption in attribution', () => {
  it('credits the email that issued the redeemed code ahead of a later click on another email', () => {
    const at = (h: number) => new Date(Date.UTC(2026, 11, 6, h));
    const touches: Touch[] = [
      { messageId: 1, type: 'code', at: at(1) },
      { messageId: 2, type: 'click', at: at(5) },
      { messageId: 3, type: 'open', at: at(6) },
    ];
    expect(creditedTouch(touches, at(7), DEFAULT_ATTRIBUTION)?.messageId).toBe(1);
    expect(creditedTouch(touches, at(7), { ...DEFAULT_ATTRIBUTION, kind: 'last-touch' })?.messageId).toBe(1);
    // A code sent after the order cannot have been redeemed by it: the usual rule applies.
    expect(creditedTouch([{ messageId: 1, type: 'code', at: at(8) }, touches[1]!], at(7), DEFAULT_ATTRIBUTION)?.messageId).toBe(2);
  });
});

describe('templates check knows the offer', () => {
  it('accepts offer.code, value, kind, expiresAt and url, inside #if and #with, and refuses others', () => {
    expect(
      checkVariables(
        '{{#if offer}}{{offer.code}} {{offer.value}} {{offer.kind}} {{offer.url}}{{#if offer.expiresAt}}{{date offer.expiresAt}}{{/if}}{{/if}}' +
          '{{#with offer}}{{code}}{{/with}}',
      ),
    ).toEqual([]);
    expect(checkVariables('{{#if offer}}\n{{offer.percent}}{{/if}}')).toEqual([
      { line: 2, message: expect.stringContaining('"offer.percent" is not in the render context') },
    ]);
  });
});

describe('a pool value as the lists give it', () => {
  it('drops the stored trailing zeros of a percentage and keeps cents on an amount', () => {
    const cases: [DiscountValue, string][] = [
      [{ kind: 'percent', value: '10.0000' }, '10'],
      [{ kind: 'percent', value: '12.5000' }, '12.5'],
      [{ kind: 'percent', value: '100' }, '100'],
      [{ kind: 'amount', value: '5.0000' }, '5.00'],
      [{ kind: 'amount', value: '2.5000' }, '2.50'],
      [{ kind: 'amount', value: '2.1250' }, '2.125'],
      [{ kind: 'amount', value: '10' }, '10.00'],
      [{ kind: 'amount', value: '100.0000' }, '100.00'],
    ];
    for (const [value, text] of cases) expect(plainValue(value), JSON.stringify(value)).toBe(text);
  });
});
