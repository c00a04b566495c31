/**
 * Scale: how many open leads, each waiting on its nurture timer, one dev server holds, how fast they
 * start, what the server and the worker keep resident, and how long visibility takes to list a stage.
 *
 * Leads come in one of two ways (`by`):
 * - `capture`: the way apps capture them (LeadClient.capture: update-with-start of a form), with
 *   consent and a profile that fits no persona: each gets its first nurture email at once, then
 *   waits a week for the next one;
 * - `import`: a generated HubSpot-style export of `leads` rows, opted in by a consent column, through the
 *   import runner (bench/import.ts): one run measures the import's rate and then the open leads it
 *   left, each waiting on its first nurture email, spread over the import ramp.
 * The run stops starting leads at `leads` or after `maxSeconds`, whichever comes first, and reports the
 * number actually reached, and how many of a sample of them wait on a timer.
 */
import { performance } from 'node:perf_hooks';
import type { Client } from '@temporalio/client';
import { LeadClient } from '../src/client/index.js';
import { captureCommand } from './engine.js';
import { type ImportBenchResults, runImportBench } from './import.js';
import { countEventTypes } from './lib/event-types.js';
import { cpuMeter, cpuMs, rssMiB, type WorkerHeapReading, workerHeap } from './lib/procfs.js';
import { boundedAll, median, percentile } from './lib/stats.js';

export interface ScaleOptions {
  leads: number;
  maxSeconds: number;
  concurrency: number;
  by: ScaleFill;
}

export type ScaleFill = { kind: 'capture' } | { kind: 'import'; dir: string };

export interface ScaleSample {
  leads: number;
  elapsedS: number;
  serverRssMiB: number;
  workerRssMiB: number;
}

