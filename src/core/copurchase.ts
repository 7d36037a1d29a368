/**
 * Co-purchase statistics, pure: which products are bought in the same orders, and how
 * much more often than chance. Products are integer ids (the `products.id` they come
 * from), counts live in typed arrays, and pairs in an open-addressing hash table, so a
 * build over millions of order lines stays in bounded, predictable memory.
 *
 * For products A and B over N orders (a product bought twice in one order counts once):
 *   support(A,B)      = orders(A∩B) / N
 *   confidence(A→B)   = orders(A∩B) / orders(A)
 *   lift(A→B)         = confidence(A→B) / (orders(B) / N)
 *
 * Ranking score (documented in README, "How recommendations are chosen"):
 *   score(A→B) = wilsonLower95(orders(A∩B), orders(A)) × (shrunkLift(A→B) − 1)
 *   shrunkLift  = (orders(A∩B) + m) / (expected + m),  expected = orders(A)·orders(B)/N, m = 10
 * The Wilson lower bound makes a confidence resting on few buyers count for little; the
 * shrunk lift pulls lifts built on tiny counts towards 1, so a rare product bought twice
 * with A does not outrank a real complement; subtracting 1 gives pairs at chance level a
 * score of 0 and pairs bought together less than chance a negative one.
 */

export const SHRINK_PSEUDO_ORDERS = 10;
const Z95 = 1.959963984540054;

/** Wilson score interval lower bound for `successes` of `trials`, 95%. */
export function wilsonLower(successes: number, trials: number): number {
  if (trials === 0) return 0;
  const p = successes / trials;
  const z2 = Z95 * Z95;
  const centre = p + z2 / (2 * trials);
  const margin = Z95 * Math.sqrt((p * (1 - p)) / trials + z2 / (4 * trials * trials));
  return Math.max(0, (centre - margin) / (1 + z2 / trials));
}

export interface PairMeasures {
  pairOrders: number;
  support: number;
  confidence: number;
  lift: number;
  score: number;
}

/** The measures of A→B from the three counts and N, exactly as defined above. */
export function measures(pairOrders: number, ordersA: number, ordersB: number, totalOrders: number): PairMeasures {
  const support = pairOrders / totalOrders;
  const confidence = pairOrders / ordersA;
  const lift = confidence / (ordersB / totalOrders);
  return { pairOrders, support, confidence, lift, score: pairScore(pairOrders, ordersA, ordersB, totalOrders) };
}

/** The ranking score of A→B: Wilson lower bound of the confidence × (shrunk lift − 1). */
export function pairScore(pairOrders: number, ordersA: number, ordersB: number, totalOrders: number): number {
  const expected = (ordersA * ordersB) / totalOrders;
  const shrunkLift = (pairOrders + SHRINK_PSEUDO_ORDERS) / (expected + SHRINK_PSEUDO_ORDERS);
  return wilsonLower(pairOrders, ordersA) * (shrunkLift - 1);
}

// Product ids are below 2^21, so a pair (a, b), a < b, packs into one exact float64 key,
// a · 2^21 + b: the serialised form's.
const ID_LIMIT = 2 ** 21;
// The table keeps a pair in one slot of four 32-bit words: a + 1 (0 when the slot is empty),
// b, the count, and one unused, so a slot is 16 bytes and a probe reads one cache line.
const WORDS = 4;

/** Counts orders per product and per unordered product pair. Feed it one basket per order. */
export class CoPurchaseCounter {
  totalOrders = 0;
  productOrders: Uint32Array;
  private slots: Uint32Array;
  private capacity: number;
  private used = 0;

  constructor(productCapacity = 1024, pairCapacity = 1 << 16) {
    this.productOrders = new Uint32Array(productCapacity);
    this.capacity = pairCapacity;
    this.slots = new Uint32Array(pairCapacity * WORDS);
  }

  /** Number of distinct pairs seen. */
  get pairCount(): number {
    return this.used;
  }

