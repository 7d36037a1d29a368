/**
 * Customer profiles kept up to date by the ingest (src/store/profiles.ts), on Postgres and
 * PGlite: after batches of new orders, orders sent again with other lines, partial and whole
 * refunds and cancellations, in a seeded random order, every stored profile equals a direct
 * computation from the orders the test sent (orders not cancelled, spend net of refunds per
 * order never below 0, first and last order, median days between consecutive orders); a
 * rebuild writes the same.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromUnits, toUnits } from '../src/core/money.ts';
import { prng } from '../src/core/random.ts';
import { ingestCancellations, ingestCustomers, ingestOrders, ingestRefunds } from '../src/ingest/batch.ts';
import { rebuildProfiles, storedProfiles, type StoredProfile } from '../src/store/profiles.ts';
import { DB_KINDS, freshDatabase, type TestDatabase } from './helpers/db.ts';
import { seedCatalog } from './helpers/seed.ts';

const DAY = 86_400_000;
const T0 = Date.parse('2026-01-01T00:00:00Z');
const PRICES: Record<string, string> = { 'ESP-100': '249.00', 'BEAN-1': '24.90', 'GRN-10': '129.50' };

interface ModelOrder {
  customer: string;
  at: number;
  total: bigint;
  refunded: bigint;
  cancelled: boolean;
}

/** The profile of each customer, computed directly from the orders as sent. */
function expected(customers: string[], orders: Map<string, ModelOrder>): StoredProfile[] {
  return customers
    .map((customer): StoredProfile => {
      const own = [...orders.values()].filter((o) => o.customer === customer && !o.cancelled).sort((a, b) => a.at - b.at);
      const spend = own.reduce((sum, o) => sum + (o.total > o.refunded ? o.total - o.refunded : 0n), 0n);
      const gaps = own.slice(1).map((o, i) => (o.at - own[i]!.at) / DAY);
      const sorted = [...gaps].sort((a, b) => a - b);
      const mid = sorted.length / 2;
      const median = sorted.length === 0 ? null : sorted.length % 2 ? sorted[Math.floor(mid)]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
      return {
        customer,
        orders: own.length,
        spend: fromUnits(spend),
        first_order_at: own.length ? new Date(own[0]!.at) : null,
        last_order_at: own.length ? new Date(own.at(-1)!.at) : null,
        typical_gap_days: median,
      };
    })
    .sort((a, b) => a.customer.localeCompare(b.customer));
}

/** The test's customers (the seeded catalog's never order here), spend and days as comparable text and numbers. */
const normal = (profiles: StoredProfile[]) =>
  profiles
    .filter((p) => p.customer.startsWith('pr-'))
    .map((p) => ({
      ...p,
      spend: fromUnits(toUnits(p.spend)),
      typical_gap_days: p.typical_gap_days === null ? null : Number(p.typical_gap_days.toFixed(9)),
    }));

describe.each(DB_KINDS)('customer profiles on %s', (kind) => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await freshDatabase(kind);
    await seedCatalog(database.db);
  });
  afterAll(() => database.drop());

  it('equal a direct computation from the orders after every kind of incremental update, and after a rebuild', async () => {
    const rand = prng(20261206);
    const customers = Array.from({ length: 12 }, (_, i) => `pr-${i}`);
    expect(
      (
        await ingestCustomers(
          database.db,
          customers.map((id) => ({ customer_id: id, email: `${id}@example.com` })),
        )
      ).ok,
    ).toBe(true);
    const model = new Map<string, ModelOrder>();
    let serial = 0;
    let refundSerial = 0;
    const sendOrder = async (id: string, customer: string, at: number) => {
      const skus = Object.keys(PRICES).filter(() => rand() < 0.6);
      const items = (skus.length ? skus : ['BEAN-1']).map((sku) => ({
        sku,
        quantity: 1 + Math.floor(rand() * 3),
        unit_price: PRICES[sku]!,
      }));
      const result = await ingestOrders(database.db, [
        { order_id: id, customer_id: customer, ordered_at: new Date(at).toISOString(), items },
      ]);
      expect(result.ok).toBe(true);
      const total = items.reduce((sum, i) => sum + toUnits(i.unit_price) * BigInt(i.quantity), 0n);
      const before = model.get(id);
      model.set(id, { customer, at, total, refunded: before?.refunded ?? 0n, cancelled: before?.cancelled ?? false });
    };

    for (let step = 0; step < 80; step++) {
      const roll = rand();
      const known = [...model.keys()];
      if (roll < 0.55 || known.length === 0) {
        // A new order, at a random time (not in time order: history arrives out of order too).
        await sendOrder(
          `pro-${serial++}`,
          customers[Math.floor(rand() * customers.length)]!,
          T0 + Math.floor(rand() * 200) * DAY + Math.floor(rand() * DAY),
        );
      } else if (roll < 0.7) {
        // An order sent again with other lines (the shop edited it).
        const id = known[Math.floor(rand() * known.length)]!;
        const o = model.get(id)!;
        await sendOrder(id, o.customer, o.at);
        // Refunds stay; a refund larger than the new total counts the order 0.
      } else if (roll < 0.88) {
        const id = known[Math.floor(rand() * known.length)]!;
        const o = model.get(id)!;
        const left = o.total - o.refunded;
        if (left <= 0n) continue;
        const whole = rand() < 0.3;
        const amount = whole ? left : left / 3n > 0n ? left / 3n : left;
        const result = await ingestRefunds(database.db, [
          {
            refund_id: `prr-${refundSerial++}`,
            order_id: id,
            refunded_at: new Date(o.at + DAY).toISOString(),
            amount: whole ? 'all' : fromUnits(amount),
          },
        ]);
        expect(result.ok, JSON.stringify(result)).toBe(true);
        o.refunded += amount;
      } else {
        const id = known[Math.floor(rand() * known.length)]!;
        const o = model.get(id)!;
        if (o.cancelled) continue;
        expect((await ingestCancellations(database.db, [{ order_id: id, cancelled_at: new Date(o.at + 2 * DAY).toISOString() }])).ok).toBe(
          true,
        );
        o.cancelled = true;
      }
      if (step % 20 === 19)
        expect(normal(await storedProfiles(database.db)), `after step ${step}`).toEqual(normal(expected(customers, model)));
    }
    const want = normal(expected(customers, model));
    expect(want.some((p) => p.orders === 0)).toBe(false);
    expect(want.filter((p) => p.typical_gap_days !== null).length).toBeGreaterThan(5);
    expect(normal(await storedProfiles(database.db))).toEqual(want);
    await rebuildProfiles(database.db);
    expect(normal(await storedProfiles(database.db))).toEqual(want);
  });
});
