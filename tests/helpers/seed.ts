/** Small catalog and customers through the real import path, for tests that need data. */
import type { Db } from '../../src/db/client.ts';
import { importRows } from '../../src/ingest/import.ts';
import { openRows } from '../../src/ingest/read.ts';
import { FIXTURES } from './files.ts';

export async function seedCatalog(db: Db): Promise<void> {
  for (const kind of ['products', 'customers'] as const)
    await importRows(db, kind, await openRows(`${FIXTURES}${kind}.csv`, 'csv'), { batchSize: 100 });
}