  /** Adds one order. `items` may repeat a product; it counts once. Mutates `items` (sorted). */
  addBasket(items: number[] | Uint32Array): void {
    const basket = distinctSorted(items);
    if (basket.length === 0) return;
    // Check the whole basket first, so a bad id leaves the counts untouched.
    for (const id of basket) if (!Number.isInteger(id) || id >= ID_LIMIT || id < 0) throw new RangeError(`product id ${id} out of range`);
    this.totalOrders += 1;
    for (const id of basket) {
      if (id >= this.productOrders.length) this.productOrders = grow(this.productOrders, id + 1);
      this.productOrders[id]! += 1;
    }
    for (let i = 0; i < basket.length; i++) for (let j = i + 1; j < basket.length; j++) this.increment(basket[i]!, basket[j]!);
  }

  /** orders(A∩B) for two products, in either order. */
  pairOrders(a: number, b: number): number {
    if (a === b) return 0;
    const at = a < b ? this.find(a, b) : this.find(b, a);
    return this.slots[at]! === 0 ? 0 : this.slots[at + 2]!;
  }

  /** Calls `visit(a, b, count)` once per pair with a < b. */
  forEachPair(visit: (a: number, b: number, count: number) => void): void {
    const slots = this.slots;
    for (let at = 0; at < slots.length; at += WORDS) if (slots[at]! !== 0) visit(slots[at]! - 1, slots[at + 1]!, slots[at + 2]!);
  }

  /** The top `k` neighbours B of every product A, by score, best first (score > 0 only). */
  topNeighbours(k: number): Map<number, { productId: number; measures: PairMeasures }[]> {
    if (!Number.isInteger(k) || k < 1 || k > 255) throw new RangeError(`k must be 1 to 255, got ${k}`);
    // k slots per product in flat typed arrays; measures are only built for the winners.
    const n = this.productOrders.length;
    const ids = new Int32Array(n * k);
    const scores = new Float64Array(n * k);
    const counts = new Uint32Array(n * k);
    const filled = new Uint8Array(n);
    const worst = new Int32Array(n);
    const beats = (score: number, id: number, slot: number) => score > scores[slot]! || (score === scores[slot]! && id < ids[slot]!);
    const offer = (a: number, b: number, count: number) => {
      const score = pairScore(count, this.productOrders[a]!, this.productOrders[b]!, this.totalOrders);
      if (score <= 0) return;
      const base = a * k;
      let slot: number;
      if (filled[a]! < k) slot = base + filled[a]!++;
      else if (beats(score, b, base + worst[a]!)) slot = base + worst[a]!;
      else return;
      ids[slot] = b;
      scores[slot] = score;
      counts[slot] = count;
      if (filled[a] === k) {
        // Find the new weakest slot (k is small: a scan beats a heap here).
        let w = base;
        for (let i = base + 1; i < base + k; i++) if (beats(scores[w]!, ids[w]!, i)) w = i;
        worst[a] = w - base;
      }
    };
    this.forEachPair((a, b, count) => {
      offer(a, b, count);
      offer(b, a, count);
    });
    const result = new Map<number, { productId: number; measures: PairMeasures }[]>();
    for (let a = 0; a < n; a++) {
      if (!filled[a]) continue;
      const list = [];
      for (let i = a * k; i < a * k + filled[a]!; i++)
        list.push({
          productId: ids[i]!,
          measures: measures(counts[i]!, this.productOrders[a]!, this.productOrders[ids[i]!]!, this.totalOrders),
        });
      list.sort((x, y) => (better(x, y) ? -1 : 1));
      result.set(a, list);
    }
    return result;
  }

  /** A compact binary form of the whole state, for incremental updates later. */
  serialize(): Buffer {
    const header = new Float64Array([this.totalOrders, this.productOrders.length, this.used]);
    const pairs = new Float64Array(this.used);
    const counts = new Uint32Array(this.used);
    let n = 0;
    this.forEachPair((a, b, count) => {
      pairs[n] = a * ID_LIMIT + b;
      counts[n++] = count;
    });
    return Buffer.concat([bytes(header), bytes(this.productOrders), bytes(pairs), bytes(counts)]);
  }

