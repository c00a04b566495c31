/**
 * `npm run bench`: throughput, latency and scale of leadcycle on this machine, next to a baseline
 * workflow that only counts messages (the cost of Temporal itself). Prints a table and writes
 * bench/results.json with the machine's facts. Not part of `npm test`.
 *
 *   npm run bench                                  # everything, about 10 minutes on 2 cores
 *   npm run bench -- --phases engine               # machine | backtest | engine | history | scale, comma-separated
 *   npm run bench -- --phases backtest --backtest-leads 100000   # store kept in .leadcycle/bench-backtest-<n>/
 *   npm run bench -- --rounds 5 --engine-leads 20 --updates 50 --paths update
 *   npm run bench -- --phases scale --leads 20000 --scale-seconds 900
 *   npm run bench -- --profile                     # engine, lead workflow only, worker under --cpu-prof
 *   npm run bench -- --variant mine=/path/to/src/workflows/index.ts   # a modified workflow, same run
 *   npm run bench -- --variant plain=?codec=off    # the workflow in src/ without the payload codec
 *
 * Every server it needs it starts itself (dev server on free ports with a temporary sqlite file,
 * headless; the time-skipping test server), and stops them on the way out. The lead workflow runs
 * as deployed: its own worker process, the real default activities, the AES-GCM payload codec.
 */
import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode, DefaultLogger, Runtime } from '@temporalio/worker';
import { loadDataConverter } from '../src/codec/keys.js';
import { findTemporalBinary } from '../src/temporal/server.js';
import { WORKFLOWS_PATH } from '../src/worker.js';
import { type BacktestResults, runBacktest } from './backtest.js';
import {
  type ContinueAsNewCheck,
  continueAsNewCheck,
  type EngineContext,
  type Kind,
  type Measurement,
  measure,
  type Path,
} from './engine.js';
import { type HistoryResults, runHistory } from './history.js';
import { summariseProfile } from './lib/cpuprofile.js';
import { type Environment, environment } from './lib/environment.js';
import {
  type BenchServer,
  startBenchServer,
  startWorkerProcess,
  type WorkerProcess,
} from './lib/processes.js';
import { formatMarkdown, formatTable, median, percentile, type Row, round } from './lib/stats.js';
import { type MachineResults, runMachine } from './machine.js';
import { runScale, type ScaleResults } from './scale.js';

const PHASES = ['machine', 'backtest', 'engine', 'history', 'scale'] as const;
type Phase = (typeof PHASES)[number];

const { values: args } = parseArgs({
  options: {
    phases: { type: 'string', default: PHASES.join(',') },
    'engine-leads': { type: 'string', default: '20' },
    updates: { type: 'string', default: '50' },
    rounds: { type: 'string', default: '3' },
    'can-updates': { type: 'string', default: '1100' },
    leads: { type: 'string', default: '10000' },
    'scale-seconds': { type: 'string', default: '150' },
    'scale-concurrency': { type: 'string', default: '16' },
    'history-days': { type: 'string', default: '365' },
    'machine-ms': { type: 'string', default: '2000' },
    'backtest-leads': { type: 'string', default: '100000' },
    paths: { type: 'string', default: 'update,signal' },
    workflows: { type: 'string' },
    preload: { type: 'string' },
    variant: { type: 'string', multiple: true },
    plain: { type: 'boolean', default: false },
    profile: { type: 'boolean', default: false },
    out: { type: 'string', default: fileURLToPath(new URL('./results.json', import.meta.url)) },
    markdown: { type: 'boolean', default: false },
  },
});

