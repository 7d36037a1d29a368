/**
 * Every setting of the engine, read from the environment once at start-up by one zod
 * schema. Entry points call {@link loadConfig} and pass the result down; nothing else in
 * the codebase reads `process.env`.
 */
import { resolve } from 'node:path';
import { z } from 'zod';
import type { AttributionModel } from './core/attribution.ts';
import { cartUrlProblem, DEFAULT_CART_URL } from './core/bundle.ts';
import { DEFAULT_CODE_POOL_LOW, DEFAULT_DISCOUNT_URL, discountUrlProblem } from './core/discount.ts';
import { parseDuration } from './core/duration.ts';
import { isTimeZone, MONEY } from './core/records.ts';
import type { FrequencyCap } from './core/schedule.ts';
import { ConfigError } from './errors.ts';

const DEV_SECRET = 'dev-only-secret-change-me-in-production-0000';
const DEV_TOKEN = 'dev-token';

const url = (protocols: string[]) =>
  z
    .string()
    .trim()
    .refine(
      (value) => {
        try {
          return protocols.includes(new URL(value).protocol);
        } catch {
          return false;
        }
      },
      `must be a URL starting with ${protocols.map((p) => `${p}//`).join(' or ')}`,
    );

const emptyAsUndefined = (value: unknown) => (value === '' ? undefined : value);

/** A link pattern setting (SHOP_DISCOUNT_URL, SHOP_CART_URL): trimmed, checked by `problemOf`, `fallback` when unset. */
const linkPattern = (problemOf: (pattern: string) => string | undefined, fallback: string) =>
  z
    .string()
    .trim()
    .superRefine((pattern, ctx) => {
      const problem = problemOf(pattern);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    })
    .default(fallback);
/** One `host:port` of REDIS_CLUSTER_NODES, or undefined when it is not one. */
function clusterNode(entry: string): RedisNode | undefined {
  const match = /^([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\]):(\d{1,5})$/.exec(entry);
  const port = Number(match?.[2]);
  if (!match || port < 1 || port > 65535) return undefined;
  return { host: match[1]!.replace(/^\[|\]$/g, ''), port };
}

/** REDIS_CLUSTER_NODES: a comma list of `host:port`, each entry checked, the first bad one named. */
const clusterNodes = z
  .string()
  .trim()
  .transform((text, ctx): RedisNode[] => {
    const nodes: RedisNode[] = [];
    for (const entry of text.split(',').map((e) => e.trim())) {
      const node = clusterNode(entry);
      if (!node) {
        ctx.addIssue({
          code: 'custom',
          message: `must be a comma list of host:port, such as 10.0.0.1:7000,10.0.0.2:7000 ("${entry}" is not one)`,
        });
        return z.NEVER;
      }
      nodes.push(node);
    }
    return nodes;
  });

/**
 * The queue prefix as a Redis Cluster needs it: every key of a BullMQ queue must hash to one
 * slot (its scripts touch several keys at once), so a prefix without a `{hash tag}` is
 * wrapped in one, `campaign` → `{campaign}`. A prefix that has one is kept as it is.
 */
export function hashTaggedPrefix(prefix: string): string {
  return /\{[^}]+\}/.test(prefix) ? prefix : `{${prefix}}`;
}

const windowSetting = z.string().refine((text) => (parseDuration(text) ?? 0) > 0, 'must be a duration such as 5d or 36h');

