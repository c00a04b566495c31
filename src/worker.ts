/**
 * The worker: runs lead workflows and their activities. `npx tsx src/worker.ts` (or `node
 * dist/worker.js`) connects where the Temporal connection settings say (src/temporal/connection.ts;
 * default 127.0.0.1:7233); SIGINT or SIGTERM drain it gracefully. Apps start one in their own
 * process with `startLeadWorker` (`leadcycle/worker`).
 */
import { fileURLToPath } from 'node:url';
import { getHeapStatistics } from 'node:v8';
import { NativeConnection, Runtime, Worker, type WorkerOptions } from '@temporalio/worker';
import { activitiesFromEnv, type LeadActivities } from './activities/index.js';
import { keepOutboxRetention } from './activities/outbox-retention.js';
import type { ServedAnalyticsStore } from './analytics/open.js';
import { DEFAULT_TASK_QUEUE } from './client/lead-client.js';
import { loadLeadIds } from './client/lead-ids.js';
import { useLeadIds } from './client/lead-key.js';
import { loadDataConverter } from './codec/keys.js';
import { LeadcycleError } from './errors.js';
import { readSettings, type Settings } from './settings.js';
import { nativeConnectionOptions, readTemporalConnectionSettings } from './temporal/connection.js';

export const WORKFLOWS_PATH = fileURLToPath(new URL('./workflows/index.ts', import.meta.url));
/** The workflow bundle `npm run build` writes beside the compiled worker (dist/). */
export const WORKFLOW_BUNDLE_FILE = 'workflow-bundle.js';
/** Running from the TypeScript sources (tsx, vitest) rather than from dist/. */
const FROM_SOURCE = import.meta.url.endsWith('.ts');

/**
 * Modules every workflow bundle preloads (bundleWorkflowCode's `preloadModules`): evaluated once per
 * worker thread instead of once per cached lead (src/machines/shared-modules.ts says why it is safe).
 */
export const PRELOAD_MODULES = [
  fileURLToPath(new URL(`./machines/shared-modules.${FROM_SOURCE ? 'ts' : 'js'}`, import.meta.url)),
];

/** Built: the bundle shipped in dist/. From the sources: webpack bundles them at start (seconds). */
function defaultWorkflows(): Pick<WorkerOptions, 'workflowBundle' | 'workflowsPath' | 'bundlerOptions'> {
  if (FROM_SOURCE)
    return { workflowsPath: WORKFLOWS_PATH, bundlerOptions: { preloadModules: PRELOAD_MODULES } };
  return {
    workflowBundle: { codePath: fileURLToPath(new URL(`./${WORKFLOW_BUNDLE_FILE}`, import.meta.url)) },
  };
}

export interface LeadWorkerOptions {
  connection: NativeConnection;
  namespace?: string;
  taskQueue?: string;
  activities: LeadActivities;
  /** A prebuilt bundle (tests build one per run); default: dist's bundle, or bundled from the sources. */
  workflowBundle?: WorkerOptions['workflowBundle'];
  /** The payload codec (src/codec/): clients and workers must agree on it. */
  dataConverter?: WorkerOptions['dataConverter'];
  shutdownGraceTime?: WorkerOptions['shutdownGraceTime'];
  /** Workflows kept in memory between tasks; default: see defaultMaxCachedWorkflows. */
  maxCachedWorkflows?: number;
}

/**
 * Heap a cached lead is budgeted: measured 0.18–0.30 MiB (`npm run bench -- --phases scale`: the
 * workflows' thread after a GC, per cached lead) once zod, xstate and the machine's modules are shared
 * by the thread's workflows (PRELOAD_MODULES), about 0.1 MiB since they share one lead cycle per
 * config too (sharedLeadCycle). Measured on leads a minute old: the rest is room for engaged leads'
 * larger state.
 */
export const CACHED_LEAD_HEAP_MIB = 0.5;

/**
 * Half the heap at CACHED_LEAD_HEAP_MIB a lead (the workflows' thread has a heap limit of its own,
 * the same default as this one's); an evicted lead is replayed from history when it wakes.
 * LEADCYCLE_MAX_CACHED_WORKFLOWS overrides it.
 */
export function defaultMaxCachedWorkflows(
  configured = readSettings().LEADCYCLE_MAX_CACHED_WORKFLOWS,
  heapBytes = getHeapStatistics().heap_size_limit,
): number {
  if (configured !== undefined) return configured;
  return Math.max(50, Math.floor(heapBytes / 2 / (CACHED_LEAD_HEAP_MIB * 1024 * 1024)));
}

/**
 * Installs the SDK's runtime once per process: with LEADCYCLE_METRICS_ADDRESS (host:port), a
 * Prometheus endpoint at /metrics with the SDK's metrics and the lead workflows' own counters.
 */
