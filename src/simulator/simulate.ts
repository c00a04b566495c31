/**
 * `simulate()`: one journey through the real lead workflow (bundled from src/workflows) and the real
 * activities (over a throwaway sandbox), on a private time-skipping test server started for the run:
 * a year of cadence takes seconds, and no lead of it ever exists on the deployment's Temporal.
 */
import { Client, Connection } from '@temporalio/client';
import { InternalConnectionOptionsSymbol } from '@temporalio/client/lib/connection.js';
import { bundleWorkflowCode, NativeConnection, type WorkerOptions } from '@temporalio/worker';
import { issuesOf } from '../errors.js';
import { type LeadcycleConfigInput, LeadcycleConfigSchema } from '../machines/index.js';
import { startTimeSkippingServer } from '../temporal/server.js';
import { createLeadWorker, PRELOAD_MODULES, WORKFLOWS_PATH } from '../worker.js';
import { timeSkippingClock } from './clock.js';
import { DEFAULT_SIMULATION_DAYS, eventsInOrder, type Journey, JourneyError, leadOf } from './journey.js';
import { playJourney } from './play.js';
import { EffectRecorder } from './recorder.js';
import type { SimulationResult } from './result.js';
import { openSandbox } from './sandbox.js';

export const SIMULATION_TASK_QUEUE = 'leadcycle-simulation';

export interface SimulateOptions {
  journey: Journey & { rawConfig?: unknown };
  /** What-if overrides on top of the journey's own config. */
  config?: LeadcycleConfigInput;
  /** Default: the journey's `days`, else 365. */
  days?: number;
  /** A prebuilt bundle (tests build one per run); default: built once per process. */
  workflowBundle?: WorkerOptions['workflowBundle'];
  /** Where the journey came from, for errors. */
  source?: string;
}

let bundled: Promise<{ code: string }> | undefined;

/** The lead workflow bundled once per process (a few seconds), then reused by every simulation. */
export function simulatorBundle(): Promise<{ code: string }> {
  bundled ??= bundleWorkflowCode({
    workflowsPath: WORKFLOWS_PATH,
    preloadModules: PRELOAD_MODULES,
    logger: quietLogger,
  }).then(({ code }) => ({
    code,
  }));
  bundled.catch(() => {
    bundled = undefined;
  });
  return bundled;
}

/** The journey's config with the what-if file's fields over it, checked as a whole. */
export function simulationConfig(journey: SimulateOptions['journey'], whatIf: LeadcycleConfigInput = {}) {
  const config = { ...((journey.rawConfig as LeadcycleConfigInput | undefined) ?? {}), ...whatIf };
  const parsed = LeadcycleConfigSchema.safeParse(config);
  if (!parsed.success)
    throw new JourneyError(
      'config',
      issuesOf(parsed.error).map((i) => ({ ...i, path: ['config', ...i.path] })),
    );
  return config;
}

/** The simulation's days, events in order and config, checked (JourneyError) before anything starts. */
export function checkSimulation(options: SimulateOptions) {
  const { journey } = options;
  const days = options.days ?? journey.days ?? DEFAULT_SIMULATION_DAYS;
  const events = eventsInOrder(journey, days, options.source);
  const config = simulationConfig(journey, options.config);
  return { days, events, config };
}

export async function simulate(options: SimulateOptions): Promise<SimulationResult> {
  const { journey } = options;
  const { days, events, config } = checkSimulation(options);
  const workflowBundle = options.workflowBundle ?? (await simulatorBundle());

  const server = await startTimeSkippingServer({ log: () => {} });
  const cleanup: Array<() => Promise<unknown>> = [() => server.stop()];
  try {
    const connectionOptions = {
      address: server.address,
      [InternalConnectionOptionsSymbol]: { supportsTestService: true },
    };
    const connection = await Connection.connect(connectionOptions);
    cleanup.unshift(() => connection.close());
    const native = await NativeConnection.connect({ address: server.address });
    cleanup.unshift(() => native.close());
    const sandbox = await openSandbox();
    cleanup.unshift(() => sandbox.close());
    const recorder = new EffectRecorder();
    const worker = await createLeadWorker({
      connection: native,
      taskQueue: SIMULATION_TASK_QUEUE,
      activities: recorder.wrap(sandbox.activities),
      workflowBundle,
      shutdownGraceTime: '1 second',
      maxCachedWorkflows: 10,
    });
    return await worker.runUntil(
      playJourney({
        temporal: new Client({ connection }),
        taskQueue: SIMULATION_TASK_QUEUE,
        clock: timeSkippingClock(connection),
        sandbox,
        recorder,
        events,
        days,
        name: journey.name ?? null,
        lead: leadOf(journey),
        config,
      }),
    );
  } finally {
    for (const step of cleanup) await step().catch(() => {});
  }
}

const quietLogger = {
  log: () => {},
  trace: () => {},
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: (message: string) => console.error(message),
};
