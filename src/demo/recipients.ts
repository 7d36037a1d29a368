/**
 * Simulated recipients: they act on the emails the demo's inbox receives, through the real
 * tracking links over HTTP, and buy through the real API, with probabilities that depend
 * on whether the offered products fit what they bought (the planted truth of the demo
 * shop): the accessory of the same model line as their machine draws far more clicks than
 * an accessory of another line, a better tier of what they bought draws some, anything
 * else few. Recommendations learned from co-purchases find the same model line; best-sellers
 * do not: that is the strategy difference the demo plants. Some opens come from a
 * mail-privacy image proxy, which the engine must count as machine opens.
 *
 * The simulator keeps its own books, independent of the engine's analytics: the revenue
 * each email is expected to bring (the truth the report's estimates are checked against),
 * and every order it places with the touches that preceded it (to credit by the attribution
 * rule and check the engine's attributed revenue).
 */
import { createHash } from 'node:crypto';
import type { Clock } from '../core/clock.ts';
import type { Db } from '../db/client.ts';
import { findDeliveredMessage, type DeliveredMessage } from '../store/messages.ts';
import type { CapturedEmail } from '../mail/inbox.ts';
import { prng } from '../core/random.ts';
import { unitCost, type DemoProduct } from './shop.ts';

/** The planted behaviour. */
export const BEHAVIOUR = {
  /** Emails opened by their recipient. */
  open: 0.45,
  /** Emails whose images a privacy proxy fetches on arrival (a machine open). */
  proxy: 0.3,
  /** An offered accessory of the same model line as a product bought (the grinder that fits that machine). */
  clickFitting: 0.75,
  /** A better tier of a product bought (the upsell). */
  clickUpgrade: 0.12,
  /** An accessory of the right kind, but of another model line. */
  clickComplement: 0.04,
  /** Anything else. */
  clickOther: 0.01,
  /** Clicks that end in buying the product. */
  buy: 0.75,
  /** A buyer also adds each other offered accessory that fits what they bought (they complete the set). */
  completeSet: 0.6,
  /** Emails with a discount code opened by their recipient (the code catches the eye). */
  openWithCode: 0.6,
  /** A reader whose email carries a discount code clicks each offer this many times as often (at most surely). */
  codeClickLift: 1.3,
  /** Clicks that end in buying when the email carries a code, who then redeem it on that order. */
  buyWithCode: 0.95,
  /** With a code, a buyer adds each other fitting offer this often (the code makes the set cheaper). */
  completeSetWithCode: 0.8,
  /**
   * A bundle (the refill the reader buys again with its complement, at a saving): the reader
   * looks at it before the single products. Bought whole, at the saving the email promised.
   */
  clickBundle: 0.3,
} as const;

/** A discount code an email carries, as the reader uses it: the share it takes off the order. */
export interface CodeTerms {
  code: string;
  /** 0.15 for 15% off. */
  percentOff: number;
}

/** How likely a reader opens, buys what they clicked and completes the set, with or without a code in the email. */
export function terms(code: CodeTerms | null): { open: number; buy: number; completeSet: number } {
  return code
    ? { open: BEHAVIOUR.openWithCode, buy: BEHAVIOUR.buyWithCode, completeSet: BEHAVIOUR.completeSetWithCode }
    : { open: BEHAVIOUR.open, buy: BEHAVIOUR.buy, completeSet: BEHAVIOUR.completeSet };
}

/** The chance a reader of an opened email clicks an offer of `kind`, with or without a code in the email. */
export function clickChance(kind: OfferKind | 'bundle', code: CodeTerms | null): number {
  return code ? Math.min(1, CLICK_CHANCE[kind] * BEHAVIOUR.codeClickLift) : CLICK_CHANCE[kind];
}

/** What an order of `products` costs the customer off the list price with `code`, to the cent (what the shop reports as `discount_total`). */
export function discountOn(products: readonly DemoProduct[], code: CodeTerms | null): number {
  if (!code) return 0;
  return Math.round(products.reduce((sum, p) => sum + p.price, 0) * code.percentOff * 100) / 100;
}

/** What an offered product is to the reader, given what they bought: the planted truth. */
export type OfferKind = 'fitting' | 'upgrade' | 'complement' | 'other';

