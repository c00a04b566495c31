import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface WorkerProcess {
  child: ChildProcess;
  output: () => string;
  /** Resolves when the process has exited. */
  exited: Promise<number | null>;
}

/**
 * Runs one of the real entry points as a separate process and waits until `ready` finds what it
 * logs once it serves; `name` says which one failed to start.
 */
async function startEntryPoint<T>(
  name: string,
  script: string,
  env: Record<string, string>,
  readyTimeoutMs: number,
  ready: (output: string) => T | undefined,
): Promise<WorkerProcess & { ready: T }> {
  const child = spawn(process.execPath, ['--import', 'tsx', script], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (d) => {
    output += d;
  });
  child.stderr?.on('data', (d) => {
    output += d;
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const deadline = Date.now() + readyTimeoutMs;
  for (;;) {
    const found = ready(output);
    if (found !== undefined) return { child, output: () => output, exited, ready: found };
    if (child.exitCode !== null) throw new Error(`${name} exited early:\n${output}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${name} not ready after ${readyTimeoutMs} ms:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * The real worker entry point (`src/worker.ts`) as a separate process, so a test can kill it the
 * way production loses a worker: SIGKILL, mid-flight.
 */
export async function startWorkerProcess(
  env: Record<string, string>,
  readyTimeoutMs = 60_000,
): Promise<WorkerProcess> {
  const { ready: _, ...worker } = await startEntryPoint(
    'worker',
    'src/worker.ts',
    env,
    readyTimeoutMs,
    (o) => (o.includes('leadcycle worker on') ? true : undefined),
  );
  return worker;
}

export interface ApiProcess extends WorkerProcess {
  /** http://host:port, as the API logged it. */
  url: string;
}

/**
 * The real API entry point (`src/api/main.ts`) as a separate process, so a test can kill it with
 * SIGKILL mid-request or restart it. `LEADCYCLE_API_PORT=0` (the default here) picks a free port.
 */
export async function startApiProcess(
  env: Record<string, string>,
  readyTimeoutMs = 60_000,
): Promise<ApiProcess> {
  const { ready: url, ...api } = await startEntryPoint(
    'API',
    'src/api/main.ts',
    { LEADCYCLE_API_PORT: '0', ...env },
    readyTimeoutMs,
    (o) => /leadcycle API on (http:\/\/[^\s]+?:\d+)/.exec(o)?.[1],
  );
  return { ...api, url };
}
