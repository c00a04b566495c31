import { mkdtemp } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { afterAll, describe, expect, it } from 'vitest';
import { readOutbox, verifySignature } from '../../src/activities/index.js';
import { LeadClient } from '../../src/client/index.js';
import { loadDataConverter } from '../../src/codec/keys.js';
import { FIT } from '../support/lead.js';
import { startWorkerProcess, type WorkerProcess } from '../support/processes.js';
import { devServer } from '../support/temporal.js';
import { eventually } from '../support/workflow.js';

/** SIGTERM while a CRM handoff is in flight: the call finishes, the worker exits, nothing is lost. */
const SECRET = 'graceful-shutdown-secret-0123456789';
const SLOW_MS = 3000;

let crm: Server | undefined;
let worker: WorkerProcess | undefined;
let connection: Connection | undefined;

afterAll(async () => {
  worker?.child.kill('SIGKILL');
  crm?.close();
  await connection?.close();
});

describe('graceful shutdown', () => {
  it('SIGTERM lets an in-flight activity finish; the next worker carries on; nothing is lost', async () => {
    // A CRM that takes its time, and counts what it receives.
    const received: Array<{ key: string; valid: boolean; at: number }> = [];
    let inFlight: () => void = () => {};
    const arrived = new Promise<void>((resolve) => {
      inFlight = resolve;
    });
    crm = createServer((req, res) => {
      let body = '';
      req.on('data', (d) => {
        body += d;
      });
      req.on('end', () => {
        const check = verifySignature(SECRET, String(req.headers['leadcycle-signature']), body);
        received.push({ key: String(req.headers['idempotency-key']), valid: check.ok, at: Date.now() });
        inFlight();
        setTimeout(() => res.writeHead(200).end('{}'), SLOW_MS);
      });
    });
    await new Promise<void>((resolve) => crm?.listen(0, '127.0.0.1', resolve));
    const crmUrl = `http://127.0.0.1:${(crm.address() as AddressInfo).port}/handoff`;

    const dataDir = await mkdtemp(join(tmpdir(), 'leadcycle-sigterm-'));
    const env = {
      TEMPORAL_ADDRESS: devServer().address,
      LEADCYCLE_TASK_QUEUE: `sigterm-${Date.now()}`,
      LEADCYCLE_DATA_DIR: dataDir,
      LEADCYCLE_CRM_WEBHOOK_URL: crmUrl,
      LEADCYCLE_CRM_WEBHOOK_SECRET: SECRET,
    };
    worker = await startWorkerProcess(env);
    connection = await Connection.connect({ address: devServer().address });
    const { dataConverter } = await loadDataConverter(env);
    const leads = new LeadClient(new Client({ connection, dataConverter }), {
      taskQueue: env.LEADCYCLE_TASK_QUEUE,
    });

    const ref = { tenant: 'sigterm', email: 'ada@sigterm.example' };
    await leads.capture(ref, {
      type: 'form.submitted',
      form: 'demo_request',
      consent: true,
      profile: { ...FIT, email: ref.email },
    });
    const mql = await leads.send(ref, { type: 'engagement', kind: 'quote_request' });
    expect(mql.stage).toBe('mql'); // the handoff to the CRM is now being delivered

    await arrived;
    const terminatedAt = Date.now();
    worker.child.kill('SIGTERM');
    const code = await worker.exited;
    expect(code).toBe(0);
    // The worker waited for the slow CRM call instead of cutting it off.
    expect(Date.now() - terminatedAt).toBeGreaterThanOrEqual(SLOW_MS - 500);
    const outbox = await readOutbox(dataDir, { kind: 'crm' });
    expect(outbox).toHaveLength(1);

    // The next worker carries on: the lead answers and takes commands.
    worker = await startWorkerProcess(env);
    const view = await leads.send(ref, { type: 'bant.updated', bant: { need: true } });
    expect(view.stage).toBe('mql');
    await eventually(async () => expect((await readOutbox(dataDir, { kind: 'crm' })).length).toBe(1));
    expect(received.map((r) => r.valid)).toEqual([true]);
  }, 180_000);
});
