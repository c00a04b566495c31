/**
 * The benchmark's worker process: `node --import tsx bench/worker.ts '<json spec>'`, started by
 * bench/run.ts so that its CPU time and resident memory can be read from /proc apart from the
 * client's, and so that `--cpu-prof` profiles the worker side alone.
 *
 * Runs one Worker per entry of the spec (the lead workflow with its real default activities, or the
 * baseline without activities), each from a prebuilt bundle, prints `READY <json>` once all poll,
 * and drains on SIGTERM (Runtime's shutdown signals). On SIGUSR2 it writes its heap to `heapFile`
 * (bench/lib/procfs.ts: workerHeap).
 */
import { writeFileSync } from 'node:fs';
import workerThreads from 'node:worker_threads';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { activitiesFromEnv } from '../src/activities/index.js';
import { loadDataConverter } from '../src/codec/keys.js';
import { createLeadWorker } from '../src/worker.js';

export interface WorkerSpec {
  address: string;
  namespace: string;
  /** For the lead workflow's outbox and stage-change files. */
  dataDir: string;
  queues: Array<{
    taskQueue: string;
    bundlePath: string;
    kind: 'lead' | 'baseline';
    /** LEADCYCLE_CODEC_KEYS for this queue's payload codec, as every leadcycle worker has; none: plain. */
    codecKeys?: string;
  }>;
  /** Where SIGUSR2 writes the heap (WorkerHeap): the workflows' thread and this one, after a GC. */
  heapFile?: string;
}

/** What SIGUSR2 writes: heap in use after a full GC, the workflows' thread apart from the main one. */
export interface WorkerHeap {
  at: number;
  workflowHeapBytes: number;
  mainHeapBytes: number;
  cachedWorkflows: number;
}

const HEAP_CHANNEL = 'leadcycle-bench-workflow-heap';

/**
 * The SDK runs workflows in a worker thread with a heap of its own, which nothing outside it can
 * read on Node 20. Each thread the SDK starts gets a listener that answers its heap in use (after a
 * GC, with --expose-gc) on a BroadcastChannel, then loads the SDK's own thread script.
 */
function probeWorkflowThreads(): void {
  const Original = workerThreads.Worker;
  class Probed extends Original {
    constructor(filename: string | URL, options?: workerThreads.WorkerOptions) {
      const script = typeof filename === 'string' ? filename : filename.pathname;
      const code = `
        const { BroadcastChannel } = require('node:worker_threads');
        const channel = new BroadcastChannel(${JSON.stringify(HEAP_CHANNEL)});
        channel.unref();
        channel.onmessage = (m) => {
          if (m.data !== 'ask') return;
          globalThis.gc?.();
          channel.postMessage({ heapUsed: process.memoryUsage().heapUsed });
        };
        require(${JSON.stringify(script)});`;
      super(code, { ...options, eval: true });
    }
  }
  workerThreads.Worker = Probed;
}

/** The workflows' threads' heap in use, summed (each answers once; 30 s at most: a full GC of GiBs takes seconds). */
async function workflowHeapBytes(threads: number): Promise<number> {
  const channel = new workerThreads.BroadcastChannel(HEAP_CHANNEL);
  try {
    return await new Promise<number>((resolve) => {
      let sum = 0;
      let answers = 0;
      const timeout = setTimeout(() => resolve(Number.NaN), 30_000);
      channel.onmessage = (m) => {
        const data = (m as { data: { heapUsed?: number } | string }).data;
        if (typeof data !== 'object' || data?.heapUsed === undefined) return;
        sum += data.heapUsed;
        if (++answers === threads) {
          clearTimeout(timeout);
          resolve(sum);
        }
      };
      channel.postMessage('ask');
    });
  } finally {
    channel.close();
  }
}

async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[2] ?? '') as WorkerSpec;
  if (spec.heapFile) probeWorkflowThreads();
  // SIGUSR2 asks for the heap here: it is one of the SDK's default shutdown signals.
  Runtime.install({ logger: new DefaultLogger('WARN'), shutdownSignals: ['SIGINT', 'SIGTERM', 'SIGQUIT'] });
  const connection = await NativeConnection.connect({ address: spec.address });
  const effects = activitiesFromEnv({ LEADCYCLE_DATA_DIR: spec.dataDir });
  const workers = await Promise.all(
    spec.queues.map(async (q) => {
      const dataConverter = q.codecKeys
        ? (await loadDataConverter({ LEADCYCLE_CODEC_KEYS: q.codecKeys })).dataConverter
        : undefined;
      return q.kind === 'lead'
        ? createLeadWorker({
            connection,
            namespace: spec.namespace,
            taskQueue: q.taskQueue,
            activities: effects.activities,
            workflowBundle: { codePath: q.bundlePath },
            ...(dataConverter ? { dataConverter } : {}),
          })
        : Worker.create({
            connection,
            namespace: spec.namespace,
            taskQueue: q.taskQueue,
            workflowBundle: { codePath: q.bundlePath },
            ...(dataConverter ? { dataConverter } : {}),
          });
    }),
  );
  const running = Promise.all(workers.map((w) => w.run()));
  const { heapFile } = spec;
  if (heapFile) {
    process.on('SIGUSR2', () => {
      void workflowHeapBytes(workers.length).then((workflowHeap) => {
        (globalThis as { gc?: () => void }).gc?.();
        const heap: WorkerHeap = {
          at: Date.now(),
          workflowHeapBytes: workflowHeap,
          mainHeapBytes: process.memoryUsage().heapUsed,
          cachedWorkflows: workers.reduce((n, w) => n + w.getStatus().numCachedWorkflows, 0),
        };
        writeFileSync(heapFile, JSON.stringify(heap));
      });
    });
  }
  process.stdout.write(
    `READY ${JSON.stringify({
      pid: process.pid,
      maxCachedWorkflows: workers[0]?.options.maxCachedWorkflows,
      maxConcurrentWorkflowTaskExecutions: workers[0]?.options.maxConcurrentWorkflowTaskExecutions,
    })}\n`,
  );
  await running;
  await effects.close();
  await connection.close();
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
