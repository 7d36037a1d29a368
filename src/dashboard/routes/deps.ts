/** What every page route of the dashboard reads: the database, the report's settings, the shop's money and time zone, the clock. */
import type { AttributionModel } from '../../core/attribution.ts';
import type { Db } from '../../db/client.ts';

export interface PageDeps {
  db: Db;
  attribution: AttributionModel;
  minSample: number;
  /** SHOP_DEFAULT_MARGIN, the margin in percent assumed for products without a cost. */
  defaultMarginPercent?: number | undefined;
  currency: string;
  /** The shop's time zone (IANA): dates and days on the pages are the shop's; default UTC. */
  timeZone?: string | undefined;
  /** CODE_POOL_LOW: a discount code pool with fewer codes left than this is named on the overview; default 100. */
  codePoolLow?: number | undefined;
  /** config/segments.yaml (SEGMENTS_FILE): the segment thresholds the shop sets; unset, the shop's own. */
  segmentsFile?: string | undefined;
  /**
   * DASHBOARD_SNAPSHOT_SECONDS: the report pages' figures are served from their stored
   * snapshot up to this old (real seconds), and rebuilt behind the reader (../snapshots.ts);
   * 0 or unset builds every page's figures live.
   */
  snapshotSeconds?: number | undefined;
  now: () => Date;
}