const schema = z
  .object({
    NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
    DATABASE_URL: z.preprocess(emptyAsUndefined, url(['postgres:', 'postgresql:']).optional()),
    DATA_DIR: z.string().trim().min(1).default('./.data'),
    DATABASE_POOL_SIZE: z.coerce.number().int().min(1).max(200).default(10),
    REDIS_URL: url(['redis:', 'rediss:']).default('redis://127.0.0.1:6379'),
    /** The seed nodes of a Redis Cluster, `host:port,host:port`; set, it replaces REDIS_URL. */
    REDIS_CLUSTER_NODES: z.preprocess(emptyAsUndefined, clusterNodes.optional()),
    QUEUE_PREFIX: z
      .string()
      .regex(
        /^([A-Za-z0-9_.-]*\{[A-Za-z0-9_.-]+\}[A-Za-z0-9_.-]*|[A-Za-z0-9_.-]+)$/,
        'must be letters, digits, "_", "." or "-", with at most one {hash tag} of them',
      )
      .default('campaign'),
    SMTP_URL: z.preprocess(emptyAsUndefined, url(['smtp:', 'smtps:']).optional()),
    PUBLIC_URL: url(['http:', 'https:']).default('http://localhost:3000'),
    HOST: z.string().default('127.0.0.1'),
    PORT: z.coerce.number().int().min(0).max(65535).default(3000),
    SECRET_KEY: z.string().min(32, 'must be at least 32 characters').default(DEV_SECRET),
    API_TOKEN: z.string().min(8, 'must be at least 8 characters').default(DEV_TOKEN),
    CLOCK_SCALE: z.coerce
      .number({ error: 'must be a number' })
      .positive('must be a positive number of simulated seconds per real second')
      .default(1),
    CLOCK_ORIGIN: z.preprocess(
      (value) => (typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : emptyAsUndefined(value)),
      z.coerce.date({ error: 'must be an ISO 8601 time or epoch milliseconds' }).optional(),
    ),
    SHOP_NAME: z.string().default('Demo Shop'),
    SHOP_URL: url(['http:', 'https:']).default('https://shop.example/'),
    SHOP_ADDRESS: z.string().min(1).default('1 Demo Street, Springfield 12345, USA'),
    SHOP_SUPPORT_EMAIL: z.email({ error: 'must be an email address' }).default('help@shop.example'),
    SHOP_TIMEZONE: z.string().refine(isTimeZone, 'must be an IANA time zone such as Europe/Paris').default('UTC'),
    SHOP_DISCOUNT_URL: linkPattern(discountUrlProblem, DEFAULT_DISCOUNT_URL),
    SHOP_CART_URL: linkPattern(cartUrlProblem, DEFAULT_CART_URL),
    CODE_POOL_LOW: z.coerce.number({ error: 'must be a number' }).int().min(0).default(DEFAULT_CODE_POOL_LOW),
    SHOP_FREE_SHIPPING_THRESHOLD: z.preprocess(
      emptyAsUndefined,
      z
        .string()
        .trim()
        .regex(MONEY, 'must be an amount such as 50 or 49.99')
        .refine((v) => Number(v) > 0, 'must be above 0')
        .optional(),
    ),
    NEW_ARRIVALS_DAYS: z.coerce.number({ error: 'must be a number' }).int('must be a whole number of days').min(1).max(3650).default(30),
    MAIL_FROM: z.email({ error: 'must be an email address' }).default('orders@shop.example'),
    TEMPLATES_DIR: z.string().min(1).default('./templates'),
    RECS_RULES_FILE: z.string().min(1).default('./config/recommendations.yaml'),
    SEGMENTS_FILE: z.string().min(1).default('./config/segments.yaml'),
    SEQUENCES_DIR: z.string().min(1).default('./templates/sequences'),
    FREQUENCY_CAP: z
      .string()
      .regex(/^(off|\d+\/\d+[smhdw])$/, 'must be "off" or N/duration, such as 3/7d')
      .default('3/7d'),
    SEND_RATE_PER_SECOND: z.preprocess(emptyAsUndefined, z.coerce.number().positive().optional()),
    WORKER_CONCURRENCY: z.coerce.number().int().min(1).max(256).default(32),
    DKIM_DOMAIN: z.preprocess(emptyAsUndefined, z.string().optional()),
    DKIM_SELECTOR: z.preprocess(emptyAsUndefined, z.string().optional()),
    DKIM_PRIVATE_KEY: z.preprocess(
      emptyAsUndefined,
      z.string().includes('PRIVATE KEY', { message: 'must be a PEM private key' }).optional(),
    ),
    METRICS_PORT: z.coerce.number().int().min(0).max(65535).default(9464),
    SEND_CLAIM_SECONDS: z.coerce.number().int().min(1).max(3600).default(120),
    WORKER_LOCK_MS: z.coerce.number().int().min(500).max(600_000).default(30_000),
    /** The app's webhook signing secret (Shopify admin → Settings → Notifications → Webhooks); unset: POST /webhooks/shopify is not served. */
    SHOPIFY_WEBHOOK_SECRET: z.preprocess(emptyAsUndefined, z.string().min(8, 'must be at least 8 characters').optional()),
    /** The secret given to WooCommerce's webhooks (WooCommerce → Settings → Advanced → Webhooks); unset: POST /webhooks/woocommerce is not served. */
    WOOCOMMERCE_WEBHOOK_SECRET: z.preprocess(emptyAsUndefined, z.string().min(8, 'must be at least 8 characters').optional()),
    SHOP_CURRENCY: z
      .string()
      .regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code such as USD or EUR')
      .default('USD'),
    /**
     * The gross margin assumed for a product without a cost, as a percentage of its price
     * (`40` or `40%`: cost = price × 0.6); unset, margin is reported only when every product
     * bought carries a cost.
     */
    SHOP_DEFAULT_MARGIN: z.preprocess(
      emptyAsUndefined,
      z
        .string()
        .trim()
        .regex(/^\d{1,2}(\.\d{1,2})?%?$/, 'must be a percentage from 0 to 99.99, such as 40 or 40%')
        .transform((v) => Number(v.replace('%', '')))
        .optional(),
    ),
    IMPORT_BATCH_SIZE: z.coerce.number().int().min(1).max(50_000).default(2_000),
    API_BODY_LIMIT_BYTES: z.coerce
      .number()
      .int()
      .min(1024)
      .default(5 * 1024 * 1024),
    DASHBOARD_PASSWORD: z.preprocess(emptyAsUndefined, z.string().min(8, 'must be at least 8 characters').optional()),
    DASHBOARD_SNAPSHOT_SECONDS: z.coerce.number().int().min(0).max(86_400).default(300),
    SESSION_HOURS: z.coerce
      .number()
      .positive()
      .max(24 * 90)
      .default(12),
    TRACKING_LINK_DAYS: z.coerce.number().int().min(1).max(3650).default(365),
    TRUST_PROXY: z
      .string()
      .trim()
      .default('')
      .transform((v, ctx): boolean | number | string[] => {
        if (v === '' || v === 'false') return false;
        if (v === 'true') return true;
        if (/^\d{1,2}$/.test(v)) return Number(v);
        const proxies = v.split(',').map((p) => p.trim());
        const proxy = z.union([z.ipv4(), z.ipv6(), z.cidrv4(), z.cidrv6(), z.enum(['loopback', 'linklocal', 'uniquelocal'])]);
        if (proxies.every((p) => proxy.safeParse(p).success)) return proxies;
        ctx.addIssue({ code: 'custom', message: 'must be true, false, a hop count, or a comma list of proxy addresses and CIDRs' });
        return z.NEVER;
      }),
    ATTRIBUTION_MODEL: z.enum(['click-then-open', 'last-touch', 'click-only']).default('click-then-open'),
    ATTRIBUTION_CLICK_WINDOW: windowSetting.default('5d'),
    ATTRIBUTION_OPEN_WINDOW: windowSetting.default('1d'),
    REPORT_MIN_SAMPLE: z.coerce.number().int().min(2).default(100),
    /**
     * The storefront's public, read-only key for GET/POST /api/recommendations; unset, the
     * route is not mounted. It sits in the shop's theme for anyone to read: never the API token.
     */
    STOREFRONT_KEY: z.preprocess(
      emptyAsUndefined,
      z
        .string()
        .min(16, 'must be at least 16 characters')
        .regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces')
        .optional(),
    ),
    /** The origins (scheme, host and port) whose pages may call the storefront route from a browser, comma-separated. */
    STOREFRONT_ORIGINS: z
      .string()
      .trim()
      .default('')
      .transform((v, ctx): string[] => {
        const origins = v === '' ? [] : v.split(',').map((o) => o.trim().replace(/\/+$/, ''));
        for (const origin of origins)
          if (!isOrigin(origin)) {
            ctx.addIssue({
              code: 'custom',
              message: `must be comma-separated origins such as https://shop.example ("${origin}" is not one)`,
            });
            return z.NEVER;
          }
        return origins;
      }),
    /** How often the storefront's in-memory recommender asks whether `recs build` has run since it loaded. */
    /** The secret a shop's server signs a signed-in customer's id with (`customer_token`); unset: `customer` is refused. */
    STOREFRONT_CUSTOMER_SECRET: z.preprocess(emptyAsUndefined, z.string().min(16, 'must be at least 16 characters').optional()),
    STOREFRONT_REFRESH_SECONDS: z.coerce.number({ error: 'must be a number' }).int().min(1).max(3600).default(30),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  })
  .superRefine((env, ctx) => {
    const dkim = [env.DKIM_DOMAIN, env.DKIM_SELECTOR, env.DKIM_PRIVATE_KEY];
    if (dkim.some(Boolean) && !dkim.every(Boolean))
      ctx.addIssue({ code: 'custom', path: ['DKIM_DOMAIN'], message: 'DKIM_DOMAIN, DKIM_SELECTOR and DKIM_PRIVATE_KEY go together' });
    if (env.STOREFRONT_KEY !== undefined && env.STOREFRONT_KEY === env.API_TOKEN)
      ctx.addIssue({ code: 'custom', path: ['STOREFRONT_KEY'], message: 'must differ from API_TOKEN: the storefront key is public' });
    if (env.STOREFRONT_CUSTOMER_SECRET !== undefined && env.STOREFRONT_CUSTOMER_SECRET === env.STOREFRONT_KEY)
      ctx.addIssue({
        code: 'custom',
        path: ['STOREFRONT_CUSTOMER_SECRET'],
        message: 'must differ from STOREFRONT_KEY: the storefront key is public',
      });
    if (env.NODE_ENV !== 'production') return;
    if (env.SECRET_KEY === DEV_SECRET) ctx.addIssue({ code: 'custom', path: ['SECRET_KEY'], message: 'must be set in production' });
    if (env.API_TOKEN === DEV_TOKEN) ctx.addIssue({ code: 'custom', path: ['API_TOKEN'], message: 'must be set in production' });
  });