const int = (name: keyof typeof args, min = 1) => {
  const n = Number(args[name]);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer ≥ ${min}`);
  return n;
};
const list = (value: string | undefined) =>
  (value ?? '')
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);

/**
 * A lead-workflow variant measured next to ours: `name=[path/to/workflows/index.ts][?preload=a,b][&codec=off]`.
 * With no path it is the workflow in src/, e.g. `--variant plain=?codec=off` measures the codec's share.
 */
interface Variant {
  name: string;
  workflows: string;
  preload: string[];
  codec: boolean;
}
function parseVariant(spec: string): Variant {
  const eq = spec.indexOf('=');
  if (eq <= 0) throw new Error(`--variant ${spec}: expected name=path[?preload=module,module]`);
  const name = spec.slice(0, eq);
  if (name === 'baseline' || name === 'lead') throw new Error(`--variant name ${name} is taken`);
  const [path = '', query = ''] = spec.slice(eq + 1).split('?');
  const params = new URLSearchParams(query);
  return {
    name,
    workflows: path ? resolve(path) : WORKFLOWS_PATH,
    preload: list(params.get('preload') ?? ''),
    codec: params.get('codec') !== 'off',
  };
}
const phases = new Set(
  String(args.phases)
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean),
);
for (const p of phases) if (!(PHASES as readonly string[]).includes(p)) throw new Error(`unknown phase ${p}`);
const options = {
  phases: [...phases] as Phase[],
  engineLeads: int('engine-leads'),
  updates: int('updates'),
  rounds: int('rounds'),
  canUpdates: int('can-updates', 0),
  leads: int('leads'),
  scaleSeconds: int('scale-seconds'),
  scaleConcurrency: int('scale-concurrency'),
  historyDays: int('history-days'),
  machineMs: int('machine-ms'),
  backtestLeads: int('backtest-leads'),
  paths: list(args.paths) as Path[],
  workflows: args.workflows ? resolve(args.workflows) : WORKFLOWS_PATH,
  /** Modules the lead bundle preloads once per V8 context (bundleWorkflowCode's preloadModules). */
  preload: list(args.preload),
  variants: (args.variant ?? []).map(parseVariant),
  /** The lead workflow's payloads go through the AES-GCM codec, as every leadcycle client and worker's do. */
  codec: args.plain !== true,
  profile: args.profile === true,
};
for (const p of options.paths) if (p !== 'update' && p !== 'signal') throw new Error(`unknown path ${p}`);

const t0 = performance.now();
const log = (line: string) =>
  console.error(`[${((performance.now() - t0) / 1000).toFixed(0).padStart(4)} s] ${line}`);

const quietBundler = {
  log: () => {},
  trace: () => {},
  debug: () => {},
  info: () => {},
  warn: (message: string) => log(`bundler: ${message}`),
  error: (message: string) => log(`bundler: ${message}`),
};

// Workers in this process (the history phase) and the worker process both log only warnings.
Runtime.install({ logger: new DefaultLogger('WARN') });

/** Stops servers and workers in reverse order of start; also run on SIGINT/SIGTERM. */
const cleanups: Array<() => Promise<void>> = [];
async function cleanup(downTo = 0) {
  while (cleanups.length > downTo) {
    const next = cleanups.pop();
    try {
      await next?.();
    } catch (err) {
      log(`cleanup: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
}

/** Runs one phase; whatever it registered in `cleanups` is stopped when it ends, however it ends. */
async function phase<T>(fn: () => Promise<T>): Promise<T> {
  const mark = cleanups.length;
  try {
    return await fn();
  } finally {
    await cleanup(mark);
  }
}

interface EngineRatio {
  /** Throughput over the baseline's: median of its rounds over median of the baseline's rounds. */
  median: number;
  /** The same, round by round (each pair measured back to back). */
  perRound: number[];
  /** Baseline CPU per event (server + worker + client) over ours: the per-event cost, load-independent. */
  cpu: number;
}

