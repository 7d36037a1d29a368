/**
 * Recommendation performance on the sequence page: per arm, by strategy and by product, what
 * was shown, clicked and bought and the revenue it brought (src/analytics/recommendations.ts).
 * The cells come from the same column lists as the CSV export
 * (src/analytics/recommendations-format.ts), so the page and the export show the same
 * figures. `data-arm` on each row and `data-field` on each cell name them for tests and
 * scripts, as in ./report-tables.tsx.
 */
import { pageCell, PRODUCT_COLUMNS, STRATEGY_COLUMNS, type CellKind, type RecColumn } from '../../analytics/recommendations-format.ts';
import type { ProductLine, RecommendationTables, StrategyLine } from '../../analytics/recommendations.ts';
import { int } from './format.ts';
import type { Money } from './report-tables.tsx';

/** Names and text read from the left, figures from the right. */
const align = (kind: CellKind) => (kind === 'text' ? 'text-align:left' : undefined);

function Head<Row>({ columns }: { columns: RecColumn<Row>[] }) {
  return (
    <thead>
      <tr>
        {columns.map((c) => (
          <th style={align(c.kind)}>{c.head}</th>
        ))}
      </tr>
    </thead>
  );
}

function Cells<Row>({ columns, row, money }: { columns: RecColumn<Row>[]; row: Row; money: Money }) {
  return (
    <>
      {columns.map((c) => (
        <td data-field={c.key} style={align(c.kind)}>
          {pageCell(c.kind, c.value(row), money)}
        </td>
      ))}
    </>
  );
}

/** An arm's total row: bold, ruled off from the arm's rows above it. */
const TOTAL = 'font-weight:600;border-top:2px solid #cbd2d9';

function StrategyRow({ row, money }: { row: StrategyLine; money: Money }) {
  const total = row.row === 'total';
  return (
    <tr
      data-arm={row.arm}
      data-row={row.row}
      data-strategy={row.strategy ?? 'all'}
      data-kind={row.kind ?? 'all'}
      data-offered-in={row.offeredIn ?? 'all'}
      style={total ? TOTAL : undefined}
    >
      <Cells columns={STRATEGY_COLUMNS} row={row} money={money} />
    </tr>
  );
}

function ProductRow({ row, money }: { row: ProductLine; money: Money }) {
  return (
    <tr data-arm={row.arm} data-row={row.row} data-sku={row.sku ?? row.row} style={row.row === 'total' ? TOTAL : undefined}>
      <Cells columns={PRODUCT_COLUMNS} row={row} money={money} />
    </tr>
  );
}

/**
 * The two tables of a version's recommendations, per arm: by strategy (with the offer's kind
 * and whether it was emailed), then by product (the top N by revenue, the rest summed), each
 * arm closing on its total, the same in both tables.
 */
export function RecommendationPerformance({ rows, money }: { rows: RecommendationTables; money: Money }) {
  const measured = rows.arms.reduce((sum, a) => sum + a.customers, 0);
  return (
    <>
      <p class="muted">
        Measured customers only (window closed), as the offer KPIs: what their emails showed, the products a person clicked, and what they
        bought of their offers within the window (net of refunds). Buyers and revenue include products a step would have offered when its
        email was not sent (“not sent”: the holdout, skipped steps, exits). A product offered by two strategies counts in both rows; each
        arm’s total counts it once and equals its accepted customers and recommended revenue. Rates are per product shown.
      </p>
      {measured === 0 && <p class="notice">No customer’s window has closed yet in this period: nothing is counted until one has.</p>}
      <h3>By strategy</h3>
      <div class="scroll">
        <table id="recs-by-strategy">
          <Head columns={STRATEGY_COLUMNS} />
          <tbody>
            {rows.byStrategy.map((row) => (
              <StrategyRow row={row} money={money} />
            ))}
          </tbody>
        </table>
      </div>
      <h3>By product</h3>
      <p class="muted">
        The {int(rows.top)} products with the most revenue per arm; the rest summed as other products (their buyers counted once).
      </p>
      <div class="scroll">
        <table id="recs-by-product">
          <Head columns={PRODUCT_COLUMNS} />
          <tbody>
            {rows.byProduct.map((row) => (
              <ProductRow row={row} money={money} />
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}
