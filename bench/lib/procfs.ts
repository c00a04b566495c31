/** Process facts from /proc (Linux): resident memory and CPU time of the server and the worker. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** VmRSS of a process in MiB, or NaN when it cannot be read (not Linux, process gone). */
export function rssMiB(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = /^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1];
    return kb === undefined ? Number.NaN : Number(kb) / 1024;
  } catch {
    return Number.NaN;
  }
}

let clockTicks: number | undefined;
function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/** User + system CPU time a process has used so far, in milliseconds (NaN when unreadable). */
export function cpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may contain spaces: count fields after its closing parenthesis.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    return ((utime + stime) * 1000) / ticksPerSecond();
  } catch {
    return Number.NaN;
  }
}

/** CPU time of this process, in milliseconds. */
export function ownCpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

/** CPU used by several processes between start() and stop(). */
export function cpuMeter(pids: Record<string, number>) {
  const read = () =>
    Object.fromEntries(
      Object.entries(pids).map(([name, pid]) => [name, pid === process.pid ? ownCpuMs() : cpuMs(pid)]),
    );
  const before = read();
  return {
    /** Milliseconds of CPU per process since the meter was created. */
    stop(): Record<string, number> {
      const after = read();
      return Object.fromEntries(
        Object.keys(pids).map((name) => [name, (after[name] ?? Number.NaN) - (before[name] ?? Number.NaN)]),
      );
    },
  };
}

/** What bench/worker.ts writes on SIGUSR2 (its WorkerHeap). */
export interface WorkerHeapReading {
  at: number;
  workflowHeapBytes: number;
  mainHeapBytes: number;
  cachedWorkflows: number;
}

/** Asks the bench worker for its heap (SIGUSR2) and waits for the answer in `file` (40 s at most). */
export async function workerHeap(pid: number, file: string): Promise<WorkerHeapReading | undefined> {
  const asked = Date.now();
  try {
    process.kill(pid, 'SIGUSR2');
  } catch {
    return undefined;
  }
  for (let i = 0; i < 400; i++) {
    await new Promise((r) => setTimeout(r, 100));
    try {
      const reading = JSON.parse(readFileSync(file, 'utf8')) as WorkerHeapReading;
      if (reading.at >= asked) return reading;
    } catch {
      // not written yet
    }
  }
  return undefined;
}
