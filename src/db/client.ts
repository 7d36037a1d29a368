/**
 * The one database module. `DATABASE_URL` set: a real Postgres pool. Unset: PGlite
 * (Postgres compiled to WASM) stored under `DATA_DIR`. Both speak the same SQL, run the
 * same migrations and hand back the same drizzle API, so no other module knows which.
 */
import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { PGlite } from '@electric-sql/pglite';
import { sql, type SQL } from 'drizzle-orm';
import { drizzle as drizzlePg } from 'drizzle-orm/node-postgres';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { copyBinary, type NumberType } from './copy-binary.ts';
import { copyLine, type CopyValue } from './copy-text.ts';
import { lockDataDir, type DataDirLock } from './lock.ts';
import * as schema from './schema.ts';

export type Schema = typeof schema;
/** A drizzle database or transaction, whichever driver is underneath. */
export type Db = PgDatabase<PgQueryResultHKT, Schema>;

export interface Database {
  db: Db;
  kind: 'postgres' | 'pglite';
  /** Where the data lives, for messages: a redacted URL or a directory. */
  location: string;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  databaseUrl?: string | undefined;
  /** Directory for PGlite; `undefined` with no URL keeps the database in memory (tests). */
  dataDir?: string | undefined;
  poolSize?: number;
  /** What opens the database, named to a second process that finds it in use (e.g. `campaign serve`). */
  holder?: string | undefined;
}

// Postgres returns bigint and numeric as strings; counts (bigint) are safe as numbers here,
// money (numeric) stays a string so no cent is lost to floating point.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => Number(value));

/** Opens the database the options point at. The caller owns it and must `close()` it. */
export async function openDatabase(options: DatabaseOptions): Promise<Database> {
  if (options.databaseUrl) {
    // JIT off: the engine's statements touch a few customers' rows, and on a table whose
    // statistics are stale the planner's estimates can cross JIT's threshold, which then
    // spends tens of milliseconds compiling a statement that runs in a few.
    const pool = new pg.Pool({ connectionString: options.databaseUrl, max: options.poolSize ?? 10, options: '-c jit=off' });
    // An idle client that loses its server must not crash the process; the next query reconnects.
    pool.on('error', () => {});
    const db = drizzlePg(pool, { schema }) as unknown as Db;
    return { db, kind: 'postgres', location: redact(options.databaseUrl), close: () => pool.end() };
  }
  let dataDir: string | undefined;
  let lock: DataDirLock | undefined;
  if (options.dataDir) {
    dataDir = join(options.dataDir, 'pglite');
    mkdirSync(dataDir, { recursive: true });
    lock = lockDataDir(options.dataDir, options.holder ?? 'campaign');
  }
  let client: PGlite;
  try {
    client = await PGlite.create(dataDir);
  } catch (error) {
    lock?.release();
    throw error;
  }
  const db = drizzlePglite(client, { schema }) as unknown as Db;
  return {
    db,
    kind: 'pglite',
    location: dataDir ?? 'memory',
    close: async () => {
      try {
        await client.close();
      } finally {
        lock?.release();
      }
    },
  };
}

/** How a query runs. */
export interface QueryOptions {
  /**
   * Prepare the statement once per connection and reuse it: a hot statement of fixed text
   * (its values all parameters) then skips parsing and planning, which cost more than running
   * it for the engine's large statements on small inputs. Named by a hash of its text, so
   * two texts never share a name. Never for a text built from data (an IN list of
   * varying length): each text would stay prepared on every connection.
   */
  prepared?: boolean;
}

/** Runs a raw query and returns its rows, on either driver. */
export async function queryRows<T>(db: Db, query: SQL, options: QueryOptions = {}): Promise<T[]> {
  // Both drivers answer `execute` with `{ rows }`; their declared result types differ.
  const result: unknown = options.prepared ? await executePrepared(db, query) : await db.execute(query);
  return (result as { rows: T[] }).rows;
}

/** What drizzle keeps under a database or transaction to build and run a query; it does not export it. */
interface DrizzleInternals {
  dialect: { sqlToQuery(query: SQL): { sql: string; params: unknown[] } };
  session: {
    prepareQuery(
      query: { sql: string; params: unknown[] },
      fields: undefined,
      name: string,
      arrayMode: false,
    ): { execute(): Promise<unknown> };
  };
}

/**
 * `db.execute(query)` as a named statement: drizzle's own prepared query, whose driver
 * (node-postgres) parses a name's text once per connection. PGlite runs it as it runs any.
 */
function executePrepared(db: Db, query: SQL): Promise<unknown> {
  const { dialect, session } = db as unknown as DrizzleInternals;
  const built = dialect.sqlToQuery(query);
  const name = `q_${createHash('sha1').update(built.sql).digest('hex').slice(0, 20)}`;
  return session.prepareQuery(built, undefined, name, false).execute();
}

