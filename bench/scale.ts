/**
 * Scale: how many open leads, each waiting on its nurture timer, one dev server holds, how fast they
 * start, what the server and the worker keep resident, and how long visibility takes to list a stage.
 *
 * Leads are captured the way apps capture them (LeadClient.capture: update-with-start of a form),
 * with consent and a profile that fits no persona: each gets its first nurture email at once, then
 * waits a week for the next one. The run stops starting leads at `leads` or after `maxSeconds`,
 * whichever comes first, and reports the number actually reached.
 */
import { performance } from 'node:perf_hooks';
import type { Client } from '@temporalio/client';
import { LeadClient } from '../src/client/index.js';
import { captureCommand } from './engine.js';
import { cpuMeter, cpuMs, rssMiB, type WorkerHeapReading, workerHeap } from './lib/procfs.js';
import { boundedAll, median, percentile } from './lib/stats.js';

export interface ScaleOptions {
  leads: number;
  maxSeconds: number;
  concurrency: number;
}

export interface ScaleSample {
  leads: number;
  elapsedS: number;
  serverRssMiB: number;
  workerRssMiB: number;
}

export interface ScaleResults {
  target: number;
  reached: number;
  concurrency: number;
  startSeconds: number;
  startsPerSecond: number;
  captureP50Ms: number;
  captureP99Ms: number;
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
  await boundedAll(
    options.leads,
    options.concurrency,
    async (i) => {
      const t0 = performance.now();
      await leads.capture({ tenant: 'bench-scale', email: `lead-${i}@bench.example` }, captureCommand(i));
      latencies.push(performance.now() - t0);
      done++;
      if (done % every === 0) {
        const sample = { leads: done, elapsedS: (performance.now() - started) / 1000, ...rss() };
        samples.push(sample);
        log(
          `scale: ${done} leads in ${sample.elapsedS.toFixed(0)} s ` +
            `(${(done / sample.elapsedS).toFixed(0)}/s), server ${sample.serverRssMiB.toFixed(0)} MiB, ` +
            `worker ${sample.workerRssMiB.toFixed(0)} MiB`,
        );
      }
    },
    () => performance.now() > deadline,
  );
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

  return {
    target: options.leads,
    reached,
    concurrency: options.concurrency,
    startSeconds,
    startsPerSecond: reached / startSeconds,
    captureP50Ms: percentile(latencies, 50),
    captureP99Ms: percentile(latencies, 99),
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
