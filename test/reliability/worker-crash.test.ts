import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readOutbox } from '../../src/activities/index.js';
import { readStageChanges } from '../../src/analytics/index.js';
import { LeadClient } from '../../src/client/index.js';
import { workflowIdOf } from '../../src/client/lead-key.js';
import { loadDataConverter } from '../../src/codec/keys.js';
import { createLeadCycle, type LeadCommandInput, type LeadEvent } from '../../src/machines/index.js';
import { BANT_COMPLETE, FIT } from '../support/lead.js';
import { startWorkerProcess, type WorkerProcess } from '../support/processes.js';
import { devServer } from '../support/temporal.js';

/**
 * A worker killed with SIGKILL in the middle of a burst, then started again: nothing is lost and
 * nothing happens twice. LEADCYCLE_CRASH_LEADS sets the number of leads (default 1,000).
 */
const LEADS = Number(process.env.LEADCYCLE_CRASH_LEADS ?? 1000);
const CONCURRENCY = 40;
// Three commands a lead: to MQL (a CRM handoff and a nurture email on the way), then BANT.
const burst = (email: string): LeadCommandInput[] => [
  { type: 'form.submitted', form: 'demo_request', consent: true, profile: { ...FIT, email } },
  { type: 'engagement', kind: 'quote_request' },
  { type: 'bant.updated', bant: BANT_COMPLETE },
];

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

    // Every lead's state equals what the pure machine gives for its events.
    const cycle = createLeadCycle();
    let pure = cycle.start({ leadKey: 'expected', at: 0 }).snapshot;
    for (const command of burst(FIT.email)) {
      const d = cycle.apply(pure, { ...command, at: 1 } as LeadEvent);
      if (!d.ok) throw new Error(d.rejection.message);
      pure = d.snapshot;
    }
    // Queried a few at a time, as a dashboard would: the worker caches only part of 1,000 leads
    // (maxCachedWorkflows), and a thousand replays at once would outlast the server's query timeout.
    const views: Awaited<ReturnType<typeof leads.get>>[] = [];
    for (let i = 0; i < refs.length; i += CONCURRENCY) {
      views.push(...(await Promise.all(refs.slice(i, i + CONCURRENCY).map((ref) => leads.get(ref)))));
    }
    for (const view of views) {
      expect({
        stage: view.stage,
        consent: view.consent,
        owner: view.owner,
        temperature: view.temperature,
      }).toEqual({
        stage: pure.value.lifecycle,
        consent: pure.value.consent,
        owner: pure.context.sales.owner,
        temperature: pure.context.temperature,
      });
    }

    // Effects: each stage change recorded once, each handoff and each nurture item delivered once.
    const changes = await readStageChanges(dataDir);
    const outbox = await readOutbox(dataDir);
    for (const view of views) {
      const mine = changes.filter((c) => c.leadId === workflowIdOf(view.leadKey)).map((c) => c.to);
      expect(mine).toEqual(['visitor', 'lead', 'mql']);
      const handoffs = outbox.filter((r) => r.leadKey === view.leadKey && r.kind === 'crm');
      expect(handoffs).toHaveLength(1);
      const items = outbox
        .filter((r) => r.leadKey === view.leadKey && r.kind === 'email')
        .map((r) => (r.payload as { content: { item: { id: string } } }).content.item.id);
      expect(new Set(items).size).toBe(items.length);
    }
    expect(new Set(outbox.map((r) => r.key)).size).toBe(outbox.length);
    expect(new Set(changes.map((c) => c.key)).size).toBe(changes.length);
  }, 900_000);
});
