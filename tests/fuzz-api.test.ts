/**
 * Hostile input for the ingest routes (POST /api/products, /api/customers, /api/orders,
 * /api/refunds, /api/cancellations, /api/events): thousands of generated payloads per route, from a seeded PRNG so a failure
 * reproduces (FUZZ_SEED, FUZZ_RUNS override the defaults). Every payload is a mix of valid
 * records and records broken in one known field (wrong types, NUL and lone surrogates,
 * huge numbers, deep nesting, over-long strings, bad times, missing and extra fields,
 * duplicate keys, unknown references), or a body broken as a whole (invalid UTF-8,
 * truncated JSON, nesting thousands deep, not an object).
 *
 * Checked for each: never a 5xx; a valid payload is accepted; a payload with a broken field
 * is a 400 whose issues name exactly that field (and no field of a valid record); nothing
 * of a rejected request is stored (the row counts and last updates of every table an
 * ingest writes, and the customers' and profiles' rows, are the same before and after).
 */
import { sql } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prng } from '../src/core/random.ts';
import { MAX_ATTRIBUTES_BYTES, MAX_ATTRIBUTES_DEPTH, MAX_TAGS } from '../src/core/records.ts';
import { queryRows } from '../src/db/client.ts';
import { buildServer } from '../src/http/app.ts';
import { freshDatabase, type DbKind, type TestDatabase } from './helpers/db.ts';
import { seedCatalog } from './helpers/seed.ts';

const TOKEN = 'fuzz-token';
const SEED = Number(process.env.FUZZ_SEED ?? 20260601);
// The Postgres server takes the bulk, PGlite a sample (about 10 ms a request on either here).
const RUNS: Record<DbKind, number> = { postgres: Number(process.env.FUZZ_RUNS ?? 1000), pglite: Number(process.env.FUZZ_RUNS ?? 150) };

type Rand = () => number;
type Json = Record<string, unknown>;

/** A record broken in one field (its path inside the record, e.g. `items[1].quantity`), at one stage of the checks. */
interface Broken {
  path: string;
  /** Schema issues come first; duplicate keys, then unknown references, are only checked on a valid schema. */
  stage: 'schema' | 'duplicate' | 'reference';
}
interface Item {
  record: unknown;
  broken?: Broken;
}
/** One request: records (sent as one object or an array), or a raw body broken as a whole. */
type Case = { kind: 'records'; items: Item[]; asArray: boolean } | { kind: 'raw'; body: Buffer | string; why: string };

const pick = <T>(rand: Rand, list: readonly T[]): T => list[Math.floor(rand() * list.length)]!;
const chance = (rand: Rand, p: number) => rand() < p;

function deep(rand: Rand, depth: number): unknown {
  let value: unknown = 1;
  for (let i = 0; i < depth; i++) value = chance(rand, 0.5) ? [value] : { a: value };
  return value;
}

/** A string with a NUL or a lone surrogate somewhere in it. */
function unstorable(rand: Rand): string {
  const bad = pick(rand, ['\u0000', '\ud800', '\udbff', '\udc00', '\udfff', '\udc00\ud800']);
  const base = pick(rand, ['name', 'ab', 'Zoë 😀', '']);
  // Between code points: inside a pair, a lone surrogate could complete a new pair.
  const points = Array.from(base);
  const at = Math.floor(rand() * (points.length + 1));
  return [...points.slice(0, at), bad, ...points.slice(at)].join('');
}

const long = (rand: Rand, max: number) => 'x'.repeat(max + 1 + Math.floor(rand() * 2000));
/** Invalid for every field: unstorable text, nesting thousands deep, an object, an array (one, made on demand). */
const COMMON_BAD = (rand: Rand) => {
  const roll = rand();
  if (roll < 0.25) return [unstorable(rand)];
  if (roll < 0.4) return [deep(rand, 100 + Math.floor(rand() * 3000))];
  return [pick(rand, [{}, [], { a: 1 }])];
};

