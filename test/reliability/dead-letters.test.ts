import { execFile } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readDeadLetters, readOutbox, verifySignature } from '../../src/activities/index.js';
import { LeadClient } from '../../src/client/index.js';
import { loadDataConverter } from '../../src/codec/keys.js';
import { getFreePort } from '../../src/temporal/server.js';
import { startHttpServer } from '../activities/helpers.js';
import { CLI } from '../support/cli.js';
import { FIT } from '../support/lead.js';
import { startWorkerProcess, type WorkerProcess } from '../support/processes.js';
import { devServer } from '../support/temporal.js';
import { eventually } from '../support/workflow.js';

/**
 * A real worker process handing leads off to a real HTTP CRM that refuses: a wrong secret (401) is
 * retried until the CRM takes it, a 400 leaves a dead letter that `leadcycle deliveries` lists and
 * delivers again, under the same idempotency key, once the CRM accepts.
 */
const run = promisify(execFile);
const SECRET = 'whsec_deadletters_0123456789';

interface Post {
  key: string;
  leadKey: string;
  status: number;
  signed: boolean;
}
const posts: Post[] = [];
/** How the CRM answers a lead's handoff, by lead key; 200 when unset. */
const answers = new Map<string, number[]>();

let crm: Awaited<ReturnType<typeof startHttpServer>>;
let env: Record<string, string>;
let worker: WorkerProcess | undefined;
let connection: Connection;
let leads: LeadClient;
let metricsAddress: string;

beforeAll(async () => {
  crm = await startHttpServer((req, res) => {
    const body = JSON.parse(req.body) as { leadKey: string; type: string };
    const status = answers.get(body.leadKey)?.shift() ?? 200;
    posts.push({
      key: String(req.headers['idempotency-key']),
      leadKey: body.leadKey,
      status,
      signed: verifySignature(SECRET, req.headers['leadcycle-signature'] as string, req.body).ok,
    });
    // The body names the lead: the dead letter must not keep it.
    res.writeHead(status, { 'Content-Type': 'application/json' }).end(`{"error":"owner of ${body.leadKey}"}`);
  });
  const dataDir = await mkdtemp(join(tmpdir(), 'leadcycle-dead-letters-'));
  metricsAddress = `127.0.0.1:${await getFreePort()}`;
  env = {
    TEMPORAL_ADDRESS: devServer().address,
    LEADCYCLE_TASK_QUEUE: `dead-letters-${Date.now()}`,
    LEADCYCLE_DATA_DIR: dataDir,
    LEADCYCLE_CRM_WEBHOOK_URL: crm.url,
    LEADCYCLE_CRM_WEBHOOK_SECRET: SECRET,
    LEADCYCLE_METRICS_ADDRESS: metricsAddress,
  };
  worker = await startWorkerProcess(env);
  connection = await Connection.connect({ address: devServer().address });
  const { dataConverter } = await loadDataConverter(env);
  leads = new LeadClient(new Client({ connection, dataConverter }), { taskQueue: env.LEADCYCLE_TASK_QUEUE });
});
afterAll(async () => {
  worker?.child.kill('SIGTERM');
  await worker?.exited;
  await connection?.close();
  await crm?.close();
});

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run('node', [...CLI, ...args], { env: { ...process.env, ...env } });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** Captures a fitting lead and makes it an MQL: the workflow hands it off to sales. */
async function toMql(tenant: string, email: string): Promise<string> {
  const ref = { tenant, email };
  const view = await leads.capture(ref, {
    type: 'form.submitted',
    form: 'demo_request',
    consent: true,
    profile: { ...FIT, email },
  });
  await leads.send(ref, { type: 'engagement', kind: 'quote_request' });
  return view.leadKey;
}