export function offerKind(
  product: DemoProduct,
  bought: readonly DemoProduct[],
  complements: ReadonlyMap<string, readonly string[]>,
): OfferKind {
  if (bought.some((b) => b.category === product.category && product.tier > b.tier)) return 'upgrade';
  const accessoryOf = bought.filter((b) => complements.get(b.category)?.includes(product.category));
  if (accessoryOf.some((b) => b.variant === product.variant)) return 'fitting';
  return accessoryOf.length ? 'complement' : 'other';
}

/** The chance a reader of an opened email without a code clicks an offer of each kind. */
export const CLICK_CHANCE: Record<OfferKind | 'bundle', number> = {
  bundle: BEHAVIOUR.clickBundle,
  fitting: BEHAVIOUR.clickFitting,
  upgrade: BEHAVIOUR.clickUpgrade,
  complement: BEHAVIOUR.clickComplement,
  other: BEHAVIOUR.clickOther,
};

/** One product of an email, as its reader sees it. */
export interface Offer {
  product: DemoProduct;
  kind: OfferKind;
}

/** The bundle of an email: its products, bought together for `saving` off their prices. */
export interface BundleChoice {
  kind: 'bundle';
  products: DemoProduct[];
  saving: number;
}

/** What a reader may click: a product, or the bundle. */
export type Choice = Offer | BundleChoice;

const fits = (offer: Choice): offer is Offer => offer.kind === 'fitting';

/**
 * A reader of an opened email goes down its offers in order and clicks the first that
 * takes them (each with its own chance), then buys it with `BEHAVIOUR.buy`, adding each
 * other fitting offer with `BEHAVIOUR.completeSet`. The expected revenue of the email is
 * therefore, exactly: open · Σᵢ pᵢ · Πⱼ₍ⱼ₍ᵢ₎ (1 − pⱼ) · buy · (priceᵢ + completeSet · Σ other fitting prices).
 * With a code the click chances are `clickChance`'s and the open, buy and set chances
 * `terms`'; the margin is the same sum over (price − cost − the code's share of the price), since the
 * code takes its share off every product of the order (rounding to the cent aside).
 */
export function expectedWorth(offers: readonly Choice[], code: CodeTerms | null = null): { revenue: number; margin: number } {
  const keep = (p: DemoProduct) => p.price * (1 - (code?.percentOff ?? 0)) - unitCost(p);
  const sum = (products: DemoProduct[], value: (p: DemoProduct) => number) => products.reduce((total, p) => total + value(p), 0);
  const fitting = offers.filter(fits).map((o) => o.product);
  const fittingTotal = { revenue: sum(fitting, (p) => p.price), margin: sum(fitting, keep) };
  const { buy, completeSet, open } = terms(code);
  let unclicked = 1;
  const worth = { revenue: 0, margin: 0 };
  for (const offer of offers) {
    // A bundle is bought whole at its saving (no code on top); a product with the set it completes.
    const own =
      offer.kind === 'bundle'
        ? { revenue: sum(offer.products, (p) => p.price), margin: sum(offer.products, (p) => p.price - unitCost(p)) - offer.saving }
        : { revenue: offer.product.price, margin: keep(offer.product) };
    const chance = clickChance(offer.kind, code);
    for (const key of ['revenue', 'margin'] as const) {
      const others = offer.kind === 'bundle' ? 0 : fittingTotal[key] - (fits(offer) ? own[key] : 0);
      worth[key] += unclicked * chance * buy * (own[key] + completeSet * others);
    }
    unclicked *= 1 - chance;
  }
  return { revenue: open * worth.revenue, margin: open * worth.margin };
}

/** What a buyer who clicked `chosen` puts in the cart: it, and each other fitting offer with `completeSet`. */
function basketOf(chosen: Choice, offers: readonly Choice[], random: () => number, completeSet: number): DemoProduct[] {
  if (chosen.kind === 'bundle') return chosen.products;
  return [chosen.product, ...offers.filter((o): o is Offer => o !== chosen && fits(o) && random() < completeSet).map((o) => o.product)];
}

/**
 * The bundle of an email as its reader sees it: the cart link (`/cart/SKU:1,SKU:1`, the demo
 * shop's products have no variant ids) and the saving the email states; undefined without one.
 */
