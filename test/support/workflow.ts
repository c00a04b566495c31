import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, inject } from 'vitest';
import { activitiesFromEnv } from '../../src/activities/index.js';
import { LeadClient, type LeadClientOptions } from '../../src/client/index.js';
import { loadDataConverter } from '../../src/codec/keys.js';
import { createLeadWorker } from '../../src/worker.js';
import { createDevServerEnv } from './temporal.js';

let queues = 0;

export interface LeadHarness {
  client: LeadClient;
  worker: Worker;
  dataDir: string;
  taskQueue: string;
  /** Runs `fn`, failing fast if the worker dies meanwhile. */
  run<T>(fn: () => Promise<T>): Promise<T>;
  /** Drains the worker and closes the activities. */
  close(): Promise<void>;
}

/**
 * A real worker on its own task queue, with the real default activities writing to a fresh data
 * directory (outbox, stage changes), and a typed client for the same queue.
 */
export async function leadHarness(
  env: TestWorkflowEnvironment,
  { encrypted = false, ...options }: Omit<LeadClientOptions, 'taskQueue'> & { encrypted?: boolean } = {},
): Promise<LeadHarness> {
  const dataDir = await mkdtemp(join(tmpdir(), 'leadcycle-data-'));
  const taskQueue = `test-${process.pid}-${++queues}-${Date.now()}`;
  const effects = activitiesFromEnv({ LEADCYCLE_DATA_DIR: dataDir });
  // Encrypted: the worker and the client use the payload codec with a key made in the data dir,
  // exactly as the entry points do.
  const dataConverter = encrypted
    ? (await loadDataConverter({ LEADCYCLE_DATA_DIR: dataDir })).dataConverter
    : undefined;
  const worker = await createLeadWorker({
    connection: env.nativeConnection,
    namespace: env.namespace ?? 'default',
    taskQueue,
    activities: effects.activities,
    workflowBundle: { codePath: inject('workflowBundlePath') },
    ...(dataConverter ? { dataConverter } : {}),
  });
  const temporal = dataConverter
    ? new Client({ connection: env.connection, namespace: env.namespace ?? 'default', dataConverter })
    : env.client;
  const client = new LeadClient(temporal, { ...options, taskQueue });
  // One worker for the whole file: it polls in the background until close().
  const running = worker.run();
  const died = running.then(() => {
    throw new Error('the worker stopped');
  });
  died.catch(() => {}); // observed through run()
  return {
    client,
    worker,
    dataDir,
    taskQueue,
    run: (fn) => Promise.race([fn(), died]),
    close: async () => {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running;
      await effects.close();
    },
  };
}

/** Polls until `check` passes or the time runs out (visibility is eventually consistent). */
export async function eventually<T>(check: () => Promise<T>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

/**
 * A test file's dev-server environment and lead harness, made before its tests and closed after
 * them: read `.env` and `.h` inside tests and hooks.
 */
export function devServerLeads(options: Parameters<typeof leadHarness>[1] = {}): {
  readonly env: TestWorkflowEnvironment;
  readonly h: LeadHarness;
} {
  let env: TestWorkflowEnvironment | undefined;
  let h: LeadHarness | undefined;
  beforeAll(async () => {
    env = await createDevServerEnv();
    h = await leadHarness(env, options);
  });
  afterAll(async () => {
    await h?.close();
    await env?.teardown();
  });
  const made = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('devServerLeads: used outside a test');
    return value;
  };
  return {
    get env() {
      return made(env);
    },
    get h() {
      return made(h);
    },
  };
}