interface EngineResults {
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

/** A fresh key per run: the lead workflow's payloads are encrypted as in production. */
const CODEC_KEYS = `bench:${randomBytes(32).toString('base64')}`;
const codecOf = (kind: Kind): boolean =>
  kind === 'baseline'
    ? false
    : kind === 'lead'
      ? options.codec
      : (options.variants.find((v) => v.name === kind)?.codec ?? true);

async function clientFor(connection: Connection, namespace: string, codec: boolean): Promise<Client> {
  return new Client({
    connection,
    namespace,
    ...(codec
      ? { dataConverter: (await loadDataConverter({ LEADCYCLE_CODEC_KEYS: CODEC_KEYS })).dataConverter }
      : {}),
  });
}

async function engine(binary: string, bundles: Record<Kind, string>): Promise<EngineResults> {
  const bench = await startBenchServer(binary, log);
  cleanups.push(bench.stop);
  const tag = Date.now().toString(36);
  const kinds: Kind[] = [
    ...(options.profile ? [] : ['baseline']),
    'lead',
    ...options.variants.map((v) => v.name),
  ];
  const queues: Record<Kind, string> = Object.fromEntries(kinds.map((k) => [k, `bench-${k}-${tag}`]));
  const profileDir = options.profile ? join(bench.dir, 'profiles') : undefined;
  if (profileDir) await mkdir(profileDir, { recursive: true });
  const worker = await startWorkerProcess(
    {
      address: bench.server.address,
      namespace: bench.server.namespace,
      dataDir: join(bench.dir, 'data'),
      queues: kinds.map((k) => ({
        taskQueue: queues[k] as string,
        bundlePath: bundles[k] as string,
        kind: k === 'baseline' ? ('baseline' as const) : ('lead' as const),
        ...(codecOf(k) ? { codecKeys: CODEC_KEYS } : {}),
      })),
    },
    { log, ...(profileDir ? { cpuProfDir: profileDir } : {}) },
  );
  cleanups.push(worker.stop);
  const connection = await Connection.connect({ address: bench.server.address });
  cleanups.push(() => connection.close());
  const clients: Record<Kind, Client> = {};
  for (const k of kinds) clients[k] = await clientFor(connection, bench.server.namespace, codecOf(k));
  const ctx: EngineContext = {
    clients,
    queues,
    pids: { server: bench.server.pid, worker: worker.pid, client: process.pid },
    log,
    tag,
  };
  const paths = options.paths;

  log('engine: warm-up');
  for (const kind of kinds)
    for (const path of paths) await measure(ctx, { kind, path, leads: 4, events: 10, round: 0 });

  const all: Measurement[] = [];
  for (let round = 1; round <= options.rounds; round++) {
    // Alternate the order, so a drift during the run weighs on every kind alike.
    const order = round % 2 === 1 ? kinds : [...kinds].reverse();
    for (const path of paths)
      for (const kind of order) {
        all.push(
          await measure(ctx, {
            kind,
            path,
            leads: options.engineLeads,
            events: options.updates,
            round,
            withEventTypes: round === 1,
          }),
        );
      }
  }

  const continueAsNew =
    options.profile || options.canUpdates === 0
      ? undefined
      : await continueAsNewCheck(ctx, options.canUpdates);

  // --cpu-prof writes one profile per thread: the worker's main thread (SDK, activities) and its
  // workflow thread (the sandboxed workflow code).
  const profiles: NonNullable<EngineResults['profiles']> = [];
  if (profileDir) {
    await worker.stop();
    const files = (await readdir(profileDir)).filter((f) => f.endsWith('.cpuprofile')).sort();
    for (const [i, file] of files.entries()) {
      const kept = join(tmpdir(), `leadcycle-worker-${tag}-${i}.cpuprofile`);
      await copyFile(join(profileDir, file), kept);
      profiles.push(await summariseProfile(kept));
      log(`engine: worker CPU profile kept at ${kept}`);
    }
  }

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
      };
    }
  }

  await worker.stop();
  return {
    leads: options.engineLeads,
    updatesPerLead: options.updates,
    rounds: options.rounds,
    workerInfo: worker.info,
    measurements: all.map(({ latencies: _, ...m }) => m),
    codec: Object.fromEntries(kinds.map((k) => [k, codecOf(k)])),
    summary,
    ratio,
    ...(continueAsNew ? { continueAsNew } : {}),
    ...(profiles.length ? { profiles } : {}),
  };
}

async function scale(binary: string, bundles: Record<Kind, string>): Promise<ScaleResults> {
  const bench: BenchServer = await startBenchServer(binary, log);
  cleanups.push(bench.stop);
  const taskQueue = `bench-scale-${Date.now().toString(36)}`;
  const worker = await startWorkerProcess(
    {
      address: bench.server.address,
      namespace: bench.server.namespace,
      dataDir: join(bench.dir, 'data'),
      queues: [
        {
          taskQueue,
          bundlePath: bundles.lead as string,
          kind: 'lead',
          ...(options.codec ? { codecKeys: CODEC_KEYS } : {}),
        },
      ],
    },
    { log },
  );
  cleanups.push(worker.stop);
  const connection = await Connection.connect({ address: bench.server.address });
  cleanups.push(() => connection.close());
  const client = await clientFor(connection, bench.server.namespace, options.codec);
  const results = await runScale(
    client,
    taskQueue,
    { server: bench.server.pid, worker: worker.pid },
    { leads: options.leads, maxSeconds: options.scaleSeconds, concurrency: options.scaleConcurrency },
    log,
  );
  await worker.stop();
  return { ...results, workerMaxCachedWorkflows: worker.info.maxCachedWorkflows };
}

