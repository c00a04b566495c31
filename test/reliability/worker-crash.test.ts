import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readOutbox } from '../../src/activities/index.js';
import { readStageChanges } from '../../src/analytics/index.js';
import { LeadClient } from '../../src/client/index.js';
import { loadDataConverter } from '../../src/codec/keys.js';
import { burst, expectEffectsOnce, expectPureMachine } from '../support/crash.js';
import { startWorkerProcess, type WorkerProcess } from '../support/processes.js';
import { devServer } from '../support/temporal.js';
import { eventually } from '../support/workflow.js';

/**
 * A worker killed with SIGKILL in the middle of a burst, then started again: nothing is lost and
 * nothing happens twice. LEADCYCLE_CRASH_LEADS sets the number of leads (default 1,000).
 */
const LEADS = Number(process.env.LEADCYCLE_CRASH_LEADS ?? 1000);
const CONCURRENCY = 40;

let dataDir: string;
let env: Record<string, string>;
let connection: Connection;
let leads: LeadClient;
let worker: WorkerProcess | undefined;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'leadcycle-crash-'));
  env = {
    TEMPORAL_ADDRESS: devServer().address,
    LEADCYCLE_TASK_QUEUE: `crash-${Date.now()}`,
    LEADCYCLE_DATA_DIR: dataDir,
  };
  connection = await Connection.connect({ address: devServer().address });
  const { dataConverter } = await loadDataConverter(env);
  leads = new LeadClient(new Client({ connection, dataConverter }), { taskQueue: env.LEADCYCLE_TASK_QUEUE });
});
afterAll(async () => {
  worker?.child.kill('SIGKILL');
  await connection?.close();
});

describe('worker crash', () => {
  it(`while ${LEADS} leads receive a burst, kill -9 the worker and start it again: nothing lost, nothing twice`, async () => {
    worker = await startWorkerProcess(env);
    const tenant = `crash-${Date.now()}`;
    const refs = Array.from({ length: LEADS }, (_, i) => ({ tenant, email: `lead${i}@crash.example` }));
    const total = refs.length * burst('').length;
    let sent = 0;
    let killedAt = -1;

    const crash = async () => {
      killedAt = sent;
      worker?.child.kill('SIGKILL');
      await worker?.exited;
      worker = await startWorkerProcess(env);
    };

    let next = 0;
    let crashing: Promise<void> | null = null;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        for (let i = next++; i < refs.length; i = next++) {
          const ref = refs[i] as (typeof refs)[number];
          for (const [n, command] of burst(ref.email).entries()) {
            await (n === 0 ? leads.capture(ref, command) : leads.send(ref, command));
            sent++;
            if (sent === Math.floor(total / 3)) crashing = crash();
          }
        }
      }),
    );
    await crashing;
    expect(killedAt).toBeGreaterThan(0);
    expect(worker?.output()).toContain('leadcycle worker on'); // the second worker is up

    // Queried a few at a time, as a dashboard would: the worker caches only part of 1,000 leads
    // (maxCachedWorkflows), and a thousand replays at once would outlast the server's query timeout.
    const views: Awaited<ReturnType<typeof leads.get>>[] = [];
    for (let i = 0; i < refs.length; i += CONCURRENCY) {
      views.push(...(await Promise.all(refs.slice(i, i + CONCURRENCY).map((ref) => leads.get(ref)))));
    }
    // Every lead's state equals what the pure machine gives for its events; no effect twice.
    expectPureMachine(views);
    // An activity the killed worker held is retried once its start-to-close timeout (1 minute) has
    // passed, and records its effect then: eventually, and still once (as test/cluster/ checks it).
    await eventually(
      async () => expectEffectsOnce(views, await readStageChanges(dataDir), await readOutbox(dataDir)),
      90_000,
    );
  }, 900_000);
});