function bundleOf(
  links: readonly string[],
  html: string,
  catalog: ReadonlyMap<string, DemoProduct>,
): (BundleChoice & { link: number }) | undefined {
  const link = links.findIndex((l) => l.includes('/cart/'));
  const saving = /You save \$([\d,]+\.\d{2})/.exec(html)?.[1];
  if (link < 0 || !saving) return undefined;
  const items = decodeURIComponent(links[link]!.slice(links[link]!.indexOf('/cart/') + 6)).split(',');
  const products = items.map((item) => catalog.get(item.split(':')[0]!)).filter((p): p is DemoProduct => p !== undefined);
  return products.length === items.length ? { kind: 'bundle', products, saving: Number(saving.replace(/,/g, '')), link } : undefined;
}

const BROWSER = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15';
const PROXY = 'Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)';
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

export interface ExpectedPurchase {
  customer: string;
  /** The revenue the email is expected to bring. */
  worth: number;
  /** And the gross margin: revenue − cost of goods − the code's discount. */
  margin: number;
  at: Date;
}

export interface SimTouch {
  id: number;
  messageId: number;
  customer: string;
  type: 'open' | 'click';
  human: boolean;
}

export interface SimOrder {
  orderId: string;
  customer: string;
  at: Date;
  total: number;
  /** The discount code an email issued that it redeemed (the engine credits that email first, whatever the touches), or null. */
  code: string | null;
}

export interface PlacedOrder {
  order_id: string;
  customer_id: string;
  ordered_at: string;
  items: { sku: string; quantity: number; unit_price: string }[];
  discount_code?: string;
  discount_total?: string;
}

export interface RecipientDeps {
  db: Db;
  /** Where the engine's HTTP server answers. */
  baseUrl: string;
  clock: Clock;
  catalog: Map<string, DemoProduct>;
  complements: Map<string, string[]>;
  /** Each email's dice are seeded by this and the email's identity, not by arrival order. */
  seed: number;
  placeOrder: (order: PlacedOrder) => Promise<void>;
  onError: (error: unknown) => void;
}

export class Recipients {
  readonly touches: SimTouch[] = [];
  /**
   * The revenue each email is expected to bring (the truth), with its customer and the time
   * its purchase would be made: a comparison counts the emails whose purchase falls in a
   * measured customer's window, whatever sequence sent them, as the report counts orders.
   */
  readonly expected: ExpectedPurchase[] = [];
  readonly counts = { emails: 0, opens: 0, clicks: 0, purchases: 0 };
  private pending = new Set<NodeJS.Timeout>();
  private inFlight = new Set<Promise<unknown>>();
  private orderNo = 0;
  private stopped = false;

  constructor(private readonly deps: RecipientDeps) {}

  /** A new email in the inbox: decide now what its recipient will do, and when. */
  receive(email: CapturedEmail): void {
    this.counts.emails++;
    this.track(this.react(email));
  }

  /** Stops scheduling new actions; waits for those running. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const timer of this.pending) clearTimeout(timer);
    this.pending.clear();
    await Promise.allSettled([...this.inFlight]);
  }

  private track(work: Promise<unknown>): void {
    const guarded = work.catch(this.deps.onError);
    this.inFlight.add(guarded);
    void guarded.finally(() => this.inFlight.delete(guarded));
  }

  /**
   * Runs `action` when `afterMs` of simulated time has passed. A timer that ends early in
   * simulated time (the demo's clock slowed meanwhile) waits again for the rest.
   */
  private later(afterMs: number, action: () => Promise<void>, at = this.deps.clock.now().getTime() + afterMs): void {
    if (this.stopped) return;
    const timer = setTimeout(() => {
      this.pending.delete(timer);
      if (this.stopped) return;
      const left = at - this.deps.clock.now().getTime();
      if (this.deps.clock.realDelay(left) > 0) this.later(left, action, at);
      else this.track(action());
    }, this.deps.clock.realDelay(afterMs));
    this.pending.add(timer);
  }