function rows(r: {
  machine?: MachineResults;
  backtest?: BacktestResults;
  engine?: EngineResults;
  history?: HistoryResults;
  scale?: ScaleResults;
}): Row[] {
  const out: Row[] = [];
  const f = (v: number, digits = 3) => String(round(v, digits));
  const { machine: m, backtest: b, engine: e, history: h, scale: s } = r;
  if (m) {
    out.push(
      {
        section: 'machine',
        metric: 'pure transitions/s (createLeadCycle().apply)',
        value: f(m.transitionsPerSecond),
        note: `${f(m.usPerTransition)} µs each; journey of ${m.journeyEvents} events, ${m.refusedPerJourney} refused`,
      },
      { section: 'machine', metric: 'start a lead (µs)', value: f(m.usPerStart) },
      {
        section: 'machine',
        metric: 'state serialise, JSON (µs)',
        value: f(m.usPerStateSerialise),
        note: `${m.stateJsonBytes} B (continue-as-new carries it)`,
      },
      {
        section: 'machine',
        metric: 'restore from JSON (µs)',
        value: f(m.usPerRestore),
        note: 'once per run, after continue-as-new',
      },
      {
        section: 'machine',
        metric: 'update result (LeadView) JSON round trip (µs)',
        value: f(m.usPerViewSerialise),
        note: `${m.viewJsonBytes} B per update result`,
      },
      {
        section: 'machine',
        metric: 'machine work per command update in the workflow (µs)',
        value: f(m.usPerWorkflowUpdateEstimate),
        note: '2 parses + 2 applies + 2 views + 3 nextDeadline (estimate)',
      },
    );
  }
  if (b) {
    out.push(
      {
        section: 'backtest',
        metric: `what-if over ${b.leads} journaled leads (s)`,
        value: f(b.backtestSeconds),
        note: `${f(b.leadsPerSecond)} leads/s on one core; MQLs ${b.mql.actual} actual → ${b.mql.whatIf} at threshold 60`,
      },
      {
        section: 'backtest',
        metric: 'replay transitions/s',
        value: f(b.transitionsPerSecond),
        note: `${b.journalEvents} journaled events + ${f(b.timersPerLead)} timer events per lead`,
      },
      {
        section: 'backtest',
        metric: 'read the journal (s)',
        value: f(b.readJournalSeconds),
        note: `SQLite ${f(b.dbMiB)} MiB; ${b.stageChanges} stage changes`,
      },
      {
        section: 'backtest',
        metric: 'reports over the store (s)',
        value: f(b.reports.conversionSeconds),
        note: `conversion; stages ${f(b.reports.stagesSeconds)} s, forecast ${f(b.reports.forecastSeconds)} s`,
      },
    );
  }
  if (e) {
    const conc = `${e.leads} leads × ${e.updatesPerLead}, median of ${e.rounds} rounds`;
    const kinds = [...new Set(e.measurements.map((m) => m.kind))];
    const label = (kind: Kind) =>
      (kind === 'baseline' ? 'baseline' : kind === 'lead' ? 'lead workflow' : `variant ${kind}`) +
      (e.codec[kind] ? ' (codec)' : '');
    const cpuTotal = (x: { cpuMsPerEvent: Record<string, number> }) =>
      f(
        Object.values(x.cpuMsPerEvent).reduce((a, b) => a + b, 0),
        2,
      );
    const cpuParts = (x: { cpuMsPerEvent: Record<string, number> }) =>
      Object.entries(x.cpuMsPerEvent)
        .map(([k, v]) => `${k} ${f(v, 2)}`)
        .join(', ');
    for (const path of ['update', 'signal'] as const) {
      for (const kind of kinds) {
        const x = e.summary[`${kind}.${path}`];
        if (!x) continue;
        out.push({
          section: 'engine',
          metric: `${label(kind)} ${path}s/s`,
          value: f(x.eventsPerSecond),
          note: `p50 ${f(x.p50Ms)} ms, p99 ${f(x.p99Ms)} ms; ${conc}`,
        });
        const r = e.ratio[kind]?.[path];
        if (r)
          out.push({
            section: 'engine',
            metric: `  ratio ${kind === 'lead' ? 'ours' : kind}/baseline (${path})`,
            value: f(r.median),
            note: `per round ${r.perRound.map((v) => f(v, 2)).join(', ')}; by CPU per ${path} ${f(r.cpu, 2)}${path === 'update' ? '; goal ≥ 0.8' : ''}`,
          });
        out.push({
          section: 'engine',
          metric: `  history events, bytes per ${path}`,
          value: f(x.historyEventsPerEvent),
          note: `${f(x.historyBytesPerEvent)} B${
            x.eventTypes
              ? `; ${Object.entries(x.eventTypes)
                  .map(([t, n]) => `${t} ${n}`)
                  .join(', ')} (one lead)`
              : ''
          }`,
        });
        out.push({
          section: 'engine',
          metric: `  CPU ms per ${path}`,
          value: cpuTotal(x),
          note: cpuParts(x),
        });
      }
    }
    const lead = e.summary['lead.update'];
    if (lead)
      out.push({ section: 'engine', metric: 'update result size (B)', value: String(lead.resultBytes) });
    if (e.continueAsNew) {
      out.push({
        section: 'engine',
        metric: 'longest run history (1 lead, continue-as-new)',
        value: String(e.continueAsNew.maxRunHistoryLength),
        note: `${e.continueAsNew.updates} updates → ${e.continueAsNew.runs} runs (${e.continueAsNew.runHistoryLengths.join(', ')} events); warning at 10,240`,
      });
    }
  }
  if (h) {
    for (const y of h.years) {
      out.push({
        section: 'history',
        metric: `events per lead-year, ${y.scenario} lead`,
        value: f(y.eventsPerYear),
        note: `${y.days} simulated days on the time-skipping server; ${y.messages} commands, ${y.activities} activities, ${y.runs} run(s), largest ${y.maxRunHistoryLength}${y.attempts > 1 ? ` (second attempt: the first lead got stuck on the test server)` : ''}`,
      });
    }
    for (const x of h.failures) {
      out.push({
        section: 'history',
        metric: `events per lead-year, ${x.scenario} lead`,
        value: 'n/a',
        note: `did not finish in ${x.attempts} attempts: ${x.error}`,
      });
    }
    out.push({
      section: 'history',
      metric: 'events per lead-year, recorded (scaled)',
      value: f(h.recorded.eventsPerYearScaled),
      note: `${h.recorded.file}: ${h.recorded.events} events in ${h.recorded.days} days × 365/180 (cadence 2 d, 40-item catalogs)`,
    });
  }
  if (s) {
    out.push(
      {
        section: 'scale',
        metric: 'open leads waiting on nurture timers',
        value: String(s.reached),
        note: `target ${s.target}; stopped ${s.reached < s.target ? 'by the time budget' : 'at the target'}`,
      },
      {
        section: 'scale',
        metric: 'start rate (leads/s, capture = update-with-start)',
        value: f(s.startsPerSecond),
        note: `concurrency ${s.concurrency}; capture p50 ${f(s.captureP50Ms)} ms, p99 ${f(s.captureP99Ms)} ms; CPU ms per lead ${Object.entries(
          s.cpuMsPerStart,
        )
          .map(([k, v]) => `${k} ${f(v, 2)}`)
          .join(', ')}`,
      },
      {
        section: 'scale',
        metric: 'server RSS (MiB)',
        value: f(s.serverRssMiB),
        note: `idle ${f(s.serverRssIdleMiB)} MiB; +${f(s.serverRssKiBPerLead)} KiB per lead; ${f(s.serverIdleCpuPercent, 2)}% CPU while all wait`,
      },
      {
        section: 'scale',
        metric: 'worker RSS (MiB)',
        value: f(s.workerRssMiB),
        note: `idle ${f(s.workerRssIdleMiB)} MiB; +${f(s.workerRssKiBPerLead)} KiB per lead; ${f(s.workerIdleCpuPercent, 2)}% CPU while all wait`,
      },
      {
        section: 'scale',
        metric: "count LeadStage = 'lead' (ms)",
        value: f(s.countStageMs),
        note: `counted ${s.countedInStage}; visibility caught up ${f(s.visibilityCatchUpS, 2)} s after the last start`,
      },
      { section: 'scale', metric: 'list first 100 of the stage (ms)', value: f(s.listFirst100Ms) },
      {
        section: 'scale',
        metric: 'list the whole stage (ms)',
        value: f(s.listAllMs),
        note: `${s.listedAll} leads`,
      },
    );
  }
  return out;
}