  static deserialize(data: Uint8Array): CoPurchaseCounter {
    const buffer = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    const header = new Float64Array(copy(buffer, 0, 24));
    const [totalOrders, productLength, used] = [header[0]!, header[1]!, header[2]!];
    let offset = 24;
    const productOrders = new Uint32Array(copy(buffer, offset, productLength * 4));
    offset += productLength * 4;
    const pairs = new Float64Array(copy(buffer, offset, used * 8));
    offset += used * 8;
    const counts = new Uint32Array(copy(buffer, offset, used * 4));
    const counter = new CoPurchaseCounter(productLength, capacityFor(used));
    counter.totalOrders = totalOrders;
    counter.productOrders = productOrders;
    for (let i = 0; i < used; i++) {
      const a = Math.floor(pairs[i]! / ID_LIMIT);
      counter.set(a, pairs[i]! - a * ID_LIMIT, counts[i]!);
    }
    return counter;
  }

  private increment(a: number, b: number): void {
    const at = this.find(a, b);
    if (this.slots[at]! !== 0) {
      this.slots[at + 2]! += 1;
      return;
    }
    this.fill(at, a, b, 1);
    if (this.used * 10 > this.capacity * 7) this.rehash(this.capacity * 2);
  }

  private set(a: number, b: number, count: number): void {
    const at = this.find(a, b);
    if (this.slots[at]! !== 0) this.slots[at + 2] = count;
    else this.fill(at, a, b, count);
  }

  private fill(at: number, a: number, b: number, count: number): void {
    this.slots[at] = a + 1;
    this.slots[at + 1] = b;
    this.slots[at + 2] = count;
    this.used += 1;
  }

  /** The word offset of (a, b)'s slot, or of the empty slot where it would go. */
  private find(a: number, b: number): number {
    const mask = this.capacity - 1;
    const slots = this.slots;
    const tag = a + 1;
    // Mix the two ids so consecutive ids spread over the table.
    let slot = (Math.imul(a, 0x9e3779b1) ^ Math.imul(b, 0x85ebca6b)) & mask;
    for (;;) {
      const at = slot * WORDS;
      const held = slots[at]!;
      if (held === 0 || (held === tag && slots[at + 1] === b)) return at;
      slot = (slot + 1) & mask;
    }
  }

  private rehash(capacity: number): void {
    const old = this.slots;
    this.capacity = capacity;
    this.slots = new Uint32Array(capacity * WORDS);
    this.used = 0;
    for (let at = 0; at < old.length; at += WORDS) if (old[at]! !== 0) this.set(old[at]! - 1, old[at + 1]!, old[at + 2]!);
  }
}

function capacityFor(used: number): number {
  let capacity = 1 << 16;
  while (used * 10 > capacity * 7) capacity *= 2;
  return capacity;
}

function distinctSorted(items: number[] | Uint32Array): number[] {
  const sorted = Array.from(items).sort((x, y) => x - y);
  let n = 0;
  for (let i = 0; i < sorted.length; i++) if (i === 0 || sorted[i] !== sorted[i - 1]) sorted[n++] = sorted[i]!;
  sorted.length = n;
  return sorted;
}

function grow(array: Uint32Array, atLeast: number): Uint32Array {
  const next = new Uint32Array(Math.max(atLeast, array.length * 2));
  next.set(array);
  return next;
}

function bytes(array: Float64Array | Uint32Array): Buffer {
  return Buffer.from(array.buffer, array.byteOffset, array.byteLength);
}

function copy(buffer: Buffer, offset: number, length: number): ArrayBuffer {
  return buffer.buffer.slice(buffer.byteOffset + offset, buffer.byteOffset + offset + length) as ArrayBuffer;
}

function better(x: { productId: number; measures: PairMeasures }, y: { productId: number; measures: PairMeasures }): boolean {
  return x.measures.score !== y.measures.score ? x.measures.score > y.measures.score : x.productId < y.productId;
}