export interface ScaleResults {
  target: number;
  reached: number;
  /** How the leads came in; for `import`, the import's own figures. */
  by?: ScaleFill['kind'];
  import?: ImportBenchResults;
  concurrency: number;
  startSeconds: number;
  startsPerSecond: number;
  /** Per capture (by capture only: an import's rows are not timed one by one). */
  captureP50Ms?: number;
  captureP99Ms?: number;
  /** Of the first leads the stage lists, how many have a timer started and not yet fired or cancelled. */
  timerSample?: { leads: number; waitingOnTimer: number };
  /** CPU milliseconds per lead started (its capture, first email and stage records), by process. */
  cpuMsPerStart: Record<string, number>;
  /** Seconds after the last start until visibility counted every lead in `lead`. */
  visibilityCatchUpS: number;
  countedInStage: number;
  serverRssIdleMiB: number;
  workerRssIdleMiB: number;
  serverRssMiB: number;
  workerRssMiB: number;
  serverRssKiBPerLead: number;
  workerRssKiBPerLead: number;
  /** CPU the server and the worker burn per second with every lead waiting on timers. */
  serverIdleCpuPercent: number;
  workerIdleCpuPercent: number;
  countStageMs: number;
  listFirst100Ms: number;
  listAllMs: number;
  listedAll: number;
  samples: ScaleSample[];
  /** The worker's workflow cache size (defaultMaxCachedWorkflows for this machine's memory). */
  workerMaxCachedWorkflows?: number;
  /** The worker's heap after a GC before the first lead and with every lead waiting (bench/worker.ts). */
  workerHeapIdle?: WorkerHeapReading;
  workerHeap?: WorkerHeapReading;
  /** Heap of the workflows' thread per cached workflow, beyond the idle worker's: what one cached lead costs. */
  workflowHeapKiBPerCachedLead?: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function runScale(
  client: Client,
  taskQueue: string,
  pids: { server: number; worker: number },
  options: ScaleOptions,
  /** Where the bench worker writes its heap on SIGUSR2 (WorkerSpec.heapFile); none: no heap figures. */
  heapFile: string | undefined,
  log: (line: string) => void,
): Promise<ScaleResults> {
  const leads = new LeadClient(client, { taskQueue });
  const stageQuery = `WorkflowType = 'leadWorkflow' AND ExecutionStatus = 'Running' AND LeadStage = 'lead'`;
  const rss = () => ({ serverRssMiB: rssMiB(pids.server), workerRssMiB: rssMiB(pids.worker) });
  const heap = () => (heapFile ? workerHeap(pids.worker, heapFile) : Promise.resolve(undefined));
  const idle = rss();
  const heapIdle = await heap();

  const samples: ScaleSample[] = [];
  const latencies: number[] = [];
  let done = 0;
  const meter = cpuMeter({ ...pids, client: process.pid });
  const started = performance.now();
  const deadline = started + options.maxSeconds * 1000;
  const every = Math.max(500, Math.round(options.leads / 20));
  const sampleAt = (count: number) => {
    if (count === 0 || count % every !== 0 || samples.at(-1)?.leads === count) return;
    const sample = { leads: count, elapsedS: (performance.now() - started) / 1000, ...rss() };
    samples.push(sample);
    log(
      `scale: ${count} leads in ${sample.elapsedS.toFixed(0)} s ` +
        `(${(count / sample.elapsedS).toFixed(0)}/s), server ${sample.serverRssMiB.toFixed(0)} MiB, ` +
        `worker ${sample.workerRssMiB.toFixed(0)} MiB`,
    );
  };
  let imported: ImportBenchResults | undefined;
  if (options.by.kind === 'capture') {
    await boundedAll(
      options.leads,
      options.concurrency,
      async (i) => {
        const t0 = performance.now();
        await leads.capture({ tenant: 'bench-scale', email: `lead-${i}@bench.example` }, captureCommand(i));
        latencies.push(performance.now() - t0);
        sampleAt(++done);
      },
      () => performance.now() > deadline,
    );
  } else {
    imported = await runImportBench(
      client,
      taskQueue,
      {
        rows: options.leads,
        concurrency: options.concurrency,
        dir: options.by.dir,
        consent: true,
        signal: AbortSignal.timeout(options.maxSeconds * 1000),
        onImported: (count) => {
          done = count;
          sampleAt(count);
        },
      },
      log,
    );
    done = imported.imported;
  }
  const startSeconds = (performance.now() - started) / 1000;
  const reached = done;
  const startCpu = meter.stop();
  log(`scale: ${reached} of ${options.leads} leads started in ${startSeconds.toFixed(0)} s`);

  // Wait until visibility shows every lead in `lead` (the first email and stage records run after capture).
  const catchUpStart = performance.now();
  let counted = 0;
  while (performance.now() - catchUpStart < 180_000) {
    counted = Number((await client.workflow.count(stageQuery)).count);
    if (counted >= reached) break;
    await sleep(1_000);
  }
  const visibilityCatchUpS = (performance.now() - catchUpStart) / 1000;
  log(`scale: visibility counts ${counted} leads in stage lead after ${visibilityCatchUpS.toFixed(1)} s`);

  // Let the last activities finish, then measure what waiting costs.
  await sleep(5_000);
  const cpuBefore = { server: cpuMs(pids.server), worker: cpuMs(pids.worker) };
  const idleWindowMs = 10_000;
  await sleep(idleWindowMs);
  const serverIdleCpuPercent = ((cpuMs(pids.server) - cpuBefore.server) / idleWindowMs) * 100;
  const workerIdleCpuPercent = ((cpuMs(pids.worker) - cpuBefore.worker) / idleWindowMs) * 100;
  const full = rss();
  const heapFull = await heap();
  const perCached =
    heapIdle && heapFull && heapFull.cachedWorkflows > 0
      ? (heapFull.workflowHeapBytes - heapIdle.workflowHeapBytes) / 1024 / heapFull.cachedWorkflows
      : undefined;
  if (heapFull) {
    log(
      `scale: workflow heap ${(heapFull.workflowHeapBytes / 2 ** 20).toFixed(0)} MiB for ` +
        `${heapFull.cachedWorkflows} cached leads (${perCached?.toFixed(0)} KiB each), worker RSS ${full.workerRssMiB.toFixed(0)} MiB`,
    );
  }

  const time = async (fn: () => Promise<unknown>, times: number) => {
    const ms: number[] = [];
    for (let i = 0; i < times; i++) {
      const t0 = performance.now();
      await fn();
      ms.push(performance.now() - t0);
    }
    return median(ms);
  };
  const countStageMs = await time(() => client.workflow.count(stageQuery), 5);
  const listFirst100Ms = await time(() => leads.list({ stage: 'lead', limit: 100 }), 5);
  let listedAll = 0;
  const listAllMs = await time(async () => {
    listedAll = (await leads.list({ stage: 'lead', limit: reached + 1 })).length;
  }, 1);
  log(
    `scale: count ${countStageMs.toFixed(0)} ms, first 100 ${listFirst100Ms.toFixed(0)} ms, ` +
      `all ${listedAll} ${listAllMs.toFixed(0)} ms`,
  );

  // Open leads wait on a timer (their next email, decay or aging tick): check it on a sample's histories.
  const sampled = await leads.list({ stage: 'lead', limit: 20 });
  const waiting = await Promise.all(
    sampled.map(async ({ workflowId }) => {
      const t = countEventTypes((await client.workflow.getHandle(workflowId).fetchHistory()).events ?? []);
      return (t.TIMER_STARTED ?? 0) > (t.TIMER_FIRED ?? 0) + (t.TIMER_CANCELED ?? 0);
    }),
  );
  const timerSample = { leads: sampled.length, waitingOnTimer: waiting.filter(Boolean).length };
  log(`scale: ${timerSample.waitingOnTimer} of ${timerSample.leads} sampled leads wait on a timer`);

  return {
    target: options.leads,
    reached,
    by: options.by.kind,
    ...(imported ? { import: imported } : {}),
    concurrency: options.concurrency,
    startSeconds,
    startsPerSecond: reached / startSeconds,
    ...(latencies.length
      ? { captureP50Ms: percentile(latencies, 50), captureP99Ms: percentile(latencies, 99) }
      : {}),
    timerSample,
    cpuMsPerStart: Object.fromEntries(Object.entries(startCpu).map(([k, v]) => [k, v / reached])),
    visibilityCatchUpS,
    countedInStage: counted,
    serverRssIdleMiB: idle.serverRssMiB,
    workerRssIdleMiB: idle.workerRssMiB,
    serverRssMiB: full.serverRssMiB,
    workerRssMiB: full.workerRssMiB,
    serverRssKiBPerLead: ((full.serverRssMiB - idle.serverRssMiB) * 1024) / reached,
    workerRssKiBPerLead: ((full.workerRssMiB - idle.workerRssMiB) * 1024) / reached,
    serverIdleCpuPercent,
    workerIdleCpuPercent,
    countStageMs,
    listFirst100Ms,
    listAllMs,
    listedAll,
    samples,
    ...(heapIdle ? { workerHeapIdle: heapIdle } : {}),
    ...(heapFull ? { workerHeap: heapFull } : {}),
    ...(perCached !== undefined ? { workflowHeapKiBPerCachedLead: perCached } : {}),
  };
}
