/**
 * `campaign recs build|related|customer|replenish|backtest`: build the co-purchase statistics,
 * look at what they recommend, and what the order history says of when a product is bought again.
 */
import { Option, type Command } from 'commander';
import { STRATEGIES, type Strategy } from '../../core/recommend.ts';
import type { Db } from '../../db/client.ts';
import { backtest } from '../../recs/backtest.ts';
import { buildStatistics } from '../../recs/build.ts';
import { loadRules } from '../../recs/rules.ts';
import { recommendationsFor, strategySettings } from '../../recs/service.ts';
import { configuredClock, withDatabase } from '../../runtime.ts';
import { findProductId, relatedProducts } from '../../store/catalog.ts';
import {
  chooseReplenish,
  MIN_INTERVALS,
  MIN_OWN_INTERVALS,
  repeatGaps,
  REPLENISH_FALLBACK_DAYS,
  type IntervalStats,
  type ReplenishBacktest,
} from '../../core/replenish.ts';
import { refillBacktest } from '../../recs/replenish.ts';
import { customerPurchaseTimes, learnedOf, learnReplenishment } from '../../store/replenish.ts';
import { findCustomerOrder } from '../../store/orders.ts';
import type { ConfigSource } from '../options.ts';
import { positiveWholeNumber } from '../options.ts';
import { RulesError, UserError } from '../../errors.ts';

const print = (json: boolean | undefined, value: unknown, text: () => string) =>
  process.stdout.write(json ? JSON.stringify(value, null, 2) + '\n' : text() + '\n');