/** Values certainly invalid for each kind of field. */
const invalid = {
  id: (rand: Rand) =>
    pick(rand, [...COMMON_BAD(rand), true, '', '   ', 'a b', long(rand, 128), null, 2 ** 53, 2 ** 53 + 2, 1e308, 1.5, -0.5]),
  text: (max: number, required: boolean) => (rand: Rand) =>
    pick(rand, [...COMMON_BAD(rand), true, long(rand, max), 5, ...(required ? ['', '  ', null] : [])]),
  money: (rand: Rand) =>
    pick(rand, [...COMMON_BAD(rand), true, '-1', -1, '1.23456', '1e3', 1e21, 1e-7, '1234567890123', 'cheap', null, '12,50']),
  url: (rand: Rand) =>
    pick(rand, [...COMMON_BAD(rand), true, 'ftp://x', 'not a url', 'http://a\u0000b', 5, `http://a.example/${long(rand, 2048)}`]),
  flag: (rand: Rand) => pick(rand, [...COMMON_BAD(rand), 'maybe', 5, 1, 0, 'truthy']),
  tier: (rand: Rand) => pick(rand, [...COMMON_BAD(rand), true, -1, 101, 1.5, '1.5', 'abc', 1e308]),
  time: (rand: Rand) =>
    pick(rand, [
      ...COMMON_BAD(rand),
      '2026-02-30T10:00:00Z',
      '2026-03-01T10:00:00',
      '0000-01-01T00:00:00Z',
      '0001-01-01T00:00:00+01:00',
      '9999-12-31T23:30:00-01:00',
      '2026-03-01T24:00:00Z',
      '+012026-01-01T00:00:00Z',
      'yesterday',
      '',
      5,
      null,
    ]),
  email: (rand: Rand) =>
    pick(rand, [...COMMON_BAD(rand), true, `${'a'.repeat(65)}@x.de`, 'ana', 'ana@localhost', 'a@b@', 'ana@exa_mple.com', ' ', 5, null]),
  quantity: (rand: Rand) => pick(rand, [...COMMON_BAD(rand), true, 0, -1, 1_000_001, 1.5, '1.5', 'x', 1e308, null]),
  timezone: (rand: Rand) => pick(rand, [...COMMON_BAD(rand), true, 'Mars/Base', long(rand, 64), 5]),
  eventType: (rand: Rand) => pick(rand, [...COMMON_BAD(rand), true, 'bounced', 'BOUNCE', '', 5, null]),
  bounce: (rand: Rand) => pick(rand, [...COMMON_BAD(rand), true, 'permanent', '', 5, null]),
  storable: (max: number) => (rand: Rand) => pick(rand, [...COMMON_BAD(rand), true, long(rand, max), 5]),
};
type Gen = (rand: Rand) => unknown;

/** Decorations that keep a record valid: extra keys, padding, Unicode. */
function benign(rand: Rand, record: Json): Json {
  const out = { ...record };
  if (chance(rand, 0.3))
    out[pick(rand, ['extra', 'ünïcødé', 'a\u0000key', '\ud800', 'nested'])] = pick(rand, [1, 'x', deep(rand, 50), null, unstorable(rand)]);
  return out;
}

let serial = 0;
const fresh = (prefix: string) => `${prefix}-${++serial}`;

// ------------------------------------------------------------------ the records of each route

const SKUS = ['ESP-100', 'ESP-200', 'GRN-10', 'BEAN-1', 'TAMP-1'];
const CUSTOMERS = ['c-1', 'c-2', 'c-3'];

function validProduct(rand: Rand): Json {
  const record: Json = {
    sku: fresh('FZ'),
    name: pick(rand, ['Grinder', '  Padded  ', 'Café 😀 北京']),
    category: 'misc',
    price: pick(rand, ['1.00', 12.5, '999999999999.9999', '0']),
  };
  if (chance(rand, 0.3)) record.url = pick(rand, ['https://shop.example/p/1', '', null]);
  if (chance(rand, 0.3)) record.in_stock = pick(rand, [true, 'no', '1', '']);
  if (chance(rand, 0.3)) record.tier = pick(rand, [0, '3', 100, '']);
  if (chance(rand, 0.2)) record.sku = 10_000_000 + ++serial; // a safe integer id
  return benign(rand, record);
}
const productFields: Record<string, Gen> = {
  sku: invalid.id,
  name: invalid.text(500, true),
  category: invalid.text(200, true),
  price: invalid.money,
  url: invalid.url,
  image_url: invalid.url,
  in_stock: invalid.flag,
  tier: invalid.tier,
};

