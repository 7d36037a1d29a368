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
export const ENGINE_HELPERS = ['trackLink', 'trackOpen'] as const;
export const BLOCK_HELPERS = ['if', 'unless', 'each', 'with'] as const;

/** Per-render link bookkeeping, passed to the template as `data.tracker`. */
export interface LinkTracker {
  /** Tracking URL to put in place of `destination`. */
  click(destination: string): string;
  /** URL of the open pixel, or '' for none. */
  open(): string;
}

type Root = { shop?: { currency?: string; timezone?: string }; customer?: { timezone?: string } };
type HelperOptions = Handlebars.HelperOptions & { data: { root: Root; tracker?: LinkTracker } };

const moneyFormats = new Map<string, Intl.NumberFormat>();
function moneyFormat(currency: string): Intl.NumberFormat {
  let format = moneyFormats.get(currency);
  if (!format) moneyFormats.set(currency, (format = new Intl.NumberFormat('en', { style: 'currency', currency })));
  return format;
}

const ENTITIES: Record<string, string> = { '&amp;': '&', '&lt;': '<', '&gt;': '>', '&quot;': '"', '&#x27;': "'", '&#x3D;': '=', '&#x60;': '`', '&#39;': "'" };
/** Undoes Handlebars' escaping of a rendered URL, to store the real destination. */
export function unescapeHtml(text: string): string {
  return text.replace(/&(amp|lt|gt|quot|#x27|#x3D|#x60|#39);/g, (entity) => ENTITIES[entity] ?? entity);
}

export function createHandlebars(): typeof Handlebars {
  const hb = Handlebars.create();
  hb.unregisterHelper('lookup');
  hb.unregisterHelper('log');

  hb.registerHelper('money', (amount: unknown, options: HelperOptions) => {
    const currency = options.data.root.shop?.currency ?? 'USD';
    const value = Number(amount);
    return Number.isFinite(value) ? moneyFormat(currency).format(value) : '';
  });

  hb.registerHelper('date', (value: unknown, options: HelperOptions) => {
    const date = new Date(String(value));
    if (Number.isNaN(date.getTime())) return '';
    const timeZone = options.data.root.customer?.timezone || options.data.root.shop?.timezone || 'UTC';
    return new Intl.DateTimeFormat('en', { dateStyle: 'long', timeZone }).format(date);
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
  hb.registerHelper('trackOpen', (options: HelperOptions) => new hb.SafeString(hb.escapeExpression(options.data.tracker?.open() ?? '')));
  return hb;
}

export const KNOWN_HELPERS = Object.fromEntries([...TEMPLATE_HELPERS, ...ENGINE_HELPERS, ...BLOCK_HELPERS].map((h) => [h, true]));