type Env = z.infer<typeof schema>;

/** True for an http(s) origin as browsers send it: scheme, host and port, no path. */
function isOrigin(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === 'https:' || url.protocol === 'http:') && url.origin === value;
  } catch {
    return false;
  }
}

/** The parsed, typed settings. Field names follow the variables they come from. */
/** DKIM signing of outgoing mail (DKIM_DOMAIN, DKIM_SELECTOR, DKIM_PRIVATE_KEY). */
export interface DkimSettings {
  domainName: string;
  keySelector: string;
  privateKey: string;
}

/** A Redis Cluster node, as REDIS_CLUSTER_NODES names it. */
export interface RedisNode {
  host: string;
  port: number;
}

export interface Config {
  env: Env['NODE_ENV'];
  /** A `postgres://` URL, or undefined for the embedded PGlite database under {@link dataDir}. */
  databaseUrl: string | undefined;
  dataDir: string;
  databasePoolSize: number;
  redisUrl: string;
  /** REDIS_CLUSTER_NODES: the seed nodes of a Redis Cluster, used instead of {@link redisUrl}; undefined: one Redis. */
  redisClusterNodes: RedisNode[] | undefined;
  /**
   * Prefix of every BullMQ key, so several deployments (or tests) can share one Redis. On a
   * cluster it carries a hash tag (see {@link hashTaggedPrefix}).
   */
  queuePrefix: string;
  /** An `smtp://` URL, or undefined where the caller supplies its own sink (the demo). */
  smtpUrl: string | undefined;
  publicUrl: string;
  host: string;
  port: number;
  secretKey: string;
  apiToken: string;
  /** Simulated seconds per real second: 1 in production, thousands in the demo. */
  clockScale: number;
  /**
   * Where scaled time starts (real and simulated time agree at this moment). Every process
   * of one deployment must share it when CLOCK_SCALE is not 1; default: process start.
   */
  clockOrigin: Date | undefined;
  shop: {
    name: string;
    currency: string;
    url: string;
    address: string;
    supportEmail: string;
    timezone: string;
    /** SHOP_FREE_SHIPPING_THRESHOLD: an order of at least this ships free (a decimal string); undefined when unset. */
    freeShippingThreshold?: string | undefined;
  };
  /** NEW_ARRIVALS_DAYS: a product is new to the new-arrivals strategy this many days after it is first seen. */
  newArrivalsDays: number;
  /** SHOP_DEFAULT_MARGIN: the margin (a percentage, 0 to 99.99) assumed for products without a cost; undefined when unset. */
  defaultMarginPercent: number | undefined;
  /** The link that applies a discount code: `{shop}` and `{code}` filled in (SHOP_DISCOUNT_URL). */
  discountUrl: string;
  /** The link that puts a bundle in the cart: `{shop}` and `{items}` (`VARIANT:QTY,…`) filled in (SHOP_CART_URL). */
  cartUrl: string;
  /** A code pool with fewer codes left than this is low: a warning in the logs and `campaign_code_pool_low` on /metrics. */
  codePoolLow: number;
  /** Envelope and From address of every email; the display name comes from each template. */
  mailFrom: string;
  templatesDir: string;
  recsRulesFile: string;
  /** config/segments.yaml: the segment thresholds a shop sets (src/core/profile.ts); absent, the shop's quantiles. */
  segmentsFile: string;
  sequencesDir: string;
  /** At most `max` emails to one customer per `windowMs`, across sequences; undefined: off. */
  frequencyCap: FrequencyCap | undefined;
  sendRatePerSecond: number | undefined;
  workerConcurrency: number;
  /** DKIM signing, when DKIM_DOMAIN, DKIM_SELECTOR and DKIM_PRIVATE_KEY are all set. */
  dkim: DkimSettings | undefined;
  /** Where `campaign work` serves /metrics and /healthz (0: off). */
  metricsPort: number;
  /** Real seconds a worker holds a message while handing it to SMTP. */
  claimSeconds: number;
  /** BullMQ job lock: how soon a job of a dead worker is picked up again. */
  workerLockMs: number;
  importBatchSize: number;
  apiBodyLimitBytes: number;
  /** Accepted at the dashboard's login beside API_TOKEN, when set. */
  dashboardPassword: string | undefined;
  /** SHOPIFY_WEBHOOK_SECRET: POST /webhooks/shopify is served when set. */
  shopifyWebhookSecret: string | undefined;
  /** WOOCOMMERCE_WEBHOOK_SECRET: POST /webhooks/woocommerce is served when set. */
  wooCommerceWebhookSecret: string | undefined;
  /** How long a dashboard login lasts. */
  sessionHours: number;
  /** DASHBOARD_SNAPSHOT_SECONDS: the dashboard's page figures are served from a snapshot up to this old; 0 computes every page live. */
  dashboardSnapshotSeconds: number;
  /** Days after sending that a message's click and open links still count (later: the shop's home page). */
  trackingLinkDays: number;
  /** Proxies believed about the client's address (X-Forwarded-For): none, all, the nearest N hops, or these addresses/CIDRs. */
  trustProxy: boolean | number | string[];
  attribution: AttributionModel;
  /** Enrolled customers per arm, with their window closed, before a comparison names a winner. */
  reportMinSample: number;
  logLevel: Env['LOG_LEVEL'];
  /** The storefront recommendations route (STOREFRONT_*): mounted only when `key` is set. */
  storefront: {
    /** STOREFRONT_KEY: the public, read-only key; undefined: the route is not mounted. */
    key: string | undefined;
    /** STOREFRONT_ORIGINS: the only origins given CORS headers; none by default. */
    origins: string[];
    /** STOREFRONT_REFRESH_SECONDS: at most once per this many seconds, ask whether the statistics were rebuilt. */
    refreshSeconds: number;
    /** STOREFRONT_CUSTOMER_SECRET: `customer` is honoured only with its token; undefined: refused. */
    customerSecret: string | undefined;
  };
}

