/**
 * Spawns a Temporal server process and waits until it answers. The SDK's own launcher gives servers
 * only 5 s to come up, too little on a loaded 2-core box, so we spawn and poll ourselves.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { Connection } from '@temporalio/client';
import { type Log, TemporalServerError } from './errors.js';

/** A server process we started. */
export interface RunningServer {
  /** host:port of the gRPC frontend. */
  address: string;
  namespace: string;
  pid: number;
  /** Resolves when the process exits, for whatever reason. */
  exited: Promise<void>;
  /** SIGTERM, then SIGKILL after the grace period. Idempotent. */
  stop(): Promise<void>;
}

export interface RunningDevServer extends RunningServer {
  /** Undefined when started headless. */
  uiUrl: string | undefined;
}

export interface ProcessOptions {
  /** Explicit binary path; skips the lookup. */
  binary?: string;
  /** Progress lines (install, start). Default console.log. */
  log?: Log;
  /** Receives the server's own stdout/stderr lines. Default: dropped (the tail is kept for errors). */
  serverLogs?: Log;
  /** How long to wait for the frontend to answer. Default 120 s: start-up is slow on a loaded 2-core box. */
  startTimeoutMs?: number;
  /** Between SIGTERM and SIGKILL on stop(). Default 15 s. */
  stopGraceMs?: number;
}

const STDERR_TAIL_LINES = 40;

/** Spawns `binary args`; `untilReady` polls the frontend with `check`, stopping the process if it never passes. */
export function spawnServer(
  binary: string,
  args: string[],
  address: string,
  namespace: string,
  options: ProcessOptions,
): { handle: RunningServer; untilReady(check: (connection: Connection) => Promise<void>): Promise<void> } {
  const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const tail: string[] = [];
  const onLine = (line: string) => {
    if (line.trim() === '') return;
    tail.push(line);
    if (tail.length > STDERR_TAIL_LINES) tail.shift();
    options.serverLogs?.(line);
  };
  pipeLines(child, onLine);

  let exitStatus: string | undefined;
  const exited = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exitStatus = signal ? `signal ${signal}` : `exit code ${code}`;
      resolve();
    });
    child.once('error', (err) => {
      exitStatus = `spawn error: ${err.message}`;
      resolve();
    });
  });

  // If our process exits without calling stop(), don't leave an orphan server behind.
  const killOnExit = () => child.kill('SIGTERM');
  process.once('exit', killOnExit);

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      process.off('exit', killOnExit);
      if (exitStatus !== undefined) return;
      child.kill('SIGTERM');
      const escalate = setTimeout(() => child.kill('SIGKILL'), options.stopGraceMs ?? 15_000);
      await exited;
      clearTimeout(escalate); // a pending timer would keep the caller's process alive
    })();
    return stopping;
  };

  const describe = () =>
    `${binary} ${args.join(' ')}\n--- last server output ---\n${tail.join('\n') || '(none)'}`;

  const untilReady = async (check: (connection: Connection) => Promise<void>): Promise<void> => {
    try {
      await pollUntilReady(address, check, () => exitStatus, describe, options.startTimeoutMs ?? 120_000);
    } catch (err) {
      await stop();
      throw err;
    }
  };

  // spawn() reports a missing binary asynchronously, so pid can be undefined here.
  const pid = child.pid ?? -1;
  return { handle: { address, namespace, pid, exited, stop }, untilReady };
}

async function pollUntilReady(
  address: string,
  check: (connection: Connection) => Promise<void>,
  exitStatus: () => string | undefined,
  describe: () => string,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    const exited = exitStatus();
    if (exited !== undefined) {
      throw new TemporalServerError(
        'server_exited',
        `Temporal server on ${address} exited during start-up (${exited}): ${describe()}`,
      );
    }
    // A fresh lazy connection per attempt: the SDK memoizes a failed ensureConnected().
    const connection = Connection.lazy({ address, connectTimeout: 2_000 });
    try {
      await connection.ensureConnected();
      await check(connection);
      return;
    } catch (err) {
      if (err instanceof TemporalServerError) throw err; // e.g. a search attribute conflict: retrying won't help
      lastError = err;
    } finally {
      await connection.close();
    }
    await sleep(250);
  }
  throw new TemporalServerError(
    'start_timeout',
    `Temporal server on ${address} did not answer within ${timeoutMs / 1000} s ` +
      `(last error: ${lastError instanceof Error ? lastError.message : String(lastError)}): ${describe()}`,
    { cause: lastError },
  );
}

function pipeLines(child: ChildProcess, onLine: (line: string) => void): void {
  for (const stream of [child.stdout, child.stderr]) {
    let buffered = '';
    stream?.setEncoding('utf8');
    stream?.on('data', (chunk: string) => {
      buffered += chunk;
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      lines.forEach(onLine);
    });
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