describe('CRM refusals', () => {
  it('a 401 (wrong secret) is retried: the CRM gets the handoff once it accepts, exactly once', async () => {
    const tenant = `dl-${Date.now()}`;
    const leadKey = `${tenant}:email:ada@retry.example`;
    answers.set(leadKey, [401, 401]);
    expect(await toMql(tenant, 'ada@retry.example')).toBe(leadKey);
    const key = await eventually(async () => {
      const accepted = posts.filter((p) => p.leadKey === leadKey && p.status === 200);
      expect(accepted).toHaveLength(1);
      return accepted[0]?.key as string;
    }, 30_000);
    const mine = posts.filter((p) => p.leadKey === leadKey);
    expect(mine.map((p) => p.status)).toEqual([401, 401, 200]);
    // Every attempt under the one key, each signed.
    expect(new Set(mine.map((p) => p.key))).toEqual(new Set([key]));
    expect(mine.every((p) => p.signed)).toBe(true);
    const outbox = await readOutbox(env.LEADCYCLE_DATA_DIR as string, { leadKey, kind: 'crm' });
    expect(outbox.map((r) => r.key)).toEqual([key]);
    expect(await readDeadLetters(env.LEADCYCLE_DATA_DIR as string, { leadKey })).toEqual([]);
  }, 60_000);

  it('a 400 leaves a dead letter (listed, counted); `deliveries retry` delivers it under its key once the CRM accepts', async () => {
    const tenant = `dl-${Date.now()}`;
    const leadKey = `${tenant}:email:bob@refused.example`;
    answers.set(leadKey, [400]);
    expect(await toMql(tenant, 'bob@refused.example')).toBe(leadKey);

    const letter = await eventually(async () => {
      const listed = await cli('--json', 'deliveries', 'list');
      expect(listed.code).toBe(0);
      const letters = (JSON.parse(listed.stdout) as Array<Record<string, unknown>>).filter(
        (l) => l.leadKey === leadKey,
      );
      expect(letters).toHaveLength(1);
      return letters[0] as Record<string, unknown>;
    }, 30_000);
    expect(letter).toMatchObject({
      kind: 'crm',
      code: 'crm_rejected',
      reason: 'HTTP 400 Bad Request',
      attempts: 1,
    });
    // The CRM's reply body (it named the lead) is not kept, only its status.
    expect(JSON.stringify({ ...letter, input: undefined })).not.toContain('owner of');
    const key = letter.key as string;
    expect(posts.filter((p) => p.leadKey === leadKey).map((p) => [p.key, p.status])).toEqual([[key, 400]]);
    expect(await readOutbox(env.LEADCYCLE_DATA_DIR as string, { leadKey, kind: 'crm' })).toEqual([]);

    const human = await cli('deliveries', 'list', '--kind', 'crm');
    expect(human.stdout).toMatch(
      new RegExp(`crm\\s+${key.replace(/[/.]/g, '\\$&')}\\s+crm_rejected\\s+HTTP 400`),
    );

    await eventually(async () => {
      const body = await (await fetch(`http://${metricsAddress}/metrics`)).text();
      expect(body).toMatch(/leadcycle_dead_letters\{[^}]*kind="crm"[^}]*\} 1/);
    });

    // Still refused: the retry fails, the dead letter stays.
    answers.set(leadKey, [400]);
    const refused = await cli('--json', 'deliveries', 'retry', key);
    expect(refused.code).toBe(1);
    expect(JSON.parse(refused.stdout)).toEqual([
      { key, kind: 'crm', outcome: 'failed', detail: 'HTTP 400 Bad Request' },
    ]);
    expect(JSON.parse(refused.stderr)).toMatchObject({ error: { code: 'delivery_failed' } });
    expect(await readDeadLetters(env.LEADCYCLE_DATA_DIR as string, { leadKey })).toHaveLength(1);

    // The CRM accepts now: delivered once, under the same key, and the dead letter is gone.
    const retried = await cli('--json', 'deliveries', 'retry', key);
    expect(retried.stderr).toBe('');
    expect(retried.code).toBe(0);
    expect(JSON.parse(retried.stdout)).toEqual([{ key, kind: 'crm', outcome: 'delivered', detail: null }]);
    const mine = posts.filter((p) => p.leadKey === leadKey);
    expect(mine.map((p) => [p.key, p.status])).toEqual([
      [key, 400],
      [key, 400],
      [key, 200],
    ]);
    expect(mine.every((p) => p.signed)).toBe(true);
    expect(await readDeadLetters(env.LEADCYCLE_DATA_DIR as string, { leadKey })).toEqual([]);
    const outbox = await readOutbox(env.LEADCYCLE_DATA_DIR as string, { leadKey, kind: 'crm' });
    expect(outbox.map((r) => r.key)).toEqual([key]);

    // A second retry has nothing to deliver: the key has no dead letter any more.
    const again = await cli('deliveries', 'retry', key);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain(`no dead letter under ${key}`);
    expect(posts.filter((p) => p.leadKey === leadKey)).toHaveLength(3);
  }, 90_000);
});