/** Settings whose value is a credential: an error names them but never shows what they hold. */
const SECRET_SETTINGS = new Set([
  'SECRET_KEY',
  'API_TOKEN',
  'DASHBOARD_PASSWORD',
  'DKIM_PRIVATE_KEY',
  'SHOPIFY_WEBHOOK_SECRET',
  'WOOCOMMERCE_WEBHOOK_SECRET',
  'STOREFRONT_KEY',
  'STOREFRONT_CUSTOMER_SECRET',
]);
/** Settings that are URLs and may carry a user and password before the host. */
const URL_SETTINGS = new Set(['DATABASE_URL', 'REDIS_URL', 'SMTP_URL', 'PUBLIC_URL', 'SHOP_URL']);

/**
 * What a config error shows of the value it refuses: the value itself for ordinary
 * settings, its length for a secret, and a URL with its credentials masked, so an error
 * pasted into a ticket or a CI log never carries a password or a key.
 */
function shownValue(name: string, value: string | undefined): string {
  if (value === undefined) return '';
  if (SECRET_SETTINGS.has(name)) return ` (got ${value.length} characters, not shown)`;
  if (URL_SETTINGS.has(name)) return ` (got ${JSON.stringify(maskCredentials(value))})`;
  return ` (got ${JSON.stringify(value)})`;
}

