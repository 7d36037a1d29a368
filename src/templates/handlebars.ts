/**
 * The private Handlebars instance templates run in, with a small allow-list of helpers.
 * Output is HTML-escaped by default, so a product named `<script>` prints as text. The
 * built-ins that would let a template reach outside the render context (`lookup`, `log`)
 * are removed; templates are compiled with `knownHelpersOnly`.
 */
import Handlebars from 'handlebars';

/** Helpers a template may call, beside the block helpers if/unless/each/with. */
export const TEMPLATE_HELPERS = ['money', 'date', 'plural'] as const;
/** Helpers the compiler inserts; authors do not write them. */
export const ENGINE_HELPERS = ['trackHref', 'trackLink', 'trackOpen', 'capture'] as const;
export const BLOCK_HELPERS = ['if', 'unless', 'each', 'with'] as const;

/** Per-render link bookkeeping, passed to the template as `data.tracker`. */
export interface LinkTracker {
  /** Tracking URL to put in place of `destination`. */
  click(destination: string): string;
  /** True when click() returns URLs made only of URL-safe characters (no escaping needed). */
  safe?: boolean;
  /** URL of the open pixel, or '' for none. */
  open(): string;
}

type Root = { shop?: { currency?: string; timezone?: string }; customer?: { timezone?: string }; preheader?: string };
// Handlebars types `data` as `any`; an intersection with `any` stays `any`, so replace it.
type HelperOptions = Omit<Handlebars.HelperOptions, 'data'> & {
  data: { root: Root; tracker?: LinkTracker; parts?: Record<string, string> };
};

/**
 * Formatting with Intl costs microseconds a call (building a formatter, far more), and a
 * send formats the same prices and dates again and again, so formatters and results are
 * memoised by key (bounded: a cache is cleared past 50,000 entries).
 */
function memo<V, E = undefined>(compute: (key: string, extra: E) => V): (key: string, extra: E) => V {
  const cache = new Map<string, V>();
  return (key, extra) => {
    let value = cache.get(key);
    if (value === undefined) {
      if (cache.size > 50_000) cache.clear();
      cache.set(key, (value = compute(key, extra)));
    }
    return value;
  };
}

const moneyFormat = memo((currency) => new Intl.NumberFormat('en', { style: 'currency', currency }));
const formatMoney = memo<string, { currency: string; value: number }>((_key, { currency, value }) =>
  moneyFormat(currency, undefined).format(value),
);
const dateFormat = memo((timeZone) => new Intl.DateTimeFormat('en', { dateStyle: 'long', timeZone }));
const formatDate = memo<string, { timeZone: string; date: Date }>((_key, { timeZone, date }) =>
  dateFormat(timeZone, undefined).format(date),
);

const ENTITIES: Record<string, string> = {
  '&amp;': '&',
  '&lt;': '<',
  '&gt;': '>',
  '&quot;': '"',
  '&#x27;': "'",
  '&#x3D;': '=',
  '&#x60;': '`',
  '&#39;': "'",
};
/** Undoes Handlebars' escaping of a rendered URL, to store the real destination. */
function unescapeHtml(text: string): string {
  if (!text.includes('&')) return text;
  return text.replace(/&(amp|lt|gt|quot|#x27|#x3D|#x60|#39);/g, (entity) => ENTITIES[entity] ?? entity);
}

export function createHandlebars(): typeof Handlebars {
  const hb = Handlebars.create();
  hb.unregisterHelper('lookup');
  hb.unregisterHelper('log');
  // Templates are compiled with knownHelpersOnly, so these fallbacks are never reached;
  // every registered helper is re-wrapped on each template call, so fewer is faster.
  hb.unregisterHelper('helperMissing');
  hb.unregisterHelper('blockHelperMissing');

  hb.registerHelper('money', (amount: unknown, options: HelperOptions) => {
    const currency = options.data.root.shop?.currency ?? 'USD';
    // Amounts arrive as decimal strings: key the memo by the string, convert only on a miss.
    const key = typeof amount === 'string' ? currency + amount : `${currency}${Number(amount)}`;
    const value = Number(amount);
    return Number.isFinite(value) ? formatMoney(key, { currency, value }) : '';
  });

  hb.registerHelper('date', (value: unknown, options: HelperOptions) => {
    const date = new Date(String(value));
    if (Number.isNaN(date.getTime())) return '';
    const timeZone = options.data.root.customer?.timezone || options.data.root.shop?.timezone || 'UTC';
    return formatDate(`${timeZone} ${date.getTime()}`, { timeZone, date });
  });

  hb.registerHelper('plural', (count: unknown, singular: unknown, plural: unknown) => {
    const n = Number(count);
    return `${n} ${n === 1 ? String(singular) : String(plural)}`;
  });

  // {{#trackLink}}https://…{{url}}…{{/trackLink}}: the block renders the destination in the
  // current context (inside loops too); the tracker records it and returns the tracked URL.
  hb.registerHelper('trackLink', function (this: unknown, options: HelperOptions) {
    const destination = unescapeHtml(options.fn(this).trim());
    const tracker = options.data.tracker;
    return new hb.SafeString(hb.escapeExpression(tracker ? tracker.click(destination) : destination));
  });
  // {{trackHref url}} / {{trackHref "https://…"}}: the fast form for an href that is one
  // value, which is nearly every link; {{#trackLink}} handles composed ones.
  hb.registerHelper('trackHref', (destination: unknown, options: HelperOptions) => {
    // Not a string: stringified the way Handlebars prints any {{value}} (null and undefined as '').
    // eslint-disable-next-line @typescript-eslint/no-base-to-string -- same output as the untracked link
    const url = typeof destination === 'string' ? destination.trim() : String(destination ?? '').trim();
    const tracker = options.data.tracker;
    if (!tracker) return new hb.SafeString(hb.escapeExpression(url));
    const tracked = tracker.click(url);
    return new hb.SafeString(tracker.safe ? tracked : hb.escapeExpression(tracked));
  });
  // {{#capture "text"}}…{{/capture}} renders its block into data.parts.text and outputs
  // nothing, so one template call yields every part of an email. A captured preheader also
  // becomes the context's `preheader` for the rest of the call.
  hb.registerHelper('capture', function (this: unknown, name: string, options: HelperOptions) {
    const value = options.fn(this);
    const parts = options.data.parts;
    if (parts) parts[name] = value;
    if (name === 'preheader') options.data.root.preheader = value.replace(/\s+/g, ' ').trim();
    return '';
  });
  hb.registerHelper('trackOpen', (options: HelperOptions) => new hb.SafeString(hb.escapeExpression(options.data.tracker?.open() ?? '')));
  return hb;
}

/**
 * Turns `{{x}}` into `{{{x}}}` (no HTML escaping) in a plain-text part: the text and the
 * header lines are compiled into the same template as the HTML, but must not be escaped.
 */
export function unescaped(source: string): string {
  return source.replace(/\{\{(?![{#/^!>&~]|else\b)([\s\S]*?)\}\}/g, '{{{$1}}}');
}

export const KNOWN_HELPERS = Object.fromEntries([...TEMPLATE_HELPERS, ...ENGINE_HELPERS, ...BLOCK_HELPERS].map((h) => [h, true]));
