import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadDataConverter } from '../../src/codec/keys.js';
import {
  type ApiProcess,
  startApiProcess,
  startWorkerProcess,
  type WorkerProcess,
} from '../support/processes.js';
import { devServer } from '../support/temporal.js';
import { eventually } from '../support/workflow.js';

/**
 * Idempotency-Keys hold across what happens to the API process: a SIGKILL mid-request, a restart, and
 * 503s while no worker runs. The real API (`src/api/main.ts`) and worker (`src/worker.ts`) run as
 * processes of their own; an application is counted as an accepted update in the lead's history, and
 * seen in its score (a pricing-page visit is 10 points).
 */
const API_KEY = 'api-crash-key-0123456789abcdef';
const PRICING = { type: 'engagement', kind: 'pricing_page' } as const;

let env: Record<string, string>;
let connection: Connection;
let temporal: Client;
let worker: WorkerProcess | undefined;
let api: ApiProcess | undefined;

interface Answer {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: test code reads arbitrary JSON answers
  json: any;
  text: string;
}

async function post(
  path: string,
  body: unknown,
  key?: string,
  to: ApiProcess | undefined = api,
): Promise<Answer> {
  if (!to) throw new Error('no API running');
  const response = await fetch(`${to.url}${path}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      authorization: `Bearer ${API_KEY}`,
      ...(key ? { 'idempotency-key': key } : {}),
    },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, text, json: text === '' ? undefined : JSON.parse(text) };
}

async function stopWorker(): Promise<void> {
  worker?.child.kill('SIGKILL');
  await worker?.exited;
  worker = undefined;
}

async function restartApi(signal: NodeJS.Signals): Promise<void> {
  api?.child.kill(signal);
  await api?.exited;
  api = await startApiProcess(env);
}

/** Commands the lead accepted, from its history: each accepted update is one application. */
async function applications(leadId: string): Promise<number> {
  const history = await temporal.workflow.getHandle(leadId).fetchHistory();
  return (history.events ?? []).filter((e) => e.workflowExecutionUpdateAcceptedEventAttributes).length;
}

const score = async (leadId: string): Promise<number> => {
  const view = await eventually(async () => {
    const answer = await fetch(`${api?.url}/v1/leads/${leadId}`, {
      headers: { authorization: `Bearer ${API_KEY}` },
    });
    expect(answer.status).toBe(200);
    return (await answer.json()) as { score: number };
  });
  return Math.round(view.score);
};

/** A new lead, captured with a visit: score 0, one application. */
async function newLead(name: string) {
  const lead = { tenant: `api-crash-${Date.now()}`, externalId: name };
  const captured = await post('/v1/leads/capture', { lead, command: { type: 'visit' } });
  expect(captured.status).toBe(200);
  return { lead, leadId: captured.json.leadId as string, base: Math.round(captured.json.score) };
}

beforeAll(async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'leadcycle-api-crash-'));
  env = {
    TEMPORAL_ADDRESS: devServer().address,
    LEADCYCLE_TASK_QUEUE: `api-crash-${Date.now()}`,
    LEADCYCLE_DATA_DIR: dataDir,
    LEADCYCLE_API_KEYS: API_KEY,
    // A stopped worker makes a command wait: a short deadline gets the 503s quickly.
    LEADCYCLE_API_TEMPORAL_TIMEOUT_MS: '2000',
  };
  worker = await startWorkerProcess(env);
  api = await startApiProcess(env);
  connection = await Connection.connect({ address: devServer().address });
  const { dataConverter } = await loadDataConverter(env);
  temporal = new Client({ connection, dataConverter });
}, 120_000);

afterAll(async () => {
  worker?.child.kill('SIGKILL');
  api?.child.kill('SIGKILL');
  await connection?.close();
});

describe('Idempotency-Keys across API crashes and restarts', () => {
  it('the API killed with SIGKILL mid-request: the retry with the same key applies the command once', async () => {
    const { lead, leadId, base } = await newLead('sigkill');
    // No worker: the command waits in Temporal, so the API is surely mid-request when it dies.
    await stopWorker();
    const key = `sigkill-${Date.now()}`;
    const logged = api?.output().length ?? 0;
    const inFlight = post('/v1/leads/commands', { lead, command: PRICING }, key).then(
      (answer) => answer,
      (err: unknown) => err,
    );
    await eventually(async () => expect(api?.output().slice(logged)).toContain('incoming request'));
    await new Promise((r) => setTimeout(r, 500)); // the API has passed the command on to Temporal
    api?.child.kill('SIGKILL');
    await api?.exited;
    expect(await inFlight).toBeInstanceOf(Error); // the client saw no answer

    // The first attempt went through after all, once a worker ran it.
    worker = await startWorkerProcess(env);
    api = await startApiProcess(env);
    await eventually(async () => expect(await score(leadId)).toBe(base + 10), 60_000);

    const retry = await post('/v1/leads/commands', { lead, command: PRICING }, key);
    expect(retry.status).toBe(200);
    expect(Math.round(retry.json.score)).toBe(base + 10);
    expect(await score(leadId)).toBe(base + 10);
    expect(await applications(leadId)).toBe(2); // the capture and one engagement
  }, 180_000);

  it('after an API restart, a retry with the same key applies the command once (send and capture)', async () => {
    const { lead, leadId, base } = await newLead('restart');
    const key = `restart-${Date.now()}`;
    const first = await post('/v1/leads/commands', { lead, command: PRICING }, key);
    expect(first.status).toBe(200);
    // Update-with-start takes the key too.
    const captureKey = `restart-capture-${Date.now()}`;
    const captured = await post('/v1/leads/capture', { lead, command: PRICING }, captureKey);
    expect(captured.status).toBe(200);

    await restartApi('SIGTERM');
    const retry = await post('/v1/leads/commands', { lead, command: PRICING }, key);
    const recaptured = await post('/v1/leads/capture', { lead, command: PRICING }, captureKey);
    expect([retry.status, recaptured.status]).toEqual([200, 200]);
    // Temporal answers with the first outcome: the lead as it was right after each command.
    expect(retry.json).toEqual(first.json);
    expect(recaptured.json).toEqual(captured.json);

    await restartApi('SIGKILL');
    expect((await post('/v1/leads/commands', { lead, command: PRICING }, key)).json).toEqual(first.json);

    expect(await score(leadId)).toBe(base + 20);
    expect(await applications(leadId)).toBe(3); // the capture and two engagements
  }, 180_000);

  it('two 503s while the worker is down, then a retry: the command applies once', async () => {
    const { lead, leadId, base } = await newLead('worker-down');
    await stopWorker();
    const key = `worker-down-${Date.now()}`;
    for (let attempt = 0; attempt < 2; attempt++) {
      const answer = await post('/v1/leads/commands', { lead, command: PRICING }, key);
      expect(answer.status, answer.text).toBe(503);
    }
    worker = await startWorkerProcess(env);
    const retry = await eventually(async () => {
      const answer = await post('/v1/leads/commands', { lead, command: PRICING }, key);
      expect(answer.status, answer.text).toBe(200);
      return answer;
    }, 60_000);
    expect(Math.round(retry.json.score)).toBe(base + 10);
    expect(await score(leadId)).toBe(base + 10);
    expect(await applications(leadId)).toBe(2);
  }, 180_000);

  it('a keyed fact (a signal) retried after an API restart is applied once', async () => {
    const { lead, leadId, base } = await newLead('fact');
    const key = `fact-${Date.now()}`;
    const first = await post('/v1/leads/facts', { lead, fact: PRICING }, key);
    expect(first.status).toBe(202);
    await eventually(async () => expect(await score(leadId)).toBe(base + 10));

    await restartApi('SIGKILL');
    const retry = await post('/v1/leads/facts', { lead, fact: PRICING }, key);
    expect(retry.status).toBe(202);
    // Another fact, unkeyed, goes through: the lead took the retry (or not) before it.
    expect(
      (await post('/v1/leads/facts', { lead, fact: { type: 'engagement', kind: 'content_download' } }))
        .status,
    ).toBe(202);
    await eventually(async () => expect(await score(leadId)).toBe(base + 15));
    const history = await temporal.workflow.getHandle(leadId).fetchHistory();
    const signals = (history.events ?? []).filter((e) => e.workflowExecutionSignaledEventAttributes);
    expect(signals).toHaveLength(2);
  }, 180_000);
});
