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
 *   npm run bench -- --phases scale --scale-by import --leads 100000 --scale-seconds 6000
 *   npm run bench -- --phases starts --variant before=/path/to/old/src/workflows/index.ts   # new leads
 *   npm run bench -- --profile                     # engine, lead workflow only, worker under --cpu-prof
 *   npm run bench -- --variant mine=/path/to/src/workflows/index.ts   # a modified workflow, same run
 *   npm run bench -- --variant plain=?codec=off    # the workflow in src/ without the payload codec
 *
 * Every server it needs it starts itself (dev server on free ports with a temporary sqlite file,
 * headless; the time-skipping test server), and stops them on the way out. The lead workflow runs
 * as deployed: its own worker process, the real default activities, the AES-GCM payload codec.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode, DefaultLogger, Runtime } from '@temporalio/worker';
import { loadDataConverter } from '../src/codec/keys.js';
import { readSettings } from '../src/settings.js';
import { findTemporalBinary } from '../src/temporal/server.js';
import { PRELOAD_MODULES } from '../src/worker.js';
import { runBacktest } from './backtest.js';
import { continueAsNewCheck, type EngineContext, type Kind, type Measurement, measure } from './engine.js';
import { runHistory } from './history.js';
import { type ImportBenchResults, runImportBench } from './import.js';
// Parsed on import: --help and a bad argument end the run before any phase starts.
import { options, output } from './lib/args.js';
import { summariseProfile } from './lib/cpuprofile.js';
import { type EngineResults, summariseEngine } from './lib/engine-results.js';
import { type Environment, environment } from './lib/environment.js';
import { type BenchServer, startBenchServer, startWorkerProcess } from './lib/processes.js';
import { type BenchResults, printReport, resultRows } from './lib/report.js';
import { runMachine } from './machine.js';
import { runScale, type ScaleResults } from './scale.js';
import { runStarts, type StartsResults } from './starts.js';

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

// Lead ids are keyed per deployment: a fresh secret per run, inherited by the workers it spawns.
if (readSettings().LEADCYCLE_LEAD_ID_SECRET === undefined) {
  process.env.LEADCYCLE_LEAD_ID_SECRET = randomBytes(32).toString('hex');
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

  const { summary, ratio } = summariseEngine(all, kinds, paths);

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
      heapFile: join(bench.dir, 'worker-heap.json'),
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
    {
      leads: options.leads,
      maxSeconds: options.scaleSeconds,
      concurrency: options.scaleConcurrency,
      by:
        options.scaleBy === 'import'
          ? { kind: 'import', dir: join(bench.dir, 'import') }
          : { kind: 'capture' },
    },
    join(bench.dir, 'worker-heap.json'),
    log,
  );
  await worker.stop();
  return { ...results, workerMaxCachedWorkflows: worker.info.maxCachedWorkflows };
}

function leadPreload(): string[] {
  if (options.preload.includes('none')) return [];
  return options.preload.length ? options.preload : PRELOAD_MODULES;
}

/** New leads of the lead workflow and each variant, on one dev server and worker process. */
async function starts(binary: string, bundles: Record<Kind, string>): Promise<StartsResults> {
  const bench = await startBenchServer(binary, log);
  cleanups.push(bench.stop);
  const tag = Date.now().toString(36);
  const kinds: Kind[] = ['lead', ...options.variants.map((v) => v.name)];
  const queues: Record<Kind, string> = Object.fromEntries(kinds.map((k) => [k, `bench-starts-${k}-${tag}`]));
  const worker = await startWorkerProcess(
    {
      address: bench.server.address,
      namespace: bench.server.namespace,
      dataDir: join(bench.dir, 'data'),
      queues: kinds.map((k) => ({
        taskQueue: queues[k] as string,
        bundlePath: bundles[k] as string,
        kind: 'lead' as const,
        ...(codecOf(k) ? { codecKeys: CODEC_KEYS } : {}),
      })),
    },
    { log },
  );
  cleanups.push(worker.stop);
  const connection = await Connection.connect({ address: bench.server.address });
  cleanups.push(() => connection.close());
  const clients: Record<Kind, Client> = {};
  for (const k of kinds) clients[k] = await clientFor(connection, bench.server.namespace, codecOf(k));
  const { startsLeads: leads, startsConcurrency: concurrency, startsRounds: rounds } = options;
  // A variant checkout's own client (src/client/ beside its src/workflows/), where it has one.
  const clientModules: Record<Kind, string> = {};
  for (const v of options.variants) {
    const module = resolve(dirname(v.workflows), '../client/index.ts');
    if (existsSync(module)) clientModules[v.name] = module;
  }
  const results = await runStarts({ clients, queues, tag, log }, kinds, {
    leads,
    concurrency,
    rounds,
    clientModules,
  });
  await worker.stop();
  return results;
}

/** The import phase: a generated HubSpot export through the runner, against a dev server and a worker process. */
async function importPhase(binary: string, bundles: Record<Kind, string>): Promise<ImportBenchResults> {
  const bench: BenchServer = await startBenchServer(binary, log);
  cleanups.push(bench.stop);
  const taskQueue = `bench-import-${Date.now().toString(36)}`;
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
  const results = await runImportBench(
    client,
    taskQueue,
    { rows: options.importRows, concurrency: options.scaleConcurrency, dir: join(bench.dir, 'import') },
    log,
  );
  await worker.stop();
  return results;
}

async function main(): Promise<void> {
  const binary = await findTemporalBinary('temporal');
  const env: Environment = await environment(binary);
  log(`${env.cpuModel}, ${env.cores} cores, ${env.memoryGiB} GiB, Node ${env.node}, ${env.temporalCli}`);

  const work = await mkdtemp(join(tmpdir(), 'leadcycle-bench-run-'));
  cleanups.push(() => rm(work, { recursive: true, force: true }));

  const needBundles = options.phases.some((p) => p !== 'machine' && p !== 'backtest');
  const bundles: Record<Kind, string> = {};
  if (needBundles) {
    const sources: Array<{ kind: Kind; workflows: string; preload: string[] }> = [
      // As the worker bundles it (src/worker.ts); `--preload none` measures the bundle without.
      { kind: 'lead', workflows: options.workflows, preload: leadPreload() },
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

  const results: BenchResults = {};
  if (options.phases.includes('machine')) {
    log('machine: pure transitions in this process');
    results.machine = runMachine(options.machineMs);
  }
  if (options.phases.includes('backtest') && !options.profile) {
    const dataDir = resolve('.leadcycle', `bench-backtest-${options.backtestLeads}`);
    results.backtest = await runBacktest(
      {
        leads: options.backtestLeads,
        dataDir,
        ...(options.backtestThreads === null ? {} : { threads: options.backtestThreads }),
        oneThread: options.backtestOneThread,
      },
      log,
    );
  }
  if (options.phases.includes('engine')) {
    results.engine = await phase(() => engine(binary, bundles));
  }
  if (options.phases.includes('history') && !options.profile) {
    const testServer = await findTemporalBinary('temporal-test-server');
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
  if (options.phases.includes('import') && !options.profile) {
    results.import = await phase(() => importPhase(binary, bundles));
  }
  if (options.phases.includes('starts') && !options.profile) {
    results.starts = await phase(() => starts(binary, bundles));
  }

  const table = resultRows(results);
  printReport(env, results, table, output.markdown);

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
    await writeFile(output.file, `${JSON.stringify(out, null, 2)}\n`);
    log(`wrote ${output.file}`);
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
