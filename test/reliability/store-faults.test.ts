import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { afterAll, describe, expect, it } from 'vitest';
import { readOutbox } from '../../src/activities/index.js';
import { readStageChanges } from '../../src/analytics/index.js';
import { LeadClient } from '../../src/client/index.js';
import { workflowIdOf } from '../../src/client/lead-key.js';
import { loadDataConverter } from '../../src/codec/keys.js';
import { getFreePort } from '../../src/temporal/server.js';
import { FIT } from '../support/lead.js';
import { startWorkerProcess, type WorkerProcess } from '../support/processes.js';
import { devServer } from '../support/temporal.js';

/**
 * One store fault never stops the engine. Real processes throughout: the worker (src/worker.ts) and
 * the API (src/api/main.ts) as they run in production, a real Temporal server, and for the lock a
 * third process holding `BEGIN EXCLUSIVE` on the analytics database. Only public entry points are
 * used (HTTP, the files in the data dir), so the same test runs against older code.
 */

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const API_KEY = 'store-faults-key-0123456789';
/** How long the other process holds the write lock (the finding: 45 s). */
const LOCK_MS = Number(process.env.LEADCYCLE_TEST_LOCK_MS ?? 8_000);

const children: ChildProcess[] = [];
afterAll(() => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
});

interface Stack {
  dataDir: string;
  worker: WorkerProcess;
  api: { url: string; output: () => string };
  // biome-ignore lint/suspicious/noExplicitAny: test code reads arbitrary JSON answers
  call(method: string, path: string, body?: unknown): Promise<{ status: number; json: any; ms: number }>;
}