function validCustomer(rand: Rand): Json {
  const record: Json = {
    customer_id: fresh('fz'),
    email: pick(rand, [
      'ana@example.com',
      'ana@münchen.de',
      'ana@xn--mnchen-3ya.de',
      ` o'neil+x@Example.COM `,
      `${'a'.repeat(64)}@example.com`,
    ]),
  };
  if (chance(rand, 0.3)) record.first_name = pick(rand, ['Zoë', '😀', '', null]);
  if (chance(rand, 0.3)) record.timezone = pick(rand, ['Europe/Paris', 'Asia/Tokyo', '']);
  // Marketing consent in every spelling the formats read; empty or null is absent (the stored one stays).
  if (chance(rand, 0.3))
    record.accepts_marketing = pick(rand, [
      'yes',
      'no',
      'unknown',
      ' YES ',
      'subscribed',
      'not_subscribed',
      'Unsubscribed',
      'true',
      'False',
      true,
      false,
      '',
      null,
    ]);
  if (chance(rand, 0.2))
    record.accepts_marketing_updated_at = pick(rand, [
      '2026-06-01T10:00:00Z',
      '2026-06-01T12:00:00+02:00',
      '0001-01-01T01:00:00+01:00',
      '9999-12-31T23:59:59Z',
      '',
      null,
    ]);
  if (chance(rand, 0.2)) record.consent_source = pick(rand, ['checkout', 'newsletter', ' Zoë 😀 北京 ', 'x'.repeat(100), '', null]);
  if (chance(rand, 0.2)) record.country = pick(rand, ['FR', 'us', ' De ', '', null]);
  if (chance(rand, 0.25))
    record.tags = pick(rand, [
      [],
      ['vip'],
      ['vip', 'vip', ' wholesale ', '', '  '],
      'vip, wholesale,,vip ',
      ['Zoë 😀', '北京', 'x'.repeat(100)],
      Array.from({ length: MAX_TAGS }, (_, i) => `t${i}`),
      Array.from({ length: MAX_TAGS }, (_, i) => `t${i}`).join(','),
      '',
      null,
    ]);
  if (chance(rand, 0.25)) record.attributes = validAttributes(rand);
  return benign(rand, record);
}

/** A customer's attributes: any JSON object, nested, in Unicode, sometimes as its JSON text (as a CSV cell holds it). */
function validAttributes(rand: Rand): unknown {
  const value = pick(rand, [
    {},
    { plan: 'gold', seats: 3 },
    { 'ünïcødé 😀': 'Zoë 北京', nested: { a: [1, 2, { b: null, c: true, d: [] }], e: 1.5e300, f: -0.25 }, empty: '' },
    { line: '\u2028 \t\n "quoted" \\ back', emoji: ['😀', '👩‍👩‍👧'] },
    // As deep as allowed: the attributes object is the first level.
    { deep: deep(rand, MAX_ATTRIBUTES_DEPTH - 1) },
    { big: 'x'.repeat(MAX_ATTRIBUTES_BYTES - 20) },
  ]);
  if (chance(rand, 0.1)) return pick(rand, ['', null]); // absent: the stored attributes stay
  return chance(rand, 0.2) ? JSON.stringify(value) : value;
}

/** A time refused where the field is optional (an empty or null one is absent there, so valid). */
const optionalTime: Gen = (rand) => {
  for (;;) {
    const value = invalid.time(rand);
    if (value !== '' && value !== null) return value;
  }
};

