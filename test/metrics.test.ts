import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { afterAll, describe, expect, it } from 'vitest';
import { buildApi } from '../src/api/server.js';
import { LeadClient, LeadCommandRejectedError } from '../src/client/index.js';
import { loadDataConverter } from '../src/codec/keys.js';
import { getFreePort } from '../src/temporal/server.js';
import { FIT } from './support/lead.js';
import { startWorkerProcess, type WorkerProcess } from './support/processes.js';
import { devServer } from './support/temporal.js';
import { eventually } from './support/workflow.js';

/** Prometheus: the worker's domain counters, and the API's leads per stage. */
let worker: WorkerProcess | undefined;
let connection: Connection | undefined;

afterAll(async () => {
  worker?.child.kill('SIGTERM');
  await worker?.exited;
  await connection?.close();
});

describe('metrics', () => {
  it('the worker counts stage changes, emails, SLA handoffs and refusals; the API counts leads per stage', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'leadcycle-metrics-'));
    const metricsAddress = `127.0.0.1:${await getFreePort()}`;
    const env = {
      TEMPORAL_ADDRESS: devServer().address,
      LEADCYCLE_TASK_QUEUE: `metrics-${Date.now()}`,
      LEADCYCLE_DATA_DIR: dataDir,
      LEADCYCLE_METRICS_ADDRESS: metricsAddress,
    };
    worker = await startWorkerProcess(env);
    connection = await Connection.connect({ address: devServer().address });
    const { dataConverter } = await loadDataConverter(env);
    const leads = new LeadClient(new Client({ connection, dataConverter }), {
      taskQueue: env.LEADCYCLE_TASK_QUEUE,
    });

    const ref = { tenant: `metrics-${Date.now()}`, email: 'ada@metrics.example' };
    await leads.capture(ref, {
      type: 'form.submitted',
      form: 'demo_request',
      consent: true,
      profile: { ...FIT, email: ref.email },
    });
    await leads.send(ref, { type: 'engagement', kind: 'quote_request' });
    await expect(leads.send(ref, { type: 'deal.won' })).rejects.toBeInstanceOf(LeadCommandRejectedError);

    const text = await eventually(async () => {
      const body = await (await fetch(`http://${metricsAddress}/metrics`)).text();
      expect(body).toMatch(/leadcycle_stage_changes\{[^}]*to="mql"[^}]*\} 1/);
      expect(body).toMatch(/leadcycle_emails_sent\{[^}]*kind="nurture"[^}]*\} 1/);
      expect(body).toMatch(/leadcycle_commands_rejected\{[^}]*event="deal.won"[^}]*\} 1/);
      // The analytics store's health (src/worker.ts, watchAnalyticsStore).
      expect(body).toMatch(/^leadcycle_analytics_store_up(\{[^}]*\})? 1$/m);
      return body;
    });
    expect(text).toMatch(/leadcycle_stage_changes\{[^}]*from="lead"[^}]*\}/);

    // No cache window: \`eventually\` retries until visibility has caught up.
    const api = await buildApi({
      client: leads,
      apiKeys: ['metrics-key-0123456789'],
      metricsCacheSeconds: 0,
    });
    try {
      await eventually(async () => {
        const res = await api.inject({
          url: '/metrics',
          headers: { authorization: 'Bearer metrics-key-0123456789' },
        });
        expect(res.statusCode).toBe(200);
        const mql = Number(/leadcycle_leads\{stage="mql"\} (\d+)/.exec(res.body)?.[1]);
        expect(mql).toBeGreaterThanOrEqual(1);
      });
    } finally {
      await api.close();
    }
  }, 120_000);
});