/** `scheme://user:pass@host` → `scheme://***@host`: everything between the scheme and the last `@`. */
function maskCredentials(url: string): string {
  const at = url.lastIndexOf('@');
  if (at < 0) return url;
  const scheme = url.indexOf('//');
  const start = scheme >= 0 && scheme < at ? scheme + 2 : 0;
  return `${url.slice(0, start)}***${url.slice(at)}`;
}

/**
 * Parses the environment. Throws {@link ConfigError} naming each bad variable and why,
 * e.g. `CLOCK_SCALE: must be a number (got "fast")`.
 */
export function loadConfig(source: Record<string, string | undefined> = process.env): Config {
  const result = schema.safeParse(source);
  if (!result.success) {
    const lines = result.error.issues.map((issue) => {
      const name = String(issue.path[0] ?? '?');
      return `  ${name}: ${issue.message}${shownValue(name, source[name])}`;
    });
    throw new ConfigError(`Invalid environment:\n${lines.join('\n')}`);
  }
  const env = result.data;
  return {
    env: env.NODE_ENV,
    databaseUrl: env.DATABASE_URL,
    dataDir: resolve(env.DATA_DIR),
    databasePoolSize: env.DATABASE_POOL_SIZE,
    redisUrl: env.REDIS_URL,
    redisClusterNodes: env.REDIS_CLUSTER_NODES,
    queuePrefix: env.REDIS_CLUSTER_NODES ? hashTaggedPrefix(env.QUEUE_PREFIX) : env.QUEUE_PREFIX,
    smtpUrl: env.SMTP_URL,
    publicUrl: env.PUBLIC_URL.replace(/\/+$/, ''),
    host: env.HOST,
    port: env.PORT,
    secretKey: env.SECRET_KEY,
    apiToken: env.API_TOKEN,
    clockScale: env.CLOCK_SCALE,
    clockOrigin: env.CLOCK_ORIGIN,
    shop: {
      name: env.SHOP_NAME,
      currency: env.SHOP_CURRENCY,
      url: env.SHOP_URL,
      address: env.SHOP_ADDRESS,
      supportEmail: env.SHOP_SUPPORT_EMAIL,
      timezone: env.SHOP_TIMEZONE,
      freeShippingThreshold: env.SHOP_FREE_SHIPPING_THRESHOLD,
    },
    newArrivalsDays: env.NEW_ARRIVALS_DAYS,
    defaultMarginPercent: env.SHOP_DEFAULT_MARGIN,
    discountUrl: env.SHOP_DISCOUNT_URL,
    cartUrl: env.SHOP_CART_URL,
    codePoolLow: env.CODE_POOL_LOW,
    mailFrom: env.MAIL_FROM,
    templatesDir: resolve(env.TEMPLATES_DIR),
    recsRulesFile: resolve(env.RECS_RULES_FILE),
    segmentsFile: resolve(env.SEGMENTS_FILE),
    sequencesDir: resolve(env.SEQUENCES_DIR),
    frequencyCap: parseCap(env.FREQUENCY_CAP),
    sendRatePerSecond: env.SEND_RATE_PER_SECOND,
    workerConcurrency: env.WORKER_CONCURRENCY,
    dkim:
      env.DKIM_DOMAIN && env.DKIM_SELECTOR && env.DKIM_PRIVATE_KEY
        ? { domainName: env.DKIM_DOMAIN, keySelector: env.DKIM_SELECTOR, privateKey: env.DKIM_PRIVATE_KEY.replace(/\\n/g, '\n') }
        : undefined,
    metricsPort: env.METRICS_PORT,
    claimSeconds: env.SEND_CLAIM_SECONDS,
    workerLockMs: env.WORKER_LOCK_MS,
    importBatchSize: env.IMPORT_BATCH_SIZE,
    apiBodyLimitBytes: env.API_BODY_LIMIT_BYTES,
    dashboardPassword: env.DASHBOARD_PASSWORD,
    dashboardSnapshotSeconds: env.DASHBOARD_SNAPSHOT_SECONDS,
    shopifyWebhookSecret: env.SHOPIFY_WEBHOOK_SECRET,
    wooCommerceWebhookSecret: env.WOOCOMMERCE_WEBHOOK_SECRET,
    sessionHours: env.SESSION_HOURS,
    trackingLinkDays: env.TRACKING_LINK_DAYS,
    trustProxy: env.TRUST_PROXY,
    attribution: {
      kind: env.ATTRIBUTION_MODEL,
      clickWindowMs: parseDuration(env.ATTRIBUTION_CLICK_WINDOW)!,
      openWindowMs: parseDuration(env.ATTRIBUTION_OPEN_WINDOW)!,
    },
    reportMinSample: env.REPORT_MIN_SAMPLE,
    logLevel: env.LOG_LEVEL,
    storefront: {
      key: env.STOREFRONT_KEY,
      origins: env.STOREFRONT_ORIGINS,
      refreshSeconds: env.STOREFRONT_REFRESH_SECONDS,
      customerSecret: env.STOREFRONT_CUSTOMER_SECRET,
    },
  };
}

function parseCap(text: string): Config['frequencyCap'] {
  if (text === 'off') return undefined;
  const [max, window] = text.split('/');
  return { max: Number(max), windowMs: parseDuration(window!)! };
}
