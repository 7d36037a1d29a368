/**
 * Simulated recipients: they act on the emails the demo's inbox receives, through the real
 * tracking links over HTTP, and buy through the real API, with probabilities that depend
 * on whether the recommended products fit what they bought (the planted truth of the demo
 * shop). Some opens come from a mail-privacy image proxy, which the engine must count as
 * machine opens.
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
import type { DemoProduct } from './shop.ts';

/** The planted behaviour. */
export const BEHAVIOUR = {
  /** Emails opened by their recipient. */
  open: 0.45,
  /** Emails whose images a privacy proxy fetches on arrival (a machine open). */
  proxy: 0.3,
  /** Opened emails whose first fitting recommendation is clicked. */
  clickFitting: 0.35,
  /** Opened emails with no fitting recommendation whose first one is clicked anyway. */
  clickOther: 0.05,
  /** Clicks that end in buying the product. */
  buy: 0.5,
} as const;

const BROWSER = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15';
const PROXY = 'Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)';
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

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
}

export interface PlacedOrder {
  order_id: string;
  customer_id: string;
  ordered_at: string;
  items: { sku: string; quantity: number; unit_price: string }[];
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
  /** Expected revenue the emails bring, by enrollment id. */
  readonly expected = new Map<number, number>();
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

  /** Runs `action` when `afterMs` of simulated time has passed. */
  private later(afterMs: number, action: () => Promise<void>): void {
    if (this.stopped) return;
    const timer = setTimeout(() => {
      this.pending.delete(timer);
      if (!this.stopped) this.track(action());
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
    const fits = new Set(message.bought.flatMap((category) => this.deps.complements.get(category) ?? []));
    const products = message.recommendations.map((sku) => this.deps.catalog.get(sku)).filter((p): p is DemoProduct => p !== undefined);
    const fitting = products.find((p) => fits.has(p.category));
    const target = fitting ?? products[0];
    const clickRate = fitting ? BEHAVIOUR.clickFitting : products.length ? BEHAVIOUR.clickOther : 0;
    const linkIndex = target ? message.links.findIndex((link) => link.includes(`/p/${target.sku}`)) : -1;
    // The truth: what this email is expected to bring, whatever the dice say below.
    const worth = linkIndex >= 0 && target ? BEHAVIOUR.open * clickRate * BEHAVIOUR.buy * target.price : 0;
    this.expected.set(message.enrollment_id, (this.expected.get(message.enrollment_id) ?? 0) + worth);

    if (random() < BEHAVIOUR.proxy) this.later(MINUTE, () => this.open(message, token, false));
    if (random() >= BEHAVIOUR.open) return;
    const openAfter = 10 * MINUTE + random() * 36 * HOUR;
    this.later(openAfter, () => this.open(message, token, true));
    if (linkIndex < 0 || !target || random() >= clickRate) return;
    const clickAfter = openAfter + MINUTE + random() * 20 * MINUTE;
    this.later(clickAfter, () => this.click(message, token, linkIndex));
    if (random() >= BEHAVIOUR.buy) return;
    this.later(clickAfter + 10 * MINUTE + random() * 6 * HOUR, () => this.buy(message.customer, target));
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

  private async buy(customer: string, product: DemoProduct): Promise<void> {
    await this.deps.placeOrder({
      order_id: `sim-${++this.orderNo}`,
      customer_id: customer,
      ordered_at: this.deps.clock.now().toISOString(),
      items: [{ sku: product.sku, quantity: 1, unit_price: product.price.toFixed(2) }],
    });
    this.counts.purchases++;
  }

  private touch(message: DeliveredMessage, type: 'open' | 'click', human: boolean): SimTouch {
    const touch = { id: this.touches.length + 1, messageId: message.id, customer: message.customer, type, human };
    this.touches.push(touch);
    return touch;
  }
}