const customerFields: Record<string, Gen> = {
  customer_id: invalid.id,
  email: invalid.email,
  first_name: invalid.text(200, false),
  last_name: invalid.text(200, false),
  timezone: invalid.timezone,
  accepts_marketing: (rand) => pick(rand, [...COMMON_BAD(rand), 'maybe', 'yes please', 'y', 5, 1, 0, long(rand, 100)]),
  accepts_marketing_updated_at: optionalTime,
  consent_source: invalid.text(100, false),
  country: (rand) => pick(rand, [...COMMON_BAD(rand), true, 5, 'FRA', 'F', 'F1', '12', 'ÉU', 'fr-FR', long(rand, 2)]),
  // Not `COMMON_BAD`: an empty list is valid tags.
  tags: (rand) =>
    pick(rand, [
      unstorable(rand),
      [unstorable(rand)],
      ['vip', unstorable(rand)],
      deep(rand, 1 + Math.floor(rand() * 3000)),
      { a: 1 },
      {},
      true,
      5,
      [5],
      ['vip', null],
      [['vip']],
      Array.from({ length: MAX_TAGS + 1 }, (_, i) => `t${i}`),
      Array.from({ length: MAX_TAGS + 1 }, (_, i) => `t${i}`).join(','),
      ['x'.repeat(101)],
      `vip,${'x'.repeat(101)}`,
      long(rand, 5000),
    ]),
  // Not `COMMON_BAD` either: an empty object is valid attributes. A NUL or a lone surrogate
  // anywhere inside (a key, a nested value, the JSON text's escapes) is refused as a whole:
  // the issue names `attributes`, never the key inside it.
  attributes: (rand) =>
    pick(rand, [
      [],
      [{ plan: 'gold' }],
      'x',
      '[1,2]',
      '{plan: gold}',
      'null',
      5,
      true,
      unstorable(rand),
      { [unstorable(rand)]: 1 },
      { plan: unstorable(rand) },
      { nested: { a: [1, { b: unstorable(rand) }] } },
      { nested: { [unstorable(rand)]: 'x' } },
      JSON.stringify({ nested: { a: [unstorable(rand)] } }),
      { deep: deep(rand, MAX_ATTRIBUTES_DEPTH) },
      // Thousands deep, yet within 8 KB as arrays: walked without a bound, this overflowed the stack.
      // (Not much deeper: the test's own JSON.stringify of the payload overflows near 5000.)
      { deep: deep(rand, 100 + Math.floor(rand() * 3900)) },
      JSON.stringify({ deep: deep(rand, 100 + Math.floor(rand() * 3000)) }),
      { big: 'x'.repeat(MAX_ATTRIBUTES_BYTES) },
      long(rand, MAX_ATTRIBUTES_BYTES * 2),
    ]),
};

function validOrder(rand: Rand): Json {
  const items = Array.from({ length: 1 + Math.floor(rand() * 3) }, () => ({
    sku: pick(rand, SKUS),
    quantity: pick(rand, [1, 2, '3', 1_000_000]),
    unit_price: pick(rand, ['249.00', 0.5, '9.9999']),
  }));
  return benign(rand, {
    order_id: fresh('fo'),
    customer_id: pick(rand, CUSTOMERS),
    ordered_at: pick(rand, ['2026-06-01T10:00:00Z', '2026-06-01T12:00:00+02:00', '0001-01-01T01:00:00+01:00']),
    items,
  });
}
const orderFields: Record<string, Gen> = {
  order_id: invalid.id,
  customer_id: invalid.id,
  ordered_at: invalid.time,
  items: (rand) =>
    pick(rand, [
      [],
      5,
      null,
      'x',
      deep(rand, 2000),
      Array.from({ length: 1001 }, () => ({ sku: 'ESP-100', quantity: 1, unit_price: '1' })),
    ]),
};
const itemFields: Record<string, Gen> = { sku: invalid.id, quantity: invalid.quantity, unit_price: invalid.money };

function validEvent(rand: Rand): Json {
  const record: Json = { type: pick(rand, ['bounce', 'complaint']), email: `${fresh('ev')}@${pick(rand, ['example.com', 'münchen.de'])}` };
  if (chance(rand, 0.5)) record.bounce = pick(rand, ['hard', 'soft']);
  if (chance(rand, 0.3)) record.message_id = pick(rand, ['<x@y>', '', 'Zoë 😀']);
  if (chance(rand, 0.3)) record.reason = pick(rand, ['550 mailbox unavailable', '']);
  if (chance(rand, 0.3)) record.occurred_at = pick(rand, ['2026-06-01T10:00:00Z', '9999-12-31T23:59:59Z']);
  return benign(rand, record);
}
const eventFields: Record<string, Gen> = {
  type: invalid.eventType,
  email: invalid.email,
  message_id: invalid.storable(300),
  bounce: invalid.bounce,
  reason: invalid.storable(1000),
  occurred_at: invalid.time,
};

/**
 * Orders placed before the run, big enough that the valid refunds never exhaust them, and
 * more than a request holds, so the valid cancellations of one request, taken in turn, name
 * each order once.
 */
const POOL = Array.from({ length: 50 }, (_, i) => `pool-${i + 1}`);
let turn = 0;
const POOL_PLACED = '2026-06-01T10:00:00Z';

