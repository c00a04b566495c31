import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type OutboxRecord, readOutbox } from '../../src/activities/index.js';
import type { AnalyticsStore } from '../../src/analytics/index.js';
import { Analytics, openAnalyticsStore, openStore } from '../../src/analytics/index.js';
import { LeadClient } from '../../src/client/index.js';
import { workflowIdOf } from '../../src/client/lead-key.js';
import { loadDataConverter } from '../../src/codec/keys.js';
import { resolveDataDir } from '../../src/paths.js';
import { type RunningCluster, startCluster } from '../../src/temporal/cluster.js';
import { burst, expectEffectsOnce, expectPureMachine, type LeadView } from '../support/crash.js';
import {
  type ApiProcess,
  startApiProcess,
  startWorkerProcess,
  type WorkerProcess,
} from '../support/processes.js';
import { eventually } from '../support/workflow.js';

/**
 * The production topology without Docker: a Temporal cluster on PostgreSQL with SQL visibility
 * (src/temporal/cluster.ts), two workers and two APIs (the real entry points, processes of their
 * own). Leads are driven through both APIs while one worker and one API die by SIGKILL and
 * PostgreSQL is killed and started again; afterwards every lead equals the pure machine, no effect
 * happened twice, visibility lists every lead in its stage, and the reports the PostgreSQL analytics
 * store computes in SQL equal those the SQLite store gives for the same stage changes.
 * LEADCYCLE_CLUSTER_LEADS sets the count.
 */
const LEADS = Number(process.env.LEADCYCLE_CLUSTER_LEADS ?? 500);
const CONCURRENCY = 20;
const API_KEY = 'cluster-test-key-0123456789abcdef';

let cluster: RunningCluster;
let clusterDir: string | undefined;
let dataDir: string;
/** Each worker's data dir, as on a host of its own: the local outbox is idempotent within one process. */
let workerDirs: string[] = [];
let env: Record<string, string>;
let connection: Connection;
let temporal: Client;
let leads: LeadClient;
const workers: (WorkerProcess | undefined)[] = [];
const apis: (ApiProcess | undefined)[] = [];

beforeAll(async () => {
  clusterDir = await mkdtemp(join(tmpdir(), 'leadcycle-cluster-'));
  // The server is built once into the project's tools dir: a cold `go install` takes ~8 minutes on 2 cores.
  cluster = await startCluster({
    dataDir: clusterDir,
    toolsDir: join(resolveDataDir(), 'tools'),
    durable: false,
    log: () => {},
  });
  dataDir = await mkdtemp(join(tmpdir(), 'leadcycle-cluster-data-'));
  workerDirs = [
    await mkdtemp(join(tmpdir(), 'leadcycle-cluster-w0-')),
    await mkdtemp(join(tmpdir(), 'leadcycle-cluster-w1-')),
  ];
  // The analytics store every worker and API shares: a database of its own beside Temporal's.
  await cluster.postgres.createDatabase('analytics');
  env = {
    LEADCYCLE_DATABASE_URL: cluster.postgres.urlOf('analytics'),
    TEMPORAL_ADDRESS: cluster.address,
    LEADCYCLE_TASK_QUEUE: `cluster-${Date.now()}`,
    LEADCYCLE_DATA_DIR: dataDir,
    // Shared by every process, as README says for hosts of their own (a key file is one host's).
    LEADCYCLE_CODEC_KEYS: `main:${randomBytes(32).toString('base64')}`,
    LEADCYCLE_UNSUBSCRIBE_SECRET: 'cluster-unsubscribe-secret-0123456789',
    LEADCYCLE_API_KEYS: API_KEY,
    LEADCYCLE_API_TEMPORAL_TIMEOUT_MS: '5000',
  };
  const started = await Promise.all([
    startWorkerProcess(workerEnv(0)),
    startWorkerProcess(workerEnv(1)),
    startApiProcess(env),
    startApiProcess(env),
  ]);
  workers.push(started[0], started[1]);
  apis.push(started[2] as ApiProcess, started[3] as ApiProcess);
  connection = await Connection.connect({ address: cluster.address });
  const { dataConverter } = await loadDataConverter(env);
  temporal = new Client({ connection, dataConverter });
  leads = new LeadClient(temporal, { taskQueue: env.LEADCYCLE_TASK_QUEUE });
}, 900_000);

