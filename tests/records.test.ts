import { describe, expect, it } from 'vitest';
import { describeIssues, orderLineRecord, productRecord } from '../src/core/records.ts';

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
});
