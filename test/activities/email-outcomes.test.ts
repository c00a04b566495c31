/**
 * What became of each marketing email, as sendContent records it for the email report: a send, a
 * suppressed send and a deferral (an SMTP 4xx that Temporal retried), each once, whatever the retries.
 * The deferral runs through a real worker process, the dev server's retries and a real smtp-server.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createActivities, Outbox, OutboxCrm, SmtpSender } from '../../src/activities/index.js';
import { type AnalyticsStore, openAnalyticsStore } from '../../src/analytics/index.js';
import { LeadClient } from '../../src/client/index.js';
import { loadDataConverter } from '../../src/codec/keys.js';
import { FIT } from '../support/lead.js';
import { startWorkerProcess, type WorkerProcess } from '../support/processes.js';
import { devServer } from '../support/temporal.js';
import { eventually } from '../support/workflow.js';
import { AT, contentSend, startSmtpServer, tempDir } from './helpers.js';

const MAIL = { from: 'Acme Marketing <marketing@acme.example>', unsubscribeUrl: null, unsubscribeLink: null };

describe('sendContent records what became of the email', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let outbox: Outbox;
  let analytics: AnalyticsStore;
  let smtp: Awaited<ReturnType<typeof startSmtpServer>>;
  let sender: SmtpSender;

  beforeEach(async () => {
    ({ dir, cleanup } = await tempDir());
    outbox = new Outbox(dir);
    analytics = openAnalyticsStore(dir);
    smtp = await startSmtpServer();
    sender = new SmtpSender(outbox, MAIL, { url: smtp.url, timeoutMs: 5000 });
  });
  afterEach(async () => {
    await sender.close();
    await smtp.close();
    await analytics.close();
    await outbox.close();
    await cleanup();
  });

  const input = (leadKey: string, seq: number) => ({
    idempotencyKey: `wf-${seq}/${seq}`,
    workflowId: `wf-${seq}`,
    leadKey,
    to: { email: 'ada@lead.example', firstName: 'Ada' },
    content: contentSend(),
  });

  it('a send and a suppressed send once each, retried or not, without the address', async () => {
    const activities = createActivities({ outbox, sender, crm: new OutboxCrm(outbox), analytics });
    const sent = input('acme:email:ada@lead.example', 2);
    expect(await activities.sendContent(sent)).toMatchObject({ delivered: true });
    // A retry of a delivery that went out: nothing sent, nothing counted again.
    expect(await activities.sendContent(sent)).toMatchObject({ delivered: false });

    await activities.recordConsentChange({
      idempotencyKey: 'wf-ada/1',
      workflowId: 'wf-ada',
      leadKey: 'globex:email:ada@lead.example',
      address: 'ada@lead.example',
      change: { type: 'consent.changed', consent: 'withdrawn', doNotContact: true, source: 'link', at: AT },
    });
    const suppressed = input('globex:email:ada@lead.example', 3);
    for (let i = 0; i < 2; i++) {
      expect(await activities.sendContent(suppressed)).toMatchObject({ skipped: 'do_not_contact' });
    }
    expect(smtp.received).toHaveLength(1);

    const item = { itemId: 'evaluation-2', title: 'Evaluation guide #2' };
    const rows = await analytics.emailOutcomes();
    expect(rows).toEqual([
      {
        key: 'wf-2/2',
        leadId: 'wf-2',
        tenant: 'acme',
        ...item,
        outcome: 'sent',
        skipReason: null,
        at: rows[0]?.at,
      },
      {
        key: 'wf-3/3',
        leadId: 'wf-3',
        tenant: 'globex',
        ...item,
        outcome: 'suppressed',
        skipReason: 'do_not_contact',
        at: rows[1]?.at,
      },
    ]);
    // Real send times (the wall clock, never before the machine decided).
    for (const row of rows) expect(row.at).toBeGreaterThanOrEqual(AT);
    expect(JSON.stringify(rows)).not.toContain('ada@');
  });
});

describe('an SMTP 4xx that Temporal retries', () => {
  let refusals = 1;
  const attempts: string[] = [];
  let smtp: Awaited<ReturnType<typeof startSmtpServer>>;
  let dataDir: string;
  let worker: WorkerProcess | undefined;
  let connection: Connection;
  let leads: LeadClient;

  beforeAll(async () => {
    smtp = await startSmtpServer({
      onRcptTo(address, _session, callback) {
        attempts.push(address.address);
        if (refusals > 0) {
          refusals -= 1;
          callback(Object.assign(new Error('4.3.0 mailbox busy, try later'), { responseCode: 451 }));
        } else callback();
      },
    });
    dataDir = await mkdtemp(join(tmpdir(), 'leadcycle-email-outcomes-'));
    const env = {
      TEMPORAL_ADDRESS: devServer().address,
      LEADCYCLE_TASK_QUEUE: `email-outcomes-${Date.now()}`,
      LEADCYCLE_DATA_DIR: dataDir,
      LEADCYCLE_SMTP_URL: smtp.url,
      LEADCYCLE_MAIL_FROM: 'Acme Marketing <marketing@acme.example>',
      LEADCYCLE_UNSUBSCRIBE_SECRET: 'unsub_email_outcomes_0123456789',
    };
    worker = await startWorkerProcess(env);
    connection = await Connection.connect({ address: devServer().address });
    const { dataConverter } = await loadDataConverter(env);
    leads = new LeadClient(new Client({ connection, dataConverter }), {
      taskQueue: env.LEADCYCLE_TASK_QUEUE,
    });
  }, 90_000);
  afterAll(async () => {
    worker?.child.kill('SIGTERM');
    await worker?.exited;
    await connection?.close();
    await smtp?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('is one deferral of that attempt, then one send', async () => {
    const ref = { tenant: `defer-${Date.now()}`, email: 'ada@defer.example' };
    // A content download with consent: the nurture email is the lead's first effect.
    await leads.capture(ref, {
      type: 'form.submitted',
      form: 'content_download',
      consent: true,
      profile: { ...FIT, email: ref.email },
    });
    await eventually(async () => expect(smtp.received.map((m) => m.to)).toEqual([[ref.email]]), 30_000);
    expect(attempts).toEqual([ref.email, ref.email]);

    const store = openAnalyticsStore(dataDir);
    try {
      const rows = await eventually(async () => {
        const rows = await store.emailOutcomes({ tenant: ref.tenant });
        expect(rows.map((r) => r.outcome)).toEqual(['deferred', 'sent']);
        return rows;
      }, 15_000);
      const [deferred, sent] = rows;
      // The delivery's key; the deferral's, that key and the attempt the server refused.
      expect(deferred?.key).toBe(`${sent?.key}#1`);
      expect(deferred).toMatchObject({ itemId: sent?.itemId, leadId: sent?.leadId, skipReason: null });
      expect(sent?.leadId).toMatch(/^lead-/);
    } finally {
      await store.close();
    }
  }, 60_000);
});