async function startStack(dataDir: string, extraEnv: Record<string, string> = {}): Promise<Stack> {
  const env = {
    TEMPORAL_ADDRESS: devServer().address,
    TEMPORAL_NAMESPACE: devServer().namespace,
    LEADCYCLE_TASK_QUEUE: `store-faults-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`,
    LEADCYCLE_DATA_DIR: dataDir,
    LEADCYCLE_ANALYTICS_RETRY_MS: '1000',
    ...extraEnv,
  };
  const worker = await startWorkerProcess(env, 120_000);
  children.push(worker.child);
  const port = await getFreePort();
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/api/main.ts'], {
    cwd: ROOT,
    env: { ...process.env, ...env, LEADCYCLE_API_KEYS: API_KEY, LEADCYCLE_API_PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let output = '';
  child.stdout?.on('data', (d) => {
    output += d;
  });
  child.stderr?.on('data', (d) => {
    output += d;
  });
  const deadline = Date.now() + 60_000;
  while (!output.includes('leadcycle API on')) {
    if (child.exitCode !== null) throw new Error(`API exited early:\n${output}`);
    if (Date.now() > deadline) throw new Error(`API not ready:\n${output}`);
    await sleep(100);
  }
  const url = `http://127.0.0.1:${port}`;
  return {
    dataDir,
    worker,
    api: { url, output: () => output },
    async call(method, path, body) {
      const started = Date.now();
      const response = await fetch(`${url}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${API_KEY}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? null : JSON.stringify(body),
      });
      const text = await response.text();
      let json: unknown = text;
      try {
        json = JSON.parse(text);
      } catch {}
      return { status: response.status, json, ms: Date.now() - started };
    },
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 90_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let failure: unknown;
  for (;;) {
    // A probe may meet the file mid-recreation (another process's migration holds its lock): retried.
    const value = await probe().catch((err: unknown) => {
      failure = err;
      return undefined;
    });
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`, { cause: failure });
    await sleep(250);
  }
}

/** To MQL: a CRM handoff and a nurture email on the way (as in worker-crash.test.ts). */
async function driveToMql(stack: Stack, lead: { tenant: string; email: string }): Promise<number[]> {
  const capture = await stack.call('POST', '/v1/leads/capture', {
    lead,
    command: {
      type: 'form.submitted',
      form: 'demo_request',
      consent: true,
      profile: { ...FIT, email: lead.email },
    },
  });
  expect(capture.status, JSON.stringify(capture.json)).toBe(200);
  const engaged = await stack.call('POST', '/v1/leads/commands', {
    lead,
    command: { type: 'engagement', kind: 'quote_request' },
  });
  expect(engaged.status, JSON.stringify(engaged.json)).toBe(200);
  expect(engaged.json.stage).toBe('mql');
  return [capture.ms, engaged.ms];
}

const leadKeyOf = (lead: { tenant: string; email: string }) => `${lead.tenant}:email:${lead.email}`;

/** The lead's deliveries in the outbox, once there are an email and a handoff. */
async function deliveries(dataDir: string, lead: { tenant: string; email: string }) {
  const mine = (await readOutbox(dataDir)).filter((r) => r.leadKey === leadKeyOf(lead));
  const crm = mine.filter((r) => r.kind === 'crm');
  const emails = mine.filter((r) => r.kind === 'email');
  return crm.length > 0 && emails.length > 0 ? { crm, emails } : undefined;
}

async function stagesOf(dataDir: string, lead: { tenant: string; email: string }) {
  const changes = await readStageChanges(dataDir);
  return changes.filter((c) => c.leadId === workflowIdOf(leadKeyOf(lead))).map((c) => c.to);
}

describe('store faults', () => {
  it('a corrupt analytics file: the worker and the API start, /readyz and the metric say degraded, reports 503; commands answer; the email and handoff leave once the file is restored, the stage changes follow', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'leadcycle-corrupt-db-'));
    await writeFile(join(dataDir, 'leadcycle.db'), 'this is not a SQLite database\n'.repeat(200));
    const metricsAddress = `127.0.0.1:${await getFreePort()}`;
    const stack = await startStack(dataDir, { LEADCYCLE_METRICS_ADDRESS: metricsAddress });
    expect(stack.worker.output()).toContain('analytics store degraded (corrupt)');
    const workerGauge = async () =>
      /^leadcycle_analytics_store_up(\{[^}]*\})? (\d)$/m.exec(
        await (await fetch(`http://${metricsAddress}/metrics`)).text(),
      )?.[2];
    expect(await workerGauge()).toBe('0');

    const ready = await stack.call('GET', '/readyz');
    expect(ready.status).toBe(200);
    expect(ready.json).toMatchObject({
      status: 'ready',
      temporal: 'reachable',
      analytics: { status: 'degraded', code: 'corrupt' },
    });
    const metrics = await stack.call('GET', '/metrics');
    expect(metrics.json).toMatch(/^leadcycle_analytics_store_up 0$/m);
    const report = await stack.call('GET', '/v1/reports/stages');
    expect(report.status).toBe(503);
    expect(report.json.code).toBe('analytics_store_corrupt');
    expect(report.json.detail).toContain('leadcycle.db');

    const lead = { tenant: `corrupt-${Date.now()}`, email: 'ada@corrupt.example' };
    await driveToMql(stack, lead);
    // The suppression list lives in the damaged file: no marketing email nor handoff leaves unchecked.
    await sleep(3_000);
    expect(await deliveries(dataDir, lead)).toBeUndefined();
    // The stage changes wait in the spool, not in a failing activity.
    expect(await readFile(join(dataDir, 'analytics-spool.jsonl'), 'utf8')).toContain('"stage_change"');

    // The operator restores the file (here: removes it; a backup would do the same).
    await rm(join(dataDir, 'leadcycle.db'), { force: true });
    const sent = await until('the email and the handoff', () => deliveries(dataDir, lead), 120_000);
    expect(sent.crm).toHaveLength(1);
    expect(new Set(sent.emails.map((r) => r.key)).size).toBe(sent.emails.length);
    // The spooled changes may land after the newest one, written once the store is back: wait for all.
    await until('the stage changes', async () => {
      const stages = await stagesOf(dataDir, lead);
      return stages.length >= 3 ? stages : undefined;
    });
    expect(await stagesOf(dataDir, lead)).toEqual(['visitor', 'lead', 'mql']);
    await until('readiness up', async () => {
      const again = await stack.call('GET', '/readyz');
      return again.json?.analytics?.status === 'up' ? true : undefined;
    });
    expect((await stack.call('GET', '/metrics')).json).toMatch(/^leadcycle_analytics_store_up 1$/m);
    await until('the worker gauge up', async () => ((await workerGauge()) === '1' ? true : undefined));
    expect((await stack.call('GET', '/v1/reports/stages')).status).toBe(200);
  }, 400_000);

  it(`another process holds the analytics write lock for ${LOCK_MS / 1000} s: commands keep answering quickly, emails and handoffs leave during the lock, the stage changes arrive after`, async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'leadcycle-locked-db-'));
    const stack = await startStack(dataDir);
    const tenant = `locked-${Date.now()}`;
    const warm = { tenant, email: 'warm@locked.example' };
    await driveToMql(stack, warm);
    await until('the warm-up lead recorded', async () =>
      (await stagesOf(dataDir, warm)).includes('mql') ? true : undefined,
    );

    const locker = spawn(
      process.execPath,
      [
        '-e',
        `const db = new (require('better-sqlite3'))(process.argv[1]);
         db.exec('BEGIN EXCLUSIVE');
         console.log('locked');
         setTimeout(() => { db.exec('ROLLBACK'); db.close(); console.log('released'); }, Number(process.argv[2]));`,
        join(dataDir, 'leadcycle.db'),
        String(LOCK_MS),
      ],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    children.push(locker);
    let lockOutput = '';
    locker.stdout?.on('data', (d) => {
      lockOutput += d;
    });
    const released = new Promise<void>((resolve) => locker.once('exit', () => resolve()));
    await until('the lock', async () => (lockOutput.includes('locked') ? true : undefined), 30_000);
    const lockedAt = Date.now();

    const leads = [0, 1, 2].map((i) => ({ tenant, email: `lead${i}@locked.example` }));
    const latencies: number[] = [];
    for (const lead of leads) latencies.push(...(await driveToMql(stack, lead)));
    for (const lead of leads) {
      await until('a delivery during the lock', () => deliveries(dataDir, lead), LOCK_MS);
    }
    // Every delivery happened while the other process still held the lock.
    expect(lockOutput).not.toContain('released');
    expect(Date.now() - lockedAt).toBeLessThan(LOCK_MS);
    // The worker's event loop was never blocked for long: each command answered quickly.
    expect(Math.max(...latencies)).toBeLessThan(2_000);
    const spool = await readFile(join(dataDir, 'analytics-spool.jsonl'), 'utf8');
    expect(spool).toContain('"stage_change"');

    await released;
    for (const lead of leads) {
      await until('the stage changes after the lock', async () => {
        const stages = await stagesOf(dataDir, lead);
        return stages.length >= 3 ? stages : undefined;
      });
      expect(await stagesOf(dataDir, lead)).toEqual(['visitor', 'lead', 'mql']);
      const sent = await deliveries(dataDir, lead);
      expect(sent?.crm).toHaveLength(1);
    }
    await until('the spool drained', async () =>
      (await readFile(join(dataDir, 'analytics-spool.jsonl'), 'utf8')).trim() === '' ? true : undefined,
    );
    const changes = await readStageChanges(dataDir);
    expect(new Set(changes.map((c) => c.key)).size).toBe(changes.length);
    const outbox = await readOutbox(dataDir);
    expect(new Set(outbox.map((r) => r.key)).size).toBe(outbox.length);
  }, 400_000);

  it('a corrupt line in the outbox: every email and handoff still goes out, once; the line is logged without its content', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'leadcycle-corrupt-outbox-'));
    const before = {
      key: 'earlier/1',
      kind: 'crm',
      at: new Date().toISOString(),
      workflowId: 'lead-earlier',
      leadKey: 'earlier:email:someone@earlier.example',
      payload: {},
    };
    const secret = 'grace@broken.example';
    await writeFile(
      join(dataDir, 'outbox.jsonl'),
      `${JSON.stringify(before)}\n{"key":"broken/1","leadKey":"${secret}", torn\n${JSON.stringify({ ...before, key: 'earlier/2' })}\n`,
    );
    const env = {
      TEMPORAL_ADDRESS: devServer().address,
      LEADCYCLE_TASK_QUEUE: `outbox-${Date.now()}`,
      LEADCYCLE_DATA_DIR: dataDir,
    };
    const worker = await startWorkerProcess(env, 120_000);
    children.push(worker.child);
    const connection = await Connection.connect({ address: devServer().address });
    try {
      const { dataConverter } = await loadDataConverter(env);
      const client = new LeadClient(new Client({ connection, dataConverter }), {
        taskQueue: env.LEADCYCLE_TASK_QUEUE,
      });
      const leads = [0, 1].map((i) => ({ tenant: `outbox-${Date.now()}`, email: `lead${i}@outbox.example` }));
      for (const lead of leads) {
        await client.capture(lead, {
          type: 'form.submitted',
          form: 'demo_request',
          consent: true,
          profile: { ...FIT, email: lead.email },
        });
        await client.send(lead, { type: 'engagement', kind: 'quote_request' });
      }
      for (const lead of leads) {
        const sent = await until('the deliveries', () => deliveries(dataDir, lead));
        expect(sent.crm).toHaveLength(1);
      }
      const outbox = await readOutbox(dataDir);
      expect(new Set(outbox.map((r) => r.key)).size).toBe(outbox.length);
      expect(outbox.map((r) => r.key)).toEqual(expect.arrayContaining(['earlier/1', 'earlier/2']));
      expect(worker.output()).toContain('outbox.jsonl:2');
      expect(worker.output()).not.toContain(secret);
    } finally {
      await connection.close();
    }
  }, 300_000);
});
