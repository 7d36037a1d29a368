/**
 * src/db/client.ts `snapshotLanes`: the report's parallel reads. Every lane sees the
 * snapshot of the transaction that opened them (a row committed afterwards is seen by none),
 * the lanes really run at once, a caller never waits on the pool it holds a connection of,
 * and every lane's connection goes back to the pool, also when the work throws.
 */
import { sql } from 'drizzle-orm';
import { afterEach, describe, expect, it } from 'vitest';
import { independently, queryRows, snapshotLanes, type Db, type OnLane } from '../src/db/client.ts';
import { freshDatabase, type TestDatabase } from './helpers/db.ts';

const opened: TestDatabase[] = [];
afterEach(async () => {
  for (const database of opened.splice(0)) await database.drop();
});

async function open(kind: 'postgres' | 'pglite', poolSize?: number): Promise<TestDatabase> {
  const database = await freshDatabase(kind, { poolSize });
  opened.push(database);
  await database.db.execute(sql`create table lane_rows (id int primary key)`);
  await database.db.execute(sql`insert into lane_rows values (1), (2)`);
  return database;
}

/** What a lane sees: its backend and the rows of lane_rows. */
async function seen(lane: Db): Promise<{ pid: number; rows: number }> {
  const [row] = await queryRows<{ pid: number; rows: number }>(
    lane,
    sql`select pg_backend_pid() as pid, (select count(*)::int from lane_rows) as rows`,
  );
  return row!;
}

/** Opens a repeatable-read transaction, reads once (its snapshot), commits one more row from outside, then runs `work` on lanes. */
function inSnapshot<T>(db: Db, extra: number, work: (onLane: OnLane) => Promise<T>): Promise<T> {
  return db.transaction(async (tx) => {
    await tx.execute(sql`set transaction isolation level repeatable read, read only`);
    await tx.execute(sql`select count(*) from lane_rows`);
    await db.execute(sql`insert into lane_rows select max(id) + 1 from lane_rows`);
    return snapshotLanes(db, tx, extra, [sql`set local work_mem = '8MB'`], work);
  });
}

/** Runs `count` tasks that each hold their lane until all of them have started: only lanes running at once get past it. */
function together(onLane: OnLane, count: number): Promise<{ pid: number; rows: number }[]> {
  let arrived = 0;
  let release!: () => void;
  const all = new Promise<void>((resolve) => (release = resolve));
  return Promise.all(
    Array.from({ length: count }, () =>
      onLane(async (lane) => {
        if (++arrived === count) release();
        await all;
        return seen(lane);
      }),
    ),
  );
}

type PoolCounts = { totalCount: number; idleCount: number; waitingCount: number };
const poolOf = (db: Db) => (db as unknown as { $client: PoolCounts }).$client;