  private async react(email: CapturedEmail): Promise<void> {
    const message = await findDeliveredMessage(this.deps.db, email.messageId);
    if (!message) return; // a test send: nobody reads it
    const html = email.raw.replace(/=\r?\n/g, '').replace(/=3D/gi, '=');
    const token = /\/t\/o\/([A-Za-z0-9_.-]+)\.gif/.exec(html)?.[1];
    if (!token) return;

    const random = prng(createHash('sha256').update(`${this.deps.seed}:${message.identity}`).digest().readUInt32LE(0));
    const { catalog, complements } = this.deps;
    const bought = message.bought.map((sku) => catalog.get(sku)).filter((p): p is DemoProduct => p !== undefined);
    // The offers the reader can act on: the products of the email that have a link in it.
    const products = [...message.recommendations, ...message.upsells].flatMap((sku) => {
      const product = catalog.get(sku);
      const link = message.links.findIndex((l) => l.includes(`/p/${sku}`));
      return product && link >= 0 ? [{ product, link, kind: offerKind(product, bought, complements) }] : [];
    });
    // The bundle, looked at first when the email has one.
    const bundle = bundleOf(message.links, html, catalog);
    const offers: (Choice & { link: number })[] = bundle ? [bundle, ...products] : products;
    // When the reader would open, click and buy, drawn before what they do, so the truth
    // (an expectation over what they do) knows whether the purchase lands in a window.
    const openAfter = 10 * MINUTE + random() * 36 * HOUR;
    const clickAfter = openAfter + MINUTE + random() * 20 * MINUTE;
    const buyAfter = clickAfter + 10 * MINUTE + random() * 6 * HOUR;
    // The truth: what this email is expected to bring, whatever the dice say below, counted
    // only when its purchase would land inside the measurement window (an email held back
    // by quiet hours or a busy machine can arrive too late to earn anything measurable).
    // The purchase is stamped with its planned time, not the time its timer fires: a busy
    // process runs timers late, which the scaled clock turns into hours.
    const boughtAt = new Date(this.deps.clock.now().getTime() + buyAfter);
    // The code the email carries (a percentage off; the demo's pools are percentages).
    const code: CodeTerms | null =
      message.discount?.kind === 'percent' ? { code: message.discount.code, percentOff: Number(message.discount.value) / 100 } : null;
    // The truth: what this email is expected to bring, whatever the dice say below.
    const worth = expectedWorth(offers, code);
    this.expected.push({ customer: message.customer, worth: worth.revenue, margin: worth.margin, at: boughtAt });

    if (random() < BEHAVIOUR.proxy) this.later(MINUTE, () => this.open(message, token, false));
    const { open, buy, completeSet } = terms(code);
    if (random() >= open) return;
    this.later(openAfter, () => this.open(message, token, true));
    const chosen = offers.find((offer) => random() < clickChance(offer.kind, code));
    if (!chosen) return;
    this.later(clickAfter, () => this.click(message, token, chosen.link));
    if (random() >= buy) return;
    const basket = basketOf(chosen, offers, random, completeSet);
    // A bundle's order carries the saving the email promised; any other, the code's share.
    const discount = chosen.kind === 'bundle' ? { total: chosen.saving } : code && { code: code.code, total: discountOn(basket, code) };
    this.later(buyAfter, () => this.buy(message.customer, basket, boughtAt, discount || null));
  }

  private async open(message: DeliveredMessage, token: string, human: boolean): Promise<void> {
    const touch = this.touch(message, 'open', human);
    const response = await fetch(`${this.deps.baseUrl}/t/o/${token}.gif`, {
      headers: { 'user-agent': `${human ? BROWSER : PROXY} DemoTouch/${touch.id}` },
    });
    await response.arrayBuffer();
    this.counts.opens++;
  }

  private async click(message: DeliveredMessage, token: string, index: number): Promise<void> {
    const touch = this.touch(message, 'click', true);
    const response = await fetch(`${this.deps.baseUrl}/t/c/${token}/${index}`, {
      redirect: 'manual',
      headers: { 'user-agent': `${BROWSER} DemoTouch/${touch.id}` },
    });
    await response.arrayBuffer();
    if (response.status !== 302) throw new Error(`click on message ${message.id} answered ${response.status}`);
    this.counts.clicks++;
  }

  private async buy(customer: string, products: DemoProduct[], at: Date, discount: { code?: string; total: number } | null): Promise<void> {
    await this.deps.placeOrder({
      order_id: `sim-${++this.orderNo}`,
      customer_id: customer,
      ordered_at: at.toISOString(),
      items: products.map((p) => ({ sku: p.sku, quantity: 1, unit_price: p.price.toFixed(2) })),
      ...(discount?.code && { discount_code: discount.code }),
      ...(discount && { discount_total: discount.total.toFixed(2) }),
    });
    this.counts.purchases++;
  }

  private touch(message: DeliveredMessage, type: 'open' | 'click', human: boolean): SimTouch {
    const touch = { id: this.touches.length + 1, messageId: message.id, customer: message.customer, type, human };
    this.touches.push(touch);
    return touch;
  }
}