function validRefund(rand: Rand): Json {
  const record: Json = {
    refund_id: fresh('rf'),
    order_id: pick(rand, POOL),
    refunded_at: pick(rand, ['2026-06-02T10:00:00Z', '2026-07-01T00:00:00+02:00', POOL_PLACED]),
    amount: pick(rand, ['1.00', 0.5, '2', 3, ' 0.0001 ']),
  };
  if (chance(rand, 0.3)) record.reason = pick(rand, ['damaged', 'Zoë 😀', '', null]);
  return benign(rand, record);
}
const refundFields: Record<string, Gen> = {
  refund_id: invalid.id,
  order_id: invalid.id,
  refunded_at: invalid.time,
  // Empty, null or absent mean `all`, a valid amount: only what is surely not an amount.
  amount: (rand) =>
    pick(rand, [...COMMON_BAD(rand), true, '-1', -1, '1.23456', '1e3', 1e21, 1e-7, '1234567890123', 'cheap', '12,50', '0', 0]),
  reason: invalid.storable(500),
};

function validCancellation(rand: Rand): Json {
  return benign(rand, {
    order_id: POOL[turn++ % POOL.length],
    cancelled_at: pick(rand, ['2026-06-03T10:00:00Z', '2026-06-04T09:00:00-05:00', `2026-06-0${1 + Math.floor(rand() * 9)}T12:00:00Z`]),
  });
}
const cancellationFields: Record<string, Gen> = { order_id: invalid.id, cancelled_at: invalid.time };

const REQUIRED: Record<string, string[]> = {
  products: ['sku', 'name', 'category', 'price'],
  customers: ['customer_id', 'email'],
  orders: ['order_id', 'customer_id', 'ordered_at', 'items'],
  events: ['type', 'email'],
  refunds: ['refund_id', 'order_id', 'refunded_at'],
  cancellations: ['order_id', 'cancelled_at'],
};

/** One record broken in one way: a field's value, a missing required field, or (orders) a line, an amount, a reference. */
function brokenRecord(rand: Rand, route: Route): Item {
  const record = route.valid(rand);
  const roll = rand();
  if (roll < 0.1) {
    const field = pick(rand, REQUIRED[route.name]!);
    delete record[field];
    return { record, broken: { path: field, stage: 'schema' } };
  }
  if (route.name === 'orders' && roll < 0.45) {
    const items = record.items as Json[];
    const j = Math.floor(rand() * items.length);
    const kind = rand();
    if (kind < 0.15) {
      items[j]!.sku = fresh('GHOST');
      return { record, broken: { path: `items[${j}].sku`, stage: 'reference' } };
    }
    if (kind < 0.3) {
      record.items = [
        ...items,
        { sku: 'ESP-100', quantity: 1, unit_price: '999999999999' },
        { sku: 'GRN-10', quantity: 1, unit_price: '999999999999' },
      ];
      return { record, broken: { path: 'items', stage: 'schema' } };
    }
    if (kind < 0.4) {
      items[j] = { sku: 'ESP-100', quantity: 1_000_000, unit_price: '999999999.99' };
      return { record, broken: { path: `items[${j}]`, stage: 'schema' } };
    }
    const field = pick(rand, Object.keys(itemFields));
    if (chance(rand, 0.15)) delete items[j]![field];
    else items[j]![field] = itemFields[field]!(rand);
    return { record, broken: { path: `items[${j}].${field}`, stage: 'schema' } };
  }
  if (route.name === 'orders' && roll < 0.5) {
    record.customer_id = fresh('nobody');
    return { record, broken: { path: 'customer_id', stage: 'reference' } };
  }
  // What only the database can refuse: an unknown order, a refund before its order, or past what it has left.
  if ((route.name === 'refunds' || route.name === 'cancellations') && roll < 0.3) {
    record.order_id = fresh('nowhere');
    return { record, broken: { path: 'order_id', stage: 'reference' } };
  }
  if (route.name === 'refunds' && roll < 0.4) {
    record.refunded_at = '2026-05-31T23:59:59Z';
    return { record, broken: { path: 'refunded_at', stage: 'reference' } };
  }
  if (route.name === 'refunds' && roll < 0.5) {
    record.amount = '999999999999';
    return { record, broken: { path: 'amount', stage: 'reference' } };
  }
  const field = pick(rand, Object.keys(route.fields));
  record[field] = route.fields[field]!(rand);
  return { record, broken: { path: field, stage: 'schema' } };
}

