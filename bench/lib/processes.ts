/** The benchmark's child processes: a dev server on free ports and a worker process. */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { getFreePort, type RunningDevServer, startDevServer } from '../../src/temporal/server.js';
import type { WorkerSpec } from '../worker.js';

const WORKER_ENTRY = fileURLToPath(new URL('../worker.ts', import.meta.url));

export interface BenchServer {
  server: RunningDevServer;
  dir: string;
  stop(): Promise<void>;
}

/** A headless dev server on free ports with its own temporary sqlite file. */
export async function startBenchServer(binary: string, log: (line: string) => void): Promise<BenchServer> {
  const dir = await mkdtemp(join(tmpdir(), 'leadcycle-bench-'));
  const server = await startDevServer({
    binary,
    port: await getFreePort(),
    uiPort: null,
    dbFile: join(dir, 'temporal.sqlite'),
    log,
  });
  return {
    server,
    dir,
    stop: async () => {
      await server.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export interface WorkerProcess {
  pid: number;
  info: { maxCachedWorkflows?: number; maxConcurrentWorkflowTaskExecutions?: number };
  stop(): Promise<void>;
}

/** Starts bench/worker.ts in its own Node process and waits until it polls. */
export async function startWorkerProcess(
  spec: WorkerSpec,
  options: { cpuProfDir?: string; log: (line: string) => void },
): Promise<WorkerProcess> {
  const args = [
    ...(options.cpuProfDir ? ['--cpu-prof', '--cpu-prof-dir', options.cpuProfDir] : []),
    // Heap readings (bench/worker.ts, SIGUSR2) are taken after a full GC.
    '--expose-gc',
    '--import',
    'tsx',
    WORKER_ENTRY,
    JSON.stringify(spec),
  ];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const exited = once(child, 'exit');

  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    stderr += chunk;
    for (const line of chunk.split('\n')) if (line.trim()) options.log(`worker: ${line}`);
  });

  const info = await new Promise<WorkerProcess['info']>((resolve, reject) => {
    let buffered = '';
    const timeout = setTimeout(() => reject(new Error(`worker not ready after 120 s\n${stderr}`)), 120_000);
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (chunk: string) => {
      buffered += chunk;
      const ready = /^READY (.*)$/m.exec(buffered);
      if (ready?.[1]) {
        clearTimeout(timeout);
        resolve(JSON.parse(ready[1]) as WorkerProcess['info']);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timeout);
      reject(new Error(`worker exited (code ${code}) before it was ready\n${stderr}`));
    });
  });

  let stopping: Promise<void> | undefined;
  return {
    pid: child.pid ?? -1,
    info,
    stop: () => {
      stopping ??= (async () => {
        process.off('exit', killOnExit);
        if (child.exitCode !== null || child.signalCode !== null) return;
        child.kill('SIGTERM');
        const escalate = setTimeout(() => child.kill('SIGKILL'), 30_000);
        await exited;
        clearTimeout(escalate);
      })();
      return stopping;
    },
  };
}
