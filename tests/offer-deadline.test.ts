/**
 * Limited-time offers and the free-shipping nudge as an email shows them, without IO: the
 * code's real expiry written in the customer's zone with the whole days left at the send
 * (src/core/discount.ts `offerDeadline`), an order's exact distance to free shipping
 * (src/core/free-shipping.ts), and the starter thank-you email rendering both.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { offerDeadline } from '../src/core/discount.ts';
import { freeShipping } from '../src/core/free-shipping.ts';
import type { RenderContext } from '../src/core/render-context.ts';
import { checkVariables } from '../src/templates/variables.ts';
import { compileTemplate, type CompiledTemplate } from '../src/templates/compile.ts';
import { Renderer } from '../src/templates/render.ts';
import { sampleContext } from '../src/templates/sample-context.ts';
import { loadTemplateFiles } from '../src/templates/source.ts';

const TEMPLATES = new URL('../templates/', import.meta.url).pathname;
const sendAt = new Date('2026-12-06T15:30:00.000Z');

describe('the offer deadline', () => {
  it("writes the code's expiry in the customer's zone, the year only when it is not the send's", () => {
    const expiry = new Date('2026-12-13T23:59:00.000Z');
    expect(offerDeadline(expiry, sendAt, 'Europe/London')).toEqual({ expiresAtText: 'Sunday 13 December, 23:59', daysLeft: 7 });
    // The same moment is Sunday afternoon in California and Monday morning in Tokyo.
    expect(offerDeadline(expiry, sendAt, 'America/Los_Angeles').expiresAtText).toBe('Sunday 13 December, 15:59');
    expect(offerDeadline(expiry, sendAt, 'Asia/Tokyo').expiresAtText).toBe('Monday 14 December, 08:59');
    expect(offerDeadline(new Date('2027-01-03T10:00:00.000Z'), sendAt, 'UTC').expiresAtText).toBe('Sunday 3 January 2027, 10:00');
  });

  it('counts whole days left from the engine clock at the send, 0 on the last day, nothing without an expiry', () => {
    const expiry = new Date('2026-12-09T15:30:00.000Z');
    expect(offerDeadline(expiry, sendAt, 'UTC').daysLeft).toBe(3);
    expect(offerDeadline(expiry, new Date(sendAt.getTime() + 1), 'UTC').daysLeft).toBe(2);
    expect(offerDeadline(expiry, new Date('2026-12-09T15:29:00.000Z'), 'UTC').daysLeft).toBe(0);
    expect(offerDeadline(null, sendAt, 'UTC')).toEqual({ expiresAtText: '', daysLeft: undefined });
  });
});

describe('the distance to free shipping', () => {
  it('is exact money, "0.00" once reached', () => {
    expect(freeShipping('41.50', '50')).toEqual({ threshold: '50.00', gap: '8.50', reached: false });
    expect(freeShipping('0.10', '0.30')).toEqual({ threshold: '0.30', gap: '0.20', reached: false });
    expect(freeShipping('49.9950', '50.00')).toEqual({ threshold: '50.00', gap: '0.005', reached: false });
    expect(freeShipping('50.0000', '50')).toEqual({ threshold: '50.00', gap: '0.00', reached: true });
    expect(freeShipping('73.20', '50')).toEqual({ threshold: '50.00', gap: '0.00', reached: true });
  });
});

describe('the starter thank-you email', () => {
  let thankYou: CompiledTemplate;
  beforeAll(async () => {
    const result = await compileTemplate(await loadTemplateFiles(TEMPLATES), 'thank-you');
    expect(result.diagnostics).toEqual([]);
    thankYou = result.compiled!;
  });
  const render = (change: (context: Omit<RenderContext, 'preheader'>) => void) => {
    const context = sampleContext();
    change(context);
    return new Renderer(thankYou).render(context, { mode: 'preview' });
  };
  const offer = (expiresAt: Date | null) => ({
    code: 'THANKS-7Q2X',
    value: '10%',
    kind: 'percent' as const,
    expiresAt: expiresAt?.toISOString() ?? '',
    ...offerDeadline(expiresAt, sendAt, 'Europe/London'),
    url: 'https://shop.example/discount/THANKS-7Q2X',
  });

  it('shows the deadline of a code that expires, and none for a code that does not', () => {
    const expiring = render((c) => (c.offer = offer(new Date('2026-12-13T23:59:00.000Z'))));
    expect(expiring.text).toContain('Use it by Sunday 13 December, 23:59 — it stops working then.');
    expect(expiring.html).toContain('Use it by Sunday 13 December, 23:59 — it stops working then.');
    const lasting = render((c) => (c.offer = offer(null)));
    expect(lasting.text).toContain('THANKS-7Q2X');
    expect(lasting.text).not.toMatch(/Use it by|stops working/);
  });

  it('says how far the order was from free shipping only when it was short', () => {
    const short = render((c) => (c.order.freeShipping = freeShipping('41.50', '50')));
    expect(short.text).toContain('Your order was $8.50 short of free shipping (it starts at $50.00)');
    expect(render((c) => (c.order.freeShipping = freeShipping('402.70', '50'))).text).not.toContain('free shipping');
    expect(render(() => undefined).text).not.toContain('free shipping');
  });

  it('templates check knows the new fields', () => {
    expect(
      checkVariables(
        '{{#if order.freeShipping}}{{money order.freeShipping.gap}} {{money order.freeShipping.threshold}}{{order.freeShipping.reached}}{{/if}}' +
          '{{#if offer}}{{offer.expiresAtText}} {{plural offer.daysLeft "day" "days"}}{{/if}}',
      ),
    ).toEqual([]);
  });
});