/** A body broken as a whole. */
function brokenBody(rand: Rand, route: Route): Case {
  const good = JSON.stringify([route.valid(rand)]);
  const raw = (why: string, body: Buffer | string): Case => ({ kind: 'raw', why, body });
  switch (Math.floor(rand() * 8)) {
    case 0: {
      const bytes = Buffer.from(good, 'utf8');
      const at = 3 + Math.floor(rand() * (bytes.length - 6));
      const bad = pick(rand, [[0xff], [0xc3, 0x28], [0xed, 0xa0, 0x80], [0xe2, 0x82], [0xf8, 0x88, 0x80, 0x80, 0x80], [0xc0, 0xaf]]);
      return raw('invalid UTF-8', Buffer.concat([bytes.subarray(0, at), Buffer.from(bad), bytes.subarray(at)]));
    }
    case 1:
      return raw('truncated JSON', good.slice(0, Math.floor(rand() * (good.length - 1))));
    case 2: {
      const depth = 1000 + Math.floor(rand() * 40_000);
      const open = chance(rand, 0.5) ? '[' : '{"a":';
      return raw('nested thousands deep', open.repeat(depth) + '1' + (open === '[' ? ']' : '}').repeat(depth));
    }
    case 3:
      return raw('not an object', pick(rand, ['"text"', '5', 'null', 'true', '1e308', '[]', '[[]]', '[1,2]']));
    case 4:
      return raw('prototype poisoning', `{"__proto__":{"x":1},${good.slice(2, -2)}}`);
    case 5:
      return raw('over 1000 items', JSON.stringify(Array.from({ length: 1001 }, () => ({}))));
    case 6:
      return raw('over the body limit', JSON.stringify([{ name: 'x'.repeat(300 * 1024) }]));
    default:
      return raw('empty body', '');
  }
}

interface Route {
  name: 'products' | 'customers' | 'orders' | 'refunds' | 'cancellations' | 'events';
  key?: string;
  valid: (rand: Rand) => Json;
  fields: Record<string, Gen>;
}
const ROUTES: Route[] = [
  { name: 'products', key: 'sku', valid: validProduct, fields: productFields },
  { name: 'customers', key: 'customer_id', valid: validCustomer, fields: customerFields },
  { name: 'orders', key: 'order_id', valid: validOrder, fields: orderFields },
  { name: 'refunds', key: 'refund_id', valid: validRefund, fields: refundFields },
  { name: 'cancellations', key: 'order_id', valid: validCancellation, fields: cancellationFields },
  { name: 'events', valid: validEvent, fields: eventFields },
];

function generate(rand: Rand, route: Route): Case {
  if (chance(rand, 0.12)) return brokenBody(rand, route);
  const size = chance(rand, 0.3) ? 1 : 1 + Math.floor(rand() * (chance(rand, 0.1) ? 40 : 6));
  const items: Item[] = Array.from({ length: size }, () =>
    chance(rand, 0.55) ? { record: route.valid(rand) } : brokenRecord(rand, route),
  );
  // A duplicate key, when the record it copies is valid.
  if (route.key && size > 1 && chance(rand, 0.15)) {
    const j = 1 + Math.floor(rand() * (size - 1));
    const first = items[Math.floor(rand() * j)]!;
    if (!first.broken)
      items[j] = {
        record: { ...route.valid(rand), [route.key]: (first.record as Json)[route.key] },
        broken: { path: route.key, stage: 'duplicate' },
      };
  }
  return { kind: 'records', items, asArray: size > 1 || chance(rand, 0.5) };
}

// ------------------------------------------------------------------ the run