/** Passes a value as one JSON parameter, for `jsonb_to_recordset` bulk statements. */
export function jsonParam(value: unknown): SQL {
  return sql`${JSON.stringify(value)}::jsonb`;
}

/**
 * Passes an array as one parameter (a Postgres array literal, cast by the caller, e.g.
 * `${arrayParam(ids)}::bigint[]`), for `unnest` bulk statements; null elements stay NULL.
 */
export function arrayParam(values: readonly (string | number | null)[]): SQL {
  return sql`${sql.param(values)}`;
}

const IDENTIFIER = /^[a-z_][a-z0-9_]*$/;
/** Rows go to the server in pieces of about this many characters. */
const COPY_CHUNK = 1 << 16;

/**
 * Writes `rows` (values in the order of `columns`) into `table` with one `COPY ... FROM`
 * in the text format (./copy-text.ts). On Postgres `db` must be a transaction, whose
 * connection the COPY runs on.
 */
export async function copyRows(db: Db, table: string, columns: readonly string[], rows: readonly (readonly CopyValue[])[]): Promise<void> {
  await copyIn(db, table, columns, 'text', () => copyChunks(rows));
}

/**
 * Writes rows of numbers into `table` with one `COPY ... FROM` in the binary format
 * (./copy-binary.ts): each column named with its type, a float arriving as its exact bits.
 * On Postgres `db` must be a transaction, as for {@link copyRows}.
 */
export async function copyNumberRows(
  db: Db,
  table: string,
  columns: readonly (readonly [name: string, type: NumberType])[],
  rows: Iterable<readonly (number | null)[]>,
): Promise<void> {
  const types = columns.map(([, type]) => type);
  await copyIn(
    db,
    table,
    columns.map(([name]) => name),
    'binary',
    () => copyBinary(types, rows),
  );
}

/**
 * One `COPY table (columns) FROM` of the pieces `chunks` makes: streamed over the
 * connection (pg-copy-streams) on Postgres, handed over whole as a blob
 * (`COPY ... FROM '/dev/blob'`) on PGlite.
 */
async function copyIn(
  db: Db,
  table: string,
  columns: readonly string[],
  format: 'text' | 'binary',
  chunks: () => Iterable<string | Buffer>,
): Promise<void> {
  if (![table, ...columns].every((name) => IDENTIFIER.test(name)))
    throw new Error(`copy: not a plain identifier in ${table}(${columns.join(', ')})`);
  const client = sessionClient(db);
  if (client instanceof pg.Pool) throw new Error('a COPY on Postgres needs a transaction (it runs on its connection)');
  const target = `${table} (${columns.join(', ')})`;
  if (client instanceof pg.Client) {
    const stream = client.query(copyFrom(`copy ${target} from stdin with (format ${format})`));
    await pipeline(Readable.from(chunks()), stream);
    return;
  }
  const blob = new Blob([...chunks()] as BlobPart[]);
  await (client as PgliteClient).query(`copy ${target} from '/dev/blob' with (format ${format})`, [], { blob });
}

/** What PGlite (or one of its transactions) offers for a COPY from a blob. */
interface PgliteClient {
  query(text: string, params: unknown[], options: { blob: Blob }): Promise<unknown>;
}

/**
 * The driver's own connection under a drizzle database or transaction: a pg Pool or
 * PoolClient, or PGlite or one of its transactions. Drizzle keeps it on the session, which
 * it does not export; this is the one place that reaches it.
 */
function sessionClient(db: Db): unknown {
  return (db as unknown as { session: { client: unknown } }).session.client;
}

/**
 * Runs independent tasks (none reads what another writes) at once when `db` is a Postgres
 * pool, each taking its own connections, and one after another otherwise (PGlite's one
 * connection, or `db` a transaction). Every task is awaited before the first failure, if
 * any, is thrown, so none is left running behind it. Results in the tasks' order.
 */
export async function independently<T extends readonly unknown[]>(
  db: Db,
  tasks: { readonly [K in keyof T]: () => Promise<T[K]> },
): Promise<T> {
  if (!(sessionClient(db) instanceof pg.Pool)) {
    const results: unknown[] = [];
    for (const task of tasks) results.push(await task());
    return results as unknown as T;
  }
  const settled = await Promise.allSettled(tasks.map((task) => task()));
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) throw failed.reason;
  return settled.map((s) => (s as PromiseFulfilledResult<unknown>).value) as unknown as T;
}

/** Runs a task on one of the lanes of {@link snapshotLanes}, once a lane is free. */
export type OnLane = <T>(task: (db: Db) => Promise<T>) => Promise<T>;

const SNAPSHOT_ID = /^[0-9A-F]+-[0-9A-F]+(-[0-9]+)?$/i;

