import { describe, expect, it } from 'vitest';
import {
  customerRecord,
  describeIssues,
  lineAmountProblem,
  orderLineRecord,
  orderRecord,
  orderTotalProblem,
  productRecord,
} from '../src/core/records.ts';
import { parseOrderLine } from '../src/core/order-line.ts';
import { prng } from '../src/core/random.ts';
import { emailProblem, preview, textProblem } from '../src/core/text.ts';

const line = { order_id: '1', customer_id: 'c', ordered_at: '2026-03-01T10:00:00Z', sku: 'A', quantity: 1, unit_price: '1' };
const product = { sku: 'A', name: 'n', category: 'c', price: '1' };
const order = { order_id: 'o', customer_id: 'c', ordered_at: '2026-03-01T10:00:00Z', items: [{ sku: 'A', quantity: 1, unit_price: '1' }] };
/** The messages of a failed parse, as the file import prints them. */
const problems = (schema: { safeParse(v: unknown): { success: boolean; error?: unknown } }, input: unknown) => {
  const result = schema.safeParse(input);
  expect(result.success).toBe(false);
  return describeIssues(result.error as never, input);
};

describe('input records', () => {
  it('normalises times to UTC and keeps money as decimal strings', () => {
    const line = orderLineRecord.parse({
      order_id: 7,
      customer_id: 'c-1',
      ordered_at: '2026-03-02T12:30:00+01:00',
      sku: 'A',
      quantity: '2',
      unit_price: 10.5,
    });
    expect(line).toEqual({
      order_id: '7',
      customer_id: 'c-1',
      ordered_at: '2026-03-02T11:30:00.000Z',
      sku: 'A',
      quantity: 2,
      unit_price: '10.5',
    });
  });

  it.each([['2026-02-30T10:00:00Z'], ['2026-13-01T10:00:00Z'], ['2026-03-01T24:00:00Z'], ['2026-03-01T10:00:00'], ['yesterday']])(
    'rejects the time %s',
    (ordered_at) => {
      const result = orderLineRecord.safeParse({ order_id: '1', customer_id: 'c', ordered_at, sku: 'A', quantity: 1, unit_price: '1' });
      expect(result.success).toBe(false);
    },
  );

  it('treats empty optional CSV fields as absent and reads flags', () => {
    expect(productRecord.parse({ sku: 'A', name: 'n', category: 'c', price: '1', url: '', in_stock: 'no', tier: '' })).toEqual({
      sku: 'A',
      name: 'n',
      category: 'c',
      price: '1',
      in_stock: false,
    });
  });

  it('describes each failing field with what it got', () => {
    const input = { sku: 'A', name: '', category: 'c', price: '1.23456', url: 'ftp://x' };
    const result = productRecord.safeParse(input);
    expect(result.success).toBe(false);
    expect(describeIssues(result.error!, input)).toEqual([
      'name: must not be empty (got "")',
      'price: must be a decimal amount such as 19.99, with at most 4 decimals (got "1.23456")',
      'url: must be an http(s) URL (got "ftp://x")',
    ]);
  });

  it.each([
    ['a NUL', 'ab\u0000c', 'must not contain a NUL character'],
    ['a lone high surrogate', 'ab\ud800', 'must be valid Unicode text (a lone surrogate at position 3)'],
    ['a lone low surrogate', '\udfffab', 'must be valid Unicode text (a lone surrogate at position 1)'],
    ['a reversed pair', 'x\udc00\ud800', 'must be valid Unicode text (a lone surrogate at position 2)'],
  ])('refuses %s in every text field, naming the field', (_, bad, message) => {
    expect(textProblem(bad)).toBe(message);
    for (const field of ['sku', 'name', 'category', 'url', 'image_url'])
      expect(problems(productRecord, { ...product, [field]: bad })[0]).toMatch(
        new RegExp(`^${field}: ${message.replace(/[()]/g, '\\$&')}`),
      );
    for (const field of ['customer_id', 'email', 'first_name', 'last_name', 'timezone'])
      expect(problems(customerRecord, { customer_id: 'c', email: 'a@b.de', [field]: bad })[0]).toMatch(new RegExp(`^${field}: must`));
    for (const field of ['order_id', 'customer_id', 'sku', 'ordered_at', 'unit_price'])
      expect(problems(orderLineRecord, { ...line, [field]: bad })[0]).toContain(`${field}: ${message}`);
    expect(problems(orderRecord, { ...order, items: [{ sku: bad, quantity: 1, unit_price: '1' }] })[0]).toContain(
      `items[0].sku: ${message}`,
    );
  });

  it('keeps valid pairs (emoji) and other Unicode text as it is', () => {
    expect(textProblem('Café 😀 北京')).toBeUndefined();
    expect(productRecord.parse({ ...product, name: 'Café 😀' }).name).toBe('Café 😀');
  });

  it('refuses a line or an order whose amount does not fit numeric(16,4), though each field does', () => {
    expect(problems(orderLineRecord, { ...line, quantity: 1_000_000, unit_price: '999999999.99' })).toEqual([
      'quantity × unit_price must be at most 999999999999.9999 (got 1000000 × 999999999.99 = 999999999990000.0000)',
    ]);
    expect(lineAmountProblem(1_000_000, '999999.9999')).toBeUndefined(); // 999999999900: fits
    const big = { sku: 'A', quantity: 1, unit_price: '999999999999' };
    expect(problems(orderRecord, { ...order, items: [big, big] })).toEqual([
      "items: the order's total (the sum of quantity × unit_price over its 2 lines) must be at most 999999999999.9999 (got 1999999999998.0000)",
    ]);
    expect(problems(orderRecord, { ...order, items: [{ sku: 'A', quantity: 2, unit_price: '999999999999' }] })[0]).toMatch(
      /^items\[0\]: quantity × unit_price must be at most 999999999999\.9999/,
    );
    expect(orderTotalProblem([{ quantity: 1, unit_price: '999999999999.9999' }])).toBeUndefined();
    expect(
      orderTotalProblem([
        { quantity: 1, unit_price: '999999999999.9999' },
        { quantity: 1, unit_price: '0.0001' },
      ]),
    ).toMatch(/at most/);
  });

  it.each([
    ['0001-01-01T00:00:00+01:00', 0],
    ['0000-06-01T00:00:00Z', 0],
    ['9999-12-31T23:30:00-01:00', 10000],
  ])('refuses the time %s, whose year in UTC is outside 0001–9999', (ordered_at, year) => {
    expect(problems(orderLineRecord, { ...line, ordered_at })[0]).toContain(
      `ordered_at: must be an ISO 8601 time with a zone, such as 2026-03-01T14:30:00Z, in the years 0001 to 9999 once converted to UTC (this one falls in the year ${year})`,
    );
  });

  it('accepts the first and last instants of years 0001–9999, and checks early leap days', () => {
    expect(orderLineRecord.parse({ ...line, ordered_at: '0001-01-01T00:00:00Z' }).ordered_at).toBe('0001-01-01T00:00:00.000Z');
    expect(orderLineRecord.parse({ ...line, ordered_at: '9999-12-31T23:59:59Z' }).ordered_at).toBe('9999-12-31T23:59:59.000Z');
    expect(orderLineRecord.parse({ ...line, ordered_at: '0004-02-29T00:00:00Z' }).ordered_at).toBe('0004-02-29T00:00:00.000Z');
    expect(orderLineRecord.safeParse({ ...line, ordered_at: '0100-02-29T00:00:00Z' }).success).toBe(false);
  });

  it('takes ids as JSON numbers only when they are safe integers', () => {
    expect(orderLineRecord.parse({ ...line, order_id: 9007199254740991, sku: -3 })).toMatchObject({
      order_id: '9007199254740991',
      sku: '-3',
    });
    for (const bad of [2 ** 53, 2 ** 53 + 2, 1e308, 1.5, Number.MIN_SAFE_INTEGER - 2]) {
      const [message] = problems(customerRecord, { customer_id: bad, email: 'a@b.de' });
      expect(message).toMatch(/^customer_id: must be text, or a whole number of at most 9007199254740991 \(send larger .*ids as strings/);
    }
    expect(customerRecord.parse({ customer_id: '12345678901234567890', email: 'a@b.de' }).customer_id).toBe('12345678901234567890');
  });

  it('reads an orders file row by its fast path exactly as the schema reads it', () => {
    // Each field's variants: plain values the fast path takes, and values it must leave to the schema.
    const variants: Record<string, unknown[]> = {
      order_id: ['O1', 'o-7/x', ' O1', 'O 1', '', 'ö1', 'x'.repeat(128), 'x'.repeat(129), 42, undefined, 'a\u0000b'],
      customer_id: ['C1', 'C1 ', '\tC1', '😀', 7, null],
      ordered_at: [
        '2026-03-01T10:00:00Z',
        '2026-03-01 10:00:00+01:00',
        '2026-03-01T10:00:00.123456Z',
        ' 2026-03-01T10:00:00Z',
        '2026-02-30T10:00:00Z',
        '2026-03-01T10:00:00',
        '0001-01-01T00:00:00Z',
        'yesterday',
        '',
        5,
      ],
      sku: ['P1', 'P1\n', 'sku:ü', 12],
      quantity: ['1', '3', '007', '1000000', '1000001', '0', '-1', ' 2', '2.0', '1e3', 2, ''],
      unit_price: ['5.00', '0', '19.99', '999999999999.9999', '1.23456', '-1', ' 5', '5.', '1e3', 5, ''],
      discount_code: [undefined, '', '  ', 'SPRING', null],
      discount_total: [undefined, '', '0', '2.50', '-1'],
      extra: [undefined, 'ignored'],
    };
    const random = prng(19);
    const pick = <T>(list: T[]) => list[Math.floor(random() * list.length)]!;
    let fast = 0;
    for (let i = 0; i < 5_000; i++) {
      // Mostly plain rows, so the fast path is tried; a key may be absent altogether.
      const row: Record<string, unknown> = {};
      for (const [key, list] of Object.entries(variants)) {
        const value = random() < 0.6 ? list[0] : pick(list);
        if (value !== undefined || random() < 0.5) row[key] = value;
      }
      if (random() < 0.3) row.quantity = String(1 + Math.floor(random() * 1_000_000));
      if (random() < 0.3) row.unit_price = `${Math.floor(random() * 1e12)}.${Math.floor(random() * 1e4)}`;
      const expected = orderLineRecord.safeParse(row);
      const got = parseOrderLine(row);
      expect(got.success).toBe(expected.success);
      if (expected.success) expect(got.data).toStrictEqual(expected.data);
      else expect(got.error?.issues).toStrictEqual(expected.error.issues);
      if (got.success) fast += 1;
    }
    expect(fast).toBeGreaterThan(500);
  });

  it('says the rule each value breaks', () => {
    expect(problems(orderLineRecord, { ...line, quantity: 0 })).toEqual(['quantity: must be at least 1 (got 0)']);
    expect(problems(orderLineRecord, { ...line, quantity: 1_000_001 })).toEqual(['quantity: must be at most 1000000 (got 1000001)']);
    expect(problems(orderLineRecord, { ...line, quantity: 1.5 })).toEqual(['quantity: must be a whole number from 1 to 1000000 (got 1.5)']);
    // A number past every limit breaks one rule, said once.
    expect(problems(orderLineRecord, { ...line, quantity: '12345678901234567890' })).toEqual([
      'quantity: must be at most 1000000 (got "12345678901234567890")',
    ]);
    expect(problems(productRecord, { ...product, name: 'x'.repeat(501) })[0]).toMatch(
      /^name: must be at most 500 characters \(got "x+\.\.\.\)$/,
    );
    expect(problems(productRecord, { ...product, sku: 'x'.repeat(129) })[0]).toMatch(/^sku: must be at most 128 characters/);
    expect(problems(productRecord, { ...product, name: 5 })).toEqual(['name: must be text (got 5)']);
    expect(problems(productRecord, { ...product, tier: 101 })).toEqual(['tier: must be at most 100 (got 101)']);
    expect(problems(productRecord, { ...product, price: '1234567890123' })).toEqual([
      'price: must be at most 999999999999.9999 (12 digits before the point) (got "1234567890123")',
    ]);
    expect(problems(productRecord, { ...product, price: -1 })).toEqual([
      'price: must not be negative (a decimal amount such as 19.99) (got -1)',
    ]);
    expect(problems(productRecord, { ...product, price: 1e21 })[0]).toMatch(/^price: .*without an exponent/);
  });

  it.each(['ana@xn--mnchen-3ya.de', 'ana@münchen.de', 'ana@пример.рф', "o'neil+tag@Example.COM", `${'a'.repeat(64)}@example.com`])(
    'accepts the email address %s',
    (email) => expect(customerRecord.parse({ customer_id: 'c', email: ` ${email} ` }).email).toBe(email),
  );

  it.each([
    [`${'a'.repeat(65)}@example.com`, /at most 64 characters before the @/],
    [`${'a'.repeat(250)}@x.de`, /at most 64 characters before the @/],
    [`a@${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(63)}.${'e'.repeat(60)}.de`, /at most 254 characters/],
    [`a@${'b'.repeat(64)}.de`, /domain/],
    ['ana@localhost', /domain/],
    ['ana@1.2.3.4', /domain/],
    ['ana@exa_mple.com', /domain/],
    ['ana@x..com', /domain/],
    ['a b@example.com', /before the @/],
    ['.ana@example.com', /before the @/],
    ['ana', /^must be an email address$/],
    ['ana@', /^must be an email address$/],
  ])('refuses the email address %s', (email, reason) => {
    expect(emailProblem(email)).toMatch(reason);
    expect(problems(customerRecord, { customer_id: 'c', email })[0]).toMatch(/^email: must be an email address/);
  });

  it('previews a value nested thousands deep, or huge, in a few characters', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expect(preview(deep)).toBe(`${'['.repeat(57)}...`);
    expect(problems(productRecord, { ...product, name: { a: deep } })[0]).toMatch(/^name: must be text \(got \{"a":\[\[\[/);
    expect(Array.from(preview('😀'.repeat(100))).length).toBeLessThanOrEqual(60);
    expect(textProblem(preview('😀'.repeat(100)))).toBeUndefined();
    expect(preview({ a: [1, 'x', null, true] })).toBe('{"a":[1,"x",null,true]}');
  });
});