export function registerRecs(program: Command, config: ConfigSource): void {
  const recs = program.command('recs').description('co-purchase statistics and recommendations');
  const withDb = <T>(fn: (db: Db) => Promise<T>): Promise<T> => withDatabase(config(), ({ db }) => fn(db));
  const rules = async () =>
    loadRules(config().recsRulesFile).catch((error: unknown) => {
      throw error instanceof RulesError ? new UserError(error.message) : error;
    });

  recs
    .command('build')
    .description('update the statistics with orders added since the last build (or rebuild with --full)')
    .option('--full', 'rebuild from every order')
    .option('--neighbours <n>', 'neighbours kept per product', positiveWholeNumber('--neighbours'), 10)
    .option('--json', 'print the result as JSON')
    .action((options: { full?: boolean; neighbours: number; json?: boolean }) =>
      withDb(async (db) => {
        const started = Date.now();
        const built = await buildStatistics(db, { full: options.full ?? false, neighbours: options.neighbours });
        // Refill intervals are medians: relearned from the whole history each time (one set-based statement per scope).
        const replenish = await learnReplenishment(db);
        const result = { ...built, replenish };
        print(
          options.json,
          result,
          () =>
            `${result.mode} build: ${result.ordersRead} orders read, ${result.totalOrders} in all, ${result.products} products, ` +
            `${result.pairs} product pairs; refill intervals of ${replenish.products} products and ${replenish.categories} categories; ` +
            `in ${((Date.now() - started) / 1000).toFixed(1)} s`,
        );
      }),
    );

  recs
    .command('related')
    .description('the products bought with SKU, best first')
    .argument('<sku>')
    .option('--limit <n>', 'how many', positiveWholeNumber('--limit'), 10)
    .option('--json', 'print JSON: [{ sku, pairOrders, support, confidence, lift, score }]')
    .action((sku: string, options: { limit: number; json?: boolean }) =>
      withDb(async (db) => {
        const productId = await findProductId(db, sku);
        if (productId === undefined) throw new UserError(`no product "${sku}"`);
        const rows = await relatedProducts(db, productId, options.limit);
        const related = rows.map((r) => ({
          sku: r.sku,
          pairOrders: r.pair_orders,
          support: r.support,
          confidence: r.confidence,
          lift: r.lift,
          score: r.score,
        }));
        print(options.json, related, () =>
          related.length
            ? rows
                .map(
                  (r) =>
                    `${r.sku.padEnd(12)} ${r.name.padEnd(36)} ${String(r.pair_orders).padStart(5)} orders  conf ${(r.confidence * 100).toFixed(1)}%  lift ${r.lift.toFixed(2)}  score ${r.score.toFixed(4)}`,
                )
                .join('\n')
            : `nothing is bought with ${sku} more than chance (or \`campaign recs build\` has not run)`,
        );
      }),
    );

  recs
    .command('customer')
    .description("recommendations for a customer's order (their latest by default)")
    .argument('<customer_id>')
    .option('--order <order_id>', 'the trigger order')
    .addOption(new Option('--strategy <name>', 'recommendation strategy').choices(STRATEGIES).default('co-purchase'))
    .option('--json', 'print JSON')
    .action((customerId: string, options: { order?: string; strategy: Strategy; json?: boolean }) =>
      withDb(async (db) => {
        const { customerId: customer, order } = await findCustomerOrder(db, customerId, options.order);
        if (customer === undefined || !order)
          throw new UserError(
            options.order ? `customer "${customerId}" has no order "${options.order}"` : `no customer "${customerId}" with an order`,
          );
        const result = await recommendationsFor(db, {
          customerId: customer,
          orderId: order.id,
          strategy: options.strategy,
          rules: await rules(),
          settings: strategySettings(config().shop, configuredClock(config()).now(), config().newArrivalsDays),
        });
        print(options.json, { customerId, orderId: order.externalId, strategy: options.strategy, ...result }, () =>
          [
            `order ${order.externalId}, strategy ${options.strategy}`,
            'recommendations:',
            ...result.recommendations.map((r) => `  ${r.sku.padEnd(12)} ${r.name} — ${r.reason}`),
            'upsells:',
            ...result.upsells.map((r) => `  ${r.sku.padEnd(12)} ${r.name} — ${r.reason}`),
          ].join('\n'),
        );
      }),
    );

  recs
    .command('replenish')
    .description(
      'what recs build learned of how many days customers take to buy SKU (and its category) again, and when a refill step would go',
    )
    .argument('<sku>')
    .option('--customer <customer_id>', 'the delay for this customer (their own rhythm when they have one)')
    .option('--lead <days>', 'go this many days before the learned interval', positiveWholeNumber('--lead'))
    .option('--json', 'print JSON: { sku, category, builtAt, product, categoryIntervals, own, delay } (in days)')
    .action((sku: string, options: { customer?: string; lead?: number; json?: boolean }) =>
      withDb(async (db) => {
        const learned = await learnedOf(db, sku);
        if (!learned) throw new UserError(`no product "${sku}"`);
        const own = options.customer === undefined ? [] : repeatGaps(await customerPurchaseTimes(db, options.customer, sku));
        const delay = chooseReplenish({ own, product: learned.product, category: learned.categoryStats }, options.lead) ?? null;
        const words = (what: string, s: IntervalStats | undefined) =>
          !s
            ? `${what}: no repeat purchase learned`
            : `${what}: ${s.n} repeat purchases, median ${s.median.toFixed(1)} days (quartiles ${s.q1.toFixed(1)} to ${s.q3.toFixed(1)})` +
              (s.n < MIN_INTERVALS ? `, under the ${MIN_INTERVALS} needed to trust it` : '');
        const json = {
          sku,
          category: learned.category,
          builtAt: learned.builtAt?.toISOString() ?? null,
          product: learned.product ?? null,
          categoryIntervals: learned.categoryStats ?? null,
          own: options.customer === undefined ? null : own,
          delay,
        };
        print(options.json, json, () =>
          [
            learned.builtAt
              ? `learned by recs build at ${learned.builtAt.toISOString()}`
              : 'nothing learned yet: run `campaign recs build`',
            words(sku, learned.product),
            words(`category ${learned.category}`, learned.categoryStats),
            ...(options.customer === undefined
              ? []
              : [
                  `customer ${options.customer}: ${own.length} repeat purchases of ${sku}` +
                    (own.length >= MIN_OWN_INTERVALS ? '' : ` (${MIN_OWN_INTERVALS} make their own rhythm)`),
                ]),
            delay
              ? `a refill step would go ${delay.days.toFixed(1)} days after the purchase (from the ${delay.source === 'customer' ? "customer's own rhythm" : delay.source === 'product' ? "product's intervals" : "category's intervals"}${options.lead ? `, ${options.lead} days early` : ''})`
              : `too little is known: a refill step waits the fallback, ${REPLENISH_FALLBACK_DAYS} days${options.lead ? ` less ${options.lead}` : ''}`,
          ].join('\n'),
        );
      }),
    );

  recs
    .command('backtest')
    .description(
      'hit rate at k on later orders, beside a popularity baseline; and refill timing against the actual re-purchase day, beside a fixed delay',
    )
    .option('--k <n>', 'recommendations per order', positiveWholeNumber('--k'), 3)
    .option(
      '--fixed-delay <days>',
      'the fixed refill delay the learned timing is compared with',
      positiveWholeNumber('--fixed-delay'),
      REPLENISH_FALLBACK_DAYS,
    )
    .option('--cutoff <time>', 'test on orders from this ISO time (default: the last 20%)')
    .option('--json', 'print JSON')
    .action((options: { k: number; cutoff?: string; fixedDelay: number; json?: boolean }) =>
      withDb(async (db) => {
        const cutoff = options.cutoff ? new Date(options.cutoff) : undefined;
        if (cutoff && Number.isNaN(cutoff.getTime())) throw new UserError(`--cutoff: not a time: "${options.cutoff}"`);
        const hits = await backtest(db, { k: options.k, cutoff, rules: await rules() });
        const replenish = await refillBacktest(db, { cutoff: new Date(hits.cutoff), fixedDays: options.fixedDelay });
        const result = { ...hits, replenish };
        const pct = (x: number) => `${(x * 100).toFixed(2)}%`;
        print(options.json, result, () =>
          [
            `trained on ${result.trainOrders} orders before ${result.cutoff}; ${result.trials} later orders, one product hidden in each`,
            `hit rate at k=${result.k}:`,
            `  co-purchase  ${pct(result.strategies['co-purchase'].hitRate)} (${result.strategies['co-purchase'].hits} hits)`,
            `  popularity   ${pct(result.strategies.popularity.hitRate)} (${result.strategies.popularity.hits} hits)`,
            result.improvement === null
              ? `  popularity found no hidden product; co-purchase found ${result.strategies['co-purchase'].hits}`
              : `  co-purchase finds the hidden product ${result.improvement.toFixed(2)}× as often as popularity`,
            ...refillLines(replenish),
          ].join('\n'),
        );
      }),
    );
}

/** The refill part of the backtest, in words. */
function refillLines(r: ReplenishBacktest): string[] {
  if (r.cases === 0) return ['refill timing: no product bought from the cutoff on was bought again, nothing to score'];
  const days = (x: number) => `${x.toFixed(1)} days`;
  return [
    `refill timing: ${r.cases} purchases from the cutoff on were bought again; something was learned for ${r.learnedCases} ` +
      `(customer's own rhythm ${r.bySource.customer}, product ${r.bySource.product}, category ${r.bySource.category})`,
    `  learned       mean error ${days(r.learned.meanAbsError)}, median ${days(r.learned.medianAbsError)}`,
    `  fixed ${String(r.fixedDays).padStart(3)} days mean error ${days(r.fixed.meanAbsError)}, median ${days(r.fixed.medianAbsError)}`,
  ];
}
