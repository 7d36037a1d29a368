/**
 * The `campaign` command, two ways with one result:
 * - `campaign` runs the real binary in a child process, as a user would (exit codes, the
 *   process boundary, start-up and all);
 * - `campaignInProcess` runs the same command code (`runCommand`, what the binary calls) in
 *   the test process, without the 1.5-2.5 s a new node takes to load tsx and the command's
 *   dependencies: the config from the same environment the child gets, what the command
 *   writes to stdout and stderr captured, and the code the binary would exit with.
 * Tests use the child where the process is the point, and for at least one run of each command.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../../bin/campaign.js', import.meta.url));

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

type Env = Record<string, string | undefined>;

/** What the child's environment is: nothing of the test process's but PATH and HOME. */
function childEnv(env: Env): Env {
  return { PATH: process.env.PATH, HOME: process.env.HOME, CI: 'true', ...env };
}

export function campaign(args: string[], env: Env = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      env: childEnv(env),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** One in-process run at a time: each owns process.stdout, process.stderr and process.exitCode while it runs. */
let queue: Promise<unknown> = Promise.resolve();

/**
 * Runs `campaign ARGS` in this process. Not for what needs its own process: `serve`, `work`
 * and `demo` (servers, signal handlers, progress bars), a PGlite folder another process holds,
 * or a crash (a bug throws here instead of printing a stack and exiting 1).
 */
export function campaignInProcess(args: string[], env: Env = {}): Promise<CliResult> {
  const run = queue.then(() => runInProcess(args, env));
  queue = run.catch(() => {});
  return run;
}

type Write = typeof process.stdout.write;

/** Sets `object[key]` to `value` as an own property; the function returned puts back what was there. */
function override(object: object, key: string, value: unknown): () => void {
  const own = Object.getOwnPropertyDescriptor(object, key);
  Object.defineProperty(object, key, { value, configurable: true, writable: true });
  return () => {
    if (own) Object.defineProperty(object, key, own);
    else delete (object as Record<string, unknown>)[key];
  };
}

async function runInProcess(args: string[], env: Env): Promise<CliResult> {
  const { runCommand } = await import('../../src/cli/main.ts');
  let stdout = '';
  let stderr = '';
  const capture =
    (append: (text: string) => void): Write =>
    (
      chunk: string | Uint8Array,
      encodingOrDone?: BufferEncoding | ((error?: Error | null) => void),
      done?: (error?: Error | null) => void,
    ) => {
      append(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString(typeof encodingOrDone === 'string' ? encodingOrDone : 'utf8'));
      const callback = typeof encodingOrDone === 'function' ? encodingOrDone : done;
      if (callback) process.nextTick(callback);
      return true;
    };
  const exitCode = process.exitCode;
  process.exitCode = undefined;
  const restore = [
    // The child's stdin is /dev/null and its stdout and stderr are pipes: no terminal to size help to or ask on.
    ...[process.stdin, process.stdout, process.stderr].map((stream) => override(stream, 'isTTY', false)),
    override(
      process.stdout,
      'write',
      capture((text) => (stdout += text)),
    ),
    override(
      process.stderr,
      'write',
      capture((text) => (stderr += text)),
    ),
  ];
  try {
    const code = await runCommand(['node', BIN, ...args], childEnv(env));
    return { code: code ?? Number(process.exitCode ?? 0), stdout, stderr };
  } finally {
    for (const undo of restore.reverse()) undo();
    process.exitCode = exitCode;
  }
}