describe.each(['postgres', 'pglite'] as const)('hostile input on %s', (kind) => {
  let database: TestDatabase;
  let app: FastifyInstance;
  beforeAll(async () => {
    database = await freshDatabase(kind);
    await seedCatalog(database.db);
    app = await buildServer({ db: database.db, apiToken: TOKEN, bodyLimitBytes: 256 * 1024 });
    const pool = await app.inject({
      method: 'POST',
      url: '/api/orders',
      headers: { authorization: `Bearer ${TOKEN}` },
      payload: POOL.map((order_id) => ({
        order_id,
        customer_id: 'c-1',
        ordered_at: POOL_PLACED,
        items: [{ sku: 'ESP-100', quantity: 1000, unit_price: '999999.99' }],
      })),
    });
    expect(pool.statusCode, pool.body).toBe(200);
  });
  afterAll(async () => {
    await app.close();
    await database.drop();
  });

  /**
   * What an ingest can have written: row counts and the latest update of each table, and the
   * customers and their profiles row by row (consent, country, tags and attributes included),
   * so a change that leaves `updated_at` alone is seen too.
   */
  const fingerprint = async () =>
    JSON.stringify(
      await queryRows(
        database.db,
        sql`select (select count(*) from products)::int as p, (select max(updated_at) from products)::text as pu,
                   (select count(*) from customers)::int as c, (select max(updated_at) from customers)::text as cu,
                   (select count(*) from orders)::int as o, (select max(updated_at) from orders)::text as ou,
                   (select count(*) from order_items)::int as i, (select count(*) from outbox)::int as x,
                   (select count(*) from events)::int as e, (select count(*) from suppressions)::int as s,
                   (select count(*) from refunds)::int as r, (select max(updated_at) from refunds)::text as ru,
                   (select count(*) from orders where cancelled_at is not null)::int as oc,
                   (select md5(coalesce(string_agg(c::text, E'\n' order by c.id), '')) from customers c) as cr,
                   (select count(*) from customer_profiles)::int as cp, (select max(updated_at) from customer_profiles)::text as cpu,
                   (select md5(coalesce(string_agg(f::text, E'\n' order by f.customer_id), '')) from customer_profiles f) as cpr`,
      ),
    );

  it.each(ROUTES.map((r) => [r.name, r] as const))(
    `POST /api/%s: no 5xx, precise 400s, nothing stored of a rejected request`,
    async (name, route) => {
      const rand = prng(SEED + name.length * 7919 + (kind === 'pglite' ? 1 : 0));
      const stats = { accepted: 0, rejected: 0, byStatus: new Map<number, number>() };
      let before = await fingerprint();
      for (let n = 0; n < RUNS[kind]; n++) {
        const test = generate(rand, route);
        const where = `seed ${SEED}, ${name} payload #${n}`;
        const response =
          test.kind === 'raw'
            ? await app.inject({
                method: 'POST',
                url: `/api/${name}`,
                headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
                payload: test.body,
              })
            : await app.inject({
                method: 'POST',
                url: `/api/${name}`,
                headers: { authorization: `Bearer ${TOKEN}` },
                payload: (test.asArray ? test.items.map((i) => i.record) : test.items[0]!.record) as object,
              });
        const status = response.statusCode;
        stats.byStatus.set(status, (stats.byStatus.get(status) ?? 0) + 1);
        const describe = () =>
          `${where}: ${status} ${response.body.slice(0, 500)}\npayload: ${test.kind === 'raw' ? test.why : JSON.stringify(test.items).slice(0, 2000)}`;
        expect(status < 500, describe()).toBe(true);

        const broken = test.kind === 'records' ? test.items.flatMap((item, i) => (item.broken ? [{ ...item.broken, index: i }] : [])) : [];
        if (test.kind === 'records' && broken.length === 0) {
          expect(status, describe()).toBe(200);
          stats.accepted += 1;
          before = await fingerprint();
          continue;
        }
        expect(status >= 400 && status < 500, describe()).toBe(true);
        const body = response.json<{ message: string; issues?: { path: string; message: string }[] }>();
        expect(body.message, describe()).toEqual(expect.any(String));
        if (test.kind === 'records') {
          // The issues name exactly the broken fields of the first stage that failed.
          const stage = (['schema', 'duplicate', 'reference'] as const).find((s) => broken.some((b) => b.stage === s))!;
          const expected = broken.filter((b) => b.stage === stage).map((b) => (test.asArray ? `[${b.index}].${b.path}` : b.path));
          const issues = body.issues ?? [];
          const within = (path: string, prefix: string) =>
            path === prefix || path.startsWith(`${prefix}.`) || path.startsWith(`${prefix}[`);
          for (const prefix of expected)
            expect(
              issues.some((issue) => within(issue.path, prefix)),
              `${describe()}\nno issue names ${prefix}`,
            ).toBe(true);
          for (const issue of issues)
            expect(
              expected.some((prefix) => within(issue.path, prefix)),
              `${describe()}\nunexpected issue ${issue.path}`,
            ).toBe(true);
          for (const issue of issues) expect(issue.message.length, describe()).toBeGreaterThan(0);
        }
        stats.rejected += 1;
        expect(await fingerprint(), `${describe()}\nsomething was stored`).toBe(before);
      }
      // Both kinds of answer happened, in numbers: the test proves it refuses selectively.
      expect(stats.accepted).toBeGreaterThan(RUNS[kind] / 10);
      expect(stats.rejected).toBeGreaterThan(RUNS[kind] / 3);
    },
  );
});