async function main(): Promise<void> {
  const binary = await findTemporalBinary('temporal', { log });
  const env: Environment = await environment(binary);
  log(`${env.cpuModel}, ${env.cores} cores, ${env.memoryGiB} GiB, Node ${env.node}, ${env.temporalCli}`);

  const work = await mkdtemp(join(tmpdir(), 'leadcycle-bench-run-'));
  cleanups.push(() => rm(work, { recursive: true, force: true }));

  const needBundles = options.phases.some((p) => p !== 'machine' && p !== 'backtest');
  const bundles: Record<Kind, string> = {};
  if (needBundles) {
    const sources: Array<{ kind: Kind; workflows: string; preload: string[] }> = [
      { kind: 'lead', workflows: options.workflows, preload: options.preload },
      {
        kind: 'baseline',
        workflows: fileURLToPath(new URL('./baseline-workflow.ts', import.meta.url)),
        preload: [],
      },
      ...options.variants.map((v) => ({ kind: v.name, workflows: v.workflows, preload: v.preload })),
    ];
    // One bundle per kind, built once per run and loaded by every worker from its file.
    for (const source of sources) {
      log(
        `bundling ${source.kind}: ${source.workflows}${source.preload.length ? ` (preload ${source.preload.join(', ')})` : ''}`,
      );
      const { code } = await bundleWorkflowCode({
        workflowsPath: source.workflows,
        logger: quietBundler,
        ...(source.preload.length ? { preloadModules: source.preload } : {}),
      });
      const path = join(work, `${source.kind}-bundle.js`);
      await writeFile(path, code);
      bundles[source.kind] = path;
    }
  }

  const results: {
    machine?: MachineResults;
    backtest?: BacktestResults;
    engine?: EngineResults;
    history?: HistoryResults;
    scale?: ScaleResults;
  } = {};
  if (options.phases.includes('machine')) {
    log('machine: pure transitions in this process');
    results.machine = runMachine(options.machineMs);
  }
  if (options.phases.includes('backtest') && !options.profile) {
    const dataDir = resolve('.leadcycle', `bench-backtest-${options.backtestLeads}`);
    results.backtest = await runBacktest({ leads: options.backtestLeads, dataDir }, log);
  }
  if (options.phases.includes('engine')) {
    results.engine = await phase(() => engine(binary, bundles));
  }
  if (options.phases.includes('history') && !options.profile) {
    const testServer = await findTemporalBinary('temporal-test-server', { log });
    results.history = await phase(() =>
      runHistory(
        {
          binary: testServer,
          dataDir: join(work, 'history-data'),
          days: options.historyDays,
          bundlePath: bundles.lead as string,
          timeoutSeconds: 120,
        },
        log,
      ),
    );
  }
  if (options.phases.includes('scale') && !options.profile) {
    results.scale = await phase(() => scale(binary, bundles));
  }

  const table = rows(results);
  console.log(`\nleadcycle benchmark — ${env.date}`);
  console.log(
    `${env.cpuModel}; ${env.cores} cores; ${env.memoryGiB} GiB; ${env.os}; Node ${env.node}; ` +
      `${env.temporalCli}; SDK ${env.temporalSdk}; xstate ${env.xstate}\n`,
  );
  console.log(formatTable(table));
  for (const p of results.engine?.profiles ?? []) {
    console.log(`\nworker CPU profile ${p.file} (${p.totalMs.toFixed(0)} ms busy): by origin`);
    for (const o of p.byOrigin.slice(0, 12))
      console.log(`  ${o.percent.toFixed(1).padStart(5)}%  ${o.origin}`);
    console.log('top functions by self time');
    for (const fn of p.topFunctions) console.log(`  ${fn.percent.toFixed(1).padStart(5)}%  ${fn.fn}`);
  }
  if (args.markdown) console.log(`\n${formatMarkdown(table)}`);

  if (options.profile) {
    log('profile run: results.json left as it was');
  } else {
    const out = {
      environment: env,
      options: { ...options, workflows: options.workflows.replace(`${process.cwd()}/`, '') },
      durationSeconds: Math.round((performance.now() - t0) / 1000),
      loadAverageAtEnd: loadavg().map((l) => Math.round(l * 100) / 100),
      figures: table,
      ...results,
    };
    await writeFile(String(args.out), `${JSON.stringify(out, null, 2)}\n`);
    log(`wrote ${args.out}`);
  }
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    log(`${signal}: stopping`);
    void cleanup().then(() => process.exit(130));
  });
}

main()
  .then(() => cleanup())
  .then(
    () => process.exit(0),
    async (err) => {
      console.error(err);
      await cleanup();
      process.exit(1);
    },
  );