describe('snapshotLanes', () => {
  it('runs the tasks at once on as many connections, every one reading the snapshot of the transaction', async () => {
    const { db } = await open('postgres', 4);
    const views = await inSnapshot(db, 3, (onLane) => together(onLane, 4));
    expect(new Set(views.map((v) => v.pid)).size).toBe(4);
    // The row committed after the snapshot was taken is seen by no lane.
    expect(views.map((v) => v.rows)).toEqual([2, 2, 2, 2]);
    expect((await seen(db)).rows).toBe(3);
    // More tasks than lanes wait for a free one; each still reads the snapshot.
    const many = await inSnapshot(db, 3, (onLane) => Promise.all(Array.from({ length: 10 }, () => onLane(seen))));
    expect(many.map((v) => v.rows)).toEqual(Array(10).fill(3));
    expect(new Set(many.map((v) => v.pid)).size).toBeLessThanOrEqual(4);
  });

  it('takes only what the pool has spare, so a caller never waits on a pool it holds a connection of', async () => {
    const { db } = await open('postgres', 2);
    // The transaction holds one of two connections: one more lane, not three.
    const views = await inSnapshot(db, 3, (onLane) => together(onLane, 2));
    expect(new Set(views.map((v) => v.pid)).size).toBe(2);
    // One connection in all: the transaction alone, and the work still ends.
    const { db: single } = await open('postgres', 1);
    const alone = await single.transaction(async (tx) => {
      await tx.execute(sql`set transaction isolation level repeatable read, read only`);
      return snapshotLanes(single, tx, 3, [], (onLane) => Promise.all([onLane(seen), onLane(seen)]));
    });
    expect(new Set(alone.map((v) => v.pid)).size).toBe(1);
  });

  it('hands every connection back, and ends its transactions, when a task throws', async () => {
    const { db } = await open('postgres', 4);
    const failing = inSnapshot(db, 3, (onLane) =>
      Promise.all([onLane(seen), onLane(async (lane) => lane.execute(sql`select * from no_such_table`)), onLane(seen)]),
    );
    await expect(failing).rejects.toThrow(/no_such_table/);
    const pool = poolOf(db);
    expect(pool.idleCount).toBe(pool.totalCount);
    const [open_] = await queryRows<{ n: number }>(
      db,
      sql`select count(*)::int as n from pg_stat_activity where datname = current_database() and state like 'idle in transaction%'`,
    );
    expect(open_!.n).toBe(0);
  });

  it('throws the first failure, and starts no task after it, whatever order the work awaits them in', async () => {
    const { db } = await open('postgres', 1);
    let laterRan = false;
    const failing = db.transaction(async (tx) => {
      await tx.execute(sql`set transaction isolation level repeatable read, read only`);
      return snapshotLanes(db, tx, 3, [], async (onLane) => {
        const first = onLane((lane) => lane.execute(sql`select * from no_such_table`));
        const later = onLane(async (lane) => {
          laterRan = true;
          return seen(lane);
        });
        // Awaited first: run on the aborted transaction, it would fail only as "current transaction is aborted".
        await later;
        return first;
      });
    });
    await expect(failing).rejects.toThrow(/no_such_table/);
    expect(laterRan).toBe(false);
  });

  it('reads on the one connection of PGlite', async () => {
    const { db } = await open('pglite');
    const views = await db.transaction(async (tx) => {
      await tx.execute(sql`set transaction isolation level repeatable read, read only`);
      return snapshotLanes(db, tx, 3, [], (onLane) => Promise.all([onLane(seen), onLane(seen), onLane(seen)]));
    });
    expect(views.map((v) => v.rows)).toEqual([2, 2, 2]);
  });
});

describe('independently', () => {
  it('runs the tasks at once on a Postgres pool, each on its own connection', async () => {
    const database = await open('postgres', 4);
    // The first task finishes only once the second has begun: run one after the other, it would never end.
    let began!: () => void;
    const second = new Promise<void>((resolve) => (began = resolve));
    const pids = await independently(database.db, [
      async () => {
        await second;
        return (await seen(database.db)).pid;
      },
      async () => {
        began();
        return (await seen(database.db)).pid;
      },
    ]);
    expect(pids).toHaveLength(2);
  });

  it('awaits every task before it throws the first failure', async () => {
    const database = await open('postgres', 4);
    let finished = false;
    const failure = independently(database.db, [
      async () => {
        throw new Error('first');
      },
      async () => {
        await database.db.execute(sql`select pg_sleep(0.05)`);
        finished = true;
      },
    ]);
    await expect(failure).rejects.toThrow('first');
    expect(finished).toBe(true);
  });

  it('runs them one after another on PGlite, in order', async () => {
    const database = await open('pglite');
    const order: string[] = [];
    const results = await independently(database.db, [
      async () => {
        order.push('a begins');
        await seen(database.db);
        order.push('a ends');
        return 'a';
      },
      async () => {
        order.push('b begins');
        return 'b';
      },
    ]);
    expect(results).toEqual(['a', 'b']);
    expect(order).toEqual(['a begins', 'a ends', 'b begins']);
  });
});