export function installRuntime(metricsAddress = readSettings().LEADCYCLE_METRICS_ADDRESS): void {
  Runtime.install({
    ...(metricsAddress
      ? { telemetryOptions: { metrics: { prometheus: { bindAddress: metricsAddress } } } }
      : {}),
  });
}

export function createLeadWorker(options: LeadWorkerOptions): Promise<Worker> {
  return Worker.create({
    connection: options.connection,
    namespace: options.namespace ?? 'default',
    taskQueue: options.taskQueue ?? DEFAULT_TASK_QUEUE,
    activities: options.activities,
    // On SIGTERM, in-flight activities get this long to finish before they are cancelled (and retried
    // by the next worker): a deploy should not cut an email or a CRM call in half.
    shutdownGraceTime: options.shutdownGraceTime ?? '30 seconds',
    maxCachedWorkflows: options.maxCachedWorkflows ?? defaultMaxCachedWorkflows(),
    ...(options.dataConverter ? { dataConverter: options.dataConverter } : {}),
    ...(options.workflowBundle ? { workflowBundle: options.workflowBundle } : defaultWorkflows()),
  });
}

/**
 * `leadcycle_analytics_store_up` on the worker's metrics: 0 while the store is degraded (its writes
 * are spooled, reports are behind), 1 once it is up again.
 */
export function watchAnalyticsStore(store: ServedAnalyticsStore): void {
  const gauge = Runtime.instance().metricMeter.createGauge(
    'leadcycle_analytics_store_up',
    'int',
    '',
    '1 when the analytics store takes writes, 0 when degraded',
  );
  store.watch((health) => gauge.set(health.status === 'up' ? 1 : 0));
}

export interface RunningLeadWorker {
  worker: Worker;
  /** Where it polls, and where its keys came from (for a start-up line). */
  describe(): string;
  /** Resolves once the worker has drained (shutdown(), or SIGINT/SIGTERM) and its store and connection are closed. */
  done: Promise<void>;
  /** Drains in-flight tasks, then closes; resolves with `done`. */
  shutdown(): Promise<void>;
}

/**
 * Starts a lead worker in this process, configured as `npm run worker` is (the Temporal connection
 * settings, LEADCYCLE_TASK_QUEUE, the codec keys, the data dir's effects). It polls at
 * once. For the metrics endpoint call installRuntime() before anything connects to Temporal.
 */
export async function startLeadWorker(
  settings: Settings = readSettings(),
  temporal = readTemporalConnectionSettings(),
): Promise<RunningLeadWorker> {
  // Before the activities: they name merged leads and hash suppressed addresses with it.
  const leadIds = await loadLeadIds();
  useLeadIds(leadIds.ids);
  const options = nativeConnectionOptions(temporal);
  const { namespace } = temporal;
  const connection = await NativeConnection.connect(options);
  const effects = activitiesFromEnv();
  watchAnalyticsStore(effects.analytics);
  const retention = await keepOutboxRetention(effects.outbox, {
    days: settings.LEADCYCLE_OUTBOX_RETENTION_DAYS,
    log: console.log,
  });
  const { dataConverter, source } = await loadDataConverter();
  const worker = await createLeadWorker({
    connection,
    namespace,
    dataConverter,
    activities: effects.activities,
    taskQueue: settings.LEADCYCLE_TASK_QUEUE ?? DEFAULT_TASK_QUEUE,
    maxCachedWorkflows: defaultMaxCachedWorkflows(settings.LEADCYCLE_MAX_CACHED_WORKFLOWS),
  });
  const done = worker.run().finally(async () => {
    retention.stop();
    await effects.close();
    await connection.close();
  });
  return {
    worker,
    done,
    describe: () =>
      `leadcycle worker on ${options.address}/${namespace} (${temporal.source}), task queue ${worker.options.taskQueue}; ${effects.describe()}\n` +
      `payloads encrypted with the codec keys from ${source}; lead ids keyed from ${leadIds.source}`,
    shutdown: async () => {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await done;
    },
  };
}

/** Runs a worker against the configured Temporal until SIGINT/SIGTERM. */
export async function runWorker(
  settings: Settings = readSettings(),
  temporal = readTemporalConnectionSettings(),
): Promise<void> {
  const metricsAddress = settings.LEADCYCLE_METRICS_ADDRESS;
  installRuntime(metricsAddress);
  const running = await startLeadWorker(settings, temporal);
  console.log(running.describe());
  if (metricsAddress) console.log(`metrics: http://${metricsAddress}/metrics`);
  // Worker.run resolves once SIGINT/SIGTERM (installed by the SDK's Runtime) has drained in-flight tasks.
  await running.done;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  runWorker().catch((err) => {
    // A bad setting (a variable, a profile, a TLS file) is the operator's to fix: its message says which.
    console.error(err instanceof LeadcycleError ? err.message : err);
    process.exit(1);
  });
}
