import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { afterAll, describe, expect, it } from 'vitest';
import { readOutbox } from '../../src/activities/index.js';
import { LeadClient } from '../../src/client/index.js';
import { loadDataConverter } from '../../src/codec/keys.js';
import { getFreePort, type RunningDevServer, startDevServer } from '../../src/temporal/server.js';
import { FIT } from '../support/lead.js';
import { startWorkerProcess, type WorkerProcess } from '../support/processes.js';
import { eventually } from '../support/workflow.js';

/**
 * The dev server stopped mid-run and started again on the same SQLite file: leads, their durable
 * timers and the updates in flight all resume. Its own server, since it restarts it.
 */
const LEADS = 50;
const SLA_SECONDS = 12;
const CONFIG = { salesSlaHours: SLA_SECONDS / 3600, renurtureCooldownDays: 3650 };

let server: RunningDevServer | undefined;
let worker: WorkerProcess | undefined;
let connection: Connection | undefined;

afterAll(async () => {
  worker?.child.kill('SIGKILL');
  await connection?.close();
  await server?.stop();
});

describe('server restart', () => {
  it('stop the dev server mid-run and start it again: leads, timers and pending updates resume', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'leadcycle-restart-'));
    const port = await getFreePort();
    const dbFile = join(dataDir, 'temporal.sqlite');
    const start = () => startDevServer({ port, uiPort: null, dbFile, dataDir, log: () => {} });
    server = await start();
    const env = {
      TEMPORAL_ADDRESS: server.address,
      LEADCYCLE_TASK_QUEUE: 'restart',
      LEADCYCLE_DATA_DIR: dataDir,
    };
    worker = await startWorkerProcess(env);
    connection = await Connection.connect({ address: server.address });
    const { dataConverter } = await loadDataConverter(env);
    const leads = new LeadClient(new Client({ connection, dataConverter }), {
      taskQueue: 'restart',
      config: CONFIG,
    });

    const refs = Array.from({ length: LEADS }, (_, i) => ({
      tenant: 'restart',
      email: `lead${i}@restart.example`,
    }));
    for (const ref of refs) {
      await leads.capture(ref, {
        type: 'form.submitted',
        form: 'demo_request',
        consent: true,
        profile: { ...FIT, email: ref.email },
      });
      const view = await leads.send(ref, { type: 'engagement', kind: 'quote_request' });
      expect(view.stage).toBe('mql'); // the sales SLA timer is now running
    }

    // Updates in flight when the server goes away.
    const pending = refs.map((ref) => leads.send(ref, { type: 'bant.updated', bant: { need: true } }));
    await server.stop();
    await new Promise((r) => setTimeout(r, 2000));
    server = await start();

    const answered = await Promise.allSettled(pending);
    const failed = answered.filter((a) => a.status === 'rejected');
    expect(failed.map((f) => String((f as PromiseRejectedResult).reason))).toEqual([]);

    // Every lead is there and its timers fire after the restart: escalation, then back to nurture.
    await eventually(
      async () => {
        const views = await Promise.all(refs.map((ref) => leads.get(ref)));
        expect(views.map((v) => v.stage)).toEqual(refs.map(() => 'recycled'));
        for (const v of views) {
          expect(v.state.context.recycle?.reason).toBe('sales_sla_expired');
          expect(v.state.context.bant.need).toBe(true);
        }
      },
      4 * SLA_SECONDS * 1000,
    );
    const handoffs = (await readOutbox(dataDir, { kind: 'crm' })).map(
      (r) => `${r.leadKey}:${(r.payload as { handoff: { escalation: boolean } }).handoff.escalation}`,
    );
    expect(handoffs.sort()).toEqual(
      refs.flatMap((r) => [`restart:email:${r.email}:false`, `restart:email:${r.email}:true`]).sort(),
    );
  }, 300_000);
});
