/**
 * Offers: what a customer was (or, in the holdout, would have been) recommended, and whether
 * they accepted one by buying it. Pure.
 */

/** The skus offered at one step: the cross-sells and the upsells. */
export interface OfferedStep {
  crossSell: string[];
  upsell: string[];
}
