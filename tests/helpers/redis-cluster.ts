/**
 * A real Redis Cluster for tests: six `redis-server` processes of the Debian package (three
 * masters, a replica each) on free local ports, in memory, their cluster files in a fresh
 * temporary directory, joined by `redis-cli --cluster create`. A short node timeout makes a
 * failover take a couple of seconds instead of the default fifteen or more.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import type { RedisNode } from '../../src/config.ts';

const HOST = '127.0.0.1';
const execFileAsync = promisify(execFile);
/** Milliseconds without an answer before a node is taken for failed and its replica promoted. */
const NODE_TIMEOUT_MS = 1_000;

export interface TestCluster {
  /** Every node, masters and replicas: what REDIS_CLUSTER_NODES may list. */
  nodes: RedisNode[];
  /** The port of the master that serves `key`'s slot now. */
  masterOf(key: string): Promise<number>;
  /** Kills the node on `port` with SIGKILL, as a crash would; it stays down. */
  kill(port: number): void;
  /** Resolves once every node still running says `cluster_state:ok` and no master is the killed one. */
  waitUntilOk(timeoutMs?: number): Promise<void>;
  /** Stops every node and removes the directory. Idempotent. */
  stop(): Promise<void>;
}

/** `count` distinct free local ports (all held open at once, so none is given twice). */
async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
          const server = createServer();
          server.once('error', reject);
          server.listen(0, HOST, () => resolve(server));
        }),
    ),
  );
  const ports = servers.map((server) => (server.address() as AddressInfo).port);
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  return ports;
}

/** One cluster-enabled node on `port`, its cluster bus on `busPort`, nothing on disk but its nodes file. */
function startNode(dir: string, port: number, busPort: number): ChildProcess {
  const args = [
    ...['--port', String(port), '--cluster-port', String(busPort), '--bind', HOST],
    ...['--cluster-enabled', 'yes', '--cluster-config-file', join(dir, `nodes-${port}.conf`)],
    ...['--cluster-node-timeout', String(NODE_TIMEOUT_MS), '--dir', dir],
    ...['--save', '', '--appendonly', 'no', '--daemonize', 'no', '--maxmemory-policy', 'noeviction'],
    // A replica syncs at once (the default waits 5 s for others to share the transfer).
    ...['--repl-diskless-sync-delay', '0'],
  ];
  const child = spawn('redis-server', args, { stdio: 'ignore' });
  // Without redis-server on PATH the nodes never answer, and the start says so.
  child.on('error', () => {});
  return child;
}

/** `CLUSTER INFO` of the node on `port`, or undefined when it does not answer. */
async function clusterInfo(port: number): Promise<string | undefined> {
  const client = new Redis({ host: HOST, port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  client.on('error', () => {});
  try {
    await client.connect();
    return String(await client.call('CLUSTER', 'INFO'));
  } catch {
    return undefined;
  } finally {
    client.disconnect();
  }
}

/** One command sent to the node on `port` alone. */
async function command(port: number, ...args: string[]): Promise<unknown> {
  const client = new Redis({ host: HOST, port, maxRetriesPerRequest: 1, retryStrategy: () => null });
  client.on('error', () => {});
  try {
    return await client.call(args[0]!, ...args.slice(1));
  } finally {
    client.disconnect();
  }
}

type SlotRange = [first: number, last: number, master: [host: string, port: number, id: string]];

/** `CLUSTER SLOTS` as the node on `port` sees it: each range of slots and its master. */
async function slotRanges(port: number): Promise<SlotRange[]> {
  return (await command(port, 'CLUSTER', 'SLOTS')) as SlotRange[];
}

/** The ports of the masters serving slots, as the node on `port` sees them. */
async function slotMasters(port: number): Promise<number[]> {
  return (await slotRanges(port)).map((range) => Number(range[2][1]));
}

/** True when the node on `port` is a master, or a replica in sync with its master (one a failover may promote). */
async function synced(port: number): Promise<boolean> {
  const replication = String(await command(port, 'INFO', 'replication'));
  return replication.includes('role:master') || replication.includes('master_link_status:up');
}

/** Polls `check` every 100 ms until it holds, or throws naming `what` after `timeoutMs`. */
async function until(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`the test cluster: timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * Starts the cluster and resolves once every node says `cluster_state:ok`. Everything is
 * stopped and removed by `stop()`, and the processes are killed should the test process
 * exit without calling it.
 */
export async function startRedisCluster(): Promise<TestCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'campaign-redis-cluster-'));
  const allPorts = await freePorts(12);
  const ports = allPorts.slice(0, 6);
  const nodes = new Map(ports.map((port, i) => [port, startNode(dir, port, allPorts[6 + i]!)]));
  const killed = new Set<number>();
  const killAll = () => {
    for (const child of nodes.values()) child.kill('SIGKILL');
  };
  process.once('exit', killAll);
  let stopped: Promise<void> | undefined;
  const stop = () =>
    (stopped ??= (async () => {
      process.off('exit', killAll);
      const exits = [...nodes.values()]
        .filter((c) => c.exitCode === null && c.signalCode === null)
        .map((c) => new Promise((r) => c.once('exit', r)));
      killAll();
      await Promise.all(exits);
      rmSync(dir, { recursive: true, force: true });
    })());
  const running = () => ports.filter((port) => !killed.has(port));
  const allOk = async () => (await Promise.all(running().map(clusterInfo))).every((info) => info?.includes('cluster_state:ok'));

  const masterOf = async (key: string): Promise<number> => {
    const asked = running()[0]!;
    const slot = Number(await command(asked, 'CLUSTER', 'KEYSLOT', key));
    const ranges = await slotRanges(asked);
    const range = ranges.find(([first, last]) => slot >= first && slot <= last);
    if (!range) throw new Error(`no node serves slot ${slot}`);
    return Number(range[2][1]);
  };

  try {
    await until(
      async () => (await Promise.all(ports.map(clusterInfo))).every(Boolean),
      5_000,
      'the nodes to answer (is redis-server installed?)',
    );
    await execFileAsync(
      'redis-cli',
      ['--cluster', 'create', ...ports.map((p) => `${HOST}:${p}`), '--cluster-replicas', '1', '--cluster-yes'],
      {
        timeout: 30_000,
      },
    );
    await until(allOk, 20_000, 'cluster_state:ok on every node');
    await until(async () => (await Promise.all(ports.map(synced))).every(Boolean), 20_000, 'the replicas to sync');
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    nodes: ports.map((port) => ({ host: HOST, port })),
    masterOf,
    kill(port) {
      killed.add(port);
      nodes.get(port)?.kill('SIGKILL');
    },
    waitUntilOk: (timeoutMs = 20_000) =>
      until(
        async () => (await allOk()) && (await slotMasters(running()[0]!)).every((port) => !killed.has(port)),
        timeoutMs,
        'the cluster to recover',
      ),
    stop,
  };
}