afterAll(async () => {
  for (const p of [...workers, ...apis]) p?.child.kill('SIGKILL');
  await connection?.close();
  await cluster?.stop();
  for (const dir of [clusterDir, dataDir, ...workerDirs]) {
    if (dir) await rm(dir, { recursive: true, force: true });
  }
});

const workerEnv = (i: number) => ({ ...env, LEADCYCLE_DATA_DIR: workerDirs[i] as string });

/**
 * What the two workers delivered. Within one worker's outbox a key is never written twice; across
 * them a delivery cut short on the killed worker and retried on the other is the same key twice, which
 * the far side drops (SMTP's Message-ID and the CRM's Idempotency-Key derive from it): counted once.
 */
async function deliveries(): Promise<OutboxRecord[]> {
  const byKey = new Map<string, OutboxRecord>();
  for (const dir of workerDirs) {
    const records = await readOutbox(dir);
    expect(new Set(records.map((r) => r.key)).size, `keys in ${dir}`).toBe(records.length);
    for (const r of records) if (!byKey.has(r.key)) byKey.set(r.key, r);
  }
  return [...byKey.values()];
}

/**
 * POSTs with an Idempotency-Key until one API answers 200, starting with API `first` and turning to
 * the other after a failure: a dead API, a 503 while PostgreSQL or a worker is away.
 */