/**
 * Runs `work` over read lanes that all see the snapshot of `tx`, a repeatable-read
 * transaction of `db`: `tx` itself and, on Postgres, up to `extra` more connections of
 * `db`'s pool, each in a read-only transaction that imports `tx`'s snapshot
 * (`pg_export_snapshot`, as `pg_dump --jobs` does) and runs `setup` first. Independent
 * reads then run at once, on as many server cores, and still agree with each other.
 *
 * Only connections the pool has spare at that moment are taken, and none while another
 * caller waits for one: a caller holding `tx` never waits on the pool for a lane, so two
 * reports cannot deadlock over it. PGlite (one connection), a `db` that is itself a
 * transaction, or a full pool: `tx` alone. A task waits for a free lane; when `work` ends
 * (or throws) the tasks still running are awaited before the lanes' transactions end.
 */
export async function snapshotLanes<T>(
  db: Db,
  tx: Db,
  extra: number,
  setup: readonly SQL[],
  work: (onLane: OnLane) => Promise<T>,
): Promise<T> {
  const pool = sessionClient(db);
  const clients: pg.PoolClient[] = [];
  if (pool instanceof pg.Pool && extra > 0 && pool.waitingCount === 0) {
    const spare = Math.min(extra, pool.idleCount + ((pool.options.max ?? 10) - pool.totalCount));
    // Asked for in one tick: the pool serves them from its idle and unopened connections.
    const asked = Array.from({ length: Math.max(0, spare) }, () => pool.connect());
    for (const result of await Promise.allSettled(asked)) if (result.status === 'fulfilled') clients.push(result.value);
  }
  const lanes: Db[] = [tx];
  const opened: pg.PoolClient[] = [];
  try {
    if (clients.length) {
      const [row] = await queryRows<{ id: string }>(tx, sql`select pg_export_snapshot() as id`);
      if (!row || !SNAPSHOT_ID.test(row.id)) throw new Error(`snapshotLanes: unexpected snapshot id ${row?.id}`);
      for (const client of clients) {
        await client.query('begin transaction isolation level repeatable read, read only');
        opened.push(client);
        await client.query(`set transaction snapshot '${row.id}'`);
        const lane = drizzlePg(client, { schema }) as unknown as Db;
        for (const statement of setup) await lane.execute(statement);
        lanes.push(lane);
      }
    }
    return await runOnLanes(lanes, work);
  } finally {
    for (const client of clients) {
      const ended = opened.includes(client)
        ? await client.query('rollback').then(
            () => undefined,
            (error: Error) => error,
          )
        : undefined;
      client.release(ended);
    }
  }
}

/**
 * `work` with an {@link OnLane} over `lanes`: each task takes a free lane (first come, first
 * served) and frees it when done. After a task fails, tasks not yet started fail at once
 * without running, and the first failure is what `work` throws: on a lane whose transaction
 * a failure aborted, the tasks after it fail only with "current transaction is aborted".
 */
async function runOnLanes<T>(lanes: Db[], work: (onLane: OnLane) => Promise<T>): Promise<T> {
  const free = [...lanes];
  const waiting: ((lane: Db) => void)[] = [];
  const running = new Set<Promise<unknown>>();
  // The first task's failure (an object, so a closure's assignment is seen after `await`).
  const failed: { first?: { error: unknown } } = {};
  const stopIfFailed = () => {
    if (failed.first) throw failed.first.error;
  };
  const onLane: OnLane = (task) => {
    const run = (async () => {
      stopIfFailed();
      const lane = free.pop() ?? (await new Promise<Db>((resolve) => waiting.push(resolve)));
      try {
        stopIfFailed();
        return await task(lane);
      } catch (error) {
        failed.first ??= { error };
        throw failed.first.error;
      } finally {
        const next = waiting.shift();
        if (next) next(lane);
        else free.push(lane);
      }
    })();
    running.add(run);
    void run.then(
      () => running.delete(run),
      () => running.delete(run),
    );
    return run;
  };
  try {
    const result = await work(onLane);
    stopIfFailed();
    return result;
  } catch (error) {
    throw failed.first ? failed.first.error : error;
  } finally {
    await Promise.allSettled([...running]);
  }
}

/** COPY text of `rows` in pieces of about COPY_CHUNK characters. */
function* copyChunks(rows: readonly (readonly CopyValue[])[]): Generator<string> {
  let chunk = '';
  for (const row of rows) {
    chunk += copyLine(row);
    if (chunk.length >= COPY_CHUNK) {
      yield chunk;
      chunk = '';
    }
  }
  if (chunk) yield chunk;
}

function redact(url: string): string {
  const parsed = new URL(url);
  if (parsed.password) parsed.password = '***';
  return parsed.toString();
}
