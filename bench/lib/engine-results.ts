/** What the engine phase reports, and how its measurements are summarised into it. */
import type { ContinueAsNewCheck, Kind, Measurement, Path } from '../engine.js';
import type { summariseProfile } from './cpuprofile.js';
import type { WorkerProcess } from './processes.js';
import { median, percentile } from './stats.js';

export interface EngineRatio {
  /** Throughput over the baseline's: median of its rounds over median of the baseline's rounds. */
  median: number;
  /** The same, round by round (each pair measured back to back). */
  perRound: number[];
  /** Baseline CPU per event (server + worker + client) over ours: the per-event cost, load-independent. */
  cpu: number;
  /** Baseline worker CPU per event over ours: what the lead's own code (machine, codec, bundle) adds. */
  workerCpu: number;
  /** Our p99 latency over the baseline's. */
  p99: number;
}

export interface EngineResults {
  leads: number;
  updatesPerLead: number;
  rounds: number;
  workerInfo: WorkerProcess['info'];
  measurements: Array<Omit<Measurement, 'latencies'>>;
  /** Which kinds ran with the AES-GCM payload codec (the lead workflow, as deployed; never the baseline). */
  codec: Record<Kind, boolean>;
  summary: Record<
    string,
    {
      eventsPerSecond: number;
      perRound: number[];
      p50Ms: number;
      p99Ms: number;
      cpuMsPerEvent: Record<string, number>;
      historyEventsPerEvent: number;
      historyBytesPerEvent: number;
      resultBytes: number;
      eventTypes?: Record<string, number>;
    }
  >;
  /** Per non-baseline kind and path, against the baseline. */
  ratio: Record<Kind, Partial<Record<Path, EngineRatio>>>;
  continueAsNew?: ContinueAsNewCheck;
  profiles?: Array<Awaited<ReturnType<typeof summariseProfile>>>;
}

/** Medians per kind and path over the rounds, and each kind against the baseline. */
export function summariseEngine(
  all: readonly Measurement[],
  kinds: readonly Kind[],
  paths: readonly Path[],
): Pick<EngineResults, 'summary' | 'ratio'> {
  const summary: EngineResults['summary'] = {};
  for (const kind of kinds)
    for (const path of paths) {
      const ms = all.filter((m) => m.kind === kind && m.path === path);
      const latencies = ms.flatMap((m) => m.latencies);
      const cpuKeys = Object.keys(ms[0]?.cpuMsPerEvent ?? {});
      summary[`${kind}.${path}`] = {
        eventsPerSecond: median(ms.map((m) => m.eventsPerSecond)),
        perRound: ms.map((m) => m.eventsPerSecond),
        p50Ms: percentile(latencies, 50),
        p99Ms: percentile(latencies, 99),
        cpuMsPerEvent: Object.fromEntries(
          cpuKeys.map((k) => [k, median(ms.map((m) => m.cpuMsPerEvent[k] ?? Number.NaN))]),
        ),
        historyEventsPerEvent: median(ms.map((m) => m.historyEventsPerEvent)),
        historyBytesPerEvent: median(ms.map((m) => m.historyBytesPerEvent)),
        resultBytes: ms[0]?.resultBytes ?? 0,
        ...(ms[0]?.eventTypes ? { eventTypes: ms[0].eventTypes } : {}),
      };
    }
  const ratio: EngineResults['ratio'] = {};
  for (const kind of kinds.filter((k) => k !== 'baseline')) {
    ratio[kind] = {};
    for (const path of paths) {
      const ours = summary[`${kind}.${path}`];
      const base = summary[`baseline.${path}`];
      if (!ours || !base) continue;
      const cpuTotal = (x: { cpuMsPerEvent: Record<string, number> }) =>
        Object.values(x.cpuMsPerEvent).reduce((a, b) => a + b, 0);
      (ratio[kind] as Record<Path, EngineRatio>)[path] = {
        median: ours.eventsPerSecond / base.eventsPerSecond,
        perRound: ours.perRound.map((v, i) => v / (base.perRound[i] ?? Number.NaN)),
        cpu: cpuTotal(base) / cpuTotal(ours),
        workerCpu: (base.cpuMsPerEvent.worker ?? Number.NaN) / (ours.cpuMsPerEvent.worker ?? Number.NaN),
        p99: ours.p99Ms / base.p99Ms,
      };
    }
  }
  return { summary, ratio };
}