async function post(first: number, path: string, body: unknown, key: string): Promise<void> {
  const deadline = Date.now() + 120_000;
  for (let attempt = 0; ; attempt++) {
    const api = apis[(first + attempt) % 2];
    let failure = 'no API';
    if (api) {
      try {
        const response = await fetch(`${api.url}${path}`, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            authorization: `Bearer ${API_KEY}`,
            'idempotency-key': key,
          },
          body: JSON.stringify(body),
        });
        const text = await response.text();
        if (response.status === 200) return;
        failure = `${response.status} ${text}`;
        // Only unavailability is retried: a 4xx is a bug the test must show.
        if (response.status < 500) throw new Error(`${path} ${key}: ${failure}`);
      } catch (err) {
        if (err instanceof Error && err.message.startsWith(path)) throw err;
        failure = String(err);
      }
    }
    if (Date.now() > deadline) throw new Error(`${path} ${key}: still failing: ${failure}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe('a Temporal cluster on PostgreSQL, two workers, two APIs', () => {
  it(`${LEADS} leads through both APIs while a worker and an API die by SIGKILL and PostgreSQL restarts`, async () => {
    const started = Date.now();
    const tenant = `cluster-${Date.now()}`;
    const refs = Array.from({ length: LEADS }, (_, i) => ({ tenant, email: `lead${i}@cluster.example` }));
    const total = refs.length * burst('').length;
    let sent = 0;
    const faults: Promise<void>[] = [];
    const faultLog: string[] = [];
    const fault = (name: string, act: () => Promise<void>) => {
      faultLog.push(`${name} after ${sent} of ${total}`);
      faults.push(act());
    };

    let next = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        for (let i = next++; i < refs.length; i = next++) {
          const ref = refs[i] as (typeof refs)[number];
          for (const [n, command] of burst(ref.email).entries()) {
            // Captures and commands alternate across the two APIs.
            await post(
              (i + n) % 2,
              n === 0 ? '/v1/leads/capture' : '/v1/leads/commands',
              { lead: ref, command },
              `${ref.email}-${n}`,
            );
            sent++;
            if (sent === Math.floor(total / 4)) {
              fault('worker 0 SIGKILL', async () => {
                workers[0]?.child.kill('SIGKILL');
                await workers[0]?.exited;
                workers[0] = await startWorkerProcess(workerEnv(0));
              });
            }
            if (sent === Math.floor(total / 2)) {
              fault('API 0 SIGKILL', async () => {
                const api = apis[0];
                apis[0] = undefined;
                api?.child.kill('SIGKILL');
                await api?.exited;
                apis[0] = await startApiProcess(env);
              });
            }
            if (sent === Math.floor((total * 3) / 4)) {
              fault('PostgreSQL SIGKILL and start', async () => {
                await cluster.postgres.kill();
                await cluster.postgres.start();
              });
            }
          }
        }
      }),
    );
    await Promise.all(faults);
    expect(faultLog).toHaveLength(3);
    const driven = Date.now() - started;

    // Queried a few at a time, as a dashboard would.
    const views: LeadView[] = [];
    for (let i = 0; i < refs.length; i += CONCURRENCY) {
      // A query can time out on a loaded box (or wait out the dead worker's sticky queue): asked again.
      const chunk = refs.slice(i, i + CONCURRENCY);
      views.push(...(await eventually(() => Promise.all(chunk.map((ref) => leads.get(ref))), 60_000)));
    }
    expect(views).toHaveLength(LEADS);
    expectPureMachine(views);
    // An activity a crash cut short records its effect when retried: eventually, and still once.
    const analytics = openStore(dataDir, { LEADCYCLE_DATABASE_URL: env.LEADCYCLE_DATABASE_URL });
    try {
      await eventually(
        async () => expectEffectsOnce(views, await analytics.stageChanges(), await deliveries()),
        90_000,
      );
      await expectSameReports(analytics);
    } finally {
      await analytics.close();
    }

    // SQL visibility lists every lead in its stage (it is updated asynchronously: eventually).
    const stage = views[0]?.stage;
    const expected = new Set(refs.map((ref) => workflowIdOf(LeadClient.keyOf(ref).leadKey)));
    await eventually(async () => {
      const listed = new Set<string>();
      for await (const wf of temporal.workflow.list({
        query: `TaskQueue = "${env.LEADCYCLE_TASK_QUEUE}" AND LeadStage = "${stage}"`,
      })) {
        listed.add(wf.workflowId);
      }
      expect(listed).toEqual(expected);
    }, 60_000);
    // Reports through either API agree: both read the one PostgreSQL store.
    const at = new Date().toISOString();
    const [first, second] = await Promise.all(
      apis.map(async (api) => {
        const get = async (path: string) => {
          const response = await fetch(`${api?.url}${path}`, {
            headers: { authorization: `Bearer ${API_KEY}` },
          });
          expect(response.status, path).toBe(200);
          return (await response.json()) as { total?: number };
        };
        return {
          stages: await get(`/v1/reports/stages?at=${at}&tenant=${tenant}`),
          conversion: await get(`/v1/reports/conversion?asOf=${at}&tenant=${tenant}`),
        };
      }),
    );
    expect(first?.stages.total).toBe(LEADS);
    expect(second).toEqual(first);

    console.log(
      `cluster: ${LEADS} leads (${total} API calls) driven in ${driven} ms, verified in ${Date.now() - started - driven} ms; ${faultLog.join('; ')}`,
    );
  }, 600_000);
});

/** Every report from the PostgreSQL store (in SQL) equals the SQLite store's for the same stage changes. */
async function expectSameReports(postgres: AnalyticsStore): Promise<void> {
  const rows = await postgres.stageChanges();
  expect(rows.length).toBeGreaterThanOrEqual(LEADS);
  const sqliteDir = await mkdtemp(join(tmpdir(), 'leadcycle-cluster-sqlite-'));
  const sqlite = openAnalyticsStore(sqliteDir);
  try {
    expect(await sqlite.recordStageChanges(rows)).toEqual({ recorded: rows.length });
    const asOf = Math.max(...rows.map((r) => r.at)) + 60_000;
    const period = { from: asOf - 86_400_000, to: asOf };
    const reports = async (store: AnalyticsStore) => {
      const a = new Analytics(store, () => asOf);
      return {
        stages: await a.stages(),
        conversion: await a.conversion(period),
        velocity: await a.velocity(),
        sla: await a.sla(),
        cohorts: await a.cohorts(),
        forecast: await a.forecast(),
      };
    };
    const fromPostgres = await reports(postgres);
    expect(fromPostgres.stages.total).toBe(LEADS);
    expect(fromPostgres).toEqual(await reports(sqlite));
  } finally {
    await sqlite.close();
    await rm(sqliteDir, { recursive: true, force: true });
  }
}
