/**
 * A shop with three sequences to decide on, their files in a folder of their own: `clear`
 * (challenger b far ahead of control a), `flat` and `steady` (no difference), each with 60
 * customers a variant and 13 in the holdout, every measurement window closed. For the tests
 * of `campaign sequences promote` and of the dashboard's promote and end-test pages.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { queryRows, type Db } from '../../src/db/client.ts';
import { applySequence, loadSequenceFiles } from '../../src/sequences/files.ts';
import { prepareShop } from './engine.ts';
import { Rows } from './rows.ts';

const DAY = 86_400_000;
const HOUR = 3_600_000;

/** A sequence file: does the popularity strategy (b) earn more than co-purchase (a)? Comments kept, as promoting must keep them. */
const sequence = (id: string, name: string) => `# yaml-language-server: $schema=../../docs/sequence.schema.json
# ${name}: does the popularity strategy earn more than co-purchase?
id: ${id}
name: ${name}
trigger:
  event: order_placed
holdout: 10% # enrolled and measured, never emailed
variants:
  # a is the control
  - key: a
    weight: 50
  - key: b # the challenger
    weight: 50
    recommendations: popularity
steps:
  - delay: 1h
    template: thank-you
measurement_window: 10d # orders within 10 days count
`;

/** Revenue per customer of each arm, by the customer's index: `clear` has b far ahead, the others none. */
const REVENUE: Record<string, Record<string, (i: number) => number>> = {
  clear: { a: (i) => 20 + (i % 5), b: (i) => 45 + (i % 5), holdout: (i) => 10 + (i % 5) },
  flat: { a: (i) => 30 + (i % 7) * 3, b: (i) => 30 + (i % 7) * 3, holdout: (i) => 30 + (i % 7) * 3 },
  steady: { a: (i) => 30 + (i % 7) * 3, b: (i) => 30 + ((i + 3) % 7) * 3, holdout: (i) => 30 + (i % 7) * 3 },
};
/** 60 customers a variant and 13 in the holdout: the planned 45/45/10. */
const CUSTOMERS: Record<string, number> = { a: 60, b: 60, holdout: 13 };

/**
 * Writes the three sequence files to a new folder (`prefix` names it), applies them, and seeds
 * their arms enrolled at `start` (plus up to 9 hours), each customer ordering once two days
 * after enrolling: the folder and each file's text by id.
 */
export async function preparePromotionShop(
  db: Db,
  prefix: string,
  start: number,
): Promise<{ dir: string; original: Record<string, string> }> {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const original: Record<string, string> = {};
  for (const [id, name] of [
    ['clear', 'Clear winner'],
    ['flat', 'No difference'],
    ['steady', 'Steady control'],
  ] as const) {
    original[id] = sequence(id, name);
    writeFileSync(join(dir, `${id}.yaml`), original[id]);
  }
  await prepareShop(db, original.clear!);
  const { files, problems } = await loadSequenceFiles(dir);
  if (problems.length) throw new Error(problems.join('\n'));
  for (const f of files) await applySequence(db, f);

  const rows = new Rows(db);
  for (const id of Object.keys(REVENUE)) {
    const [{ id: version } = { id: 0 }] = await queryRows<{ id: number }>(
      db,
      sql`select id from sequence_versions where sequence_id = ${id}`,
    );
    for (const [arm, count] of Object.entries(CUSTOMERS)) {
      const at = (i: number, plus = 0) => new Date(start + (i % 10) * HOUR + plus).toISOString();
      const { customers } = await rows.enrolledArm({ sequence: id, version, arm, count, at, preSpend: (i) => (i * 7) % 50 });
      await rows.orders(customers.map((c, i) => ({ customer: c, at: at(i, 2 * DAY), total: REVENUE[id]![arm]!(i) })));
    }
  }
  return { dir, original };
}
