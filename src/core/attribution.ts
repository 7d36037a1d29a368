/**
 * The attribution model: which one message, if any, an order is credited to. Only human
 * opens and clicks count, and only those before the order.
 *
 * - `click-then-open` (default): the last click within the click window; failing that, the
 *   last open within the open window.
 * - `last-touch`: the latest of those clicks and opens, whichever kind.
 * - `click-only`: the last click within the click window.
 *
 * Under every model, an order that redeems a discount code an email issued is credited to
 * that email first (a `code` touch): it is the strongest evidence there is, whoever clicked
 * what since.
 *
 * Every model credits an order to at most one message, across all sequences, so no order
 * is counted twice. The key names the model and its windows; attributions are stored under
 * it, so a change of settings never mixes with figures computed under the old ones.
 */
import { formatDuration } from './duration.ts';

export interface AttributionModel {
  kind: 'click-then-open' | 'last-touch' | 'click-only';
  clickWindowMs: number;
  openWindowMs: number;
}

export const DEFAULT_ATTRIBUTION: AttributionModel = { kind: 'click-then-open', clickWindowMs: 5 * 86_400_000, openWindowMs: 86_400_000 };

/** e.g. `click-then-open:click=5d,open=1d`. */
export function attributionKey(model: AttributionModel): string {
  const open = model.kind === 'click-only' ? '' : `,open=${formatDuration(model.openWindowMs)}`;
  return `${model.kind}:click=${formatDuration(model.clickWindowMs)}${open}`;
}

export interface Touch {
  messageId: number;
  /** `code`: the order redeemed a discount code this message issued (`at`: when it was sent). */
  type: 'open' | 'click' | 'code';
  at: Date;
}

/** The touch an order placed at `orderedAt` is credited to, among one customer's human touches. */
export function creditedTouch(touches: readonly Touch[], orderedAt: Date, model: AttributionModel): Touch | undefined {
  const within = (touch: Touch) => {
    const age = orderedAt.getTime() - touch.at.getTime();
    if (age < 0) return false;
    if (touch.type === 'click') return age <= model.clickWindowMs;
    if (touch.type === 'code') return false;
    return model.kind !== 'click-only' && age <= model.openWindowMs;
  };
  const latest = (candidates: Touch[]) =>
    candidates.reduce<Touch | undefined>((best, t) => (!best || t.at >= best.at ? t : best), undefined);
  const redeemed = touches.find((t) => t.type === 'code' && t.at.getTime() <= orderedAt.getTime());
  if (redeemed) return redeemed;
  const eligible = touches.filter(within);
  if (model.kind === 'last-touch') return latest(eligible);
  return latest(eligible.filter((t) => t.type === 'click')) ?? latest(eligible.filter((t) => t.type === 'open'));
}

/** The model as a sentence for people: which email an order is credited to. */
export function attributionInWords(model: AttributionModel): string {
  const days = (ms: number) => {
    const d = ms / 86_400_000;
    if (Number.isInteger(d)) return `${d} ${d === 1 ? 'day' : 'days'}`;
    const h = Math.round(ms / 3_600_000);
    return `${h} ${h === 1 ? 'hour' : 'hours'}`;
  };
  const click = `the email last clicked within ${days(model.clickWindowMs)} before it`;
  const code = '; an order that redeems a discount code an email issued is credited to that email first';
  if (model.kind === 'click-only') return `an order is credited to ${click}${code}`;
  if (model.kind === 'last-touch')
    return `an order is credited to the email last touched before it: clicked within ${days(model.clickWindowMs)} or opened within ${days(model.openWindowMs)}${code}`;
  return `an order is credited to ${click}, or else to the email last opened within ${days(model.openWindowMs)}${code}`;
}
